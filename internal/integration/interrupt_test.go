package integration

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wshold/wshold/internal/relay"
	"github.com/wshold/wshold/report"
)

// Interrupts and crashes lose nothing: these tests run the real binary,
// signal it mid-hold, and read what it left on disk.

// runningCLI is a `wshold run` in the background whose progress lines are
// watched.
type runningCLI struct {
	cmd     *exec.Cmd
	holding chan struct{} // closed at the first progress line showing want alive while holding
	done    chan struct{} // closed when the process has exited
	exitErr error
	stderr  bytes.Buffer // guarded by mu
	mu      sync.Mutex
}

// startRunCLI starts `wshold run` with plain progress lines every 200 ms
// and watches them for the hold with alive connections up.
func startRunCLI(t *testing.T, bin string, alive int, args ...string) *runningCLI {
	t.Helper()
	args = append([]string{"run", "--progress", "auto", "--progress-interval", "200ms"}, args...)
	r := &runningCLI{cmd: exec.Command(bin, args...), holding: make(chan struct{}), done: make(chan struct{})}
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	r.cmd.Stdout = io.Discard
	pipe, err := r.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	want := []byte("alive " + strconv.Itoa(alive) + " ")
	go func() {
		sc := bufio.NewScanner(pipe)
		seen := false
		for sc.Scan() {
			line := sc.Bytes()
			r.mu.Lock()
			r.stderr.Write(line)
			r.stderr.WriteByte('\n')
			r.mu.Unlock()
			if !seen && bytes.HasPrefix(line, []byte("holding")) && bytes.Contains(line, want) {
				seen = true
				close(r.holding)
			}
		}
		r.exitErr = r.cmd.Wait()
		close(r.done)
	}()
	t.Cleanup(func() {
		_ = r.cmd.Process.Kill()
		<-r.done
	})
	return r
}

func (r *runningCLI) stderrText() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stderr.String()
}

func (r *runningCLI) waitHolding(t *testing.T) {
	t.Helper()
	select {
	case <-r.holding:
	case <-r.done:
		t.Fatalf("wshold exited before its hold: %v\n%s", r.exitErr, r.stderrText())
	case <-time.After(2 * time.Minute):
		t.Fatalf("wshold did not report holding every connection within 2 minutes:\n%s", r.stderrText())
	}
}

// wait waits up to limit for the exit and returns its status.
func (r *runningCLI) wait(t *testing.T, limit time.Duration) int {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(limit):
		t.Fatalf("wshold did not exit within %v:\n%s", limit, r.stderrText())
	}
	var ee *exec.ExitError
	if errors.As(r.exitErr, &ee) {
		return ee.ExitCode()
	}
	if r.exitErr != nil {
		t.Fatalf("waiting for wshold: %v", r.exitErr)
	}
	return 0
}

func (r *runningCLI) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := r.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signalling wshold: %v", err)
	}
}

// waitFile waits (bounded) until path exists: the first checkpoint.
func waitFile(t *testing.T, path string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not appear within %v", path, limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The first SIGINT in the middle of a 30 s hold of 2000 connections: the
// run closes them and writes a complete result — interrupted, all 2000
// counted as held at that moment — promptly, and exits non-zero.
func TestInterruptWritesACompleteResult(t *testing.T) {
	t.Parallel()
	bin := buildWsholdForTest(t)
	addr := startServeProcess(t, bin)
	out := filepath.Join(t.TempDir(), "r.json")
	r := startRunCLI(t, bin, 2000, "-c", "2000", "-r", "2000", "--hold", "30s", "-o", out, "ws://"+addr+"/ws")
	r.waitHolding(t)
	signalled := time.Now()
	r.signal(t, syscall.SIGINT)
	code := r.wait(t, time.Minute)
	took := time.Since(signalled)
	if code == 0 {
		t.Fatalf("exit 0 after an interrupt, want non-zero:\n%s", r.stderrText())
	}
	// The closing handshake is bounded by 2 s; the rest is writing files.
	if took > 15*time.Second {
		t.Fatalf("took %v to stop after SIGINT", took)
	}
	res := mustReadResult(t, out)
	if !res.Interrupted || res.EndReason != "interrupted" {
		t.Fatalf("interrupted %v end_reason %q, want true/interrupted", res.Interrupted, res.EndReason)
	}
	if res.Counts.Attempted != 2000 || res.Counts.Held != 2000 || res.Counts.Dropped != 0 {
		t.Fatalf("counts %+v, want all 2000 held at the interrupt", res.Counts)
	}
	if res.HoldEnd.Before(res.HoldStart) || res.HoldEnd.After(res.End) {
		t.Fatalf("hold %v → %v, end %v: the hold should end at the interrupt, before the run does", res.HoldStart, res.HoldEnd, res.End)
	}
	if held := res.HoldEnd.Sub(res.HoldStart); held <= 0 || held >= 30*time.Second {
		t.Fatalf("hold lasted %v by the result's clocks; want it cut short by the interrupt", held)
	}
	if !strings.Contains(r.stderrText(), "interrupted") {
		t.Errorf("stderr does not say it was interrupted:\n%s", r.stderrText())
	}
}

// A second SIGINT quits at once, without waiting for the closing handshake
// (here it would take its full 2 s bound: the path has gone silent), after
// writing what it has: a complete result marked interrupted, never a
// truncated file.
func TestSecondInterruptWritesWhatItHasAndQuits(t *testing.T) {
	t.Parallel()
	bin := buildWsholdForTest(t)
	path, err := relay.Start(startServeProcess(t, bin))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { path.Close() })
	out := filepath.Join(t.TempDir(), "r.json")
	r := startRunCLI(t, bin, 200, "-c", "200", "-r", "1000", "--hold", "2m", "-o", out, "ws://"+path.Addr()+"/ws")
	r.waitHolding(t)
	waitFile(t, out, time.Minute) // checkpoints come every 10 s
	path.Silence(200)

	r.signal(t, syscall.SIGINT)
	time.Sleep(200 * time.Millisecond)
	r.signal(t, syscall.SIGINT)
	code := r.wait(t, 30*time.Second)
	if code == 0 {
		t.Fatal("exit 0 after two interrupts, want non-zero")
	}
	if !strings.Contains(r.stderrText(), "interrupted twice") {
		t.Fatalf("stderr does not say it quit on the second interrupt:\n%s", r.stderrText())
	}
	res := mustReadResult(t, out)
	// Written on the second interrupt, before the graceful path (closing
	// handshake, then the final result) could finish: every connection
	// still counted as held, and a warning says how the file came to be.
	if res.EndReason != "interrupted" || !res.Interrupted || res.Counts.Held != 200 || !strings.Contains(strings.Join(res.Warnings, " "), "interrupted twice") {
		t.Fatalf("end_reason %q interrupted %v counts %+v warnings %q, want the interrupted result with 200 held",
			res.EndReason, res.Interrupted, res.Counts, res.Warnings)
	}
	// Judged like any result: the default expectations, and a verdict.
	if len(res.Expectations) != 2 || res.Verdict != "pass" {
		t.Fatalf("expectations %+v verdict %q, want the 2 default expectations judged and verdict pass", res.Expectations, res.Verdict)
	}
}

// SIGKILL, which nothing can catch, leaves the last checkpoint: a complete
// result of the run so far.
func TestKilledRunLeavesTheLastCheckpoint(t *testing.T) {
	t.Parallel()
	bin := buildWsholdForTest(t)
	addr := startServeProcess(t, bin)
	out := filepath.Join(t.TempDir(), "r.json")
	r := startRunCLI(t, bin, 300, "-c", "300", "-r", "1000", "--hold", "2m", "-o", out, "ws://"+addr+"/ws")
	r.waitHolding(t)
	waitFile(t, out, time.Minute)
	r.signal(t, syscall.SIGKILL)
	r.wait(t, 30*time.Second)
	res := mustReadResult(t, out)
	if res.EndReason != "checkpoint" || res.Interrupted || res.Counts.Held != 300 || res.HoldStart.IsZero() {
		t.Fatalf("end_reason %q interrupted %v hold_start %v counts %+v, want a checkpoint of the hold with 300 held",
			res.EndReason, res.Interrupted, res.HoldStart, res.Counts)
	}
}

// A reader of the result file — a CI step, a dashboard, `wshold report` —
// never sees a truncated or mixed file while checkpoints replace it: every
// read returns one whole version or (before the first) nothing.
func TestResultFileIsNeverSeenHalfWritten(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "r.json")
	big := bytes.Repeat([]byte("0123456789abcdef"), 16<<10) // 256 KiB
	small := []byte(`{"schema":"small"}`)
	versions := [][]byte{big, small}
	const writes = 60

	done := make(chan struct{})
	var wg sync.WaitGroup
	var readErr error
	var errOnce sync.Once
	reads := make([]int, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Bounded: the writer's end, or a count far above what 60
			// writes take.
			for k := 0; k < 1_000_000; k++ {
				select {
				case <-done:
					return
				default:
				}
				b, err := os.ReadFile(path)
				switch {
				case errors.Is(err, fs.ErrNotExist):
					continue
				case err != nil:
					errOnce.Do(func() { readErr = err })
					return
				case !bytes.Equal(b, big) && !bytes.Equal(b, small):
					errOnce.Do(func() { readErr = errors.New("read " + strconv.Itoa(len(b)) + " bytes that are neither version") })
					return
				}
				reads[i]++
			}
		}()
	}
	for k := range writes {
		if err := report.WriteFileAtomic(path, versions[k%2], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	wg.Wait()
	if readErr != nil {
		t.Fatal(readErr)
	}
	if reads[0]+reads[1] == 0 {
		t.Fatal("no read overlapped the writes; the test proved nothing")
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Fatalf("%d files in the directory, want only the result (no temp files left)", len(entries))
	}
}
