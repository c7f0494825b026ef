package report

import (
	"cmp"
	"math"
	"slices"
)

// Timers that cut in sweeps. Many proxies do not fire one timer per
// connection at its deadline: lighttpd and Apache Traffic Server look at
// their connections once a second and cut every one whose idle time has
// passed the limit; a proxy starved of CPU fires what fell due meanwhile
// in one late pass. Either way the drops come in batches, each within a
// millisecond on the wall clock, each holding connections of different
// ages, and each batch looks like an event. What tells a sweep from an
// event is who it spares. An event (a reload, a backend's death) cuts
// every connection through the path; a timer's sweep cuts those past its
// limit and spares the younger ones alive at that moment, which a later
// sweep cuts once they are old enough. So a set of batches is one timer of
// value T when, at every batch, the connections it cut were all at least
// T idle (or old), the ones it spared all less, and some of those spared
// were cut by a later batch at the same threshold. That needs no knowledge
// of the product and no period; a period is reported when there is one.
// The value is the threshold: the lower edge of the drops' idle times (or
// ages), which lie between T and T plus the time between sweeps — not their
// median.

// sweepFacts is what one wall-clock batch says about a threshold timer on
// a clock (idle or age): the values of the connections it cut, and those
// of the connections it spared — alive across it (upgraded before, dropped
// after) and whose value at it is known. A spared connection's idle time
// at the batch is known when its last frame came before the batch.
type sweepFacts struct {
	minCut, maxCut float64
	// spared are the spared connections' values at the batch, with their
	// event indices.
	spared []sparedConn
	// pinging counts the pinging connections alive across it.
	pinging int
}

type sparedConn struct {
	event int
	value float64
}

// factsOf works out the sweepFacts of wall-clock batch w on clock.
func factsOf(events []DropEvent, w candidate, clock int) sweepFacts {
	return factsWithin(events, w, clock, 0)
}

// factsWithin is factsOf for a proxy that sweeps in parts lag apart (one
// check per thread): a connection cut less than lag after the batch was
// cut by the same sweep, on another thread, and was not spared by it —
// though too few were cut there to make a batch of their own.
func factsWithin(events []DropEvent, w candidate, clock int, lag float64) sweepFacts {
	f := sweepFacts{minCut: math.Inf(1), maxCut: math.Inf(-1)}
	in := make(map[int]bool, len(w.members))
	for _, m := range w.members {
		in[m] = true
		v := clockValue(&events[m], clock)
		f.minCut, f.maxCut = min(f.minCut, v), max(f.maxCut, v)
	}
	for j := range events {
		e := &events[j]
		if in[j] || e.AtMs-e.AgeMs >= w.lo || e.AtMs <= w.hi+lag {
			continue
		}
		if e.Pinging {
			f.pinging++
		}
		v := w.lo - (e.AtMs - e.AgeMs)
		if clock == clockIdle {
			last := e.AtMs - e.IdleMs
			if last > w.lo {
				continue // it carried frames after the batch: idle then unknown
			}
			v = w.lo - last
		}
		f.spared = append(f.spared, sparedConn{j, v})
	}
	return f
}

// sweepTolerance is how far a spared connection may lie past the
// threshold, and a cut one short of it, before the batch contradicts a
// timer of that value: the clustering window (a proxy's pass over its
// connections takes a few milliseconds; whole-second timestamps order
// connections as their upgrades do).
func sweepTolerance(t float64) float64 { return windowMs(t) }

// sweepSet is a set of batches read as one timer's sweeps.
type sweepSet struct {
	batches []int // indices into the walls, by time
	// threshold is the lower edge of the cut connections' values, and
	// oldestSpared the largest value a spared one had at a batch (-1 when
	// none): the timer lies between the two.
	threshold, oldestSpared float64
	// confirmed counts connections spared by one batch and cut by a later
	// one: the timer's prediction, come true.
	confirmed int
	members   int
}

// findSweeps looks among wall-clock batches of one kind for two or more
// that are sweeps of one timer, and returns it as a candidate on its clock
// (idle, or age for connections whose traffic refutes an idle timer) with
// the batches it consumed taken out of walls. It tries every batch's lowest
// value as the threshold and keeps the set that explains the most drops.
func findSweeps(events []DropEvent, walls []candidate, minCount int) (candidate, []candidate, bool) {
	if len(walls) < 2 {
		return candidate{}, walls, false
	}
	s, rest, ok := sweepsOf(events, moments(events, slices.Clone(walls)), minCount)
	if !ok {
		return candidate{}, walls, false
	}
	// The proxy must be seen cutting connections of different ages at
	// once: batches that did hold most of the drops. (Wide wall-clock
	// groups of a ramp cut on time are not sweeps.) Each thread's part of
	// a sweep is judged on its own: a sweep of several parts is as wide
	// as the threads are apart, not as the moment each part took.
	swept := make(map[int]bool, len(s.members))
	for _, m := range s.members {
		swept[m] = true
	}
	in := 0
	for _, w := range walls {
		if swept[w.members[0]] && proxyBatch(events, w) {
			in += len(w.members)
		}
	}
	if 2*in <= len(s.members) {
		return candidate{}, walls, false
	}
	return s, rest, true
}

// moments merges batches that came close together compared with the time
// between the others into one sweep: a proxy with several threads (Apache
// Traffic Server runs one inactivity check per network thread) sweeps each
// thread's connections at its own phase, tens of milliseconds apart, and
// each thread's sweep spares the others' connections that are already due.
// Close is under a quarter of the longest gap between consecutive batches
// (and at least the clustering window); batches evenly spaced stay apart.
func moments(events []DropEvent, batches []candidate) []candidate {
	slices.SortFunc(batches, func(a, b candidate) int { return cmp.Compare(a.lo, b.lo) })
	gaps := make([]float64, 0, len(batches)-1)
	for i := 1; i < len(batches); i++ {
		gaps = append(gaps, batches[i].lo-batches[i-1].hi)
	}
	near := sweepLag(batches)
	out := []candidate{batches[0]}
	for i := 1; i < len(batches); i++ {
		if gaps[i-1] < near {
			last := &out[len(out)-1]
			*last = newCandidate(events, clockWall, union(last.members, batches[i].members))
			continue
		}
		out = append(out, batches[i])
	}
	return out
}

// sweepLag is how far apart the parts of one sweep may be: under a
// quarter of the longest gap between consecutive batches (sorted by time),
// and at least the clustering window.
func sweepLag(batches []candidate) float64 {
	lag := windowMs(batches[0].lo)
	for i := 1; i < len(batches); i++ {
		lag = max(lag, (batches[i].lo-batches[i-1].hi)/4)
	}
	return lag
}

// threadPeriod is the period of batches that come in interleaved chains,
// one per thread checking its own connections (Apache Traffic Server's
// network threads, seen sweeping half a second apart on a loaded box): the
// spacing that most pairs of batches share, when two or more pairs do and
// there are four or more batches; 0 otherwise. Two deaths a second apart
// are no chains.
func threadPeriod(walls []candidate) float64 {
	if len(walls) < 4 {
		return 0
	}
	best, count := 0.0, 1
	for i := range walls {
		for j := i + 1; j < len(walls); j++ {
			d := walls[j].lo - walls[i].lo
			if d < 100 {
				continue
			}
			n := 0
			for a := range walls {
				for b := a + 1; b < len(walls); b++ {
					if math.Abs(walls[b].lo-walls[a].lo-d) <= chainTolerance(d) {
						n++
					}
				}
			}
			if n > count || n == count && d < best {
				best, count = d, n
			}
		}
	}
	return best
}

func chainTolerance(period float64) float64 { return max(50, 0.1*period) }

// sameChain reports whether moments a and b are a whole number of periods
// apart: the same thread's checks.
func sameChain(a, b, period float64) bool {
	g := math.Abs(a - b)
	return math.Abs(g-math.Round(g/period)*period) <= chainTolerance(period)
}

// otherThread reports whether a connection cut at moment at, alive across
// batch i, was another thread's: cut in step with a chain of two or more
// batches that batch i is not in. Such a connection says nothing about the
// threshold of batch i's thread, which never looks at it.
func otherThread(at float64, i int, walls []candidate, period float64) bool {
	if period == 0 || sameChain(at, walls[i].lo, period) {
		return false
	}
	n := 0
	for k, w := range walls {
		if k != i && !sameChain(w.lo, walls[i].lo, period) && sameChain(w.lo, at, period) {
			n++
		}
	}
	return n >= 2
}

// sweepsOf is findSweeps over batches the proxy cut at once.
func sweepsOf(events []DropEvent, walls []candidate, minCount int) (candidate, []candidate, bool) {
	for _, clock := range []int{clockIdle, clockAge} {
		facts := make([]sweepFacts, len(walls))
		lag := sweepLag(walls)
		period := threadPeriod(walls)
		for i, w := range walls {
			facts[i] = factsWithin(events, w, clock, lag)
			facts[i].spared = slices.DeleteFunc(facts[i].spared, func(sp sparedConn) bool {
				return otherThread(events[sp.event].AtMs, i, walls, period)
			})
		}
		var best *sweepSet
		for i := range walls {
			s := sweepsAt(walls, facts, facts[i].minCut, minCount)
			if s == nil {
				continue
			}
			if best == nil || s.members > best.members || s.members == best.members && s.threshold < best.threshold {
				best = s
			}
		}
		if best == nil {
			continue
		}
		var members []int
		var batches []candidate
		used := make([]bool, len(walls))
		for _, i := range best.batches {
			members = append(members, walls[i].members...)
			batches = append(batches, walls[i])
			used[i] = true
		}
		c := newCandidate(events, clock, members)
		c.batches, c.edge = batches, true
		c.oldestSpared, c.confirmed = best.oldestSpared, best.confirmed
		rest := walls[:0:0]
		for i, w := range walls {
			if !used[i] {
				rest = append(rest, w)
			}
		}
		return c, rest, true
	}
	return candidate{}, walls, false
}

// sweepsAt collects the batches consistent with a timer of threshold t:
// every connection each one cut was at least t (within the tolerance), and
// every one it spared less. It returns nil unless two or more batches are
// consistent and at least minCount connections spared by one of them were
// cut by a later one.
func sweepsAt(walls []candidate, facts []sweepFacts, t float64, minCount int) *sweepSet {
	tol := sweepTolerance(t)
	s := &sweepSet{threshold: math.Inf(1), oldestSpared: -1}
	for i, f := range facts {
		if f.minCut < t-tol {
			continue
		}
		ok := true
		for _, sp := range f.spared {
			if sp.value > t+tol {
				ok = false
				break
			}
		}
		if ok {
			s.batches = append(s.batches, i)
		}
	}
	if len(s.batches) < 2 {
		return nil
	}
	slices.SortFunc(s.batches, func(a, b int) int { return cmp.Compare(walls[a].lo, walls[b].lo) })
	cutBy := map[int]int{} // event → position in s.batches of the batch that cut it
	for pos, i := range s.batches {
		for _, m := range walls[i].members {
			cutBy[m] = pos
		}
		s.members += len(walls[i].members)
		s.threshold = min(s.threshold, facts[i].minCut)
	}
	confirmed := map[int]bool{}
	for pos, i := range s.batches {
		for _, sp := range facts[i].spared {
			s.oldestSpared = max(s.oldestSpared, sp.value)
			if later, ok := cutBy[sp.event]; ok && later > pos {
				confirmed[sp.event] = true
			}
		}
	}
	s.confirmed = len(confirmed)
	if s.confirmed < max(2, minCount) {
		return nil
	}
	return s
}

// lateBatches joins to a timer candidate the wall-clock batches that are
// its late firings: nearly every connection a batch cut was already due
// (at least the timer's value on its clock), and none it spared was. A
// proxy starved of CPU fires what fell due in one pass when it gets to
// run, tighter in time than in age — the shape of an event, which a
// backend's death after the timeout is not: it cuts connections not yet
// due (see TestFindClustersEventAfterATimeoutIsNotItsStraggler). Timers
// read from sweeps whose every batch is due join it the same way: a
// starved proxy that fell behind more than once.
//
// Only a timer seen firing on time over the run can fire late: one looser
// on the wall clock than on its own, most of whose drops are in no batch.
// (A ramp whose spacing divides a sweep's period makes a few drops of
// different batches share an age to the millisecond; they are no timer.)
func lateBatches(events []DropEvent, timers, walls []candidate) ([]candidate, []candidate) {
	if len(timers) == 0 || len(walls) == 0 {
		return timers, walls
	}
	var batched []candidate
	for _, w := range walls {
		if w.clock != clockWall {
			batched = append(batched, w.batches...)
		} else if atOnce(events, w) {
			batched = append(batched, w)
		}
	}
	established := make([]bool, len(timers))
	for i, t := range timers {
		established[i] = !t.edge && onTime(events, t, batched)
	}
	late := make([]bool, len(walls))
	for wi, w := range walls {
		parts := []candidate{w}
		if w.clock != clockWall {
			parts = w.batches
		}
		// Every timer it is due for takes it: the same drops are often a
		// timer on both the idle and the age clock, and the two compete.
		for ti := range timers {
			t := &timers[ti]
			if !established[ti] || 2*len(t.members) < len(w.members) {
				continue
			}
			due := true
			for _, b := range parts {
				due = due && dueBatch(events, b, *t)
			}
			if !due {
				continue
			}
			batches := append(slices.Clone(t.batches), parts...)
			*t = newCandidate(events, t.clock, union(t.members, w.members))
			t.batches = batches
			slices.SortFunc(t.batches, func(a, b candidate) int { return cmp.Compare(a.at, b.at) })
			late[wi] = true
		}
	}
	kept := walls[:0:0]
	for i, w := range walls {
		if !late[i] {
			kept = append(kept, w)
		}
	}
	return timers, kept
}

// atOnce reports whether a wall-clock group was cut at once: clearly
// tighter in time than in idle time (a ramp's drops cut on time are as
// spread in time as their connections were in opening).
func atOnce(events []DropEvent, w candidate) bool {
	return spreadOn(events, w.members, clockIdle) >= clearRatio*max(w.spread, resolutionMs)
}

// onTime reports whether timer candidate t fired over the run, one
// connection at a time: clearly looser on the wall clock than on its own,
// and most of its drops in none of the batches.
func onTime(events []DropEvent, t candidate, batches []candidate) bool {
	if spreadOn(events, t.members, clockWall) < clearRatio*max(t.spread, resolutionMs) {
		return false
	}
	in := make(map[int]bool)
	for _, b := range batches {
		for _, m := range b.members {
			in[m] = true
		}
	}
	n := 0
	for _, m := range t.members {
		if in[m] {
			n++
		}
	}
	return 2*n < len(t.members)
}

// dueBatch reports whether wall batch w is a firing of timer t that came
// off time: cut at once (clearly tighter on the wall clock than on the
// timer's), nearly every drop at least the timer's value less its blur
// (the clustering window, or the timer's own spread when wider), and no
// connection it spared already past the timer. A busy proxy fires late
// what fell due while it could not run, and early some timers it armed
// from a stale clock (nginx dates them by a time read once per pass of its
// event loop: measured, 1000 connections through a 3 s timeout on a loaded
// machine, its last pass cut the 63 left at once, idle 2.77 to 3.00 s,
// with the timer's own drops spread as wide). Such a batch may spare
// nothing — it cut every connection left — and an event at that moment
// would look the same; but then every connection it cut was due within
// the timer's own blur, which the timer explains as well. A backend that
// dies after a timeout cuts connections not yet due, and stays an event.
func dueBatch(events []DropEvent, w candidate, t candidate) bool {
	if spreadOn(events, w.members, t.clock) < clearRatio*max(w.spread, resolutionMs) {
		return false
	}
	blur := max(sweepTolerance(t.at), t.spread)
	n := 0
	for _, m := range w.members {
		if clockValue(&events[m], t.clock) >= t.lo-blur {
			n++
		}
	}
	if float64(n) < partShare*float64(len(w.members)) {
		return false
	}
	for _, sp := range factsOf(events, w, t.clock).spared {
		if sp.value > t.at+blur {
			return false
		}
	}
	return true
}

// cutInSweeps marks a timer candidate whose drops came mostly in batches
// the proxy cut at once as a timer cut in sweeps (its value is then its
// lower edge), when the batches agree with one threshold: none spared a
// connection that had reached the timer's lowest value.
func cutInSweeps(events []DropEvent, c candidate) candidate {
	if c.edge || len(c.batches) == 0 {
		return c
	}
	in := 0
	var proxy []candidate
	for _, b := range c.batches {
		if proxyBatch(events, b) {
			in += len(b.members)
			proxy = append(proxy, b)
		}
	}
	if 2*in <= len(c.members) {
		return c
	}
	tol := sweepTolerance(c.lo)
	spared, confirmed := -1.0, map[int]bool{}
	cut := map[int]float64{} // member → wall time it was cut
	for _, m := range c.members {
		cut[m] = events[m].AtMs
	}
	slices.SortFunc(proxy, func(a, b candidate) int { return cmp.Compare(a.lo, b.lo) })
	lag := sweepLag(proxy)
	for _, b := range proxy {
		for _, sp := range factsWithin(events, b, c.clock, lag).spared {
			if sp.value > c.lo+tol {
				return c
			}
			spared = max(spared, sp.value)
			if at, ok := cut[sp.event]; ok && at > b.hi {
				confirmed[sp.event] = true
			}
		}
	}
	c.edge, c.oldestSpared, c.confirmed = true, spared, len(confirmed)
	return c
}

// proxyBatch reports whether a wall-clock batch was cut at once by the
// proxy rather than opened at once by the ramp: its connections were
// upgraded over a span clearly wider (closeRatio) than the moment they
// were cut in. A ramp that opens connections in bursts (a starved client,
// -r 0) makes batches of connections cut together on time, which say
// nothing about the proxy.
func proxyBatch(events []DropEvent, w candidate) bool {
	wall := max(w.hi-w.lo, resolutionMs)
	return max(upgradeRange(events, w.members), resolutionMs) >= closeRatio*wall
}

// upgradeRange is max-min of the members' upgrade times.
func upgradeRange(events []DropEvent, members []int) float64 {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, m := range members {
		u := events[m].AtMs - events[m].AgeMs
		lo, hi = min(lo, u), max(hi, u)
	}
	return hi - lo
}

// rampSpacing is the median time between consecutive upgrades of the
// members: a ramp of 50 connections a second opens one every 20 ms.
func rampSpacing(events []DropEvent, members []int) float64 {
	if len(members) < 2 {
		return 0
	}
	ups := make([]float64, len(members))
	for i, m := range members {
		ups[i] = events[m].AtMs - events[m].AgeMs
	}
	slices.Sort(ups)
	gaps := make([]float64, len(ups)-1)
	for i := 1; i < len(ups); i++ {
		gaps[i-1] = ups[i] - ups[i-1]
	}
	slices.Sort(gaps)
	return gaps[len(gaps)/2]
}

// sweepPeriod finds the period of a timer's batches: three or more batches
// the proxy cut at once, holding most of the timer's drops, at moments a
// whole number of periods apart, the period clearly longer than the
// ramp's spacing and than the batches are wide. Two batches are a gap,
// not a period. It returns 0 when there is none.
func sweepPeriod(events []DropEvent, c candidate) (period float64, batches []candidate) {
	for _, b := range c.batches {
		if proxyBatch(events, b) {
			batches = append(batches, b)
		}
	}
	n := len(batches)
	if n < 3 {
		return 0, batches
	}
	in, widest := 0, 0.0
	for _, b := range batches {
		in += len(b.members)
		widest = max(widest, b.hi-b.lo)
	}
	if 2*in <= len(c.members) {
		return 0, batches
	}
	p := math.Inf(1)
	for i := 1; i < n; i++ {
		p = min(p, batches[i].at-batches[i-1].at)
	}
	if p < 100 || widest >= p/4 || p < 4*rampSpacing(events, c.members) {
		return 0, batches
	}
	var sum, periods float64
	for i := 1; i < n; i++ {
		g := batches[i].at - batches[i-1].at
		k := math.Round(g / p)
		if math.Abs(g-k*p) > max(50, 0.1*p) {
			return 0, batches
		}
		sum += g
		periods += k
	}
	return sum / periods, batches
}

// union is the members of a and b, each once.
func union(a, b []int) []int {
	out := slices.Clone(a)
	in := make(map[int]bool, len(a))
	for _, m := range a {
		in[m] = true
	}
	for _, m := range b {
		if !in[m] {
			out = append(out, m)
		}
	}
	return out
}
