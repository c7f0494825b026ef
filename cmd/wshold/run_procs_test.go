package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wshold/wshold/internal/runner"
	"github.com/wshold/wshold/internal/server"
	"github.com/wshold/wshold/report"
	"github.com/wshold/wshold/scenario"
)

// asWshold makes the test binary behave as wshold itself: 'run --procs'
// re-executes its own binary (os.Executable()) as workers, which in a test
// is this binary.
const asWshold = "WSHOLD_TEST_AS_WSHOLD"

// Hooks for the binary acting as wshold, to make what is rare happen on
// purpose.
const (
	// hookNoFile lowers the open-files soft limit to this many.
	hookNoFile = "WSHOLD_TEST_NOFILE"
	// hookHogFDs opens this many descriptors first, as if something else
	// in the process held them.
	hookHogFDs = "WSHOLD_TEST_HOG_FDS"
	// hookDie names a shard ("1/2") whose worker exits with status 3 once
	// its first checkpoint is on disk.
	hookDie = "WSHOLD_TEST_DIE"
	// hookKill names a shard whose worker kills itself with SIGKILL as it
	// starts, before any checkpoint.
	hookKill = "WSHOLD_TEST_KILL"
)

func TestMain(m *testing.M) {
	if os.Getenv(asWshold) == "1" {
		applyTestHooks(os.Args[1:])
		os.Exit(wshold(os.Args[1:]))
	}
	os.Setenv(asWshold, "1")
	os.Exit(m.Run())
}

var hogged []*os.File

func applyTestHooks(args []string) {
	if v := os.Getenv(hookNoFile); v != "" {
		var n uint64
		if _, err := fmt.Sscan(v, &n); err == nil {
			var rl unix.Rlimit
			_ = unix.Getrlimit(unix.RLIMIT_NOFILE, &rl)
			rl.Cur = n
			_ = unix.Setrlimit(unix.RLIMIT_NOFILE, &rl)
		}
	}
	if v := os.Getenv(hookHogFDs); v != "" {
		var n int
		if _, err := fmt.Sscan(v, &n); err == nil {
			for range n {
				f, err := os.Open(os.DevNull)
				if err != nil {
					break
				}
				hogged = append(hogged, f) // kept: a collected File closes itself
			}
		}
	}
	if shard := os.Getenv(hookKill); shard != "" {
		if i := slices.Index(args, "--shard"); i >= 0 && i+1 < len(args) && args[i+1] == shard {
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			time.Sleep(time.Minute) // the signal lands first
		}
	}
	if shard := os.Getenv(hookDie); shard != "" {
		i := slices.Index(args, "--shard")
		o := slices.Index(args, "-o")
		if i >= 0 && i+1 < len(args) && args[i+1] == shard && o >= 0 && o+1 < len(args) {
			out := args[o+1]
			go func() {
				for range 600 { // 60 s at most
					if _, err := os.Stat(out); err == nil {
						os.Exit(3)
					}
					time.Sleep(100 * time.Millisecond)
				}
			}()
		}
	}
}

func TestProcsSplitsTheRunAndMergesOneResult(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "r.json")
	var stdout, stderr bytes.Buffer
	code := dispatch([]string{"run", "--procs", "2", "-c", "1000", "-r", "2000", "--hold", "1s", "-o", out, "-q"}, &stdout, &stderr)
	if code != exitPass {
		t.Fatalf("exit %d, want 0; stderr:\n%s", code, stderr.String())
	}
	if stdout.Len() != 0 || stderr.Len() != 0 {
		t.Errorf("-q printed something; stdout %q stderr %q", stdout.String(), stderr.String())
	}
	res := readResult(t, out)
	if res.Counts.Upgraded != 1000 || res.Counts.Attempted != 1000 || res.Counts.Held != 1000 {
		t.Errorf("counts %+v, want 1000 attempted, upgraded and held", res.Counts)
	}
	if res.Shards != 2 || res.Scenario.Procs != 2 || res.Scenario.Conns != 1000 || res.Scenario.Rate != 2000 {
		t.Errorf("shards %d, scenario procs %d conns %d rate %v; want 2, 2, 1000, 2000 (the whole run, not a shard's share)",
			res.Shards, res.Scenario.Procs, res.Scenario.Conns, res.Scenario.Rate)
	}
	if res.Scenario.Target != "" {
		t.Errorf("scenario target %q; the embedded default has none", res.Scenario.Target)
	}
	if len(res.Resources.Procs) != 2 || res.Resources.Procs[0].PID == res.Resources.Procs[1].PID {
		t.Fatalf("resources list %+v; want the 2 workers", res.Resources.Procs)
	}
	for _, p := range res.Resources.Procs {
		if p.Held != 500 || p.PID == os.Getpid() {
			t.Errorf("worker %+v: want 500 held by a process other than this one", p)
		}
	}
	h, err := report.DecodeHistogram(res.Handshake.Histogram)
	if err != nil {
		t.Fatal(err)
	}
	if h.TotalCount() != 1000 || res.Handshake.Count != 1000 {
		t.Errorf("handshake histogram holds %d (count %d), want 1000", h.TotalCount(), res.Handshake.Count)
	}
	if res.Verdict != "pass" || res.EndReason != "completed" {
		t.Errorf("verdict %q, end %q", res.Verdict, res.EndReason)
	}
}

func TestTwoShardsMergeTheSameInAnyOrder(t *testing.T) {
	t.Parallel()
	srv, err := server.Start(server.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	url := "ws://" + srv.Addrs()[0].String() + "/"
	dir := t.TempDir()
	var shards []*report.Result
	for _, s := range []string{"0/2", "1/2"} {
		out := filepath.Join(dir, strings.Replace(s, "/", "-of-", 1)+".json")
		var stderr bytes.Buffer
		code := dispatch([]string{"run", "--shard", s, "--run-id", "two-shards", "-c", "2000", "-r", "4000", "--hold", "500ms", "-o", out, "-q", url}, &bytes.Buffer{}, &stderr)
		if code != exitPass {
			t.Fatalf("shard %s: exit %d; stderr:\n%s", s, code, stderr.String())
		}
		r := readResult(t, out)
		if r.Shard != s || r.RunID != "two-shards" || r.Counts.Upgraded != 1000 || r.Scenario.Conns != 1000 || r.Scenario.Rate != 2000 {
			t.Errorf("shard %s: result shard %q, upgraded %d, conns %d, rate %v; want its half", s, r.Shard, r.Counts.Upgraded, r.Scenario.Conns, r.Scenario.Rate)
		}
		shards = append(shards, r)
	}
	ab, err := report.Merge([]*report.Result{shards[0], shards[1]})
	if err != nil {
		t.Fatal(err)
	}
	ba, err := report.Merge([]*report.Result{shards[1], shards[0]})
	if err != nil {
		t.Fatal(err)
	}
	var j1, j2 bytes.Buffer
	if err := report.WriteJSON(&j1, ab); err != nil {
		t.Fatal(err)
	}
	if err := report.WriteJSON(&j2, ba); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(j1.Bytes(), j2.Bytes()) {
		t.Errorf("merging in another order gave other JSON")
	}
	h, err := report.DecodeHistogram(ab.Handshake.Histogram)
	if err != nil {
		t.Fatal(err)
	}
	if ab.Counts.Upgraded != 2000 || h.TotalCount() != 2000 || ab.Shards != 2 {
		t.Errorf("merged: upgraded %d, histogram %d, shards %d; want 2000, 2000, 2", ab.Counts.Upgraded, h.TotalCount(), ab.Shards)
	}
}

// A worker that dies fails the run, and the result says which worker,
// when, how, and what of its connections is missing: its last checkpoint
// stands in for it, and what it held then is not counted as held.
func TestAWorkerThatDiesIsReportedAndItsCheckpointKept(t *testing.T) {
	t.Setenv(hookDie, "1/2") // not parallel: children of other tests must not see it
	out := filepath.Join(t.TempDir(), "r.json")
	var stdout, stderr bytes.Buffer
	code := dispatch([]string{"run", "--procs", "2", "-c", "400", "-r", "800", "--hold", "5s",
		"--checkpoint-interval", "1s", "-o", out, "-q"}, &stdout, &stderr)
	if code != exitFail {
		t.Fatalf("exit %d, want 1; stderr:\n%s", code, stderr.String())
	}
	res := readResult(t, out)
	if res.EndReason != "error" || res.Verdict != "fail" {
		t.Errorf("end reason %q, verdict %q; want error, fail", res.EndReason, res.Verdict)
	}
	died := diedExpectation(t, res)
	for _, want := range []string{"worker 2 of 2 (shard 1/2, pid ", "exited with status 3 at ", "its 200 connections are not in this result after its last checkpoint at "} {
		if !strings.Contains(died.Got, want) {
			t.Errorf("%q does not say %q", died.Got, want)
		}
	}
	if w := strings.Join(res.Warnings, "\n"); !strings.Contains(w, "exited with status 3") || strings.Contains(w, "merged a checkpoint") {
		t.Errorf("warnings do not tell of the death once (the worker's, not also the merge's):\n%s", w)
	}
	if line := report.VerdictLine(res); !strings.HasPrefix(line, "FAIL") || !strings.Contains(line, "every worker finished") {
		t.Errorf("verdict line %q; want FAIL naming the dead worker's expectation", line)
	}
	c := res.Counts
	if c.Attempted != 400 || c.Upgraded < 200 || len(res.Resources.Procs) != 2 {
		t.Errorf("counts %+v with %d processes; want 400 attempted, shard 0's 200 upgraded at least, and both processes", c, len(res.Resources.Procs))
	}
	if c.Attempted != c.Upgraded+c.Failed {
		t.Errorf("counts %+v: attempted is not upgraded + failed", c)
	}
	if c.Held > 200 {
		t.Errorf("held %d: the dead worker's connections were not alive when the hold ended", c.Held)
	}
	for _, e := range res.Expectations {
		if e.Want == report.WantEveryShardFinished {
			t.Errorf("%q listed beside every worker finished: %+v", e.Want, res.Expectations)
		}
	}
}

// A worker killed before its first checkpoint leaves nothing; its share
// is not dropped from the counts but counted as failed, cause worker_died.
func TestAWorkerKilledBeforeItsFirstCheckpointIsCounted(t *testing.T) {
	t.Setenv(hookKill, "1/2") // not parallel: children of other tests must not see it
	out := filepath.Join(t.TempDir(), "r.json")
	var stdout, stderr bytes.Buffer
	code := dispatch([]string{"run", "--procs", "2", "-c", "400", "-r", "800", "--hold", "1s", "-o", out, "-q"}, &stdout, &stderr)
	if code != exitFail {
		t.Fatalf("exit %d, want 1; stderr:\n%s", code, stderr.String())
	}
	res := readResult(t, out)
	died := diedExpectation(t, res)
	for _, want := range []string{"worker 2 of 2 (shard 1/2", "was killed by SIGKILL at ", "none of its 200 connections are in this result"} {
		if !strings.Contains(died.Got, want) {
			t.Errorf("%q does not say %q", died.Got, want)
		}
	}
	c := res.Counts
	if c.Attempted != 400 || c.Upgraded != 200 || c.Failed != 200 || c.Held != 200 {
		t.Errorf("counts %+v; want 400 attempted, 200 upgraded and held, 200 failed", c)
	}
	var lost int64
	for _, f := range res.Failures {
		if f.Cause == "worker_died" {
			lost = f.Count
		}
	}
	if lost != 200 {
		t.Errorf("failures %+v; want the dead worker's 200 as worker_died", res.Failures)
	}
	if line := report.VerdictLine(res); !strings.HasPrefix(line, "FAIL: 200/400 upgraded") {
		t.Errorf("verdict line %q; want FAIL: 200/400 upgraded", line)
	}
}

func diedExpectation(t *testing.T, res *report.Result) report.Expectation {
	t.Helper()
	for _, e := range res.Expectations {
		if e.Want == "every worker finished" {
			if e.Pass {
				t.Errorf("%+v passes", e)
			}
			return e
		}
	}
	t.Fatalf("no 'every worker finished' expectation in %+v", res.Expectations)
	return report.Expectation{}
}

// --checkpoint-interval holds with --procs too: the -o file gets a
// checkpoint at that pace even when progress is slower.
func TestProcsCheckpointAtTheIntervalAsked(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "r.json")
	// Progress (whose checkpoints would also refresh -o) comes every 120 s
	// and the hold is longer still, so a checkpoint seen within 40 s can
	// only be --checkpoint-interval's: the bound leaves room for a loaded
	// machine starting two race-detector workers.
	cmd := exec.Command(os.Args[0], "run", "--procs", "2", "-c", "20", "--hold", "180s", "--checkpoint-interval", "1s",
		"--progress-interval", "120s", "--progress", "never", "-o", out)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stop := func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait() // then stderr is no longer written
	}
	defer stop()
	start := time.Now()
	var seen *report.Result
	for range 400 { // 40 s at most
		if r, err := report.ReadResultFile(out); err == nil {
			seen = r
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if seen == nil {
		took := time.Since(start).Round(time.Millisecond)
		stop()
		t.Fatalf("no checkpoint in -o within %s with --checkpoint-interval 1s; stderr:\n%s", took, stderr.String())
	}
	if seen.EndReason != "checkpoint" || seen.Verdict != "" {
		t.Errorf("end reason %q, verdict %q; a checkpoint is neither finished nor judged", seen.EndReason, seen.Verdict)
	}
}

// Ctrl-C reaches the parent only (the workers have their own process
// group); it forwards the interrupt, and every worker still writes its
// result.
func TestInterruptReachesEveryWorker(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "r.json")
	cmd := exec.Command(os.Args[0], "run", "--procs", "2", "-c", "200", "--hold", "60s", "-o", out, "--progress", "never", "--format", "json")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	held := false
	for range 300 { // 30 s at most
		if r, err := report.ReadResultFile(out); err == nil && r.Counts.Held == 200 && !r.HoldStart.IsZero() {
			held = true
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !held {
		t.Fatalf("the run never reported 200 held; stderr:\n%s", stderr.String())
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var err error
	select {
	case err = <-done:
	case <-time.After(60 * time.Second):
		t.Fatalf("still running 60 s after the interrupt; stderr:\n%s", stderr.String())
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitFail {
		t.Errorf("exit %v, want status 1 (interrupted); stderr:\n%s", err, stderr.String())
	}
	res := readResult(t, out)
	if !res.Interrupted || res.EndReason != "interrupted" || res.Counts.Upgraded != 200 || len(res.Resources.Procs) != 2 {
		t.Errorf("interrupted %v, end %q, upgraded %d, %d procs; want true, interrupted, 200, 2",
			res.Interrupted, res.EndReason, res.Counts.Upgraded, len(res.Resources.Procs))
	}
	if !strings.Contains(stderr.String(), "interrupted") {
		t.Errorf("stderr does not tell of the interrupt:\n%s", stderr.String())
	}
}

// Running out of descriptors mid-run is counted as emfile, with the fix.
func TestRunningOutOfDescriptorsIsCountedWithTheFix(t *testing.T) {
	t.Parallel()
	srv, err := server.Start(server.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "r.json")
	// 300 connections pass the check against a limit of 420, but 250 of
	// the 420 are taken already.
	cmd := exec.Command(os.Args[0], "run", "--procs", "1", "-c", "300", "-r", "0", "--hold", "300ms", "-o", out, "-q",
		"ws://"+srv.Addrs()[0].String()+"/")
	cmd.Env = append(os.Environ(), hookNoFile+"=420", hookHogFDs+"=250")
	msg, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitFail {
		t.Fatalf("exit %v, want 1; output:\n%s", err, msg)
	}
	res := readResult(t, out)
	var emfile *report.Failure
	for i := range res.Failures {
		if res.Failures[i].Cause == "emfile" {
			emfile = &res.Failures[i]
		}
	}
	if emfile == nil || emfile.Count == 0 {
		t.Fatalf("no emfile failures in %+v", res.Failures)
	}
	if res.Counts.Failed < emfile.Count || res.Counts.Upgraded == 0 {
		t.Errorf("counts %+v with %d emfile", res.Counts, emfile.Count)
	}
	for _, fix := range []string{"ulimit -n", "--procs"} {
		if !strings.Contains(emfile.Hint, fix) {
			t.Errorf("emfile hint %q does not give the fix %q", emfile.Hint, fix)
		}
	}
}

func TestRunRefusesWhatCannotFitWithTheFix(t *testing.T) {
	t.Parallel()
	cases := []struct {
		args []string
		says []string
	}{
		{[]string{"--procs", "1", "-c", "25000", "ws://127.0.0.1:9/"}, []string{"open files", "--procs 2"}},
		{[]string{"-c", "40000", "ws://127.0.0.1:9/"}, []string{"ephemeral ports", "--source-ip 127.0.0.1-127.0.0.", "ip_local_port_range"}}, // how many: internal/runner
		{[]string{"--shard", "2/2", "ws://127.0.0.1:9/"}, []string{"--shard", "from 0 to 1"}},
		{[]string{"--shard", "1/3", "--run-id", "r", "-c", "1", "ws://127.0.0.1:9/"}, []string{"leaves this shard none"}},
		{[]string{"--checkpoint-interval", "0s", "ws://127.0.0.1:9/"}, []string{"--checkpoint-interval"}},
	}
	if h := hostLimit(); h != 20000 {
		t.Logf("open-files limit here is %d; the first case assumes 20000", h)
		cases = cases[1:]
	}
	for _, tc := range cases {
		var stderr bytes.Buffer
		code := dispatch(append([]string{"run", "-q"}, tc.args...), &bytes.Buffer{}, &stderr)
		if code != exitUsage {
			t.Errorf("%v: exit %d, want 2", tc.args, code)
		}
		for _, s := range tc.says {
			if !strings.Contains(stderr.String(), s) {
				t.Errorf("%v: message does not say %q:\n%s", tc.args, s, stderr.String())
			}
		}
	}
}

func readResult(t *testing.T, path string) *report.Result {
	t.Helper()
	r, err := report.ReadResultFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func hostLimit() uint64 {
	var rl unix.Rlimit
	_ = unix.Getrlimit(unix.RLIMIT_NOFILE, &rl)
	return rl.Cur
}

// A process holding plain ws:// connections to a target elsewhere runs
// them on one scheduler thread; TLS, the embedded default's in-process
// server, a run past half of a source address's ports and an explicit
// GOMAXPROCS keep every thread.
func TestOneSchedulerThreadForPlainWSTargetsOnly(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	host := runner.Host{PortLo: 32768, PortHi: 60999}
	for _, c := range []struct {
		env, target string
		conns       int
		sources     []string
		want        int
	}{
		{"", "ws://127.0.0.1:18084/ws", 1000, nil, 1},
		{"", "WS://127.0.0.1:18084/ws", 1000, nil, 1},
		{"", "wss://127.0.0.1:18443/ws", 1000, nil, 3},
		{"", "", 1000, nil, 3},
		{"3", "ws://127.0.0.1:18084/ws", 1000, nil, 3},
		{"", "ws://127.0.0.1:18084/ws", 15000, nil, 3},
		{"", "ws://127.0.0.1:18084/ws", 15000, []string{"127.0.0.1-127.0.0.2"}, 1},
	} {
		t.Setenv("GOMAXPROCS", c.env)
		runtime.GOMAXPROCS(3)
		sc := scenario.Defaults()
		sc.Target, sc.Conns, sc.SourceIPs = c.target, c.conns, c.sources
		rs, err := scenario.Resolve(sc)
		if err != nil {
			t.Fatal(err)
		}
		oneSchedulerThread(rs, host)
		if got := runtime.GOMAXPROCS(0); got != c.want {
			t.Errorf("GOMAXPROCS=%q, %s with %d connections from %v: %d scheduler threads, want %d",
				c.env, c.target, c.conns, c.sources, got, c.want)
		}
	}
}

// A --procs run's secrets (a URL's password and token, a credential
// header: a Cookie, since the URL's password already makes the
// Authorization header) are never written to disk, and the parent's start line does not
// show them: after the parent is killed outright with the workers holding
// connections, no file it or they left holds one.
func TestProcsSecretsNeverReachTheDisk(t *testing.T) {
	t.Parallel()
	srv, err := server.Start(server.Config{Listen: []string{"127.0.0.1:0"}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	tmp, outDir := t.TempDir(), t.TempDir()
	out := filepath.Join(outDir, "r.json")
	secrets := []string{"pa55word", "t0kenvalue", "hEadersecret", "dXNlcjpwYTU1d29yZA=="} // the last: the URL's credentials as Basic auth
	target := "ws://user:pa55word@" + srv.Addrs()[0].String() + "/ws?token=t0kenvalue"
	cmd := exec.Command(os.Args[0], "run", "--procs", "2", "-c", "20", "--hold", "60s", "-o", out,
		"--checkpoint-interval", "1s", "--progress", "never", "-H", "Cookie: session=hEadersecret", target)
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var cp *report.Result
	for range 300 { // 30 s at most
		if r, err := report.ReadResultFile(out); err == nil && r.Counts.Held == 20 && len(r.Resources.Procs) == 2 {
			cp = r
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if cp == nil {
		t.Fatalf("the run never checkpointed 20 held; stderr:\n%s", stderr.String())
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	// The workers, told by the kernel that their parent died, close their
	// connections and write their results into the parent's directory.
	for _, p := range cp.Resources.Procs {
		for i := 0; i < 300 && syscall.Kill(p.PID, 0) == nil; i++ {
			if stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.PID)); err == nil && strings.Contains(string(stat), ") Z ") {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	files := 0
	for _, dir := range []string{tmp, outDir} {
		_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			files++
			b, _ := os.ReadFile(path)
			for _, s := range secrets {
				if bytes.Contains(b, []byte(s)) {
					t.Errorf("%s holds the secret %q", path, s)
				}
			}
			return nil
		})
	}
	if files < 2 {
		t.Errorf("%d files left; want at least the checkpoint and a worker's result to look into", files)
	}
	for _, s := range secrets {
		if strings.Contains(stderr.String()+stdout.String(), s) {
			t.Errorf("the parent printed the secret %q:\n%s", s, stderr.String())
		}
	}
	if !strings.Contains(stderr.String(), "token=[redacted]") {
		t.Errorf("the start line does not name the target with its token hidden:\n%s", stderr.String())
	}
}

// Separate runs never merge into one: two whole runs, and shards of two
// runs, are refused (exit 2) naming the files; a shard without a run name
// is refused before it runs. The workers of --procs share their parent's
// run id.
func TestMergeTellsOneRunFromTwo(t *testing.T) {
	t.Parallel()
	srv, err := server.Start(server.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	url := "ws://" + srv.Addrs()[0].String() + "/"
	dir := t.TempDir()
	run := func(name string, extra ...string) string {
		out := filepath.Join(dir, name)
		var stderr bytes.Buffer
		args := append([]string{"run", "-c", "4", "--hold", "200ms", "-o", out, "-q"}, extra...)
		if code := dispatch(append(args, url), &bytes.Buffer{}, &stderr); code != exitPass {
			t.Fatalf("%v: exit %d; stderr:\n%s", extra, code, stderr.String())
		}
		return out
	}
	a, b := run("a.json"), run("b.json")
	x0, y0 := run("x-0.json", "--shard", "0/2", "--run-id", "x"), run("y-0.json", "--shard", "0/2", "--run-id", "y")
	ra, rb := readResult(t, a), readResult(t, b)
	if ra.RunID == "" || ra.RunID == rb.RunID {
		t.Errorf("run ids %q and %q; want each whole run its own", ra.RunID, rb.RunID)
	}
	runCLICases(t, []cliCase{
		{"two separate runs", []string{"merge", "-o", filepath.Join(dir, "m.json"), a, b}, exitUsage, "", "they are not shards of one run"},
		{"shard 0/2 of two runs", []string{"merge", "-o", filepath.Join(dir, "m.json"), x0, y0}, exitUsage, "", "x-0.json is of run x and " + y0 + " of run y"},
		{"a shard without a run name", []string{"run", "--shard", "0/2", "-c", "2", url}, exitUsage, "", "--shard 0/2 needs a name shared by every shard"},
		{"a bad run id", []string{"run", "--run-id", "a b", "-c", "2", url}, exitUsage, "", `--run-id "a b"`},
	})
	procs := run("procs.json", "--procs", "2")
	if r := readResult(t, procs); r.RunID == "" || r.Shards != 2 {
		t.Errorf("a --procs run: run id %q, shards %d; want its own id over 2 shards", r.RunID, r.Shards)
	}
}
