package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/pflag"

	"github.com/wshold/wshold/internal/metrics"
	"github.com/wshold/wshold/internal/progress"
	"github.com/wshold/wshold/internal/runner"
	"github.com/wshold/wshold/internal/safefile"
	"github.com/wshold/wshold/report"
	"github.com/wshold/wshold/scenario"
)

const runUsage = `Usage:
  wshold run [flags] [URL]               one scenario from flags
  wshold run -f FILE [-s NAME]... [flags] scenarios from a TOML file

Opens --conns WebSocket connections to URL at --rate per second, holds them
--hold after the last one is up, and reports handshake latency, failures and
every connection that dropped: when (time since upgrade and since its last
frame), and how (close frame with its code, FIN without a close frame, RST,
pong timeout). Drops that cluster at one age are matched against known proxy
defaults, e.g. nginx's proxy_read_timeout (60 s).

With no URL and no file, wshold starts its built-in target in-process and
runs against it (the embedded default).

By default no frame is sent while holding (--ping 0): any frame in either
direction re-arms a proxy's idle timer, so a pinging client never sees one.

Held connections can carry traffic: --send-every sends each a timestamped
message to be echoed (round-trip times, lost, out-of-order and corrupted
messages); 'wshold serve --push-every/--broadcast-every' pushes messages
whose one-way and fan-out delays are recorded; --reconnect reopens dropped
connections with an exponential backoff and reports how long each wave of
drops took to recover.

Examples:
  wshold run                                    # embedded default
  wshold run -c 1000 --hold 75s ws://127.0.0.1:18084/ws
  wshold run --ping 30s ws://127.0.0.1:18084/ws  # does a heartbeat keep them?
  wshold run -f scenarios.example.toml -s nginx-default --junit junit.xml
  wshold run -c 1000 --send-every 1s --hold 10s --expect 'rtt-p99<50ms' URL
  wshold run --reconnect --at '2s=nginx -s reload' --expect 'recover<5s' URL

Flags given on the command line override the file's values.

Files named by -o, --html and --junit (one per scenario with several) are
checked before the first connection: a directory that is missing or not
writable is refused at once. If writing still fails at the end (disk full,
directory removed), the report is printed first, then the error (exit 2);
a failed checkpoint is warned about once.

Exit status: 0 every expectation held; 1 an expectation failed or the run
was interrupted; 2 bad usage, bad scenario file, the run could not start, or
its result files could not be written.

Flags:
`

func cmdRun(args []string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.SortFlags = false
	sflags := scenario.AddFlags(fs)
	file := fs.StringP("file", "f", "", "TOML scenario file (see scenarios.example.toml)")
	names := fs.StringSliceP("scenario", "s", nil, "scenario to run from --file (repeatable; default: all, in file order)")
	out := fs.StringP("out", "o", "", "write the result JSON here (with several scenarios, -NAME is added before the extension)")
	format := fs.String("format", "table", "report on stdout: table, json or markdown")
	htmlOut := fs.String("html", "", "also write a self-contained HTML report here")
	junitOut := fs.String("junit", "", "also write JUnit XML here (one test suite per scenario, one test case per expectation)")
	progressMode := fs.String("progress", "auto", "progress on stderr: auto (live line on a terminal, plain lines every --progress-interval otherwise), always (live line), never")
	progressEvery := fs.Duration("progress-interval", 5*time.Second, "how often to print a plain progress line when stderr is not a terminal")
	metricsAddr := fs.String("metrics-addr", "", "serve Prometheus metrics at http://ADDR/metrics during the run, e.g. 127.0.0.1:9464 (wshold_connections_alive, ..._failed_total{cause}, ..._dropped_total{kind}, wshold_handshake_seconds, wshold_messages_{sent,received,lost}_total, wshold_message_rtt_seconds, wshold_reconnects_total{result})")
	startAt := fs.String("start-at", "", "wait until this wall-clock time (RFC 3339, e.g. 2026-11-24T10:00:00Z) before the first connection, so shards on several machines ramp together")
	atFlags := fs.StringArray("at", nil, "run a shell command at an offset into the hold and mark it on the timeline, e.g. --at '2s=nginx -s reload' (repeatable); drops that follow it are attributed to it. One still running 5s after the hold ended is killed, with what it started")
	quiet := fs.BoolP("quiet", "q", false, "no progress and no report on stdout (use with -o); the exit status still tells")
	shardFlag := fs.String("shard", "", "run only shard `I/N` of the scenario (0 <= I < N): its share of --conns, --rate and --source-ip addresses; "+
		"merge the shards' -o files with 'wshold merge' (e.g. one shard per pod of a Kubernetes Indexed Job)")
	runIDFlag := fs.String("run-id", "", "name this run in its result (letters, digits, '.', '_', '-', ':'); every shard of one run must share it, so 'wshold merge' can tell "+
		"them from other runs' results. Default: with --shard, derived from --start-at (so the pods of one launch agree); else a random one")
	checkpointEvery := fs.Duration("checkpoint-interval", 10*time.Second, "how often -o gets a checkpoint of the run so far (a killed run leaves it; --procs reads its workers' progress from them)")
	fs.Usage = func() {
		fmt.Fprint(stdout, runUsage)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return errHelp
		}
		return usagef("run: %v (see 'wshold run --help')", err)
	}
	switch *format {
	case "table", "json", "markdown":
	default:
		return usagef("run: --format %q: use table, json or markdown", *format)
	}
	switch *progressMode {
	case "auto", "always", "never":
	default:
		return usagef("run: --progress %q: use auto, always or never", *progressMode)
	}
	if fs.NArg() > 1 {
		return usagef("run: one URL at most, got %d: %s", fs.NArg(), strings.Join(fs.Args(), " "))
	}

	if *checkpointEvery <= 0 {
		return usagef("run: --checkpoint-interval %v: use a positive duration, e.g. 10s", *checkpointEvery)
	}
	var shard runner.Shard
	if *shardFlag != "" {
		var err error
		if shard, err = runner.ParseShard(*shardFlag); err != nil {
			return usagef("run: %v", err)
		}
	}
	scenarios, err := runScenarios(fs, sflags, *file, *names)
	if err != nil {
		return err
	}
	runID, err := chooseRunID(*runIDFlag, shard, *startAt)
	if err != nil {
		return err
	}
	// Before the first connection (and before --start-at's wait): a result
	// that cannot be written is better refused now than after the hold.
	if err := checkOutputs(outputFiles(*out, *htmlOut, *junitOut, scenarios)); err != nil {
		return err
	}
	var ats []runner.At
	for _, a := range *atFlags {
		at, err := runner.ParseAt(a)
		if err != nil {
			return usagef("run: %v", err)
		}
		ats = append(ats, at)
	}

	var startTime time.Time
	if *startAt != "" {
		if startTime, err = time.Parse(time.RFC3339, *startAt); err != nil {
			return usagef("run: --start-at %q: write an RFC 3339 time, e.g. 2026-11-24T10:00:00Z", *startAt)
		}
		if time.Until(startTime) > 24*time.Hour {
			return usagef("run: --start-at %s is more than 24 h ahead", *startAt)
		}
	}
	var m *metrics.Metrics
	if *metricsAddr != "" {
		m = metrics.New()
		srv, err := m.Serve(*metricsAddr)
		if err != nil {
			return usagef("run: %v", err)
		}
		defer srv.Close()
		if !*quiet {
			fmt.Fprintf(stderr, "wshold: metrics at http://%s/metrics\n", srv.Addr)
		}
	}

	// What a second interrupt writes before quitting: the current
	// scenario's result so far, to its -o file.
	var snapMu sync.Mutex
	var snapshot func() *report.Result
	var snapPath string
	ctx, stop := interruptible(stderr, func() {
		snapMu.Lock()
		defer snapMu.Unlock()
		if snapshot != nil && snapPath != "" {
			if err := writeResult(snapPath, snapshot()); err == nil {
				fmt.Fprintf(stderr, "wshold: wrote what it had to %s\n", snapPath)
			} else {
				fmt.Fprintf(stderr, "wshold: could not write what it had: %v\n", err)
			}
		}
	})
	defer stop()

	// The first scenario's run waits for --start-at itself, after its
	// setup: shards whose setup takes different times still ramp together.
	if !startTime.IsZero() {
		if wait := time.Until(startTime); wait > 0 {
			fmt.Fprintf(stderr, "wshold: waiting %s until --start-at %s\n", wait.Round(time.Second), *startAt)
		} else if wait < -5*time.Second {
			fmt.Fprintf(stderr, "wshold: warning: --start-at %s passed %s ago; starting now\n", *startAt, (-wait).Round(time.Second))
		}
	}

	var results []*report.Result
	var writeErrs []writeFailure
	failed := false
	for i, sc := range scenarios {
		if len(scenarios) > 1 && !*quiet {
			fmt.Fprintf(stderr, "== scenario %s (%d of %d)\n", sc.Name, i+1, len(scenarios))
		}
		outPath := perScenario(*out, sc.Name, len(scenarios))
		id := runID
		if id == "" {
			id = newRunID()
		}
		opts := runner.Options{Version: version, At: ats, CommandOutput: stderr, Shard: shard.String(), RunID: id,
			CheckpointInterval: *checkpointEvery}
		if i == 0 {
			opts.StartAt = startTime
		}
		mode := *progressMode
		if *quiet {
			mode = "never"
		}
		display, err := progress.New(stderr, progress.Options{Mode: mode, Interval: *progressEvery, Conns: sc.Conns, Hold: sc.Hold.D()})
		if err != nil {
			return usagef("run: %v", err)
		}
		opts.ProgressInterval = display.Interval()
		opts.Progress = func(p runner.Progress) {
			display.Update(progress.Snapshot{Phase: p.Phase, Attempted: p.Live.Attempted, Upgraded: p.Live.Upgraded,
				Failed: p.Live.Failed, Dropped: p.Live.Dropped, Alive: p.Live.Alive,
				HandshakeP99Ms: p.Live.HandshakeP99Ms, HoldLeft: p.HoldLeft, Elapsed: p.Elapsed, RSSBytes: p.RSSBytes,
				Reconnected: p.Live.Reconnected, MessagesSent: p.Live.MessagesSent, MessagesReceived: p.Live.MessagesReceived,
				RTTP99Ms: p.Live.RTTP99Ms})
			if m != nil {
				m.SetPhase(p.Phase)
			}
		}
		if m != nil {
			opts.Sink = m.Sink
		}
		if outPath != "" {
			opts.Checkpoint = checkpointWriter(outPath, stderr)
			opts.Snapshot = func(f func() *report.Result) {
				snapMu.Lock()
				snapshot, snapPath = f, outPath
				snapMu.Unlock()
			}
		}
		x := runExtras{ats: *atFlags, quiet: *quiet, stderr: stderr}
		if m != nil {
			x.mirror = m.Mirror()
		}
		res, err := runOne(ctx, sc, shard, opts, x)
		display.Close()
		if m != nil {
			m.SetAlive(0)
		}
		if err != nil {
			var se *runner.StartError
			if errors.As(err, &se) {
				return usagef("run %s: %v", sc.Name, err)
			}
			if errors.Is(err, context.Canceled) {
				// Interrupted while waiting for --start-at: nothing ran.
				return errFail
			}
			return err
		}
		results = append(results, res)
		// The report goes to stdout before any file is written, so a
		// write that fails (disk full, directory gone) loses no numbers;
		// and the files are written even if stdout fails.
		var renderErr error
		if !*quiet {
			renderErr = render(stdout, res, *format)
			if errors.Is(renderErr, syscall.EPIPE) {
				// The reader stopped reading (`| head -1`): its choice, not
				// a failure; the verdict still decides the exit status.
				renderErr = nil
			}
		}
		if outPath != "" {
			if err := writeResult(outPath, res); err != nil {
				writeErrs = append(writeErrs, writeFailure{"-o", err})
			}
		}
		if h := perScenario(*htmlOut, sc.Name, len(scenarios)); h != "" {
			if err := renderToFile(h, res, report.WriteHTML); err != nil {
				writeErrs = append(writeErrs, writeFailure{"--html", err})
			}
		}
		if renderErr != nil {
			err := fmt.Errorf("run: printing the report: %w", renderErr)
			if len(writeErrs) > 0 {
				err = errors.Join(err, writeFailures(writeErrs, results, true))
			}
			return err
		}
		if res.Verdict != "pass" || res.Interrupted || res.EndReason == "error" {
			failed = true
		}
		if res.Interrupted {
			break
		}
	}
	if *junitOut != "" {
		var buf bytes.Buffer
		if err := report.WriteJUnit(&buf, results...); err != nil {
			return err
		}
		if err := report.WriteFileAtomic(*junitOut, buf.Bytes(), 0o644); err != nil {
			writeErrs = append(writeErrs, writeFailure{"--junit", err})
		}
	}
	if len(results) > 1 && !*quiet {
		fmt.Fprintln(stdout, "\nSummary:")
		for _, r := range results {
			fmt.Fprintf(stdout, "  %-24s %s\n", r.Scenario.Name, report.VerdictLine(r))
		}
	}
	if len(writeErrs) > 0 {
		return writeFailures(writeErrs, results, *quiet)
	}
	if failed {
		return errFail
	}
	return nil
}

// runScenarios builds the scenarios to run, defaults < file < flags, and
// resolves each: what runs is what resolved.
func runScenarios(fs *pflag.FlagSet, sflags *scenario.Flags, file string, names []string) ([]*scenario.Resolved, error) {
	var list []scenario.Scenario
	if file == "" {
		if len(names) > 0 {
			return nil, usagef("run: --scenario needs --file")
		}
		list = []scenario.Scenario{scenario.Defaults()}
	} else {
		f, err := scenario.LoadFile(file)
		if err != nil {
			return nil, usagef("run: %v", err)
		}
		list, err = f.Select(names)
		if err != nil {
			return nil, usagef("run: %v", err)
		}
	}
	out := make([]*scenario.Resolved, len(list))
	for i := range list {
		sflags.Apply(fs, &list[i])
		if fs.NArg() == 1 {
			list[i].Target = fs.Arg(0)
		}
		rs, err := scenario.Resolve(list[i])
		if err != nil {
			return nil, usagef("run %s: %v", list[i].Name, err)
		}
		out[i] = rs
	}
	return out, nil
}

// interruptible returns a context cancelled by the first SIGINT/SIGTERM:
// the run stops opening connections, closes the held ones and writes its
// result. A second signal writes the result so far (when -o is set) and
// exits at once, without the closing handshakes.
func interruptible(stderr io.Writer, onSecond func()) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		select {
		case <-sigs:
		case <-done:
			return
		}
		fmt.Fprintln(stderr, "\nwshold: interrupted: closing connections and writing the result (interrupt again to quit at once)")
		cancel()
		select {
		case <-sigs:
			fmt.Fprintln(stderr, "wshold: interrupted twice: writing what it has and quitting without closing connections")
			onSecond()
			os.Exit(exitFail)
		case <-done:
		}
	}()
	return ctx, func() { signal.Stop(sigs); close(done); cancel() }
}

func perScenario(path, name string, n int) string {
	if path == "" || n <= 1 {
		return path
	}
	ext := filepath.Ext(path)
	return strings.TrimSuffix(path, ext) + "-" + name + ext
}

func writeResult(path string, res *report.Result) error {
	return report.WriteResultFile(path, res)
}

func renderToFile(path string, res *report.Result, fn func(io.Writer, *report.Result) error) error {
	var buf bytes.Buffer
	if err := fn(&buf, res); err != nil {
		return err
	}
	return report.WriteFileAtomic(path, buf.Bytes(), 0o644)
}

func render(w io.Writer, res *report.Result, format string) error {
	switch format {
	case "json":
		return report.WriteJSON(w, res)
	case "markdown":
		return report.WriteMarkdown(w, res)
	default:
		return report.WriteTable(w, res)
	}
}

// outputFile is a file the run will write, with the flag that named it.
type outputFile struct {
	flag, given, path string
	ext               string // the usual extension of such a file, for examples
	scenario          string // set when path is given's per-scenario form
}

// outputFiles lists every file the run will write: -o and --html once per
// scenario (NAME added before the extension when there are several), and
// --junit once.
func outputFiles(out, html, junit string, scenarios []*scenario.Resolved) []outputFile {
	var files []outputFile
	for _, fl := range []struct{ flag, given, ext string }{{"-o", out, ".json"}, {"--html", html, ".html"}} {
		if fl.given == "" {
			continue
		}
		for _, sc := range scenarios {
			f := outputFile{flag: fl.flag, given: fl.given, path: perScenario(fl.given, sc.Name, len(scenarios)), ext: fl.ext}
			if f.path != f.given {
				f.scenario = sc.Name
			}
			files = append(files, f)
		}
	}
	if junit != "" {
		files = append(files, outputFile{flag: "--junit", given: junit, path: junit, ext: ".xml"})
	}
	return files
}

// checkOutputs makes sure each file can be written where it is meant to
// go, the way report.WriteFileAtomic will write it: a temporary file in
// the same directory, renamed over the path. It creates and removes such
// a temporary file; a file already at the path is left untouched.
func checkOutputs(files []outputFile) error {
	for _, f := range files {
		if err := canWrite(f.path, f.ext); err != nil {
			what := fmt.Sprintf("%s %s", f.flag, f.given)
			if f.scenario != "" {
				what += fmt.Sprintf(" (scenario %s writes %s)", f.scenario, f.path)
			}
			return usagef("run: %s: %v", what, err)
		}
	}
	return nil
}

// canWrite says why path cannot be written, with the fix, or nil; ext
// is the usual extension of such a file, for the example.
func canWrite(path, ext string) error {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("%s is a directory; name a file in it, e.g. %s", path, filepath.Join(path, "result"+ext))
	}
	// A link, device or FIFO is refused, not renamed over: as root,
	// -o /dev/null would otherwise become a regular file.
	if err := safefile.CheckTarget(path); err != nil {
		return err
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".wshold-check-*")
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("directory %s does not exist; create it first (mkdir -p %s) or choose another path", dir, dir)
		case errors.Is(err, syscall.ENOTDIR):
			return fmt.Errorf("%s is not a directory (a file is in the way); choose another path", dir)
		case errors.Is(err, fs.ErrPermission), errors.Is(err, syscall.EROFS):
			return fmt.Errorf("cannot create files in %s (%v); choose a directory you can write to", dir, err)
		default:
			return fmt.Errorf("cannot create a file in %s (%v); free space there or choose another path", dir, err)
		}
	}
	tmp.Close()
	return os.Remove(tmp.Name())
}

// checkpointWriter writes -o checkpoints during the run; the first one
// that fails is said once on stderr (the run goes on: the final write may
// still succeed, and the report is printed either way).
func checkpointWriter(path string, stderr io.Writer) func(*report.Result) {
	var once sync.Once
	return func(r *report.Result) {
		if err := writeResult(path, r); err != nil {
			once.Do(func() {
				fmt.Fprintf(stderr, "wshold: warning: checkpoint to -o %s failed: %v; the run goes on, but a killed run would leave no result there (free space, or restore the directory)\n", path, err)
			})
		}
	}
}

// writeFailure is a result file that could not be written at the end.
type writeFailure struct {
	flag string
	err  error
}

// writeFailures turns the end-of-run write errors into one error. The
// report is already on stdout, unless --quiet: then the verdicts go into
// the message, so the run's outcome is not lost with its files.
func writeFailures(ws []writeFailure, results []*report.Result, quiet bool) error {
	var b strings.Builder
	b.WriteString("run: the run finished, but writing its results failed:")
	for _, w := range ws {
		fmt.Fprintf(&b, "\n  %s: %v", w.flag, w.err)
	}
	if quiet {
		b.WriteString("\nthe verdicts:")
		for _, r := range results {
			fmt.Fprintf(&b, "\n  %s: %s", r.Scenario.Name, report.VerdictLine(r))
		}
		b.WriteString("\nfree space or restore the directory, and run again to get the files")
	} else {
		b.WriteString("\nthe report above has the numbers; free space or restore the directory, and run again to get the files")
	}
	return errors.New(b.String())
}

var runIDRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)

// chooseRunID is the run id every scenario of this invocation records:
// --run-id as given; for a shard without one, a name derived from
// --start-at, which every shard of one launch shares; "" when each
// scenario gets a random one (a whole run). A shard with neither cannot
// be told from another run's, so it is refused before it runs rather than
// by merge after the hold.
func chooseRunID(given string, shard runner.Shard, startAt string) (string, error) {
	switch {
	case given != "":
		if !runIDRE.MatchString(given) {
			return "", usagef("run: --run-id %q: use 1 to 128 letters, digits, '.', '_', '-' and ':', starting with a letter or digit", given)
		}
		return given, nil
	case shard.IsZero():
		return "", nil
	case startAt != "":
		t, err := time.Parse(time.RFC3339, startAt)
		if err != nil {
			return "", nil // refused with its own message below
		}
		return "start-" + t.UTC().Format("20060102T150405Z"), nil
	}
	return "", usagef("run: --shard %s needs a name shared by every shard of the run, so that 'wshold merge' can tell them from other runs: give --run-id ID (the same on each shard, e.g. the Job's name), or --start-at, which names the run too", shard)
}

// newRunID is a random run id.
func newRunID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
