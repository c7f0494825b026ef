package report

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The shapes below come from the black-box round on proxies and backends
// the lab does not contain (Apache Traffic Server, lighttpd under another
// name, Python and Node backends): each is built from its mechanism.

// sweeper builds the drops of a proxy that checks its connections now and
// then rather than one timer each: n silent connections upgraded at rate
// a second from 100 ms into the run, each cut by the first check of its
// thread at which it has been idle at least timeoutMs. Threads check every
// periodMs, thread k lagMs after thread 0 (Apache Traffic Server: one
// inactivity check a second per network thread, ~70 ms apart, connections
// dealt to the threads in turn). Every pingEvery-th connection pings
// (pingEvery 0: none) and is never cut.
type sweeper struct {
	n                   int
	rate                float64
	timeoutMs, periodMs float64
	phaseMs             float64
	threads             int
	lagMs               float64
	pingEvery           int
	kind                string
}

func (s sweeper) events() (ev []DropEvent, held int64) {
	threads := max(s.threads, 1)
	kind := s.kind
	if kind == "" {
		kind = "eof"
	}
	for i := range s.n {
		up := 100 + float64(i)*1000/s.rate
		if s.pingEvery > 0 && i%s.pingEvery == 0 {
			held++
			continue
		}
		first := s.phaseMs + float64(i%threads)*s.lagMs
		k := math.Ceil((up + s.timeoutMs - first) / s.periodMs)
		at := first + k*s.periodMs + float64(i%7)*0.05 // a pass over the connections takes a little time
		ev = append(ev, DropEvent{AtMs: roundMs(at), AgeMs: roundMs(at - up), IdleMs: roundMs(at - up), Kind: kind})
	}
	return ev, held
}

// noEvents fails t when any cluster is an event or names one as its
// alternative.
func noEvents(t *testing.T, cl []Cluster) {
	t.Helper()
	for _, c := range cl {
		if c.Cause == causeEvent || c.Alternative == causeEvent || c.Clock == "wall" {
			t.Errorf("cluster %+v reads a timer's sweep as an event", c)
		}
	}
}

// A proxy wshold has no row for, with a coarse timer, at a ramp slower
// than its checks (lighttpd named "frontdoor", Apache Traffic Server, at
// -c 30 -r 10): three or more batches a second apart, each within a
// millisecond. One idle timeout, whose value is the lower edge of the
// drops, checked every second — from the drops alone.
func TestSweepsOfAnUnnamedProxyAtASlowRampAreOneTimer(t *testing.T) {
	for _, tc := range []struct {
		name      string
		ev        []DropEvent
		timeoutMs float64
		noPeriod  bool // a sweep in parts far apart is dated by its middle, which wanders
	}{
		{"lighttpd as frontdoor, 3 s, 30 at 10/s", lighttpdDrops(30, 3000, 3, 300, 1), 3000, false},
		{"ATS, two network threads, 3 s, 30 at 10/s", func() []DropEvent {
			ev, _ := sweeper{n: 30, rate: 10, timeoutMs: 3000, periodMs: 1000, phaseMs: 600, threads: 2, lagMs: 70}.events()
			return ev
		}(), 3000, false},
		{"ATS, two network threads 190 ms apart (measured on a loaded box), 3 s, 30 at 10/s", func() []DropEvent {
			ev, _ := sweeper{n: 30, rate: 10, timeoutMs: 3000, periodMs: 1000, phaseMs: 600, threads: 2, lagMs: 190}.events()
			return ev
		}(), 3000, true},
		{"ATS, two network threads 420 ms apart (measured), 3 s, 30 at 10/s", func() []DropEvent {
			ev, _ := sweeper{n: 30, rate: 10, timeoutMs: 3000, periodMs: 1000, phaseMs: 600, threads: 2, lagMs: 420}.events()
			return ev
		}(), 3000, true},
		{"ATS active timeout 4 s, 50 at 25/s", func() []DropEvent {
			ev, _ := sweeper{n: 50, rate: 25, timeoutMs: 4000, periodMs: 1000, phaseMs: 770}.events()
			return ev
		}(), 4000, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl := clustersOf(t, tc.ev, clusterContext{})
			noEvents(t, cl)
			if len(cl) != 1 || cl[0].Count != int64(len(tc.ev)) {
				t.Fatalf("clusters %+v: want one cluster of all %d drops", cl, len(tc.ev))
			}
			c := cl[0]
			if c.Cause != causeIdle || c.Alternative != causeLifetime {
				t.Errorf("cause %q or %q: want an idle timeout, or a lifetime (silent connections)", c.Cause, c.Alternative)
			}
			if c.AtMs < tc.timeoutMs || c.AtMs > tc.timeoutMs+250 || c.ToMs < c.AtMs+500 {
				t.Errorf("at %v to %v: want the timer's value, the lower edge just above %v, and the drops reaching up from it",
					c.AtMs, c.ToMs, tc.timeoutMs)
			}
			if tc.noPeriod && c.PeriodMs != 0 && (c.PeriodMs < 980 || c.PeriodMs > 1020) {
				t.Errorf("period %v: want none, or 1 s", c.PeriodMs)
			}
			if !tc.noPeriod && (c.PeriodMs < 980 || c.PeriodMs > 1020) || c.Sweeps < 3 || !hasEvidence(c, "sweeps: the drops came in") {
				t.Errorf("period %v, %d sweeps, evidence %q: want the sweeps and their 1 s period", c.PeriodMs, c.Sweeps, c.Evidence)
			}
		})
	}
}

// The same with a control group (--ping 1s --ping-fraction 0.5): silent
// connections cut in sweeps, pinging ones alive throughout. An idle
// timeout, and nothing else: no event, no lifetime.
func TestSweepsWithAControlGroupAreAnIdleTimeoutAndNoEvent(t *testing.T) {
	for _, s := range []sweeper{
		{n: 30, rate: 10, timeoutMs: 3000, periodMs: 1000, phaseMs: 20, pingEvery: 2},
		{n: 30, rate: 10, timeoutMs: 3000, periodMs: 1000, phaseMs: 600, threads: 2, lagMs: 70, pingEvery: 2},
		{n: 50, rate: 25, timeoutMs: 4000, periodMs: 1000, phaseMs: 770, pingEvery: 2},
	} {
		ev, held := s.events()
		cl := clustersOf(t, ev, clusterContext{control: true, pingMs: 1000, held: held})
		noEvents(t, cl)
		if len(cl) != 1 || cl[0].Cause != causeIdle || cl[0].Alternative != "" || cl[0].Count != int64(len(ev)) {
			t.Errorf("%+v: clusters %+v, want one idle timeout of all %d silent drops, with no alternative", s, cl, len(ev))
			continue
		}
		if !hasEvidence(cl[0], "control group") || cl[0].AtMs < s.timeoutMs || cl[0].AtMs > s.timeoutMs+250 {
			t.Errorf("%+v: cluster %+v: want the control group named and the value at the lower edge", s, cl[0])
		}
	}
}

// Two sweeps are a timer (each spared the younger connections the other
// cut) but not a period: a gap is not a rhythm. Apache Traffic Server,
// 3 s, 50 at 50/s: all in two batches 1 s apart.
func TestTwoSweepsAreOneTimerWithoutAPeriod(t *testing.T) {
	ev, _ := sweeper{n: 50, rate: 50, timeoutMs: 3000, periodMs: 1000, phaseMs: 150}.events()
	cl := clustersOf(t, ev, clusterContext{})
	noEvents(t, cl)
	if len(cl) != 1 || cl[0].Count != 50 || cl[0].Sweeps != 2 {
		t.Fatalf("clusters %+v: want one timer of 50 cut in 2 sweeps", cl)
	}
	c := cl[0]
	if c.PeriodMs != 0 || hasEvidence(c, "period") {
		t.Errorf("period %v, evidence %q: two batches are no period", c.PeriodMs, c.Evidence)
	}
	if c.AtMs < 3000 || c.AtMs > 3050 {
		t.Errorf("at %v: want the lower edge, 3.0 s, not the median of drops spread over a second", c.AtMs)
	}
	res := &Result{Verdict: "fail", Counts: Counts{Attempted: 50, Upgraded: 50, Dropped: 50}, Drops: Drops{Count: 50, Clusters: cl}}
	if line := VerdictLine(res); !strings.Contains(line, "50 dropped at 3.0 s to 4.0 s") || !strings.Contains(line, "idle timeout of 3.0 s, cut in 2 sweeps") {
		t.Errorf("verdict %q: want the range of the drops and the timer's value", line)
	}
}

// A control group splitting one batch, with and without a timer rival:
// silent connections cut together while the pinging ones alive then lived
// on. An idle timer's sweep, not an event, whatever clock is tightest.
func TestControlGroupSplitRefutesAnEvent(t *testing.T) {
	for _, tc := range []struct {
		name   string
		openMs float64
	}{
		// Opened over 2 s: the batch's ages spread over 2 s, no timer
		// rival on any clock.
		{"no rival", 2000},
		// Opened within 10 ms: the batch is as tight in age as in time,
		// and the idle timer is a close rival.
		{"a close timer rival", 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ev []DropEvent
			for i := range 25 {
				up := 100 + tc.openMs*float64(i)/25
				at := 3666 + float64(i%4)*0.03
				ev = append(ev, DropEvent{AtMs: at, AgeMs: at - up, IdleMs: at - up, Kind: "eof"})
			}
			cl := clustersOf(t, ev, clusterContext{control: true, pingMs: 1500, held: 25})
			noEvents(t, cl)
			if len(cl) != 1 || cl[0].Cause != causeIdle || cl[0].Alternative != "" || cl[0].Clock != "idle" {
				t.Fatalf("clusters %+v: want one idle timeout with no alternative", cl)
			}
			if !hasEvidence(cl[0], "control group") {
				t.Errorf("evidence %q should name the control group", cl[0].Evidence)
			}
			// The sweep cut every connection idle at least its value:
			// the lower edge of the drops.
			if lo := slices.MinFunc(ev, func(a, b DropEvent) int { return int(a.IdleMs - b.IdleMs) }).IdleMs; math.Abs(cl[0].AtMs-lo) > 1 {
				t.Errorf("at %v: want the lower edge %v", cl[0].AtMs, lo)
			}
			// Without the control group the same batch is an event.
			if cl := clustersOf(t, ev, clusterContext{held: 25}); len(cl) != 1 || cl[0].Cause != causeEvent {
				t.Errorf("without a control group: clusters %+v, want an event", cl)
			}
		})
	}
	// Apache Traffic Server, 3 s, --ping 1.5s --ping-fraction 0.5, its
	// handshakes slow: the silent 25 in two sweeps, 4 then 21.
	var ev []DropEvent
	for i := range 25 {
		up := 330 + float64(i)*30
		at := 3666.0
		if i >= 4 {
			at = 4664
		}
		ev = append(ev, DropEvent{AtMs: at + float64(i%3)*0.1, AgeMs: at - up, IdleMs: at - up, Kind: "eof"})
	}
	cl := clustersOf(t, ev, clusterContext{control: true, pingMs: 1500, held: 25})
	noEvents(t, cl)
	if len(cl) != 1 || cl[0].Cause != causeIdle || cl[0].Alternative != "" || cl[0].Count != 25 || cl[0].AtMs < 3000 || cl[0].AtMs > 3400 {
		t.Errorf("two sweeps of 4 and 21 with a control group: clusters %+v, want one idle timeout of 25, its value the lower edge (idle, not time into the run)", cl)
	}
}

// Connections closed at random ages carry no pattern: an application that
// closes each after a random time (uniform in [2 s, 10 s]), by a close
// frame or a bare FIN, at the ramps of the black-box runs. Chance groups
// of a few drops must not become events or timers; the verdict says the
// drops were scattered. Evenly spread drops still form such a group now
// and then — the significance level puts that at about one run in a
// hundred — so the test counts the runs with any cluster.
func TestRandomClosesAreNoPattern(t *testing.T) {
	const trials = 200
	for _, tc := range []struct {
		n    int
		rate float64
		kind string
	}{
		{60, 60, "close_1000"},
		{60, 60, "eof"},
		{200, 100, "eof"},
		{30, 10, "eof"},
	} {
		bad := 0
		for seed := range uint64(trials) {
			rng := rand.New(rand.NewPCG(seed, 11))
			var ev []DropEvent
			for i := range tc.n {
				up := 100 + float64(i)*1000/tc.rate
				age := 2000 + rng.Float64()*8000
				ev = append(ev, DropEvent{AtMs: roundMs(up + age), AgeMs: roundMs(age), IdleMs: roundMs(age), Kind: tc.kind})
			}
			if cl := FindClusters(ev, int64(tc.n)); len(cl) > 0 {
				bad++
				if seed == 0 {
					t.Errorf("%d %s at %v/s, seed 0: clusters %+v", tc.n, tc.kind, tc.rate, cl)
				}
			}
		}
		if bad > trials*3/100 {
			t.Errorf("%d %s drops at random ages, %v/s: %d of %d runs found a cluster, want at most 3 %%", tc.n, tc.kind, tc.rate, bad, trials)
		}
	}
	// The verdict for such a run.
	rng := rand.New(rand.NewPCG(0, 11))
	res := &Result{Verdict: "fail", Counts: Counts{Attempted: 60, Upgraded: 60, Dropped: 60}, Drops: Drops{Count: 60}}
	for i := range 60 {
		age := 2000 + rng.Float64()*8000
		res.Drops.Events = append(res.Drops.Events, DropEvent{AtMs: 100 + float64(i)*1000/60 + age, AgeMs: age, IdleMs: age, Kind: "eof"})
	}
	Recluster(res)
	if line := VerdictLine(res); !strings.Contains(line, "60 dropped at scattered times") {
		t.Errorf("verdict %q: want the drops called scattered", line)
	}
}

// One timer per connection, fired on time, at ramps of 25 and 50 a second
// (nghttpx, h2o, an application's asyncio timers): the drops are as far
// apart in time as the upgrades were. No batches, no period, no busy
// proxy — the ramp's own spacing is no batching.
func TestPerConnectionTimersAtARampAreNoBatches(t *testing.T) {
	for _, rate := range []float64{25, 50} {
		rng := rand.New(rand.NewPCG(uint64(rate), 3))
		var ev []DropEvent
		for i := range 50 {
			up := 100 + float64(i)*1000/rate + rng.Float64()*2
			age := 3000 + rng.Float64()*6
			ev = append(ev, DropEvent{AtMs: roundMs(up + age), AgeMs: roundMs(age), IdleMs: roundMs(age), Kind: "eof"})
		}
		cl := clustersOf(t, ev, clusterContext{})
		if len(cl) != 1 || cl[0].Count != 50 || cl[0].Cause != causeIdle || cl[0].ToMs != 0 {
			t.Fatalf("at %v/s: clusters %+v, want one idle timeout of 50 on time", rate, cl)
		}
		if cl[0].PeriodMs != 0 || hasEvidence(cl[0], "batches") || hasEvidence(cl[0], "busy proxy") {
			t.Errorf("at %v/s: period %v, evidence %q: the ramp's spacing is no batching", rate, cl[0].PeriodMs, cl[0].Evidence)
		}
	}
}

// A proxy starved of CPU fires most of its per-connection timers on time
// and, twice, everything that fell due while it could not run, in one late
// batch: still its idle timeout, never an event — what the integration
// tests saw on a loaded machine. 300 connections over 1.5 s, 3 s timeout,
// the proxy stalled from 3.6 to 4.0 s and from 4.2 to 4.45 s into the
// run.
func TestLateBatchesOfAStarvedProxyStayItsTimer(t *testing.T) {
	stalls := [][2]float64{{3600, 4000}, {4200, 4450}}
	for _, n := range []int{1, 2} {
		var ev []DropEvent
		rng := rand.New(rand.NewPCG(uint64(n), 5))
		for i := range 300 {
			up := 100 + float64(i)*5
			due := up + 3000 + rng.Float64()*3
			at := due
			for _, s := range stalls[:n] {
				if due > s[0] && due < s[1] {
					at = s[1] + rng.Float64()*0.5
				}
			}
			ev = append(ev, DropEvent{AtMs: roundMs(at), AgeMs: roundMs(at - up), IdleMs: roundMs(at - up), Kind: "eof"})
		}
		cl := clustersOf(t, ev, clusterContext{})
		noEvents(t, cl)
		if len(cl) != 1 || cl[0].Count != 300 || cl[0].AtMs < 2990 || cl[0].AtMs > 3020 {
			t.Errorf("%d stalls: clusters %+v, want one idle timeout of all 300 at 3 s", n, cl)
		}
	}
	// All of them late: the proxy stalled through the whole deadline
	// stretch and fired in sweeps as it caught up — still one timer.
	var ev []DropEvent
	for i := range 200 {
		up := 100 + float64(i)*5
		at := 3700 + 400*math.Ceil((up+3000-3700)/400)
		ev = append(ev, DropEvent{AtMs: at + float64(i%5)*0.1, AgeMs: at - up, IdleMs: at - up, Kind: "eof"})
	}
	cl := clustersOf(t, ev, clusterContext{})
	noEvents(t, cl)
	if len(cl) != 1 || cl[0].Count != 200 || cl[0].AtMs < 3000 || cl[0].AtMs > 3050 {
		t.Errorf("every timer late, in sweeps: clusters %+v, want one idle timeout of 200, its value the lower edge", cl)
	}
}

// What a sweep is not. Two backends each die once, a second apart, and
// each death cuts its own connections, dealt to them in turn: every batch
// spares connections older than some it cuts, so no threshold explains
// them — two events. And a backend that dies after a coarse timer has
// cut the older connections kills the younger ones at once: the timer
// and an event, apart.
func TestEventsAreNotReadAsSweeps(t *testing.T) {
	var ev []DropEvent
	for i := range 100 {
		up := 100 + float64(i)*10
		at := 5000.0
		if i%2 == 1 {
			at = 6000
		}
		at += float64(i%5) * 0.1
		ev = append(ev, DropEvent{AtMs: at, AgeMs: at - up, IdleMs: at - up, Kind: "eof"})
	}
	cl := clustersOf(t, ev, clusterContext{})
	if len(cl) != 2 || cl[0].Cause != causeEvent || cl[1].Cause != causeEvent {
		t.Errorf("two backends dying: clusters %+v, want two events", cl)
	}

	sweeps, _ := sweeper{n: 60, rate: 10, timeoutMs: 3000, periodMs: 1000, phaseMs: 20}.events()
	var mixed []DropEvent
	for _, e := range sweeps {
		if e.AtMs < 6500 {
			mixed = append(mixed, e)
		}
	}
	cut := len(mixed)
	for i := range 60 {
		up := 100 + float64(i)*100
		if up+3000 > 6020 && up < 6500 {
			at := 6500 + float64(i%3)*0.1
			mixed = append(mixed, DropEvent{AtMs: at, AgeMs: at - up, IdleMs: at - up, Kind: "eof"})
		}
	}
	cl = clustersOf(t, concat(mixed), clusterContext{})
	if len(cl) != 2 || cl[0].Cause != causeIdle || cl[0].Count != int64(cut) || cl[1].Cause != causeEvent {
		t.Errorf("sweeps, then a backend's death: clusters %+v, want the %d swept as an idle timeout and the rest as an event", cl, cut)
	}
}

// A backend that closes every connection with 1001 at 3 s of age (Python
// websockets): with silent connections idle is age, and whether it closes
// after 3 s of silence or at 3 s of age cannot be told — whoever closed
// them, the endpoint says so, and how to tell.
func TestEndpointCloseAtOneAgeKeepsTheIdleOrLifetimeDoubt(t *testing.T) {
	ev := dropGen{n: 30, openSpan: 1000, ageMs: 3002, jitter: 4, kind: "close_1001", seed: 31}.events()
	res := &Result{Verdict: "fail", Counts: Counts{Attempted: 30, Upgraded: 30, Dropped: 30}, Drops: Drops{Count: 30, Events: ev}}
	Recluster(res)
	cl := res.Drops.Clusters
	if len(cl) != 1 || cl[0].Cause != causeIdle || cl[0].Alternative != causeLifetime || len(cl[0].Matches) != 0 {
		t.Fatalf("clusters %+v: want an idle timeout or a lifetime, and no proxy default", cl)
	}
	if !strings.Contains(cl[0].Hint, "idle timeout or lifetime limit") {
		t.Errorf("hint %q: want both named", cl[0].Hint)
	}
	if line := VerdictLine(res); !strings.Contains(line, "the WebSocket endpoint closed them after that much idle time, or at that age: run with --ping 1.5s --ping-fraction 0.5 to tell") {
		t.Errorf("verdict %q: want the endpoint's close with both readings and how to tell", line)
	}
}

func TestChanceOfGroup(t *testing.T) {
	// Three points within a window holding 0.01 of them on average, among
	// 60: about 60 × 0.01² / 2 by the approximation.
	if p := chanceOfGroup(3, 0.01, 60); p < 0.002 || p > 0.004 {
		t.Errorf("chanceOfGroup(3, 0.01, 60) = %v, want about 0.003", p)
	}
	// As many points as the window holds on average is no group at all.
	if p := chanceOfGroup(2, 3, 60); p != 1 {
		t.Errorf("chanceOfGroup(2, 3, 60) = %v, want 1", p)
	}
	if p := chanceOfGroup(20, 0.5, 1000); p > 1e-12 {
		t.Errorf("chanceOfGroup(20, 0.5, 1000) = %v, want ~0", p)
	}
}

// Recorded: Apache Traffic Server 9.2.9, no_activity_timeout 3 s, 30
// silent connections at 10/s on a loaded 2-core box. Its two network
// threads swept 145 to 190 ms apart, and some parts cut a single
// connection — too few to be a batch of their own — which the other
// thread's part had spared though it was due. Part of the same sweep, not
// spared by it: every cluster is the idle timeout, none an event.
func TestSweepsInPartsTooSmallToBeBatchesStayTheTimer(t *testing.T) {
	cl := clustersOf(t, recordedDrops(t, "ats-3s-threads"), clusterContext{})
	noEvents(t, cl)
	n := int64(0)
	for _, c := range cl {
		if c.Cause != causeIdle || c.Clock == "wall" || c.AtMs < 3000 || c.AtMs > 3300 {
			t.Errorf("cluster %+v: want the 3 s idle timeout", c)
		}
		n += c.Count
	}
	if n < 25 {
		t.Errorf("%d of the 30 drops clustered: %+v", n, cl)
	}
}

// Recorded the same way, another run: ATS's two threads swept in turn
// about 420 ms apart, each once a second, each cutting only its own
// connections. Each thread's sweep spares the other's connections though
// they are due; a connection cut in step with the other thread's chain of
// sweeps is that thread's, and says nothing against this one. One idle
// timeout of 3 s, cut in six sweeps, not six batches each offering an
// event.
func TestInterleavedThreadsSweepsAreOneTimer(t *testing.T) {
	cl := clustersOf(t, recordedDrops(t, "ats-3s-threads-apart"), clusterContext{})
	noEvents(t, cl)
	if len(cl) != 1 || cl[0].Count < 28 || cl[0].Cause != causeIdle || cl[0].AtMs < 3000 || cl[0].AtMs > 3100 || cl[0].Sweeps < 4 {
		t.Errorf("clusters %+v: want one idle timeout of 3 s read from its sweeps", cl)
	}
}

func recordedDrops(t *testing.T, name string) []DropEvent {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".drops.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev []DropEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	return ev
}
