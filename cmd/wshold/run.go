package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"github.com/wshold/wshold/internal/runner"
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

Examples:
  wshold run                                    # embedded default
  wshold run -c 1000 --hold 75s ws://127.0.0.1:18084/ws
  wshold run --ping 30s ws://127.0.0.1:18084/ws  # does a heartbeat keep them?
  wshold run -f scenarios.example.toml -s nginx-default --junit junit.xml

Flags given on the command line override the file's values.

Exit status: 0 every expectation held; 1 an expectation failed or the run
was interrupted; 2 bad usage, bad scenario file, or the run could not start.

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
	progress := fs.String("progress", "auto", "progress on stderr: auto (live line on a terminal, plain lines every --progress-interval otherwise), always (live line), never")
	progressEvery := fs.Duration("progress-interval", 5*time.Second, "how often to print a plain progress line when stderr is not a terminal")
	atFlags := fs.StringArray("at", nil, "run a shell command at an offset into the hold and mark it on the timeline, e.g. --at '2s=nginx -s reload' (repeatable); drops that follow it are attributed to it")
	quiet := fs.BoolP("quiet", "q", false, "no progress and no report on stdout (use with -o); the exit status still tells")
	shardFlag := fs.String("shard", "", "run only shard `I/N` of the scenario (0 <= I < N): its share of --conns, --rate and --source-ip addresses; "+
		"merge the shards' -o files with 'wshold merge' (e.g. one shard per pod of a Kubernetes Indexed Job)")
	checkpointEvery := fs.Duration("checkpoint-interval", 10*time.Second, "how often -o gets a checkpoint of the run so far (a killed run leaves it; --procs reads its workers' progress from them)")
	fs.Usage = func() {
		fmt.Fprint(stdout, runUsage)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
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
	switch *progress {
	case "auto", "always", "never":
	default:
		return usagef("run: --progress %q: use auto, always or never", *progress)
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
	var ats []runner.At
	for _, a := range *atFlags {
		at, err := runner.ParseAt(a)
		if err != nil {
			return usagef("run: %v", err)
		}
		ats = append(ats, at)
	}

	ctx, stop := interruptible(stderr)
	defer stop()

	var results []*report.Result
	failed := false
	for i, sc := range scenarios {
		if len(scenarios) > 1 && !*quiet {
			fmt.Fprintf(stderr, "== scenario %s (%d of %d)\n", sc.Name, i+1, len(scenarios))
		}
		outPath := perScenario(*out, sc.Name, len(scenarios))
		opts := runner.Options{Version: version, At: ats, CommandOutput: stderr, Shard: shard.String(),
			CheckpointInterval: *checkpointEvery}
		if !*quiet && *progress != "never" {
			opts.Progress, opts.ProgressInterval = progressPrinter(stderr, *progress, *progressEvery)
		}
		if outPath != "" {
			opts.Checkpoint = func(r *report.Result) { _ = writeResult(outPath, r) }
		}
		res, err := runOne(ctx, sc, shard, opts, runExtras{ats: *atFlags, quiet: *quiet, stderr: stderr})
		if err != nil {
			var se *runner.StartError
			if errors.As(err, &se) {
				return usagef("run %s: %v", sc.Name, err)
			}
			return err
		}
		results = append(results, res)
		if outPath != "" {
			if err := writeResult(outPath, res); err != nil {
				return fmt.Errorf("writing the result: %w", err)
			}
		}
		if h := perScenario(*htmlOut, sc.Name, len(scenarios)); h != "" {
			if err := renderToFile(h, res, report.WriteHTML); err != nil {
				return err
			}
		}
		if !*quiet {
			if err := render(stdout, res, *format); err != nil {
				return err
			}
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
			return fmt.Errorf("writing --junit: %w", err)
		}
	}
	if len(results) > 1 && !*quiet {
		fmt.Fprintln(stdout, "\nSummary:")
		for _, r := range results {
			fmt.Fprintf(stdout, "  %-24s %s\n", r.Scenario.Name, report.VerdictLine(r))
		}
	}
	if failed {
		return errFail
	}
	return nil
}

// runScenarios builds the scenarios to run: defaults < file < flags.
func runScenarios(fs *pflag.FlagSet, sflags *scenario.Flags, file string, names []string) ([]scenario.Scenario, error) {
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
	for i := range list {
		sflags.Apply(fs, &list[i])
		if fs.NArg() == 1 {
			list[i].Target = fs.Arg(0)
		}
		if err := list[i].Validate(); err != nil {
			return nil, usagef("run %s: %v", list[i].Name, err)
		}
	}
	return list, nil
}

// interruptible returns a context cancelled by the first SIGINT/SIGTERM:
// the run stops opening connections, closes the held ones and writes its
// result. A second signal exits at once; the last checkpoint stays on disk.
func interruptible(stderr io.Writer) (context.Context, func()) {
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
			fmt.Fprintln(stderr, "wshold: interrupted twice: quitting; the result file holds the last checkpoint")
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
	var buf bytes.Buffer
	if err := report.WriteJSON(&buf, res); err != nil {
		return err
	}
	return report.WriteFileAtomic(path, buf.Bytes(), 0o644)
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

// progressPrinter prints a live status line on a terminal, plain lines
// elsewhere (CI logs get no control characters).
func progressPrinter(w io.Writer, mode string, every time.Duration) (func(runner.Progress), time.Duration) {
	live := mode == "always" || (mode == "auto" && isTerminal(w))
	var mu sync.Mutex
	format := func(p runner.Progress) string {
		s := fmt.Sprintf("%-8s %6.1fs  up %d  alive %d  failed %d  dropped %d  p99 %.1f ms",
			p.Phase, p.Elapsed.Seconds(), p.Live.Upgraded, p.Live.Alive, p.Live.Failed, p.Live.Dropped, p.Live.HandshakeP99Ms)
		if p.HoldLeft > 0 {
			s += fmt.Sprintf("  hold left %s", p.HoldLeft.Round(time.Second))
		}
		return s
	}
	if live {
		return func(p runner.Progress) {
			mu.Lock()
			defer mu.Unlock()
			end := ""
			if p.Phase == "closing" {
				end = "\n"
			}
			fmt.Fprintf(w, "\r\x1b[2K%s%s", format(p), end)
		}, 250 * time.Millisecond
	}
	return func(p runner.Progress) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintln(w, format(p))
	}, every
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
