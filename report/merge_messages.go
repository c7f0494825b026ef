package report

import (
	"math"
)

// Merging the sections of timed messages and reconnects: counts add, the
// histograms merge exactly (mergeLatency), reconnect events are re-based
// onto the earliest shard's clock like drop events, and each section is
// present in the merge when any input has it.

func mergeMessages(rs []*Result, names []string) (*Messages, error) {
	var out *Messages
	for _, r := range rs {
		if r.Messages == nil {
			continue
		}
		if out == nil {
			out = &Messages{}
		}
		m := r.Messages
		out.Sent += m.Sent
		out.Received += m.Received
		out.Lost += m.Lost
		out.OutOfOrder += m.OutOfOrder
		out.Corrupted += m.Corrupted
	}
	if out == nil {
		return nil, nil
	}
	var err error
	out.RTT, err = mergeLatency("message round-trip", rs, names, func(r *Result) Latency {
		if r.Messages == nil {
			return Latency{}
		}
		return r.Messages.RTT
	})
	return out, err
}

func mergePush(rs []*Result, names []string) (*Push, error) {
	var out *Push
	minDelay := math.Inf(1)
	for _, r := range rs {
		p := r.Push
		if p == nil {
			continue
		}
		if out == nil {
			out = &Push{}
		}
		out.Received += p.Received
		out.BroadcastReceived += p.BroadcastReceived
		out.Corrupted += p.Corrupted
		out.BelowZero += p.BelowZero
		if p.Received+p.BroadcastReceived > 0 {
			minDelay = min(minDelay, p.MinDelayMs)
		}
	}
	if out == nil {
		return nil, nil
	}
	if !math.IsInf(minDelay, 1) {
		out.MinDelayMs = minDelay
	}
	get := func(f func(*Push) Latency) func(*Result) Latency {
		return func(r *Result) Latency {
			if r.Push == nil {
				return Latency{}
			}
			return f(r.Push)
		}
	}
	var err error
	if out.Delay, err = mergeLatency("push delay", rs, names, get(func(p *Push) Latency { return p.Delay })); err != nil {
		return nil, err
	}
	if out.Fanout, err = mergeLatency("fan-out delay", rs, names, get(func(p *Push) Latency { return p.Fanout })); err != nil {
		return nil, err
	}
	out.Clock = ClockNote(out)
	return out, nil
}

func mergeReconnects(rs []*Result, names []string, t0Shift func(*Result) float64) (*Reconnects, error) {
	var out *Reconnects
	var failures []*Result
	for _, r := range rs {
		rc := r.Reconnects
		if rc == nil {
			continue
		}
		if out == nil {
			out = &Reconnects{}
		}
		out.Attempted += rc.Attempted
		out.Upgraded += rc.Upgraded
		out.Failed += rc.Failed
		shift := t0Shift(r)
		for _, e := range rc.Events {
			e.AtMs = roundMs(e.AtMs + shift)
			out.Events = append(out.Events, e)
		}
		failures = append(failures, &Result{Failures: rc.Failures})
	}
	if out == nil {
		return nil, nil
	}
	sortReconnectEvents(out.Events)
	out.Failures = mergeFailures(failures)
	var err error
	out.Handshake, err = mergeLatency("reconnect handshake", rs, names, func(r *Result) Latency {
		if r.Reconnects == nil {
			return Latency{}
		}
		return r.Reconnects.Handshake
	})
	return out, err
}

// withoutClockWarning is r's warnings but the one about its push delays
// below zero: the merge states that once, with the whole run's figures.
func withoutClockWarning(r *Result) []string {
	if r.Push == nil || r.Push.BelowZero == 0 {
		return r.Warnings
	}
	var out []string
	for _, w := range r.Warnings {
		if w != r.Push.Clock {
			out = append(out, w)
		}
	}
	return out
}
