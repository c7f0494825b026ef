package report

import (
	"cmp"
	"math"
	"slices"
)

// Clocks a drop can be measured on. Their order is the tie-break when two
// clocks explain a group of drops equally well and nothing else decides:
// idle is the most specific explanation (proxies time idleness), wall the
// least. pong is its own clock, for pong timeouts only.
const (
	clockIdle = iota
	clockAge
	clockWall
	clockPong
	numClocks
)

var clockNames = [numClocks]string{"idle", "age", "wall", "pong"}

func clockValue(e *DropEvent, clock int) float64 {
	switch clock {
	case clockIdle:
		return e.IdleMs
	case clockAge:
		return e.AgeMs
	case clockPong:
		return e.PongWaitMs
	}
	return e.AtMs
}

// Cluster finding, in short. Drops of one kind (FIN, RST, close 1001, …)
// are looked at together, since one mechanism ends connections one way. On
// each clock, the drops are sorted and a window of max(50 ms, 1 % of the
// value) slides from every drop; a window holding at least minClusterSize
// drops is dense, and overlapping dense windows merge into one candidate,
// which is kept only if evenly spread drops would rarely be as dense
// (significance.go). Then, in order:
//   - blur: neighbouring candidates on one timer clock whose gap is
//     narrower than they are wide are one timer blurred by load;
//   - batches: a wall-clock candidate that is a part of a larger timer
//     candidate, or a late firing of it (every drop already due, every
//     connection it spared not yet), is a batch the timer fired at once,
//     not an event;
//   - sweeps: two or more wall-clock batches that cut every connection
//     past one threshold and spared the younger ones, which a later batch
//     cut, are one timer that checks its connections now and then
//     (sweep.go), whatever the product and the ramp;
//   - competition: the candidate whose spread is clearly (2×) tighter than
//     another's over the same drops explains them; when neither is, the two
//     explanations are close and the cluster says so (see attribute.go);
//   - stragglers: unclaimed drops of the kind right at a cluster's edge
//     join it;
//   - a wall-clock group left alone that cut only silent connections while
//     pinging ones alive then were spared is an idle timer's sweep (the
//     control group), not an event.
const (
	windowMinMs = 50
	windowShare = 0.01
	minShare    = 0.05
	minAbsolute = 3
	// resolutionMs is the tightness below which spreads are not compared:
	// the kernel dates segments to the millisecond and a proxy's event
	// loop adds a few more, so 1 ms and 4 ms are equally tight.
	resolutionMs = 10
	// clearRatio: one clock explains a group better than another when its
	// spread is at least this many times tighter. Below closeRatio the
	// other stays a close alternative, named in the verdict: a timer a
	// busy proxy fired late in one batch is a few times tighter in time
	// than in age, a reload after a fast ramp tens of times.
	clearRatio = 2
	closeRatio = 5
	// partShare of a wall-clock candidate's drops must belong to a timer
	// candidate for it to be one of that timer's batches.
	partShare = 0.9
)

// tieAbsoluteMs and tieShare say when a cluster on a timer clock is as
// tight on the wall clock as on its own (AttributeMarks).
const (
	tieAbsoluteMs = 5
	tieShare      = 0.10
)

// candidate is a dense group of drops of one kind on one clock.
type candidate struct {
	clock int
	// members are event indices, ordered by their value on clock.
	members []int
	at      float64 // median on clock
	spread  float64 // p5–p95 (max–min under 20)
	lo, hi  float64 // min and max on clock
	// batches are the wall-clock groups a timer candidate fired in, by
	// time; set by findBatches.
	batches []candidate
	// rival is the best other explanation of (mostly) the same drops and
	// close is whether it was about as tight (see better).
	rival *candidate
	close bool
	// sweep marks a single wall-clock batch read as one sweep of the
	// proxy in front's coarse timer (see coarseSweep); known names the
	// default or configured timeout that made a wall-clock group a timer
	// (see knownTimer).
	sweep bool
	known string
	// edge: the candidate is a timer that cut in sweeps (or one sweep),
	// so its value is its lower edge (lo), not its median; oldestSpared
	// is the largest value a connection spared by a sweep had then (-1:
	// none seen), confirmed how many a sweep spared and a later one cut.
	edge         bool
	oldestSpared float64
	confirmed    int
	// split: a wall-clock group of silent connections read as an idle
	// timer because pinging ones alive then were spared (the control
	// group).
	split bool
}

// clusterContext is what the clustering knows besides the drops.
type clusterContext struct {
	// control: some connections pinged while others stayed silent.
	control bool
	// pingMs is the client ping interval (0 = none); pongTimeoutMs the
	// pong timeout.
	pingMs, pongTimeoutMs float64
	// proxy is the proxy in front as far as known ("" = unknown), and
	// configured the timeouts read from --proxy-config files: hints
	// rank them first.
	proxy      string
	configured []ConfiguredTimeout
	// path is what the answers say of the products on the path: hints
	// leave out the defaults of products that would have named
	// themselves and did not (defaults.go).
	path pathEvidence
	// held is how many connections were still open at the end.
	held int64
}

// FindClusters finds groups of drops that happened close together on one
// clock (age, idle, wall, or for pong timeouts the wait for the pong) and
// attributes each. A cluster needs at least max(3, 5 % of the drops)
// drops, or all of them when there are fewer than three. The control group
// (connections that pinged while others stayed silent) is taken to exist
// when some drop was pinging; a Result built by a Recorder also knows it
// from the scenario (see Recluster). The result is sorted by count, largest
// first, and is never nil.
func FindClusters(events []DropEvent, upgraded int64) []Cluster {
	return findClusters(events, clusterContext{control: hasPinging(events), held: upgraded - int64(len(events))})
}

// Recluster recomputes res.Drops.Clusters from res.Drops.Events, as the
// Recorder does; merge calls it after combining shards' events.
func Recluster(res *Result) {
	res.Drops.Clusters = findClusters(res.Drops.Events, contextOf(res))
}

func contextOf(res *Result) clusterContext {
	ctx := clusterContext{
		control:       hasControlGroup(res.Scenario.Ping.D() > 0, res.Scenario.PingFraction, res.Drops.Events),
		pingMs:        float64(res.Scenario.Ping.D().Milliseconds()),
		pongTimeoutMs: float64(res.Scenario.PongTimeout.D().Milliseconds()),
		held:          res.Counts.Held,
	}
	if res.Proxy != nil {
		ctx.proxy = res.Proxy.Name
	}
	for _, pc := range res.ProxyConfigs {
		ctx.configured = append(ctx.configured, pc.Timeouts...)
	}
	ctx.path = pathOf(res)
	return ctx
}

func findClusters(events []DropEvent, ctx clusterContext) []Cluster {
	out := []Cluster{}
	if len(events) == 0 {
		return out
	}
	minCount := minClusterSize(len(events))
	claimed := make([]bool, len(events))
	var chosen []candidate
	for _, group := range byKind(events) {
		chosen = append(chosen, clusterKind(events, group, minCount, claimed, ctx)...)
	}
	for _, c := range chosen {
		out = append(out, makeCluster(events, c, ctx))
	}
	slices.SortStableFunc(out, func(a, b Cluster) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.AtMs, b.AtMs), cmp.Compare(a.Kind, b.Kind))
	})
	return out
}

// byKind splits the drops by kind, in a stable order.
func byKind(events []DropEvent) [][]int {
	idx := map[string]int{}
	var groups [][]int
	for i := range events {
		k, ok := idx[events[i].Kind]
		if !ok {
			k = len(groups)
			idx[events[i].Kind] = k
			groups = append(groups, nil)
		}
		groups[k] = append(groups[k], i)
	}
	return groups
}

// clusterKind finds the clusters among the drops of one kind.
func clusterKind(events []DropEvent, group []int, minCount int, claimed []bool, ctx clusterContext) []candidate {
	if len(group) < minCount {
		return nil
	}
	clocks := []int{clockIdle, clockAge, clockWall}
	if events[group[0]].Kind == "pong_timeout" {
		// A pong timeout runs from the ping that was not answered; drops
		// recorded without that wait fall back to their age.
		clocks = []int{clockPong}
		if events[group[0]].PongWaitMs == 0 {
			clocks = []int{clockAge}
		}
	}
	var timers, walls []candidate
	for _, clock := range clocks {
		cs := significantOnly(events, group, denseCandidates(events, group, clock, minCount))
		if clock != clockWall {
			// Merged groups are judged again: their width is the merge's.
			cs = significantOnly(events, group, unblur(events, group, cs))
		}
		if clock == clockWall {
			walls = cs
			continue
		}
		if clock == clockIdle {
			cs = slices.DeleteFunc(cs, func(c candidate) bool { return refutedIdle(events, c) })
		}
		timers = append(timers, cs...)
	}
	timers = dropSubsumed(events, timers)
	timers, walls = findBatches(events, timers, walls)
	var sweeps []candidate
	for {
		s, rest, ok := findSweeps(events, walls, minCount)
		if !ok {
			break
		}
		timers, walls = inSweeps(timers, s), rest
		sweeps = append(sweeps, s)
	}
	// Late batches and sweeps of a timer seen firing on time are its own.
	timers, rest := lateBatches(events, timers, append(walls, sweeps...))
	walls = walls[:0]
	for _, c := range rest {
		if c.clock == clockWall {
			walls = append(walls, c)
		} else {
			timers = append(timers, c)
		}
	}
	for i := range timers {
		timers[i] = cutInSweeps(events, timers[i])
	}
	cands := append(timers, walls...)

	var chosen []candidate
	for len(cands) > 0 {
		best := 0
		for i := 1; i < len(cands); i++ {
			if better(events, cands[i], cands[best]) {
				best = i
			}
		}
		c := cands[best]
		cands = slices.Delete(cands, best, best+1)
		c.rival, c.close = rivalOf(events, c, cands)
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
			// Mostly explained already: the same group seen on another
			// clock. What is left is too small to be a cluster of its own.
			if 2*len(free) < len(o.members) || len(free) < minCount {
				continue
			}
			if len(free) < len(o.members) {
				batches, edge, spared, confirmed := o.batches, o.edge, o.oldestSpared, o.confirmed
				o = newCandidate(events, o.clock, free)
				o.batches, o.edge, o.oldestSpared, o.confirmed = batches, edge, spared, confirmed
			}
			kept = append(kept, o)
		}
		cands = kept
	}
	for i := range chosen {
		chosen[i] = withStragglers(events, group, chosen[i], claimed)
		if c := chosen[i]; c.clock == clockWall {
			if s, ok := controlSplit(events, c, ctx); ok {
				chosen[i] = s
			} else if s, ok := coarseSweep(events, c, ctx); ok {
				chosen[i] = s
			} else if t, ok := knownTimer(events, c, ctx); ok {
				chosen[i] = t
			}
		}
	}
	return chosen
}

// inSweeps drops the timer candidates no larger than s most of whose drops belong
// to a timer cut in sweeps: a ramp whose spacing divides the sweeps' period opens
// connections that the sweeps then cut at the very same ages, a few per
// age and tighter than any timer — the sweeps' doing, not timers of their
// own.
func inSweeps(timers []candidate, s candidate) []candidate {
	in := make(map[int]bool, len(s.members))
	for _, m := range s.members {
		in[m] = true
	}
	return slices.DeleteFunc(timers, func(t candidate) bool {
		n := 0
		for _, m := range t.members {
			if in[m] {
				n++
			}
		}
		return len(t.members) <= len(s.members) && 2*n > len(t.members)
	})
}

// coarseSweep reads a wall-clock group as one sweep of a coarse timer,
// when the proxy in front has one (lighttpd checks its idle connections
// once a second, on whole seconds): a ramp shorter than its period leaves
// every connection stamped in the same second, and one sweep then cuts
// them all in the same millisecond, aged over that second — the shape of
// an event, from a timer. It applies when the drops are silent
// connections whose ages span no more than two periods, and returns the
// group on the age clock, marked, so that attribution says both.
func coarseSweep(events []DropEvent, c candidate, ctx clusterContext) (candidate, bool) {
	g := ctx.granularityMs()
	if g == 0 || !idleIsAge(events, c.members) {
		return c, false
	}
	age := newCandidate(events, clockAge, c.members)
	if age.hi-age.lo > 2*g+resolutionMs {
		return c, false
	}
	rival := c
	age.sweep, age.rival, age.close = true, &rival, true
	age.edge, age.batches = true, []candidate{c}
	age.oldestSpared = oldestSpared(events, c, clockAge)
	return age, true
}

// controlSplit reads a wall-clock group as one sweep of an idle timer when
// the control group says so: it cut silent connections only, while pinging
// connections alive across it were spared — an event would have cut both.
// It returns the group on the idle clock, whose value is its lower edge:
// the timer cut every connection idle at least that long.
func controlSplit(events []DropEvent, c candidate, ctx clusterContext) (candidate, bool) {
	if !ctx.control || !silentOnly(events, c.members) || !sparedPinging(events, c.lo, c.hi, ctx) {
		return c, false
	}
	t := newCandidate(events, clockIdle, c.members)
	t.edge, t.split, t.batches = true, true, []candidate{c}
	t.oldestSpared = oldestSpared(events, c, clockIdle)
	return t, true
}

// oldestSpared is the largest value on clock that a connection alive
// across wall batch w, and not cut by it, had at it (-1: none known).
func oldestSpared(events []DropEvent, w candidate, clock int) float64 {
	v := -1.0
	for _, sp := range factsOf(events, w, clock).spared {
		v = max(v, sp.value)
	}
	return v
}

// silentOnly reports whether none of the members pinged.
func silentOnly(events []DropEvent, members []int) bool {
	for _, m := range members {
		if events[m].Pinging {
			return false
		}
	}
	return true
}

// knownTimer reads a wall-clock group whose timer rival is about as tight
// as the timer the proxy in front is known to run: its default, or a
// timeout its configuration sets, matches the rival's value. Between a
// moment and that timer the drops alone cannot choose (a busy nginx fires
// its 60 s timers in one late batch); what is known of the proxy can. The
// group is returned on the timer's clock with the moment as its close
// rival, so that attribution names both.
func knownTimer(events []DropEvent, c candidate, ctx clusterContext) (candidate, bool) {
	if c.rival == nil || !c.close || c.rival.clock == clockWall || ctx.proxy == "" && len(ctx.configured) == 0 {
		return c, false
	}
	t := newCandidate(events, c.rival.clock, c.members)
	cause := causeIdle
	if t.clock == clockAge && !idleIsAge(events, t.members) {
		cause = causeLifetime
	}
	for _, m := range matchesFor(t.at, events[c.members[0]].Kind, cause, ctx) {
		if m.rank <= 1 {
			wall := c
			wall.rival = nil
			t.rival, t.close, t.known = &wall, true, m.name
			return t, true
		}
	}
	return c, false
}

// granularityMs is the coarsest timer period of the proxy in front's
// known settings, 0 when it has none or is unknown.
func (ctx clusterContext) granularityMs() float64 {
	g := 0.0
	for _, d := range Defaults {
		if d.Product == ctx.proxy {
			g = max(g, d.GranularityMs)
		}
	}
	return g
}

// unblur merges neighbouring candidates on one timer clock whose gap is
// narrower than the wider of them plus the clustering window: a starved
// proxy cuts part of its connections early (timers armed from a stale
// clock) and part late, dense groups with a gap between them, for one
// timeout (measured: 611 around 2.82 s idle and 389 within a few ms of
// 3.01 s, for nginx's 3 s; 894 at 3.00 s ±14 ms and 65 at 3.09 s ±26 ms).
// Two timers a user could configure are apart by far more than they are
// wide: 60 s and 63 s stay two, as do 1 s and 1.5 s.
//
// The merged candidate holds every drop of the group from the lowest to
// the highest, the sparse ones in the gap too.
func unblur(events []DropEvent, group []int, cs []candidate) []candidate {
	if len(cs) < 2 {
		return cs
	}
	slices.SortFunc(cs, func(a, b candidate) int { return cmp.Compare(a.at, b.at) })
	out := []candidate{cs[0]}
	for _, c := range cs[1:] {
		last := &out[len(out)-1]
		if c.lo-last.hi < max(last.spread, c.spread)+windowMs(c.at) {
			var members []int
			for _, i := range group {
				if v := clockValue(&events[i], c.clock); v >= last.lo && v <= c.hi {
					members = append(members, i)
				}
			}
			*last = newCandidate(events, c.clock, members)
			continue
		}
		out = append(out, c)
	}
	return out
}

// dropSubsumed removes a timer candidate that is mostly part of a larger
// one on the other timer clock and is not clearly tighter on its own clock
// than on that one: a subset of any group is tighter than the group, and
// would otherwise take its drops from the explanation that fits them as
// well (measured: through nginx's 2 s timeout with --ping 3s, 59 pinging
// connections cut at 3.66 s ±24 ms of age were also 2.00 s ±16 ms idle,
// like the 941 others, and are the same idle timeout).
func dropSubsumed(events []DropEvent, timers []candidate) []candidate {
	drop := make([]bool, len(timers))
	for bi, b := range timers {
		in := make(map[int]bool, len(b.members))
		for _, m := range b.members {
			in[m] = true
		}
		for ai, a := range timers {
			if ai == bi || drop[ai] || a.clock == b.clock || len(a.members) >= len(b.members) {
				continue
			}
			n := 0
			for _, m := range a.members {
				if in[m] {
					n++
				}
			}
			if float64(n) < partShare*float64(len(a.members)) {
				continue
			}
			other := spreadOn(events, a.members, b.clock)
			if max(other, resolutionMs) < clearRatio*max(a.spread, resolutionMs) {
				drop[ai] = true
			}
		}
	}
	kept := timers[:0:0]
	for i, c := range timers {
		if !drop[i] {
			kept = append(kept, c)
		}
	}
	return kept
}

// refutedIdle reports whether most of an idle-clock candidate's drops had
// lived through a longer silence than the one that ended them: no idle
// timer of that length was at work, or it would have cut them then. (The
// shape of an application that pings every 20 s and closes at 30 s of age:
// 10 s idle at every drop, after 20 s silences.)
func refutedIdle(events []DropEvent, c candidate) bool {
	n := 0
	for _, m := range c.members {
		if events[m].QuietMs > c.hi+windowMs(c.at) {
			n++
		}
	}
	return 2*n > len(c.members)
}

// findBatches finds, for each timer candidate, the wall-clock candidates
// that are parts of it — batches in which the timer fired — and takes them
// out of the competition: a timer that checks once a second (lighttpd) or
// a proxy that fell behind cuts its due connections together, tighter on
// the wall clock than on their own, and that is no event. A wall-clock
// group counts as a part when nearly all its drops belong to a larger
// timer candidate; an event that also cut connections not yet due (a
// backend dying after most connections timed out) is not one.
func findBatches(events []DropEvent, timers, walls []candidate) ([]candidate, []candidate) {
	part := make([]bool, len(walls))
	for ti := range timers {
		t := &timers[ti]
		if spreadOn(events, t.members, clockWall) < clearRatio*max(t.spread, resolutionMs) {
			// As tight on the wall clock as on its own: the timer and a
			// moment are rivals, and its wall-clock groups compete.
			continue
		}
		in := make(map[int]bool, len(t.members))
		for _, m := range t.members {
			in[m] = true
		}
		for wi, w := range walls {
			if len(w.members) >= len(t.members) {
				continue
			}
			n := 0
			for _, m := range w.members {
				if in[m] {
					n++
				}
			}
			if float64(n) >= partShare*float64(len(w.members)) {
				part[wi] = true
				t.batches = append(t.batches, w)
			}
		}
		slices.SortFunc(t.batches, func(a, b candidate) int { return cmp.Compare(a.at, b.at) })
	}
	kept := walls[:0:0]
	for i, w := range walls {
		if !part[i] {
			kept = append(kept, w)
		}
	}
	return timers, kept
}

// better says whether a explains its drops better than b: a spread at
// least clearRatio times tighter (spreads under resolutionMs count as
// equal); when neither is, the candidate covering more drops (silent and
// pinging connections dropping at one age is one max-lifetime cluster, not
// an idle cluster of the silent ones); then, between a moment and a timer
// over the same drops, the moment (see attribute.go: the timer stays the
// close alternative); then the clock order idle, age, wall.
func better(events []DropEvent, a, b candidate) bool {
	ta, tb := max(a.spread, resolutionMs), max(b.spread, resolutionMs)
	switch {
	case tb >= clearRatio*ta:
		return true
	case ta >= clearRatio*tb:
		return false
	}
	if len(a.members) != len(b.members) {
		return len(a.members) > len(b.members)
	}
	if (a.clock == clockWall) != (b.clock == clockWall) {
		return a.clock == clockWall
	}
	if a.clock != b.clock {
		return a.clock < b.clock
	}
	return a.at < b.at
}

// rivalOf finds the best remaining candidate on another clock over mostly
// the same drops as c, and whether it explains them about as well.
func rivalOf(events []DropEvent, c candidate, others []candidate) (*candidate, bool) {
	in := make(map[int]bool, len(c.members))
	for _, m := range c.members {
		in[m] = true
	}
	var best *candidate
	for i := range others {
		o := &others[i]
		if o.clock == c.clock {
			continue
		}
		n := 0
		for _, m := range o.members {
			if in[m] {
				n++
			}
		}
		if 2*n < len(o.members) || 2*n < len(c.members) {
			continue
		}
		if best == nil || better(events, *o, *best) {
			best = o
		}
	}
	if best == nil {
		return nil, false
	}
	r := *best
	tc, tr := max(c.spread, resolutionMs), max(r.spread, resolutionMs)
	return &r, tr < closeRatio*tc
}

// withStragglers adds to a cluster the unclaimed drops of its kind that
// lie just outside it on its own clock: within max(window, half its
// spread) of its lowest or highest drop. Wider bands would fold distinct
// timeouts together (60 s and 63 s).
func withStragglers(events []DropEvent, group []int, c candidate, claimed []bool) candidate {
	band := max(windowMs(c.at), c.spread/2)
	if c.edge {
		// A timer cut in sweeps is as wide as the time between them: its
		// window holds its drops, and only the clustering window more.
		band = windowMs(c.lo)
	}
	lo, hi := c.lo-band, c.hi+band
	members := slices.Clone(c.members)
	for _, i := range group {
		if claimed[i] {
			continue
		}
		if v := clockValue(&events[i], c.clock); v >= lo && v <= hi {
			claimed[i] = true
			members = append(members, i)
		}
	}
	if len(members) == len(c.members) {
		return c
	}
	n := newCandidate(events, c.clock, members)
	n.batches, n.rival, n.close = c.batches, c.rival, c.close
	n.edge, n.oldestSpared, n.confirmed = c.edge, c.oldestSpared, c.confirmed
	return n
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

// denseCandidates sweeps one clock over the drops of group and returns its
// merged dense windows.
func denseCandidates(events []DropEvent, group []int, clock, minCount int) []candidate {
	idx := slices.Clone(group)
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
	return candidate{clock: clock, members: m, at: median(events, clock, m), spread: roundMs(hi - lo), lo: v(0), hi: v(1)}
}

// spreadOn is the p5–p95 range (max–min under 20) of members on clock.
func spreadOn(events []DropEvent, members []int, clock int) float64 {
	return newCandidate(events, clock, members).spread
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

// hasControlGroup says whether some connections pinged while others stayed
// silent, which is what lets clusters tell an idle timeout from a maximum
// lifetime. A pinging drop proves pinging connections existed.
func hasControlGroup(ping bool, fraction float64, events []DropEvent) bool {
	if ping && fraction > 0 && fraction < 1 {
		return true
	}
	return hasPinging(events)
}

func hasPinging(events []DropEvent) bool {
	for i := range events {
		if events[i].Pinging {
			return true
		}
	}
	return false
}
