package procs

import (
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

func (ps *progressState) report(interrupted bool) {
	if ps.o.Progress == nil && ps.o.Checkpoint == nil {
		return
	}
	var results []*report.Result
	var lastHold time.Time
	holding := true
	for _, w := range ps.workers {
		res, err := report.ReadResultFile(w.out)
		if err != nil {
			holding = false // not started yet, or no checkpoint so far
			continue
		}
		results = append(results, res)
		if res.HoldStart.IsZero() {
			holding = false
		} else if res.HoldStart.After(lastHold) {
			lastHold = res.HoldStart
		}
	}
	p := runner.Progress{Phase: "ramping", Elapsed: time.Since(ps.started)}
	if len(results) > 0 {
		if m, err := ps.merge(results); err == nil {
			p.Live = report.Live{
				Attempted: m.Counts.Attempted, Upgraded: m.Counts.Upgraded, Failed: m.Counts.Failed,
				Dropped: m.Counts.Dropped, Alive: m.Counts.Upgraded - m.Counts.Dropped,
				HandshakeP99Ms: m.Handshake.P99Ms,
			}
			if ps.o.Checkpoint != nil {
				ps.o.Checkpoint(m)
			}
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
