package runner

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/wshold/wshold/report"
)

// At is a command to run at an offset into the hold (--at 2s='nginx -s
// reload'): the way to ask "what does a reload do to held connections?".
// Only commands the user typed on the command line run; scenario files
// cannot name commands.
type At struct {
	Offset  time.Duration
	Command string
}

// ParseAt reads "DURATION=COMMAND".
func ParseAt(s string) (At, error) {
	d, cmd, ok := strings.Cut(s, "=")
	if !ok || strings.TrimSpace(cmd) == "" {
		return At{}, fmt.Errorf("--at %q: write DURATION=COMMAND, e.g. --at '2s=nginx -s reload'", s)
	}
	off, err := time.ParseDuration(strings.TrimSpace(d))
	if err != nil || off < 0 {
		return At{}, fmt.Errorf("--at %q: %q is not a duration >= 0 (e.g. 2s, 1m30s)", s, d)
	}
	return At{Offset: off, Command: strings.TrimSpace(cmd)}, nil
}

// AtGrace is how long an --at command may run past the hold's end. Then
// its process group (the shell and whatever it started) is killed and the
// result says so: a command that never ends must not hold the run, and
// its connections, open without bound.
const AtGrace = 5 * time.Second

// scheduler runs the At commands relative to the hold's start and records
// each as a mark on the run's timeline.
type scheduler struct {
	mu       sync.Mutex
	marks    []report.Mark
	warnings []string
	timers   []*time.Timer
	wg       sync.WaitGroup
	out      io.Writer
}

// start schedules the commands; each is killed if it runs past the
// hold's end (holdStart + hold) plus AtGrace, or when ctx is cancelled.
func (s *scheduler) start(ctx context.Context, ats []At, runStart, holdStart time.Time, hold time.Duration) {
	deadline := holdStart.Add(hold + AtGrace)
	for _, a := range ats {
		s.wg.Add(1)
		s.timers = append(s.timers, time.AfterFunc(time.Until(holdStart.Add(a.Offset)), func() {
			defer s.wg.Done()
			if ctx.Err() != nil {
				return
			}
			at := time.Since(runStart)
			out, err, killed := runBounded(ctx, a.Command, deadline)
			label := fmt.Sprintf("--at %s: %s", a.Offset, a.Command)
			switch {
			case killed:
				label += fmt.Sprintf(" (killed: still running %s after the hold ended)", AtGrace)
			case err != nil:
				label += fmt.Sprintf(" (failed: %v)", err)
			}
			if s.out != nil && len(out) > 0 {
				fmt.Fprintf(s.out, "wshold: %s:\n%s", label, out)
			}
			s.mu.Lock()
			s.marks = append(s.marks, report.Mark{AtMs: float64(at.Microseconds()) / 1000, Label: label})
			if killed {
				s.warnings = append(s.warnings, fmt.Sprintf("--at %s=%s was still running %s after the hold ended: it and every process it started were killed (SIGKILL to its process group); give commands that finish within the hold",
					a.Offset, a.Command, AtGrace))
			}
			s.mu.Unlock()
		}))
	}
}

// runBounded runs command with sh in its own process group and returns its
// combined output (at most maxAtOutput bytes kept). At the deadline, or
// when ctx is cancelled, the whole group is killed: killing the shell
// alone would leave its children running and holding the output pipe.
func runBounded(ctx context.Context, command string, deadline time.Time) ([]byte, error, bool) {
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", "-c", command)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	// A process that left the group and kept the pipe open cannot hold
	// the run either.
	cmd.WaitDelay = time.Second
	out := &limitedBuffer{max: maxAtOutput}
	cmd.Stdout, cmd.Stderr = out, out
	err := cmd.Run()
	killed := errors.Is(ctx.Err(), context.DeadlineExceeded)
	return out.buf.Bytes(), err, killed
}

// maxAtOutput bounds what is kept of a command's output.
const maxAtOutput = 64 << 10

// limitedBuffer keeps the first max bytes written to it and drops the rest.
type limitedBuffer struct {
	buf bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.max - l.buf.Len(); room > 0 {
		l.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// stop cancels commands not yet due and waits for running ones (each is
// bounded by its deadline), and returns the marks and warnings.
func (s *scheduler) stop() ([]report.Mark, []string) {
	for _, t := range s.timers {
		if t.Stop() {
			s.wg.Done()
		}
	}
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]report.Mark{}, s.marks...), append([]string{}, s.warnings...)
}
