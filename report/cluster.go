package report

import (
	"cmp"
	"math"
	"slices"
)

// Clocks a drop can be measured on. Their order is the tie-break when two
// clocks explain a group of drops equally well: idle is the most specific
// explanation (proxies time idleness), wall the least.
const (
	clockIdle = iota
	clockAge
	clockWall
	numClocks
)

var clockNames = [numClocks]string{"idle", "age", "wall"}

func clockValue(e *DropEvent, clock int) float64 {
	switch clock {
	case clockIdle:
		return e.IdleMs
	case clockAge:
		return e.AgeMs
	}
	return e.AtMs
}

// Cluster finding, in short: on each clock, sort the drops and slide a
// window of max(50 ms, 1 % of the value) from every drop; a window holding
// at least minClusterSize drops is dense, and overlapping dense windows
// merge into one candidate. The same drops usually form a candidate on more
// than one clock (drops at age 3 s of connections opened over 0.5 s are
// also dense on the wall clock, 0.5 s wide), so candidates compete: the
// tightest spread wins and claims its drops, and a candidate whose drops are
// mostly claimed is dropped as a worse explanation of the same group.
const (
	windowMinMs   = 50
	windowShare   = 0.01
	minShare      = 0.05
	minAbsolute   = 3
	tieAbsoluteMs = 5
	tieShare      = 0.10
	// A timer cluster's stragglers lie this far from its centre on its
	// clock: up to max(200 ms, 5 %) early (a busy nginx arms timers from a
	// clock it refreshes once per event-loop pass) and max(1 s, 10 %) late
	// (a starved proxy fires the timers that fell due while it waited in
	// one batch). Measured: 1000 connections behind nginx with a 3 s
	// proxy_read_timeout on a saturated 2-core box drop between 2.95 and
	// 3.64 s idle, a third of them in wall-clock batches of 50–130.
	earlyMinMs = 200
	earlyShare = 0.05
	lateMinMs  = 1000
	lateShare  = 0.10
	// A smaller cluster on the same clock is the same timer's early or
	// late part when its centre is this close: under heavy load nginx cut
	// 611 connections around 2.82 s idle and 389 around 3.01 s, two dense
	// groups with a gap between them, for one 3 s timeout. Two timeouts a
	// user could configure differ by more (1 s and 1.5 s stay apart).
	nearMinMs = 250
	nearShare = 0.10
)

// candidate is a dense group of drops on one clock.
type candidate struct {
	clock int
	// members are event indices, ordered by their value on clock.
	members []int
	at      float64
	spread  float64
	// sameAge marks a wall-clock candidate whose connections were opened
	// no further apart than they dropped: their ages are about as tight
	// as the moments, so the wall clock explains them no better than a
	// timer does (see better).
	sameAge bool
}

// FindClusters finds groups of drops that happened close together on one
// clock (age, idle or wall) and attributes each. A cluster needs at least
// max(3, 5 % of the drops) drops, or all of them when there are fewer than
// three. The control group (connections that pinged while others stayed
// silent) is taken to exist when some drop was pinging; a Result built by a
// Recorder also knows it from the scenario (see Recluster). The result is
// sorted by count, largest first, and is never nil.
func FindClusters(events []DropEvent, upgraded int64) []Cluster {
	return findClusters(events, upgraded, hasPinging(events))
}

// Recluster recomputes res.Drops.Clusters from res.Drops.Events, as the
// Recorder does; merge calls it after combining shards' events.
func Recluster(res *Result) {
	res.Drops.Clusters = findClusters(res.Drops.Events, res.Counts.Upgraded,
		hasControlGroup(res.Scenario, res.Drops.Events))
}

func findClusters(events []DropEvent, upgraded int64, control bool) []Cluster {
	out := []Cluster{}
	if len(events) == 0 {
		return out
	}
	minCount := minClusterSize(len(events))
	var cands []candidate
	for clock := range numClocks {
		cands = append(cands, denseCandidates(events, clock, minCount)...)
	}
	claimed := make([]bool, len(events))
	var chosen []candidate
	for len(cands) > 0 {
		best := 0
		for i := 1; i < len(cands); i++ {
			if better(cands[i], cands[best]) {
				best = i
			}
		}
		c := cands[best]
		cands = slices.Delete(cands, best, best+1)
		for _, m := range c.members {
			claimed[m] = true
		}
		chosen = append(chosen, c)

		kept := cands[:0]
		for _, o := range cands {
			free := make([]int, 0, len(o.members))
			for _, m := range o.members {
				if !claimed[m] {
					free = append(free, m)
				}
			}
			// Mostly explained already: the same group seen on a worse
			// clock. What is left is too small to be a cluster of its own.
			if 2*len(free) < len(o.members) || len(free) < minCount {
				continue
			}
			if len(free) < len(o.members) {
				o = newCandidate(events, o.clock, free)
			}
			kept = append(kept, o)
		}
		cands = kept
	}
	for _, c := range withStragglers(events, chosen, claimed) {
		out = append(out, makeCluster(events, c, control))
	}
	slices.SortStableFunc(out, func(a, b Cluster) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.AtMs, b.AtMs))
	})
	return out
}

// withStragglers lets each timer cluster (idle or age clock), largest
// first, take back the drops of its own kind that a busy proxy cut a little
// early or late: smaller clusters whose every drop lies in its straggler
// band — on the wall clock, or on its own clock with a centre near its
// own — and unclustered drops in that band. A starved
// proxy fires the timers that fell due while it waited in one batch, tight
// on the wall clock; without this, that batch would pose as an event
// (reload, backend death) of its own. A real event is not taken: it cuts
// connections of every idle time and age, not only the ones already due.
func withStragglers(events []DropEvent, chosen []candidate, claimed []bool) []candidate {
	order := make([]int, len(chosen))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(len(chosen[b].members), len(chosen[a].members)) })
	absorbed := make([]bool, len(chosen))
	for _, ti := range order {
		t := chosen[ti]
		if t.clock == clockWall || absorbed[ti] {
			continue
		}
		kind := dominantKind(events, t.members)
		lo := t.at - max(earlyMinMs, earlyShare*t.at)
		hi := t.at + max(lateMinMs, lateShare*t.at)
		due := func(i int) bool {
			v := clockValue(&events[i], t.clock)
			return v >= lo && v <= hi && events[i].Kind == kind
		}
		near := func(o candidate) bool {
			return o.clock == t.clock && o.at >= lo && o.at <= t.at+max(nearMinMs, nearShare*t.at)
		}
		members := slices.Clone(t.members)
		for wi, w := range chosen {
			if wi == ti || absorbed[wi] || len(w.members) >= len(t.members) ||
				(w.clock != clockWall && !near(w)) || !allOf(w.members, due) {
				continue
			}
			absorbed[wi] = true
			members = append(members, w.members...)
		}
		for i := range events {
			if !claimed[i] && due(i) {
				claimed[i] = true
				members = append(members, i)
			}
		}
		if len(members) > len(t.members) {
			chosen[ti] = newCandidate(events, t.clock, members)
		}
	}
	out := chosen[:0:0]
	for i, c := range chosen {
		if !absorbed[i] {
			out = append(out, c)
		}
	}
	return out
}

func allOf(members []int, f func(int) bool) bool {
	for _, m := range members {
		if !f(m) {
			return false
		}
	}
	return true
}

// minClusterSize: a handful of drops together is not a pattern in a run of
// thousands, but in a run of two, both dropping together is.
func minClusterSize(drops int) int {
	if drops < minAbsolute {
		return drops
	}
	return max(minAbsolute, int(math.Ceil(minShare*float64(drops))))
}

func windowMs(v float64) float64 { return max(windowMinMs, windowShare*math.Abs(v)) }

// denseCandidates sweeps one clock and returns its merged dense windows.
func denseCandidates(events []DropEvent, clock, minCount int) []candidate {
	idx := make([]int, len(events))
	for i := range idx {
		idx[i] = i
	}
	val := func(i int) float64 { return clockValue(&events[idx[i]], clock) }
	slices.SortStableFunc(idx, func(a, b int) int {
		return cmp.Compare(clockValue(&events[a], clock), clockValue(&events[b], clock))
	})

	var out []candidate
	lo, hi := -1, -1 // current merged run of sorted positions, inclusive
	end := 0         // first position past the current window
	for i := range idx {
		limit := val(i) + windowMs(val(i))
		end = max(end, i)
		for end < len(idx) && val(end) <= limit {
			end++
		}
		if end-i < minCount {
			continue
		}
		if lo >= 0 && i <= hi {
			hi = max(hi, end-1)
			continue
		}
		if lo >= 0 {
			out = append(out, newCandidate(events, clock, idx[lo:hi+1]))
		}
		lo, hi = i, end-1
	}
	if lo >= 0 {
		out = append(out, newCandidate(events, clock, idx[lo:hi+1]))
	}
	return out
}

// newCandidate computes a candidate's centre and spread. The spread is the
// p5–p95 range rather than max–min: a window of 1 % admits a few
// stragglers (a connection whose 101 the harness read late), and one of
// them should not make a 4 ms cluster read 600 ms. For fewer than 20 drops
// it is max–min.
func newCandidate(events []DropEvent, clock int, members []int) candidate {
	m := slices.Clone(members)
	slices.SortStableFunc(m, func(a, b int) int {
		return cmp.Compare(clockValue(&events[a], clock), clockValue(&events[b], clock))
	})
	v := func(q float64) float64 {
		return clockValue(&events[m[int(math.Round(q*float64(len(m)-1)))]], clock)
	}
	lo, hi := v(0.05), v(0.95)
	if len(m) < 20 {
		lo, hi = v(0), v(1)
	}
	c := candidate{clock: clock, members: m, at: median(events, clock, m), spread: roundMs(hi - lo)}
	c.sameAge = clock == clockWall && upgradeSpread(events, m) <= 2*c.spread
	return c
}

// upgradeSpread is how far apart the members' connections were upgraded:
// p5–p95 of their upgrade times, max–min under 20.
func upgradeSpread(events []DropEvent, members []int) float64 {
	ups := make([]float64, len(members))
	for i, m := range members {
		ups[i] = events[m].AtMs - events[m].AgeMs
	}
	slices.Sort(ups)
	if len(ups) < 20 {
		return ups[len(ups)-1] - ups[0]
	}
	q := func(p float64) float64 { return ups[int(math.Round(p*float64(len(ups)-1)))] }
	return q(0.95) - q(0.05)
}

func median(events []DropEvent, clock int, sorted []int) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return clockValue(&events[sorted[n/2]], clock)
	}
	return roundMs((clockValue(&events[sorted[n/2-1]], clock) + clockValue(&events[sorted[n/2]], clock)) / 2)
}

// better says whether a explains its drops better than b: the tighter
// spread, unless the spreads are about equal (within max(5 ms, 10 %)); then
// the candidate covering more drops (silent and pinging connections dropping
// at one age is one max-lifetime cluster, not an idle cluster of the silent
// ones), then the clock order idle, age, wall.
//
// A wall-clock candidate of connections opened together (sameAge) never
// beats an age or idle one: a proxy that fires a batch of timers late on a
// busy machine makes drops tighter in time than in age, and that is no
// event. (An --at mark right before such drops still makes them one; see
// AttributeMarks.)
func better(a, b candidate) bool {
	if a.sameAge != b.sameAge && (a.clock == clockWall) != (b.clock == clockWall) {
		return b.sameAge
	}
	// Spreads closer than the clustering window (1 % of the value: 600 ms
	// at 60 s) cannot tell two clocks apart: at 60 s, 300 connections
	// opened over 0.3 s and cut by timers a busy proxy fired in one 0.1 s
	// batch are as tight in age as in time.
	tie := max(tieAbsoluteMs, tieShare*max(a.spread, b.spread), min(windowMs(a.at), windowMs(b.at))-windowMinMs)
	if math.Abs(a.spread-b.spread) > tie {
		return a.spread < b.spread
	}
	if len(a.members) != len(b.members) {
		return len(a.members) > len(b.members)
	}
	if a.clock != b.clock {
		return a.clock < b.clock
	}
	return a.at < b.at
}

func makeCluster(events []DropEvent, c candidate, control bool) Cluster {
	cl := Cluster{
		Clock:    clockNames[c.clock],
		AtMs:     c.at,
		SpreadMs: c.spread,
		Count:    int64(len(c.members)),
		Kind:     dominantKind(events, c.members),
	}
	cl.Cause = attribute(events, c, cl.Kind, control)
	cl.Hint = hintFor(cl, control)
	return cl
}

func dominantKind(events []DropEvent, members []int) string {
	counts := map[string]int{}
	for _, m := range members {
		counts[events[m].Kind]++
	}
	best, bestN := "", -1
	for k, n := range counts {
		if n > bestN || (n == bestN && k < best) {
			best, bestN = k, n
		}
	}
	return best
}

// attribute says why a group of drops happened.
//
// A drop at one moment of the run (wall clock) is an event: a reload, a
// restart, a backend dying. On the age or idle clock, the pinging control
// group decides when there is one: silent connections dropped while pinging
// ones were not is an idle timeout (traffic re-arms idle timers); both
// dropped at the same age is a maximum lifetime. Without a control group,
// silent connections (idle ≈ age) cut by FIN or RST are reported as an idle
// timeout — the common case, though a lifetime limit looks the same, which
// the hint says. Connections that did carry traffic (idle < age) tell the
// clocks apart by themselves. Drops the harness caused (pong_timeout,
// protocol_error) and close frames on silent connections get no cause.
func attribute(events []DropEvent, c candidate, kind string, control bool) string {
	if c.clock == clockWall {
		return "event"
	}
	if kind == "pong_timeout" || kind == "protocol_error" {
		return ""
	}
	var pinging, silent int
	for _, m := range c.members {
		if events[m].Pinging {
			pinging++
		} else {
			silent++
		}
	}
	if control {
		switch {
		case silent > 0 && pinging == 0:
			return "idle_timeout"
		case silent > 0 && pinging > 0:
			return "max_lifetime"
		}
		return ""
	}
	if idleIsAge(events, c.members) {
		if kind == "eof" || kind == "reset" || kind == "close_notify" {
			return "idle_timeout"
		}
		return ""
	}
	if c.clock == clockIdle {
		return "idle_timeout"
	}
	return "max_lifetime"
}

// idleIsAge reports whether the members were silent since their upgrade:
// the median gap between age and idle is within the cluster window.
func idleIsAge(events []DropEvent, members []int) bool {
	gaps := make([]float64, len(members))
	for i, m := range members {
		gaps[i] = events[m].AgeMs - events[m].IdleMs
	}
	slices.Sort(gaps)
	g := gaps[len(gaps)/2]
	return math.Abs(g) <= windowMs(events[members[len(members)/2]].AgeMs)
}
