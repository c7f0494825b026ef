package report

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// Attribution weighs the evidence a group of drops carries, and says which
// explanation is strongest and which other one is close:
//
//   - the clocks: how tight the drops are on each (as ratios: a timer
//     cluster is many times tighter in age or idle time than in time of
//     day; an event the other way round; connections opened together are
//     as tight on both, and then the moment and the timer are close);
//   - the wire: a bare FIN or RST is a proxy cutting the tunnel, a
//     process dying, or an application closing its socket without a close
//     frame; a close frame with a code is a WebSocket endpoint closing —
//     the backend, or a proxy acting as one — and never a proxy's idle
//     timer;
//   - the traffic: idle time counts from the last frame in either
//     direction, so a server's pings re-arm a proxy's idle timer; the
//     longest silence a connection lived through refutes any idle timer
//     shorter than it;
//   - the control group: silent connections cut while pinging ones live is
//     an idle timeout, whatever clock is tightest; both cut at one age is a
//     lifetime limit; pinging ones cut on the idle clock means pings too
//     sparse for the timer;
//   - the sweeps: batches that each cut every connection past one
//     threshold and spared the younger ones are one timer, whose value is
//     that threshold (sweep.go); at a fixed period, one with that
//     granularity.

// Causes.
const (
	causeIdle     = "idle_timeout"
	causeLifetime = "max_lifetime"
	causeEvent    = "event"
)

// attribution is what makeCluster works out for one candidate.
type attribution struct {
	cause, alternative string
	evidence           []string
	periodMs           float64
	// endpoint: the drops are close frames with a code, sent by a
	// WebSocket endpoint rather than by a proxy cutting a tunnel.
	endpoint bool
	// sameAge: the connections were opened within the drops' own spread,
	// which is what makes a moment and a timer look alike.
	sameAge bool
	upMs    float64 // how far apart they were opened (p5–p95)
	// quietMs is the longest silence the members lived through (median).
	quietMs float64
	// altAtMs is the alternative's value on its own clock.
	altAtMs float64
	// timerAtMs is, for a wall-clock cluster read as a timer, the
	// timer's value on its own clock (see timerValue); 0 otherwise.
	timerAtMs float64
}

func makeCluster(events []DropEvent, c candidate, ctx clusterContext) Cluster {
	cl := Cluster{
		Clock:    clockNames[c.clock],
		AtMs:     c.at,
		SpreadMs: c.spread,
		Count:    int64(len(c.members)),
		Kind:     events[c.members[0]].Kind,
	}
	if c.edge {
		// A timer that cut in sweeps is its threshold: every drop lies
		// between it and it plus the time between sweeps.
		cl.AtMs, cl.ToMs, cl.Sweeps = c.lo, c.hi, len(c.batches)
		if c.oldestSpared > 0 {
			cl.SparedMs = c.oldestSpared
		}
	}
	a := attribute(events, c, cl.Kind, ctx)
	if e := timerOnItsClock(events, c, &a); e != "" {
		a.evidence = append(a.evidence, e)
	}
	cl.Cause, cl.Alternative, cl.Evidence, cl.PeriodMs = a.cause, a.alternative, a.evidence, a.periodMs
	if a.alternative != "" {
		cl.AlternativeAtMs = a.altAtMs
	}
	h := hintFor(cl, a, ctx)
	cl.Hint, cl.Matches, cl.Possible = h.text, h.matches, h.possible
	return cl
}

// timerOnItsClock sets a.timerAtMs for a wall-clock cluster attributed to
// a timer (silent connections cut at one moment while pinging ones lived):
// the median of its members' idle times (or ages, for a lifetime), which
// is what the timer was set to give or take its check period; the moment
// itself is no timer's value. It returns the evidence that says so.
func timerOnItsClock(events []DropEvent, c candidate, a *attribution) string {
	if c.clock != clockWall || (a.cause != causeIdle && a.cause != causeLifetime) {
		return ""
	}
	clock, what := clockIdle, "idle"
	if a.cause == causeLifetime {
		clock, what = clockAge, "old"
	}
	t := newCandidate(events, clock, c.members)
	a.timerAtMs = t.at
	return fmt.Sprintf("timer value: these connections had been %s %s to %s (median %s) when this moment cut them, "+
		"so the timer is at most about that long (the moment, %s into the run, is not its value)",
		what, secText(t.lo), secText(t.hi), msText(t.at), secText(c.at))
}

func attribute(events []DropEvent, c candidate, kind string, ctx clusterContext) attribution {
	var a attribution
	a.endpoint = strings.HasPrefix(kind, "close_")
	a.upMs = upgradeSpread(events, c.members)
	if c.clock == clockPong || kind == "pong_timeout" {
		a.evidence = append(a.evidence, pongEvidence(events, c, ctx))
		return a
	}
	a.evidence = append(a.evidence, clockEvidence(events, c))
	if w := wireEvidence(kind); w != "" {
		a.evidence = append(a.evidence, w)
	}
	if kind == "protocol_error" {
		return a
	}

	var pinging, silent, traffic int
	quiet := make([]float64, 0, len(c.members))
	wallLo, wallHi := math.Inf(1), math.Inf(-1)
	for _, m := range c.members {
		e := &events[m]
		if e.Pinging {
			pinging++
		} else {
			silent++
		}
		if e.AgeMs-e.IdleMs > windowMs(e.AgeMs) {
			traffic++
		}
		quiet = append(quiet, e.QuietMs)
		wallLo, wallHi = min(wallLo, e.AtMs), max(wallHi, e.AtMs)
	}
	slices.Sort(quiet)
	a.quietMs = quiet[len(quiet)/2]
	a.sameAge = a.upMs <= max(2*spreadOn(events, c.members, clockWall), resolutionMs)
	// The control group refutes an event when the drops are silent
	// connections only and pinging ones were alive, and spared, meanwhile.
	// For a timer cut on time over the run that is the scenario's split
	// itself; for one cut in sweeps, pinging connections alive across them.
	split := silent > 0 && pinging == 0 && ctx.control
	if split && (c.edge || c.clock == clockWall) {
		split = sparedPinging(events, wallLo, wallHi, ctx)
	}

	if c.clock == clockWall {
		a.cause = causeEvent
		if split {
			// controlSplit reads such groups as a timer's sweep before
			// attribution; a group it left is read the same way here.
			a.cause = causeIdle
			a.evidence = append(a.evidence, "control group: silent connections were cut at this moment and the pinging "+
				"ones alive then were not — an idle timeout; an event would have cut both")
			return a
		}
		if c.rival != nil && c.close {
			a.alternative, a.altAtMs = timerCause(events, *c.rival, pinging, silent), c.rival.at
			if a.sameAge {
				a.evidence = append(a.evidence, fmt.Sprintf("the connections were opened within %s of each other, so their ages "+
					"are as tight as the moment they dropped: an event and a timer of %s look alike — open them over a longer ramp (-r) to tell",
					msText(a.upMs), msText(c.rival.at)))
			} else {
				a.evidence = append(a.evidence, fmt.Sprintf("only %s tighter on the wall clock than on the %s clock: a timer of %s "+
					"that a busy proxy fired late in one batch looks alike — run again: a timer cuts at the same age every time",
					ratioText(max(c.rival.spread, resolutionMs)/max(c.spread, resolutionMs)), clockWords(c.rival.clock), msText(c.rival.at)))
			}
		}
		return a
	}

	value := c.at
	if c.edge {
		value = c.lo
	}
	a.cause = timerCause(events, c, pinging, silent)
	if p, _ := sweepPeriod(events, c); p > 0 {
		a.periodMs = math.Round(p/10) * 10
	}
	switch {
	case c.sweep && split:
		a.cause = causeIdle
		a.evidence = append(a.evidence, fmt.Sprintf("%s is in front and checks its idle timers once every %s: these %d silent "+
			"drops within %s, idle %s to %s, are one sweep of its idle timer; the pinging connections alive then were spared, "+
			"which an event would have cut (control group)", identifyTitle(ctx.proxy), msText(ctx.granularityMs()), len(c.members),
			msText(max(c.rival.spread, 1)), secText(c.lo), secText(c.hi)))
		return a
	case c.sweep:
		a.cause, a.alternative, a.altAtMs = causeIdle, causeEvent, c.rival.at
		a.evidence = append(a.evidence, fmt.Sprintf("%s is in front and checks its idle timers once every %s, on whole "+
			"seconds: one sweep cuts every connection whose timer ran out since the last, so these %d drops within %s, aged %s "+
			"to %s, are its idle timer — or an event at that moment; a ramp longer than two periods spreads them over several "+
			"sweeps and tells", identifyTitle(ctx.proxy), msText(ctx.granularityMs()), len(c.members),
			msText(max(c.rival.spread, 1)), secText(c.lo), secText(c.hi)))
		return a
	case c.split:
		a.cause = causeIdle
		a.evidence = append(a.evidence, fmt.Sprintf("control group: these %d silent connections were cut together at %s into "+
			"the run, idle %s to %s, and the pinging connections alive then were spared: one sweep of an idle timer of at most %s, "+
			"not an event, which would have cut both", len(c.members), secText(c.batches[0].at), secText(c.lo), secText(c.hi),
			secText(c.lo)))
		return a
	case c.edge:
		a.evidence = append(a.evidence, sweepEvidence(events, c, a.periodMs))
	}
	switch {
	case pinging > 0 && silent > 0 && c.clock == clockIdle:
		a.evidence = append(a.evidence, fmt.Sprintf("control group: %d pinging connections were cut too, each %s after its "+
			"last frame, like the %d silent ones: an idle timeout that the pings are too sparse to prevent", pinging, msText(value), silent))
	case pinging > 0 && c.clock == clockAge && !pingsTell(events, c, ctx):
		// Pinging connections cut at the age of the silent ones prove a
		// lifetime only if their pings could have kept an idle timer of
		// that length from firing.
		a.cause, a.alternative = causeIdle, causeLifetime
		a.evidence = append(a.evidence, fmt.Sprintf("the pinging connections were cut at the same age, but their pings "+
			"(every %s, last one %s after the upgrade) could not have re-armed an idle timer of %s in time, so they tell an idle "+
			"timeout from a lifetime limit no better than silence: run with --ping %s --ping-fraction 0.5 to tell",
			durText(ctx.pingMs), msText(lastFrameAge(events, c)), msText(value), pingToTell(value)))
	case pinging > 0 && silent > 0:
		a.evidence = append(a.evidence, fmt.Sprintf("control group: %d silent and %d pinging connections were cut at the same age "+
			"whatever their traffic: a maximum lifetime", silent, pinging))
	case pinging > 0 && c.clock == clockIdle:
		a.evidence = append(a.evidence, fmt.Sprintf("every connection pinged and was cut %s after its last frame: the pings "+
			"come less often than this idle timeout", msText(value)))
	case pinging > 0:
		a.evidence = append(a.evidence, "every connection pinged and was cut at the same age whatever its traffic: a maximum lifetime")
	case split:
		a.cause = causeIdle
		if c.edge {
			a.evidence = append(a.evidence, "control group: only silent connections were cut, and the pinging ones alive "+
				"across the sweeps were spared — an idle timeout, which frames re-arm; an event would have cut both")
		} else {
			a.evidence = append(a.evidence, fmt.Sprintf("control group: silent connections were cut at %s and the pinging ones "+
				"lived past it — an idle timeout, which frames re-arm", msText(value)))
		}
	case ctx.control:
		a.cause = causeIdle
		a.evidence = append(a.evidence, fmt.Sprintf("control group: silent connections were cut at %s and the pinging ones "+
			"lived past it — an idle timeout, which frames re-arm", msText(value)))
	case traffic*2 > len(c.members):
		a.evidence = append(a.evidence, fmt.Sprintf("idle time counts from the last frame in either direction: %d of these "+
			"connections carried frames (server pings or data, which re-arm a proxy's idle timer), so age and idle tell apart", traffic))
	default:
		// Silent connections: idle is age, whoever closed them — a proxy's
		// timer or the backend's own (an application that closes at a
		// fixed age looks exactly like one that closes after that much
		// silence).
		// A moment about as tight is the likelier doubt, and the one named
		// (below): the connections were opened together.
		if c.rival == nil || !c.close || c.rival.clock != clockWall {
			a.alternative = causeLifetime
		}
		a.evidence = append(a.evidence, "silent connections (idle = age): an idle timeout and a maximum lifetime look alike; "+
			fmt.Sprintf("run with --ping %s --ping-fraction 0.5 to tell", pingToTell(value)))
	}
	if a.quietMs > 0 && c.clock == clockAge {
		a.evidence = append(a.evidence, fmt.Sprintf("these connections had lived through silences of %s: no idle timer "+
			"shorter than that cut them", msText(a.quietMs)))
	}
	refuted := split || ctx.control && silent > 0 && pinging == 0 && !c.edge
	if c.rival != nil && c.close && c.rival.clock != clockWall && a.alternative == "" && !(pinging > 0 && silent > 0) && !ctx.control {
		a.alternative, a.altAtMs = timerCause(events, *c.rival, pinging, silent), c.rival.at
		if a.alternative == a.cause {
			a.alternative = ""
		}
	}
	if c.known != "" && !refuted {
		a.alternative, a.altAtMs = causeEvent, c.rival.at
		a.evidence = append(a.evidence, fmt.Sprintf("the drops are about as tight on the wall clock (±%s): an event at %s "+
			"into the run looks alike, but the timer matches %s, which the proxy in front runs — the likelier story; run "+
			"again to tell (a timer cuts at the same age every time)", pmText(c.rival.spread/2), secText(c.rival.at), c.known))
	}
	if c.rival != nil && c.close && c.rival.clock == clockWall && a.alternative == "" && !refuted {
		a.alternative, a.altAtMs = causeEvent, c.rival.at
		a.evidence = append(a.evidence, fmt.Sprintf("the drops are about as tight on the wall clock (±%s): an event at %s "+
			"into the run looks alike — open over a longer ramp (-r) to tell", pmText(c.rival.spread/2), secText(c.rival.at)))
	}
	if !c.edge {
		if e := batchEvidence(events, c, a.periodMs); e != "" {
			a.evidence = append(a.evidence, e)
		}
	}
	return a
}

// pingsTell reports whether the pinging members of an age-clock cluster
// carried traffic that an idle timer of the cluster's length would have
// counted: pings more often than that length, with their last frame well
// after the upgrade (proxies move a timer lazily: nginx only when it
// changes by more than 300 ms). Otherwise being cut at the silent ones'
// age says nothing about a lifetime.
func pingsTell(events []DropEvent, c candidate, ctx clusterContext) bool {
	if ctx.pingMs > 0 && ctx.pingMs >= c.at-windowMs(c.at) {
		return false
	}
	return lastFrameAge(events, c) >= max(300, 0.1*c.at, 2*c.spread)
}

// lastFrameAge is the median age at which the pinging members had their
// last frame.
func lastFrameAge(events []DropEvent, c candidate) float64 {
	var v []float64
	for _, m := range c.members {
		if events[m].Pinging {
			v = append(v, events[m].AgeMs-events[m].IdleMs)
		}
	}
	if len(v) == 0 {
		return 0
	}
	slices.Sort(v)
	return v[len(v)/2]
}

// timerCause is the cause a timer candidate stands for: on the idle clock
// an idle timeout, on the age clock a lifetime limit — unless the drops
// are silent connections (idle = age), for which the idle timeout is the
// common reading.
func timerCause(events []DropEvent, c candidate, pinging, silent int) string {
	if c.clock == clockIdle {
		return causeIdle
	}
	if pinging == 0 && idleIsAge(events, c.members) {
		return causeIdle
	}
	return causeLifetime
}

// sparedPinging reports whether pinging connections outlived silent drops
// that came between wallLo and wallHi into the run: a pinging drop later,
// of a connection upgraded before, or connections still open at the end
// with pings in the scenario.
func sparedPinging(events []DropEvent, wallLo, wallHi float64, ctx clusterContext) bool {
	for i := range events {
		if events[i].Pinging && events[i].AtMs > wallHi && events[i].AtMs-events[i].AgeMs < wallLo {
			return true
		}
	}
	return ctx.held > 0
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

// clockEvidence compares the drops' spread on the three clocks, as
// ratios to the tightest.
func clockEvidence(events []DropEvent, c candidate) string {
	type s struct {
		clock  int
		spread float64
	}
	var all []s
	for _, clock := range []int{clockIdle, clockAge, clockWall} {
		all = append(all, s{clock, spreadOn(events, c.members, clock)})
	}
	if c.edge {
		widest := 0.0
		for _, b := range c.batches {
			widest = max(widest, b.hi-b.lo)
		}
		return fmt.Sprintf("clocks: %s to %s on the %s clock — a timer that checks its connections now and then cuts "+
			"each between its value and the next check — and on the wall clock in %d %s, each within %s",
			secText(c.lo), secText(c.hi), clockWords(c.clock), len(c.batches), plural(len(c.batches), "batch", "batches"),
			msText(max(widest, 0.1)))
	}
	own := max(c.spread, resolutionMs)
	parts := []string{fmt.Sprintf("tightest on the %s clock (±%s)", clockWords(c.clock), pmText(c.spread/2))}
	for _, o := range all {
		if o.clock == c.clock || (o.clock == clockIdle && c.clock == clockAge && o.spread == c.spread) ||
			(o.clock == clockAge && c.clock == clockIdle && o.spread == c.spread) {
			continue
		}
		r := max(o.spread, resolutionMs) / own
		switch {
		case r >= clearRatio:
			parts = append(parts, fmt.Sprintf("%s ±%s (%s looser)", clockWords(o.clock), pmText(o.spread/2), ratioText(r)))
		default:
			parts = append(parts, fmt.Sprintf("%s ±%s (about as tight)", clockWords(o.clock), pmText(o.spread/2)))
		}
	}
	return "clocks: " + strings.Join(parts, ", ")
}

func clockWords(clock int) string {
	switch clock {
	case clockIdle:
		return "idle"
	case clockAge:
		return "age"
	case clockPong:
		return "pong wait"
	}
	return "wall"
}

func ratioText(r float64) string {
	if r >= 10 {
		return fmt.Sprintf("%.0f×", r)
	}
	return fmt.Sprintf("%.1f×", r)
}

// wireEvidence says what the drop kind tells about who ended them.
func wireEvidence(kind string) string {
	switch {
	case kind == "eof":
		return "wire: FIN without a close frame — a proxy cutting the tunnel, a process that died, or an application that " +
			"closed its socket without a close frame (Node ws terminate(), a plain close in Go or Python)"
	case kind == "tls_close_notify":
		return "wire: TLS close_notify without a close frame — whatever terminates TLS closed the connection in order without closing the WebSocket, as a proxy's timer does over TLS (over plain TCP the same cut is a FIN)"
	case kind == "reset":
		return "wire: RST — the connection was aborted (a proxy's reset, a load balancer that forgot the flow, a process killed with unread data)"
	case kind == "close_1005":
		return "wire: a close frame without a code — a WebSocket endpoint closed them (the backend, or a proxy acting as one), not a proxy's idle timer"
	case strings.HasPrefix(kind, "close_"):
		return fmt.Sprintf("wire: a close frame with code %s — a WebSocket endpoint closed them (the backend, or a proxy acting as one, "+
			"like Caddy on reload), not a proxy's idle timer", strings.TrimPrefix(kind, "close_"))
	}
	return ""
}

// pongEvidence describes a pong-timeout cluster on its own clock.
func pongEvidence(events []DropEvent, c candidate, ctx clusterContext) string {
	ages := newCandidate(events, clockAge, c.members)
	s := fmt.Sprintf("clock: each connection had waited %s ±%s for the pong of its ping (ages %s to %s)",
		msText(c.at), pmText(c.spread/2), secText(ages.lo), secText(ages.hi))
	if ctx.pongTimeoutMs > 0 && ctx.pingMs > 0 {
		s += fmt.Sprintf("; --pong-timeout %s is checked once per ping interval (%s), so a timeout fires up to that much later",
			durText(ctx.pongTimeoutMs), durText(ctx.pingMs))
	}
	return s
}

// batchEvidence describes the wall-clock batches a timer cut on time over
// the run also fired in: a period when there is one (see sweepPeriod);
// irregular batches — a busy proxy firing what fell due together — only
// when three or more, cut at once by the proxy rather than opened at once
// by the ramp, hold most of the drops. Fewer say nothing either way.
func batchEvidence(events []DropEvent, c candidate, period float64) string {
	_, batches := sweepPeriod(events, c)
	n := len(batches)
	in, widest := 0, 0.0
	for _, b := range batches {
		in += len(b.members)
		widest = max(widest, b.hi-b.lo)
	}
	if period > 0 {
		return fmt.Sprintf("timer period: %d of the %d drops came in %d batches %s apart, each within %s: one timer checked "+
			"every %s (that granularity), not %d events", in, len(c.members), n, msText(period), msText(max(widest, 1)), msText(period), n)
	}
	if n < 3 || 2*in <= len(c.members) {
		return ""
	}
	return fmt.Sprintf("%d of the %d drops came in %d irregular batches, each holding connections opened over a longer "+
		"stretch than it took: a busy proxy firing the timers that fell due together, not %d events", in, len(c.members), n, n)
}

// sweepEvidence describes a timer read from its sweeps: the batches, the
// threshold they share, the connections they spared, and the period.
func sweepEvidence(events []DropEvent, c candidate, period float64) string {
	n := len(c.batches)
	at := make([]string, n)
	widest := 0.0
	for i, b := range c.batches {
		at[i] = secText(b.at)
		widest = max(widest, b.hi-b.lo)
	}
	what := "idle"
	if c.clock == clockAge {
		what = "old"
	}
	s := fmt.Sprintf("sweeps: the drops came in %d batches (at %s into the run, each within %s); each cut every connection "+
		"%s %s or more and spared the younger ones alive then, %d of which a later batch cut: one timer",
		n, listText(at), msText(max(widest, 0.1)), what, msText(c.lo), c.confirmed)
	switch {
	case c.oldestSpared > c.lo:
		// Within the sweep's tolerance: a whole-second clock orders the
		// connections as their upgrades, not their milliseconds.
		s += fmt.Sprintf(" near %s (a spared connection had been %s %s)", msText(c.lo), what, msText(c.oldestSpared))
	case c.oldestSpared >= 0:
		s += fmt.Sprintf(" between %s (the most a spared connection had been %s) and %s", msText(c.oldestSpared), what, msText(c.lo))
	default:
		s += " of at most " + msText(c.lo)
	}
	s += fmt.Sprintf(", not %d events", n)
	if period > 0 {
		s += fmt.Sprintf("; timer period: the batches came %s apart, so it checks every %s and cuts between %s and %s "+
			"(a timer that counts whole periods, as lighttpd counts whole seconds, may be set up to one period lower)",
			msText(period), msText(period), secText(c.lo), secText(c.hi))
	}
	return s
}

// listText joins up to five items as "a, b and c", eliding the middle of
// longer lists.
func listText(items []string) string {
	if len(items) > 5 {
		items = append(append(slices.Clone(items[:2]), "…"), items[len(items)-2:]...)
	}
	if len(items) < 2 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

// pingToTell suggests a ping interval for the control group that tells an
// idle timeout of atMs from a lifetime limit: half of it, rounded.
func pingToTell(atMs float64) string {
	d := time.Duration(atMs/2) * time.Millisecond
	switch {
	case d >= 10*time.Second:
		d = d.Truncate(5 * time.Second)
	case d >= time.Second:
		d = d.Round(100 * time.Millisecond)
	default:
		d = max(d.Round(10*time.Millisecond), 10*time.Millisecond)
	}
	return d.String()
}

func durText(ms float64) string { return (time.Duration(ms) * time.Millisecond).String() }
