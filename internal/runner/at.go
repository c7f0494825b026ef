package runner

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
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

// scheduler runs the At commands relative to the hold's start and records
// each as a mark on the run's timeline.
type scheduler struct {
	mu     sync.Mutex
	marks  []report.Mark
	timers []*time.Timer
	wg     sync.WaitGroup
	out    io.Writer
}

func (s *scheduler) start(ctx context.Context, ats []At, runStart, holdStart time.Time) {
	for _, a := range ats {
		s.wg.Add(1)
		s.timers = append(s.timers, time.AfterFunc(time.Until(holdStart.Add(a.Offset)), func() {
			defer s.wg.Done()
			if ctx.Err() != nil {
				return
			}
			at := time.Since(runStart)
			cmd := exec.CommandContext(ctx, "sh", "-c", a.Command)
			out, err := cmd.CombinedOutput()
			label := fmt.Sprintf("--at %s: %s", a.Offset, a.Command)
			if err != nil {
				label += fmt.Sprintf(" (failed: %v)", err)
			}
			if s.out != nil && len(out) > 0 {
				fmt.Fprintf(s.out, "wshold: %s:\n%s", label, out)
			}
			s.mu.Lock()
			s.marks = append(s.marks, report.Mark{AtMs: float64(at.Microseconds()) / 1000, Label: label})
			s.mu.Unlock()
		}))
	}
}

// stop cancels commands not yet due and waits for running ones.
func (s *scheduler) stop() []report.Mark {
	for _, t := range s.timers {
		if t.Stop() {
			s.wg.Done()
		}
	}
	s.wg.Wait()
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]report.Mark{}, s.marks...)
}
