package metrics

import (
	"sync"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/wshold/wshold/report"
)

// Mirror keeps the metrics in step with results computed elsewhere instead
// of with events seen in this process: a --procs parent opens no
// connection itself, and learns what its workers did from their merged
// checkpoints. Counters only go up, so each Update adds what the result
// holds beyond the last one; the alive gauge is set outright.
type Mirror struct {
	m *Metrics

	mu                  sync.Mutex
	attempted, upgraded int64
	failed              map[failKey]int64
	dropped             map[string]int64
	handshake           []int64 // count per bar of the last histogram
	msg                 mirrorMessages
}

// Mirror returns a Mirror that feeds m.
func (m *Metrics) Mirror() *Mirror {
	return &Mirror{m: m, failed: map[failKey]int64{}, dropped: map[string]int64{}}
}

// Update brings the metrics up to res (a whole run's result so far).
// Figures that went down — a worker's checkpoint read before it was
// rewritten — are kept where they were until they pass it again.
func (mr *Mirror) Update(res *report.Result) {
	mr.mu.Lock()
	defer mr.mu.Unlock()
	m := mr.m
	addUp(&mr.attempted, res.Counts.Attempted, m.attempted.Add)
	addUp(&mr.upgraded, res.Counts.Upgraded, m.upgraded.Add)
	alive := res.Counts.Upgraded - res.Counts.Dropped
	if res.Reconnects != nil {
		alive += res.Reconnects.Upgraded
	}
	m.alive.Set(float64(alive))
	for _, f := range res.Failures {
		k := failKey{f.Cause, f.Status}
		last := mr.failed[k]
		addUp(&last, f.Count, m.failedCounter(f.Cause, f.Status).Add)
		mr.failed[k] = last
	}
	for kind, n := range res.Drops.ByKind {
		last := mr.dropped[kind]
		addUp(&last, n, m.dropped.WithLabelValues(kind).Add)
		mr.dropped[kind] = last
	}
	if h, err := report.DecodeHistogram(res.Handshake.Histogram); err == nil {
		observeNew(h, &mr.handshake, m.handshake)
	}
	mr.updateMessages(res)
}

func addUp(last *int64, now int64, add func(float64)) {
	if now > *last {
		add(float64(now - *last))
		*last = now
	}
}

// observeNew observes into to the values h holds beyond the last
// histogram seen (seen: its count per bar), each at its HDR bar's upper
// edge (3 significant digits: finer than any Prometheus bucket). Every
// result's histogram has the same bounds, so bars line up by index; but
// Distribution lists bars only up to the highest value recorded, so a
// later histogram has more of them (a slower handshake came in) or a
// stale one fewer. seen grows and never forgets: starting it afresh
// observed every handshake again (a --procs run's count of 50 read 75).
func observeNew(h *hdrhistogram.Histogram, seen *[]int64, to prometheus.Observer) {
	bars := h.Distribution()
	if n := len(bars) - len(*seen); n > 0 {
		*seen = append(*seen, make([]int64, n)...)
	}
	for i, b := range bars {
		for ; (*seen)[i] < b.Count; (*seen)[i]++ {
			to.Observe(float64(b.To) / 1e6) // µs to seconds
		}
	}
}
