package integration

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wshold/wshold/internal/runner"
	"github.com/wshold/wshold/report"
	"github.com/wshold/wshold/scenario"
)

// Helpers of the fault, hostile-server, TLS and interrupt tests: the real
// binary, a separate `wshold serve`, and in-process runs a test can act on
// once the hold has begun.

// buildWsholdForTest builds cmd/wshold into the test's temp directory. The
// tests that need a process of its own (signals, exit codes, peak RSS, what
// reaches stdout and stderr) run this binary rather than the test binary.
func buildWsholdForTest(t *testing.T) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = "/usr/local/go/bin/go"
	}
	bin := filepath.Join(t.TempDir(), "wshold")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, gobin, "build", "-o", bin, "github.com/wshold/wshold/cmd/wshold")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/wshold: %v\n%s", err, out)
	}
	return bin
}

// startServeProcess runs `wshold serve` on a free loopback port in a
// process of its own, so that the harness under test is measured alone, and
// returns its host:port. It is stopped by the test's cleanup.
func startServeProcess(t *testing.T, bin string) string {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--listen", "127.0.0.1:0")
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting wshold serve: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	addr := make(chan string, 1)
	go func() {
		const marker = "listening on ws://"
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() { // drains stderr until serve exits
			if i := strings.Index(sc.Text(), marker); i >= 0 && !sent {
				rest := sc.Text()[i+len(marker):]
				addr <- rest[:strings.IndexByte(rest+"/", '/')]
				sent = true
			}
		}
		if !sent {
			close(addr)
		}
	}()
	select {
	case a, ok := <-addr:
		if !ok || a == "" {
			t.Fatal("wshold serve exited without saying where it listens")
		}
		return a
	case <-time.After(20 * time.Second):
		t.Fatal("wshold serve did not say where it listens within 20 s")
	}
	return ""
}

// cliOutcome is what one run of the binary left behind.
type cliOutcome struct {
	Stdout, Stderr string
	Code           int
	Elapsed        time.Duration
}

// runCLI runs the binary with args and waits for it, at most limit.
func runCLI(t *testing.T, bin string, limit time.Duration, args ...string) cliOutcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	began := time.Now()
	err := cmd.Run()
	out := cliOutcome{Stdout: stdout.String(), Stderr: stderr.String(), Elapsed: time.Since(began)}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		t.Fatalf("wshold %s did not finish within %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), limit, out.Stdout, out.Stderr)
	case errors.As(err, &ee):
		out.Code = ee.ExitCode()
	case err != nil:
		t.Fatalf("running wshold: %v", err)
	}
	return out
}

// mustReadResult reads a result file and checks the count invariants.
func mustReadResult(t *testing.T, path string) *report.Result {
	t.Helper()
	res, err := report.ReadResultFile(path)
	if err != nil {
		t.Fatalf("the result file does not parse: %v", err)
	}
	checkInvariants(t, res)
	return res
}

// heldRun is an in-process run that a test acts on once the hold begins
// (kill a proxy, reset connections) and then collects.
type heldRun struct {
	holding chan struct{}
	done    chan struct{}
	res     *report.Result
	err     error
}

// startHeldRun starts sc in the background; cancel-free, bounded by the
// hold plus two minutes.
func startHeldRun(t *testing.T, sc scenario.Scenario) *heldRun {
	t.Helper()
	h := &heldRun{holding: make(chan struct{}), done: make(chan struct{})}
	var once sync.Once
	opts := runner.Options{
		ProgressInterval: 20 * time.Millisecond,
		Progress: func(p runner.Progress) {
			if p.Phase == "holding" {
				once.Do(func() { close(h.holding) })
			}
		},
	}
	rs := resolved(t, sc)
	ctx, cancel := context.WithTimeout(context.Background(), sc.Hold.D()+2*time.Minute)
	go func() {
		defer close(h.done)
		defer cancel()
		h.res, h.err = runner.Run(ctx, rs, opts)
	}()
	t.Cleanup(func() { cancel(); <-h.done })
	return h
}

// waitHolding returns once every attempt has ended and the hold has begun.
func (h *heldRun) waitHolding(t *testing.T) {
	t.Helper()
	select {
	case <-h.holding:
	case <-h.done:
		t.Fatalf("the run ended before its hold began: %v", h.err)
	case <-time.After(2 * time.Minute):
		t.Fatal("the hold did not begin within 2 minutes")
	}
}

// result waits for the run's end and checks the count invariants.
func (h *heldRun) result(t *testing.T) *report.Result {
	t.Helper()
	<-h.done // bounded by the run's own context
	if h.err != nil {
		t.Fatalf("run: %v", h.err)
	}
	keepIfFailed(t, h.res)
	checkInvariants(t, h.res)
	return h.res
}

// sinceStartMs is t on the run's clock: ms since its start, as AtMs.
func sinceStartMs(res *report.Result, t time.Time) float64 {
	return float64(t.Sub(res.Start)) / float64(time.Millisecond)
}

// filesUnder returns the contents of every regular file below dir.
func filesUnder(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		b, err := io.ReadAll(f)
		out[path] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func scenarioDuration(d time.Duration) scenario.Duration { return scenario.Duration(d) }
