package runner

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wshold/wshold/scenario"
)

// A command due after the hold has ended would never run, and the run
// would end without its mark as if it had not mattered: refused before
// anything starts.
func TestAtPastTheHoldIsRefused(t *testing.T) {
	sc := scenario.Defaults()
	sc.Target, sc.Conns, sc.Hold = "ws://127.0.0.1:9/", 1, scenario.Duration(2*time.Second)
	at, err := ParseAt("5s=nginx -s reload")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Run(context.Background(), resolved(t, sc), Options{At: []At{at}})
	var se *StartError
	if !errors.As(err, &se) || !strings.Contains(err.Error(), "--at 5s=nginx -s reload would never run: the hold of 2s ends first") {
		t.Fatalf("got %v, want a start error saying the command would never run", err)
	}
}

// A command that outlives the hold is killed AtGrace after the hold ends,
// with everything it started, and the result says so: the run does not
// wait for it.
func TestAtCommandThatNeverEndsIsKilledAfterTheHold(t *testing.T) {
	sc := scenario.Defaults()
	sc.Conns, sc.Hold = 2, scenario.Duration(time.Second)
	pidFile := filepath.Join(t.TempDir(), "pid")
	// The shell starts a child that would outlive it: the process group
	// is what must die.
	at, err := ParseAt("0s=sleep 100 & echo $! > " + pidFile + "; wait")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	began := time.Now()
	res, err := Run(ctx, resolved(t, sc), Options{At: []At{at}})
	if err != nil {
		t.Fatal(err)
	}
	// Counted from the hold's start, not from the call: a loaded machine
	// spent up to 10 s of a 16 s bound on the run's setup before it. The
	// command would keep the run 100 s; killed, it ends AtGrace after the
	// hold, plus the closing of two connections.
	if took := res.End.Sub(res.HoldStart); res.HoldStart.IsZero() || took > sc.Hold.D()+AtGrace+5*time.Second {
		t.Errorf("the run ended %v after the hold began (%v after the call); want it to end about %v after the hold", took, time.Since(began), AtGrace)
	}
	if len(res.Marks) != 1 || !strings.Contains(res.Marks[0].Label, "killed: still running 5s after the hold ended") {
		t.Errorf("marks %+v; want the command's mark saying it was killed", res.Marks)
	}
	if !slices.ContainsFunc(res.Warnings, func(w string) bool { return strings.Contains(w, "was still running 5s after the hold ended") }) {
		t.Errorf("warnings %q; want one about the killed command", res.Warnings)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	// SIGKILL ends a process when the kernel next runs it, which on a
	// loaded machine may be after the run returned (it waits at most 1 s
	// for the output pipe): gone or a zombie within 5 s, not at once.
	var stat []byte
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if stat, err = os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); err != nil || strings.Contains(string(stat), ") Z ") {
			return
		}
	}
	t.Errorf("the command's child (pid %d) is still running 5 s after the run: %s", pid, stat)
}
