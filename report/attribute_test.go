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

// The shapes below were measured on real proxies and backends (issue 11)
// and are built here from their mechanism, so that attribution is tested
// against what the software does, not against a tuning of its own.

// lighttpdDrops: lighttpd checks its idle connections once a second on a
// whole-second clock, and cuts one whose last read is more than
// timeoutS whole seconds old. n silent connections opened over openMs:
// each dies at the first tick after its deadline, so they die in batches
// one second apart, each batch within a millisecond, ages between
// timeoutS and timeoutS+1 (measured with 1.4.69 and max-read-idle 5:
// 5.76 to 6.71 s, batches 1.00 s apart).
func lighttpdDrops(n int, openMs, timeoutS, phaseMs float64, seed uint64) []DropEvent {
	rng := rand.New(rand.NewPCG(seed, 1))
	out := make([]DropEvent, 0, n)
	for i := range n {
		up := 100 + openMs*float64(i)/float64(n)
		// The tick before the upgrade stamps the read; the tick that
		// finds it more than timeoutS seconds old cuts it.
		stamp := math.Floor((up-phaseMs)/1000)*1000 + phaseMs
		at := stamp + (timeoutS+1)*1000 + rng.Float64()*0.4
		out = append(out, DropEvent{AtMs: roundMs(at), AgeMs: roundMs(at - up), IdleMs: roundMs(at - up), Kind: "eof"})
	}
	return out
}

func clustersOf(t *testing.T, ev []DropEvent, ctx clusterContext) []Cluster {
	t.Helper()
	return findClusters(ev, ctx)
}

func hasEvidence(c Cluster, part string) bool {
	return slices.ContainsFunc(c.Evidence, func(e string) bool { return strings.Contains(e, part) })
}

func TestCoarseTimerBatchesAreOneTimer(t *testing.T) {
	for _, tc := range []struct {
		name            string
		n               int
		openMs, timeout float64
		// period: three or more sweeps make one; two are only a gap.
		period bool
	}{
		{"lighttpd default, 200 at 200/s: two sweeps", 200, 1000, 60, false},
		{"lighttpd 5 s, 40 at 20/s (measured): three sweeps", 40, 2000, 5, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev := lighttpdDrops(tc.n, tc.openMs, tc.timeout, 300, 1)
			cl := clustersOf(t, ev, clusterContext{proxy: "lighttpd"})
			if len(cl) != 1 {
				t.Fatalf("got %d clusters, want one timer: %+v", len(cl), cl)
			}
			c := cl[0]
			if c.Clock == "wall" || c.Cause != "idle_timeout" || c.Count != int64(tc.n) {
				t.Fatalf("cluster %+v: want all %d as one idle timeout, not events", c, tc.n)
			}
			// The timer's value is the lower edge of the drops (timeout
			// to timeout + 1 s here), not their median.
			lo := tc.timeout * 1000
			if c.AtMs < lo || c.AtMs > lo+150 || c.ToMs < lo+800 || c.ToMs > lo+1001 {
				t.Errorf("at %v to %v: want the lower edge just above %v and the upper just below %v", c.AtMs, c.ToMs, lo, lo+1000)
			}
			if !hasEvidence(c, "sweeps: the drops came in") {
				t.Errorf("evidence %q: want the sweeps described", c.Evidence)
			}
			switch {
			case tc.period && (c.PeriodMs < 990 || c.PeriodMs > 1010 || !hasEvidence(c, "it checks every 1.00 s")):
				t.Errorf("period %v, evidence %q: want the 1 s period named", c.PeriodMs, c.Evidence)
			case !tc.period && (c.PeriodMs != 0 || hasEvidence(c, "period")):
				t.Errorf("period %v, evidence %q: two sweeps are no period", c.PeriodMs, c.Evidence)
			}
			if tc.timeout == 60 && (len(c.Matches) == 0 || !strings.HasPrefix(c.Matches[0], "lighttpd server.max-read-idle default")) {
				t.Errorf("matches %q: want lighttpd's server.max-read-idle first (lighttpd is in front)", c.Matches)
			}
		})
	}
}

// The same lighttpd run with a control group: the silent half dies in
// batches, the pinging half lives.
func TestCoarseTimerWithControlGroupIsIdleTimeout(t *testing.T) {
	ev := lighttpdDrops(100, 1000, 60, 300, 2)
	cl := clustersOf(t, ev, clusterContext{control: true, held: 100, proxy: "lighttpd"})
	if len(cl) != 1 || cl[0].Cause != "idle_timeout" || cl[0].Alternative != "" || cl[0].Count != 100 {
		t.Fatalf("clusters %+v: want one idle timeout with no alternative", cl)
	}
	if !hasEvidence(cl[0], "control group") {
		t.Errorf("evidence %q should name the control group", cl[0].Evidence)
	}
}

// Varnish pipes upgrades and its pipe_timeout (60 s) is a millisecond
// poll timeout on both directions; nothing in the 101 names Varnish, so
// the user states it.
func TestVarnishPipeTimeoutRanksFirstWhenStated(t *testing.T) {
	ev := dropGen{n: 200, openSpan: 1000, ageMs: 60_003, jitter: 3, kind: "eof", seed: 3}.events()
	cl := clustersOf(t, ev, clusterContext{proxy: "varnish"})
	if len(cl) != 1 || len(cl[0].Matches) == 0 || cl[0].Matches[0] != "Varnish pipe_timeout default (60 s)" {
		t.Fatalf("clusters %+v: want Varnish pipe_timeout first", cl)
	}
	if !strings.HasPrefix(cl[0].Hint, "matches Varnish pipe_timeout default (60 s): raise the pipe_timeout parameter") {
		t.Errorf("hint should lead with Varnish's fix: %s", cl[0].Hint)
	}
}

// A backend (Python websockets behind nginx) pings every 20 s and closes
// each connection with 1001 at 30 s of age. Every drop is 10 s after the
// server's last ping: tight on the idle clock too, but the connections had
// lived through 20 s silences, so no 10 s idle timer was at work; and a
// close frame is the endpoint's, never a proxy default's.
func TestApplicationCloseIsTheEndpointsNotAProxyDefault(t *testing.T) {
	var ev []DropEvent
	for i := range 100 {
		up := float64(i) * 10
		ev = append(ev, DropEvent{AtMs: up + 30_000, AgeMs: 30_000 + float64(i%3), IdleMs: 10_000 + float64(i%3),
			QuietMs: 20_000, Kind: "close_1001"})
	}
	cl := clustersOf(t, ev, clusterContext{})
	if len(cl) != 1 {
		t.Fatalf("clusters %+v, want one", cl)
	}
	c := cl[0]
	if c.Clock != "age" || c.AtMs < 29_990 || c.AtMs > 30_010 {
		t.Errorf("cluster %+v: want the age clock at 30 s (the idle clock is refuted by the 20 s silences)", c)
	}
	if len(c.Matches) != 0 || strings.Contains(c.Hint, "GCP") || !strings.Contains(c.Hint, "WebSocket endpoint closed them") {
		t.Errorf("hint %q, matches %q: want the endpoint blamed, no proxy default", c.Hint, c.Matches)
	}
	if !hasEvidence(c, "silences of 20.00 s") || !hasEvidence(c, "close frame with code 1001") {
		t.Errorf("evidence %q should give the silences and the close code", c.Evidence)
	}
}

// kill -9 of the backend 6 s into a hold, after 50 connections opened in
// a burst (-r 0): ages and moments are equally tight, so a timer and an
// event explain the drops alike. The verdict must say so, and never claim
// a known default — at 60 s neither.
func TestBurstThenKillIsAnEventOrAnIdleTimeout(t *testing.T) {
	for _, at := range []float64{6_005, 60_005} {
		var ev []DropEvent
		for i := range 50 {
			up := 3 + float64(i)*0.08 // 50 opened within 4 ms
			w := at + float64(i%3)*0.3
			ev = append(ev, DropEvent{AtMs: w, AgeMs: w - up, IdleMs: w - up, Kind: "eof"})
		}
		res := &Result{Verdict: "fail", Counts: Counts{Attempted: 50, Upgraded: 50, Dropped: 50}}
		res.Drops = Drops{Count: 50, Events: ev}
		Recluster(res)
		cl := res.Drops.Clusters
		if len(cl) != 1 || cl[0].Cause != "event" || cl[0].Alternative != "idle_timeout" {
			t.Fatalf("at %v: clusters %+v, want an event with an idle timeout as the close alternative", at, cl)
		}
		line := VerdictLine(res)
		if strings.Contains(line, "matches") || !strings.Contains(line, "an event, or an idle timeout of") ||
			!strings.Contains(line, "open over a longer ramp (-r) to tell") {
			t.Errorf("at %v: verdict %q: want both named, how to tell them apart, and no claimed match", at, line)
		}
	}
}

// nginx proxy_read_timeout 2s, --ping 3s --ping-fraction 0.5: the silent
// half dies at 2 s; the pinging half dies 2 s after its first ping (or at
// 2 s when that ping was not due yet). Both on the idle clock: an idle
// timeout too short for the pings, not a lifetime.
func TestPingsSparserThanTheTimeoutAreStillAnIdleTimeout(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	var ev []DropEvent
	for i := range 200 {
		up := float64(i) * 5
		j := rng.Float64() * 4
		if i%2 == 0 {
			ev = append(ev, DropEvent{AtMs: up + 2000 + j, AgeMs: 2000 + j, IdleMs: 2000 + j, Kind: "eof"})
			continue
		}
		phase := rng.Float64() * 3000
		age := 2000 + j
		if phase < 2000 {
			age = phase + 2000 + j
		}
		ev = append(ev, DropEvent{AtMs: up + age, AgeMs: age, IdleMs: 2000 + j, Kind: "eof", Pinging: true, QuietMs: min(phase, 2000)})
	}
	cl := clustersOf(t, ev, clusterContext{control: true, pingMs: 3000})
	if len(cl) != 1 || cl[0].Cause != "idle_timeout" || cl[0].Clock != "idle" || cl[0].Count != 200 {
		t.Fatalf("clusters %+v: want one idle timeout of all 200 on the idle clock", cl)
	}
	if !hasEvidence(cl[0], "pinging connections were cut too") {
		t.Errorf("evidence %q should say the pings were too sparse", cl[0].Evidence)
	}
}

// Every connection pings (--ping-fraction 1) and a load balancer ends each
// at 30 s of age: a lifetime, whatever the traffic.
func TestEveryConnectionPingingAndALifetimeLimit(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	var ev []DropEvent
	for i := range 100 {
		up := float64(i) * 10
		age := 30_000 + rng.Float64()*4
		ev = append(ev, DropEvent{AtMs: up + age, AgeMs: age, IdleMs: rng.Float64() * 10_000, Kind: "eof", Pinging: true, QuietMs: 10_000})
	}
	cl := clustersOf(t, ev, clusterContext{control: true, pingMs: 10_000})
	if len(cl) != 1 || cl[0].Cause != "max_lifetime" || cl[0].Clock != "age" {
		t.Fatalf("clusters %+v: want one max_lifetime on the age clock", cl)
	}
	if len(cl[0].Matches) == 0 || !strings.HasPrefix(cl[0].Matches[0], "GCP load balancer backend service timeout") {
		t.Errorf("matches %q: want the GCP lifetime default", cl[0].Matches)
	}
}

// A server stopped with SIGSTOP, --ping 2s --pong-timeout 5s: each
// connection's ping goes unanswered and it ends 6 s later (the deadline
// is checked once per ping interval). Its idle time is 2 s (its own last
// ping), which says nothing: the cluster is on the pong clock.
func TestPongTimeoutsClusterOnTheirOwnClock(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	var ev []DropEvent
	for i := range 50 {
		up := float64(i) * 2
		phase := rng.Float64() * 2000
		age := phase + 6000
		ev = append(ev, DropEvent{AtMs: up + age, AgeMs: age, IdleMs: 2000, PongWaitMs: 6000 + rng.Float64()*3, Kind: "pong_timeout", Pinging: true})
	}
	res := &Result{Verdict: "fail", Counts: Counts{Attempted: 50, Upgraded: 50, Dropped: 50}}
	res.Scenario.PingFraction = 1
	res.Drops = Drops{Count: 50, Events: ev}
	Recluster(res)
	cl := res.Drops.Clusters
	if len(cl) != 1 || cl[0].Clock != "pong" || cl[0].AtMs < 5990 || cl[0].AtMs > 6010 {
		t.Fatalf("clusters %+v: want one cluster on the pong clock at 6 s", cl)
	}
	if line := VerdictLine(res); strings.Contains(line, "at 2.0 s") || !strings.Contains(line, "6.0 s after a ping that got no pong") {
		t.Errorf("verdict %q: want the pong wait, not the idle time", line)
	}
}

// A reload after a fast ramp: 200 connections opened over 200 ms and cut
// within 4 ms. The wall clock is 50 times tighter than the age clock: an
// event, plainly, whatever the absolute spreads.
func TestReloadAfterAFastRampIsAnEvent(t *testing.T) {
	ev := dropGen{n: 200, openSpan: 200, wallMs: 30_000, jitter: 2, kind: "eof", seed: 7}.events()
	cl := clustersOf(t, ev, clusterContext{})
	if len(cl) != 1 || cl[0].Cause != "event" || cl[0].Alternative != "" || cl[0].Clock != "wall" {
		t.Fatalf("clusters %+v: want one event, no alternative", cl)
	}
	if !hasEvidence(cl[0], "looser") {
		t.Errorf("evidence %q should give the other clocks as ratios", cl[0].Evidence)
	}
}

// Two timeouts 3 s apart (60 s and 63 s) stay two clusters, and a few
// drops at 63 s are not folded into the 60 s one.
func TestSixtyAndSixtyThreeSecondsStayApart(t *testing.T) {
	a := dropGen{n: 300, openSpan: 1000, ageMs: 60_000, jitter: 5, kind: "eof", seed: 8}.events()
	b := dropGen{n: 200, openSpan: 1000, ageMs: 63_000, jitter: 5, kind: "eof", seed: 9}.events()
	cl := clustersOf(t, concat(a, b), clusterContext{})
	if len(cl) != 2 || cl[0].Count != 300 || cl[1].Count != 200 || cl[1].AtMs < 62_900 {
		t.Fatalf("clusters %+v: want 300 at 60 s and 200 at 63 s", cl)
	}
	few := dropGen{n: 5, openSpan: 1000, ageMs: 63_000, jitter: 5, kind: "eof", seed: 10}.events()
	cl = clustersOf(t, concat(a, few), clusterContext{})
	if len(cl) != 1 || cl[0].Count != 300 {
		t.Fatalf("clusters %+v: the 5 drops at 63 s must not join the 300 at 60 s", cl)
	}
}

// Silent connections only, no control group: an idle timeout and a
// lifetime look alike; the cluster says so and how to tell.
func TestSilentOnlyNamesTheLifetimeAlternative(t *testing.T) {
	ev := dropGen{n: 100, openSpan: 1000, ageMs: 4000, jitter: 3, kind: "eof", seed: 11}.events()
	cl := clustersOf(t, ev, clusterContext{})
	if len(cl) != 1 || cl[0].Cause != "idle_timeout" || cl[0].Alternative != "max_lifetime" {
		t.Fatalf("clusters %+v: want an idle timeout with a lifetime as the alternative", cl)
	}
	res := &Result{Verdict: "fail", Counts: Counts{Upgraded: 100, Attempted: 100, Dropped: 100}, Drops: Drops{Count: 100, Clusters: cl}}
	if line := VerdictLine(res); !strings.Contains(line, "idle timeout (or a maximum lifetime: run with --ping 2s --ping-fraction 0.5 to tell): no known default matches") {
		t.Errorf("verdict %q", line)
	}
}

// A timeout configured in a --proxy-config file is the first match.
func TestConfiguredTimeoutMatchesFirst(t *testing.T) {
	ev := dropGen{n: 100, openSpan: 1000, ageMs: 60_000, jitter: 3, kind: "eof", seed: 12}.events()
	ctx := clusterContext{proxy: "nginx", configured: []ConfiguredTimeout{
		{Product: "nginx", Setting: "proxy_read_timeout", Seconds: 60, Times: TimesIdle, File: "nginx.conf"}}}
	cl := clustersOf(t, ev, ctx)
	if len(cl) != 1 || len(cl[0].Matches) < 2 || cl[0].Matches[0] != "the configured proxy_read_timeout 60 s in nginx.conf" ||
		cl[0].Matches[1] != "nginx proxy_read_timeout default (60 s)" {
		t.Fatalf("clusters %+v: want the configured value, then nginx's default", cl)
	}
}

// The proxy in front has a setting that no default explains at this value:
// the hint names it as the one to raise.
func TestIdleTimeoutNamesTheSettingOfTheProxyInFront(t *testing.T) {
	ev := dropGen{n: 100, openSpan: 1000, ageMs: 5000, jitter: 3, kind: "eof", seed: 13}.events()
	cl := clustersOf(t, ev, clusterContext{proxy: "lighttpd"})
	if len(cl) != 1 || !strings.Contains(cl[0].Hint, "lighttpd is in front: the setting to raise there is server.max-read-idle") {
		t.Fatalf("clusters %+v: want lighttpd's setting named", cl)
	}
}

// A ramp shorter than lighttpd's one-second period stamps every connection
// in the same second, and one sweep cuts them all in one millisecond: the
// shape of an event. With lighttpd known to be in front, its coarse timer
// is the reading, the event the alternative; without, the event.
func TestOneSweepOfACoarseTimerWhenItsProxyIsInFront(t *testing.T) {
	ev := lighttpdDrops(200, 900, 60, 50, 14)
	if w := newCandidate(ev, clockWall, []int{0, 199}); w.hi-w.lo > 5 {
		t.Fatalf("the synthetic drops are not one batch: %+v", w)
	}
	cl := clustersOf(t, ev, clusterContext{proxy: "lighttpd"})
	if len(cl) != 1 || cl[0].Cause != "idle_timeout" || cl[0].Alternative != "event" || cl[0].Clock != "age" {
		t.Fatalf("clusters %+v: want lighttpd's idle timer, with an event as the alternative", cl)
	}
	if len(cl[0].Matches) == 0 || !strings.HasPrefix(cl[0].Matches[0], "lighttpd server.max-read-idle default") || !hasEvidence(cl[0], "one sweep") {
		t.Errorf("cluster %+v: want lighttpd's default first and the sweep explained", cl[0])
	}
	if cl := clustersOf(t, ev, clusterContext{}); len(cl) != 1 || cl[0].Cause != "event" {
		t.Errorf("clusters %+v: with no proxy known, one batch is an event", cl)
	}
}

// Recorded through nginx with proxy_read_timeout 2s, 1000 connections at
// 1000/s, --ping 3s --ping-fraction 0.5: every connection died 2 s after
// its last frame. 59 pinging ones, cut 2 s after a ping sent at 1.7 s,
// are also tight on the age clock (3.66 s): they are the same idle
// timeout, not a lifetime of their own.
func TestRecordedSparsePingsAreOneIdleTimeout(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "nginx-2s-ping-3s.drops.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev []DropEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	cl := clustersOf(t, ev, clusterContext{control: true, pingMs: 3000, proxy: "nginx"})
	for _, c := range cl {
		if c.Cause == "max_lifetime" {
			t.Errorf("cluster %+v called a lifetime", c)
		}
	}
	if len(cl) == 0 || cl[0].Cause != "idle_timeout" || cl[0].Count < 990 {
		t.Fatalf("clusters %+v: want one idle timeout of (nearly) all 1000", cl)
	}
}
