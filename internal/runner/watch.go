package runner

import (
	"time"

	"github.com/wshold/wshold/report"
)

// watch calls o.Progress and o.Checkpoint periodically until the returned
// stop function is called. holding delivers the hold's start once;
// snapshot builds a checkpoint at t, given the hold's start (zero while
// ramping).
func watch(o Options, rec *report.Recorder, start time.Time, hold time.Duration, holding <-chan time.Time, snapshot func(t, holdStart time.Time) *report.Result) func() {
	if o.Progress == nil && o.Checkpoint == nil {
		return func() {}
	}
	every := o.ProgressInterval
	if every <= 0 {
		every = 2 * time.Second
	}
	cpEvery := o.CheckpointInterval
	if cpEvery <= 0 {
		cpEvery = 10 * time.Second
	}
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(every)
		defer tick.Stop()
		cp := time.NewTicker(cpEvery)
		defer cp.Stop()
		phase := "ramping"
		var holdStart time.Time
		report := func() {
			if o.Progress == nil {
				return
			}
			p := Progress{Phase: phase, Live: rec.Live(), Elapsed: time.Since(start), RSSBytes: rss()}
			if !holdStart.IsZero() {
				p.HoldLeft = max(0, hold-time.Since(holdStart))
			}
			o.Progress(p)
		}
		for {
			select {
			case <-done:
				if o.Progress != nil {
					phase = "closing"
					report()
				}
				return
			case holdStart = <-holding:
				phase = "holding"
				report()
			case <-tick.C:
				report()
			case t := <-cp.C:
				if o.Checkpoint != nil {
					o.Checkpoint(snapshot(t, holdStart))
				}
			}
		}
	}()
	return func() { close(done); <-finished }
}
