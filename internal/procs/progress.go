package procs

import (
	"os"
	"time"

	"github.com/wshold/wshold/internal/runner"
	"github.com/wshold/wshold/report"
	"github.com/wshold/wshold/scenario"
)

// progressState turns the workers' checkpoint files into one progress line
// and one merged checkpoint. Figures are as of each worker's last
// checkpoint, at most a checkpoint interval old.
type progressState struct {
	full    scenario.Scenario
	o       Options
	n       int
	workers []*worker
	started time.Time
}

// snapshot merges the workers' checkpoints (and the results of those
// that finished) as a checkpoint of the whole run; nil when none has
// written one yet. holding says every worker is in its hold, the latest
// since lastHold.
func (ps *progressState) snapshot() (m *report.Result, holding bool, lastHold time.Time) {
	var results []*report.Result
	var names []string
	holding = true
	for _, w := range ps.workers {
		res, err := report.ReadResultFile(w.out)
		if err != nil {
			holding = false // not started yet, or no checkpoint so far
			continue
		}
		results = append(results, res)
		names = append(names, ps.name(w))
		if res.HoldStart.IsZero() {
			holding = false
		} else if res.HoldStart.After(lastHold) {
			lastHold = res.HoldStart
		}
	}
	if len(results) == 0 {
		return nil, holding, lastHold
	}
	m, err := ps.merge(results, names)
	if err != nil {
		return nil, holding, lastHold
	}
	// A checkpoint, like one process's: not judged yet.
	m.EndReason, m.Expectations, m.Verdict = "checkpoint", []report.Expectation{}, ""
	return m, holding, lastHold
}

// checkpoint hands the merged checkpoint to o.Checkpoint.
func (ps *progressState) checkpoint() {
	if ps.o.Checkpoint == nil {
		return
	}
	if m, _, _ := ps.snapshot(); m != nil {
		ps.o.Checkpoint(m)
	}
}

// report hands merged progress to o.Progress and the merged checkpoint to
// o.Live.
func (ps *progressState) report(interrupted bool) {
	if ps.o.Progress == nil && ps.o.Live == nil {
		return
	}
	m, holding, lastHold := ps.snapshot()
	p := runner.Progress{Phase: "ramping", Elapsed: time.Since(ps.started), RSSBytes: runner.RSSOf(os.Getpid())}
	for _, w := range ps.workers {
		if w.cmd != nil && w.cmd.Process != nil && !w.exited() {
			p.RSSBytes += runner.RSSOf(w.cmd.Process.Pid)
		}
	}
	if m != nil {
		p.Live = report.LiveOf(m)
		if ps.o.Live != nil {
			ps.o.Live(m)
		}
	}
	if holding {
		p.Phase = "holding"
		p.HoldLeft = max(0, ps.full.Hold.D()-time.Since(lastHold))
		if p.HoldLeft == 0 {
			p.Phase = "closing"
		}
	}
	if interrupted {
		p.Phase, p.HoldLeft = "closing", 0
	}
	if ps.o.Progress != nil {
		ps.o.Progress(p)
	}
}
