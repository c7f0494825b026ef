package report

import (
	"cmp"
	"math"
	"slices"
	"time"
)

// Recovery is how the connections came back after a drop cluster, when
// the run reconnected. A cluster on the age or idle clock may strike
// several times (every connection cut at 3 s of age comes back and is cut
// again 3 s later): each strike is a wave, a run of the cluster's drops
// with no gap over waveGapMs between them.
type Recovery struct {
	// TimeToRecoverMs is the slowest wave's time to recover; null when no
	// wave had recovered by the end of the run.
	TimeToRecoverMs *float64 `json:"time_to_recover_ms"`
	Waves           []Wave   `json:"waves"`
	// MoreWaves counts the waves past the first maxWaves (1000), which
	// are not listed nor judged.
	MoreWaves int `json:"more_waves,omitempty"`
}

// Wave is one strike of a cluster and the recovery from it.
type Wave struct {
	// AtMs is the wave's first drop, since the result's Start.
	AtMs  float64 `json:"at_ms"`
	Drops int64   `json:"drops"`
	// AliveBefore is how many connections were alive just before AtMs,
	// AliveMin the fewest alive from then until the wave recovered (or
	// the run ended).
	AliveBefore int64 `json:"alive_before"`
	AliveMin    int64 `json:"alive_min"`
	// TimeToRecoverMs runs from AtMs until alive was back at 99 % of
	// AliveBefore, after falling below it: 0 when it never fell below,
	// null when it was not back by the end of the run.
	TimeToRecoverMs *float64 `json:"time_to_recover_ms"`
	// Failures are the reconnect attempts that failed from AtMs until the
	// recovery (or the end), by cause: what the proxy answered while its
	// backends came back, say 502 or 503.
	Failures []WaveFailure `json:"failures,omitempty"`
}

// WaveFailure counts one cause of failed reconnects in a wave.
type WaveFailure struct {
	Cause  string `json:"cause"`
	Status int    `json:"status,omitempty"`
	Count  int64  `json:"count"`
}

const (
	// recoveredShare is the share of the connections alive before a wave
	// that counts as recovered: "everyone is back" allowing for the odd
	// connection still in its backoff.
	recoveredShare = 0.99
	// waveGapMs splits a cluster's drops into waves: connections opened
	// together and cut together again after a reconnect leave seconds
	// between strikes, while the drops of one strike follow each other
	// within the ramp.
	waveGapMs = 1000
)

// step is a change of the number of connections alive at a moment (ms
// since Start).
type step struct {
	atMs  float64
	delta int64
	alive int64 // the count after this step (and those before it)
}

// maxWaves bounds the waves a cluster's recovery lists: a day's soak cut
// every 3 s strikes 28,800 times, and a result file from elsewhere may
// hold anything. Waves past it are counted in MoreWaves.
const maxWaves = 1000

// span is the stretch of the run a wave covers: from its first drop to
// its recovery, or to the next wave (or the end) when it did not recover.
type span struct{ from, to float64 }

// covers reports whether at lies within one of spans, which are in time
// order and do not overlap.
func covers(spans []span, at float64) bool {
	i, _ := slices.BinarySearchFunc(spans, at, func(s span, at float64) int { return cmp.Compare(s.from, at) })
	// spans[i-1] is the last that starts at or before at (i: the first
	// that starts after it, or at it when found).
	if i < len(spans) && spans[i].from == at {
		return true
	}
	return i > 0 && at <= spans[i-1].to
}

// Recoveries sets every drop cluster's Recovery from the result's drops,
// reconnects and timeline — the same whether the result came from a
// recorder or a merge. It leaves them nil when the run did not reconnect
// (without reconnects nothing comes back), and for a cluster whose every
// wave is part of a larger cluster's. Its work is bounded by the events
// and maxWaves, whatever a result file holds.
func Recoveries(res *Result) {
	for i := range res.Drops.Clusters {
		res.Drops.Clusters[i].Recovery = nil
	}
	if res.Reconnects == nil || len(res.Drops.Clusters) == 0 {
		return
	}
	steps := aliveChanges(res)
	failed := failedReconnects(res.Reconnects.Events)
	// One strike of a proxy can form several clusters (a wall-clock one,
	// and idle-clock ones of the connections that had been silent about
	// as long): a wave that begins while a larger cluster's wave is not
	// over is that wave, accounted for once, by the larger cluster (the
	// clusters come largest first).
	var larger [][]span
	for i := range res.Drops.Clusters {
		c := &res.Drops.Clusters[i]
		rec := &Recovery{Waves: []Wave{}}
		var slowest float64
		anyRecovered := false
		var mine []span
		waves := clusterWaves(res.Drops.Events, *c)
		for k, w := range waves {
			if slices.ContainsFunc(larger, func(s []span) bool { return covers(s, w[0]) }) {
				continue
			}
			if len(rec.Waves) == maxWaves {
				rec.MoreWaves++
				continue
			}
			next := math.Inf(1)
			if k+1 < len(waves) {
				next = waves[k+1][0]
			}
			wave, end := recoverWave(steps, failed, w, next)
			mine = append(mine, span{wave.AtMs, end})
			if wave.TimeToRecoverMs != nil {
				slowest, anyRecovered = max(slowest, *wave.TimeToRecoverMs), true
			}
			rec.Waves = append(rec.Waves, wave)
		}
		larger = append(larger, mine)
		if len(rec.Waves) == 0 {
			continue
		}
		if anyRecovered {
			rec.TimeToRecoverMs = &slowest
		}
		c.Recovery = rec
	}
}

// aliveChanges lists every change of the alive count in time order: the
// first wave's upgrades (known to the second from the timeline, counted at
// the end of theirs, so that alive is never overstated), each reconnect's
// upgrade and each drop.
func aliveChanges(res *Result) []step {
	var steps []step
	// The timeline's seconds are the wall clock's: second t ends t+1
	// seconds after the start of the second the run started in.
	phaseMs := float64(res.Start.Sub(res.Start.Truncate(time.Second))) / float64(time.Millisecond)
	for _, s := range res.Timeline {
		if s.Upgraded > 0 {
			steps = append(steps, step{atMs: float64(s.T+1)*1000 - phaseMs, delta: s.Upgraded})
		}
	}
	for _, e := range res.Reconnects.Events {
		if e.Cause == "" {
			steps = append(steps, step{atMs: e.AtMs, delta: 1})
		}
	}
	for _, e := range res.Drops.Events {
		steps = append(steps, step{atMs: e.AtMs, delta: -1})
	}
	slices.SortStableFunc(steps, func(a, b step) int { return cmp.Compare(a.atMs, b.atMs) })
	var alive int64
	for i := range steps {
		alive += steps[i].delta
		steps[i].alive = alive
	}
	return steps
}

// clusterWaves returns the wall-clock times (ms since Start) of a
// cluster's drops, split into waves. Its drops are those that lie within
// its window on its own clock, of whatever kind: a reload that closes most
// connections with 1001 and a few with 1002 (Caddy) is one wave.
func clusterWaves(events []DropEvent, c Cluster) [][]float64 {
	lo, hi := c.span()
	reach := windowMs(c.AtMs)
	var walls []float64
	for i := range events {
		e := &events[i]
		v := e.AtMs
		switch c.Clock {
		case "age":
			v = e.AgeMs
		case "idle":
			v = e.IdleMs
		}
		if v >= lo-reach && v <= hi+reach {
			walls = append(walls, e.AtMs)
		}
	}
	slices.Sort(walls)
	var waves [][]float64
	for i, w := range walls {
		if i == 0 || w-walls[i-1] > waveGapMs {
			waves = append(waves, nil)
		}
		waves[len(waves)-1] = append(waves[len(waves)-1], w)
	}
	return waves
}

// recoverWave follows the alive count from a wave's first drop: it must
// fall below 99 % of the count before the wave while the wave lasts (else
// the wave cost nothing: recovered in 0), and the wave has recovered when
// it is back at that mark — before next, the cluster's next wave, or it
// did not. It returns the wave and where its span ends.
func recoverWave(steps []step, failed []ReconnectEvent, walls []float64, next float64) (Wave, float64) {
	t0, last := walls[0], walls[len(walls)-1]
	w := Wave{AtMs: t0, Drops: int64(len(walls))}
	// The first step at t0 (the wave's first drop is one), and the count
	// before it.
	i, _ := slices.BinarySearchFunc(steps, t0, func(s step, at float64) int { return cmp.Compare(s.atMs, at) })
	alive := steps[i].alive - steps[i].delta
	w.AliveBefore, w.AliveMin = alive, alive
	mark := int64(math.Ceil(recoveredShare * float64(alive)))
	dipped := false
	end := next
	for i < len(steps) && steps[i].atMs < next {
		at := steps[i].atMs
		// Changes at one moment count together: a drop and a reconnect in
		// the same millisecond are not a dip.
		for i < len(steps) && steps[i].atMs == at {
			alive = steps[i].alive
			i++
		}
		w.AliveMin = min(w.AliveMin, alive)
		if !dipped && alive < mark {
			dipped = true
		}
		if !dipped && at >= last {
			ttr := 0.0
			w.TimeToRecoverMs, end = &ttr, last
			break
		}
		if dipped && alive >= mark {
			ttr := roundMs(at - t0)
			w.TimeToRecoverMs, end = &ttr, max(at, last)
			break
		}
	}
	w.Failures = waveFailures(failed, t0, end)
	return w, end
}

// failedReconnects is the failed attempts among evs, in time order.
func failedReconnects(evs []ReconnectEvent) []ReconnectEvent {
	var out []ReconnectEvent
	for _, e := range evs {
		if e.Cause != "" {
			out = append(out, e)
		}
	}
	slices.SortStableFunc(out, func(a, b ReconnectEvent) int { return cmp.Compare(a.AtMs, b.AtMs) })
	return out
}

// waveFailures groups the failed reconnects in [from, to] by cause, the
// most frequent first; failed is in time order.
func waveFailures(failed []ReconnectEvent, from, to float64) []WaveFailure {
	i, _ := slices.BinarySearchFunc(failed, from, func(e ReconnectEvent, at float64) int { return cmp.Compare(e.AtMs, at) })
	var out []WaveFailure
	for ; i < len(failed) && failed[i].AtMs <= to; i++ {
		e := failed[i]
		j := slices.IndexFunc(out, func(f WaveFailure) bool { return f.Cause == e.Cause && f.Status == e.Status })
		if j < 0 {
			if len(out) == maxWaveCauses {
				continue
			}
			out = append(out, WaveFailure{Cause: e.Cause, Status: e.Status})
			j = len(out) - 1
		}
		out[j].Count++
	}
	slices.SortStableFunc(out, func(a, b WaveFailure) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Cause, b.Cause), cmp.Compare(a.Status, b.Status))
	})
	return out
}

// maxWaveCauses bounds the causes a wave lists (there are a few dozen
// cause codes and HTTP statuses; a crafted file could hold more).
const maxWaveCauses = 64
