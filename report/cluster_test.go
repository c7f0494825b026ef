package report

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// dropGen builds drop events: n connections upgraded evenly over
// [openFrom, openFrom+openSpan) ms, each dropped at an age of ageMs plus
// jitter in [-jitter, +jitter], silent (idle = age) unless set otherwise.
type dropGen struct {
	n             int
	openFrom      float64
	openSpan      float64
	ageMs, jitter float64
	kind          string
	pinging       bool
	idleMs        float64 // when > 0, idle time instead of idle = age
	wallMs        float64 // when > 0, every drop at this moment (plus jitter) instead
	seed          uint64
}

func (g dropGen) events() []DropEvent {
	rng := rand.New(rand.NewPCG(g.seed, 7))
	out := make([]DropEvent, 0, g.n)
	for i := range g.n {
		up := g.openFrom + g.openSpan*float64(i)/float64(max(g.n, 1))
		j := (rng.Float64()*2 - 1) * g.jitter
		var at, age float64
		if g.wallMs > 0 {
			at = g.wallMs + j
			age = at - up
		} else {
			age = g.ageMs + j
			at = up + age
		}
		idle := age
		if g.idleMs > 0 {
			idle = g.idleMs + (rng.Float64()*2-1)*g.jitter
		}
		out = append(out, DropEvent{AtMs: roundMs(at), AgeMs: roundMs(age), IdleMs: roundMs(idle), Kind: g.kind, Pinging: g.pinging})
	}
	return out
}

func concat(parts ...[]DropEvent) []DropEvent {
	var out []DropEvent
	for _, p := range parts {
		out = append(out, p...)
	}
	slices.SortStableFunc(out, func(a, b DropEvent) int {
		switch {
		case a.AtMs < b.AtMs:
			return -1
		case a.AtMs > b.AtMs:
			return 1
		}
		return 0
	})
	return out
}

func TestFindClustersNginxThreeSeconds(t *testing.T) {
	// 1000 connections opened over 0.5 s, all cut by FIN at age 3 s ±15 ms:
	// the shape of nginx with proxy_read_timeout 3s.
	ev := dropGen{n: 1000, openSpan: 500, ageMs: 3000, jitter: 15, kind: "eof", seed: 1}.events()
	cl := FindClusters(ev, 1000)
	if len(cl) != 1 {
		t.Fatalf("got %d clusters, want exactly 1: %+v", len(cl), cl)
	}
	c := cl[0]
	if c.AtMs < 2900 || c.AtMs > 3300 || c.Kind != "eof" || c.Count != 1000 {
		t.Errorf("cluster = %+v, want 1000 eof drops at 2900..3300 ms", c)
	}
	if c.Clock == "wall" {
		t.Errorf("clock = wall; the drops share an age, not a moment (wall spread is 500 ms)")
	}
	if c.SpreadMs > 30 {
		t.Errorf("spread = %v ms, want at most the 30 ms of jitter", c.SpreadMs)
	}
	if c.Cause != "idle_timeout" {
		t.Errorf("cause = %q, want idle_timeout", c.Cause)
	}
	if !strings.Contains(c.Hint, "no known default") || !strings.Contains(c.Hint, "maximum lifetime looks the same") {
		t.Errorf("hint should say the 3 s is no known default and that lifetime looks the same without a control group: %q", c.Hint)
	}
}

func TestFindClustersSixtySecondsNamesNginx(t *testing.T) {
	ev := dropGen{n: 200, openSpan: 2000, ageMs: 59_990, jitter: 8, kind: "eof", seed: 2}.events()
	cl := FindClusters(ev, 200)
	if len(cl) != 1 {
		t.Fatalf("got %d clusters, want 1: %+v", len(cl), cl)
	}
	for _, want := range []string{"nginx proxy_read_timeout default (60 s)", "raise proxy_read_timeout", "AWS ALB", "Apache"} {
		if !strings.Contains(cl[0].Hint, want) {
			t.Errorf("hint lacks %q: %s", want, cl[0].Hint)
		}
	}
	if strings.Contains(cl[0].Hint, "Heroku") || strings.Contains(cl[0].Hint, "Cloudflare") {
		t.Errorf("hint names defaults that are not 60 s: %s", cl[0].Hint)
	}
}

func TestFindClustersReloadIsAWallClockEvent(t *testing.T) {
	// Caddy reload at 5 s into the run: every connection, opened over 2 s,
	// gets close 1001 within a few ms, whatever its age.
	ev := dropGen{n: 300, openSpan: 2000, wallMs: 5000, jitter: 3, kind: "close_1001", seed: 3}.events()
	cl := FindClusters(ev, 300)
	if len(cl) != 1 {
		t.Fatalf("got %d clusters, want 1: %+v", len(cl), cl)
	}
	c := cl[0]
	if c.Clock != "wall" || c.Cause != "event" || c.AtMs < 4990 || c.AtMs > 5010 {
		t.Errorf("cluster = %+v, want a wall-clock event at 5 s", c)
	}
	for _, want := range []string{"not a timer", "1001", "Caddy"} {
		if !strings.Contains(c.Hint, want) {
			t.Errorf("hint lacks %q: %s", want, c.Hint)
		}
	}
}

// Recorded on a saturated 2-core box: nginx with proxy_read_timeout 3s
// cut 1000 idle connections between 2.95 and 3.3 s of idleness, in groups
// of up to 130 drops within a few ms of wall time — tighter on the wall
// clock than the timeout is on the idle clock. Most groups are connections
// the starved client opened together and nginx cut on time together; a
// few are timers nginx fired late. They are one idle timeout all the same,
// not events — and, the late ones being a minority, no "busy proxy" batches
// or period are claimed for it.
func TestFindClustersBusyProxyTimerBatchesStayOneIdleTimeout(t *testing.T) {
	for _, name := range []string{"nginx-3s-busy-a", "nginx-3s-busy-b", "nginx-3s-busy-c"} {
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", name+".drops.json"))
			if err != nil {
				t.Fatal(err)
			}
			var ev []DropEvent
			if err := json.Unmarshal(b, &ev); err != nil {
				t.Fatal(err)
			}
			cl := FindClusters(ev, int64(len(ev)))
			if len(cl) != 1 {
				t.Fatalf("got %d clusters, want the one idle timeout: %+v", len(cl), cl)
			}
			// A few drops far in the tail (3.23–3.29 s) stay outside: a
			// straggler band wide enough to take them would fold a 60 s
			// and a 63 s timeout together.
			c := cl[0]
			if c.Clock != "idle" || c.Cause != "idle_timeout" || c.Count < 970 || c.AtMs < 2980 || c.AtMs > 3020 {
				t.Errorf("cluster = %+v, want at least 970 of the 1000 drops as an idle timeout at 3000 ms ± 20", c)
			}
			if c.PeriodMs != 0 || slices.ContainsFunc(c.Evidence, func(e string) bool {
				return strings.Contains(e, "batches") || strings.Contains(e, "event")
			}) {
				t.Errorf("period %v, evidence %q: want neither batches, a period nor an event claimed", c.PeriodMs, c.Evidence)
			}
		})
	}
}

// A saturated nginx cut 611 connections early, spread around 2.82 s idle,
// and 389 within a few ms of 3.01 s: two dense groups with a gap between
// them, one 3 s timeout. Two timeouts half a second apart stay two.
func TestFindClustersOneTimeoutSplitByLoadStaysOne(t *testing.T) {
	early := dropGen{n: 611, openSpan: 500, ageMs: 2790, jitter: 140, kind: "eof", seed: 21}.events()
	onTime := dropGen{n: 389, openSpan: 500, ageMs: 3015, jitter: 25, kind: "eof", seed: 22}.events()
	cl := FindClusters(concat(early, onTime), 1000)
	if len(cl) != 1 || cl[0].Count != 1000 || cl[0].Clock != "idle" || cl[0].AtMs < 2700 || cl[0].AtMs > 3100 {
		t.Fatalf("clusters %+v, want one idle timeout of 1000 near 3 s", cl)
	}
	one := dropGen{n: 500, openSpan: 500, ageMs: 1000, jitter: 10, kind: "eof", seed: 23}.events()
	other := dropGen{n: 300, openSpan: 500, ageMs: 1500, jitter: 10, kind: "eof", seed: 24}.events()
	cl = FindClusters(concat(one, other), 800)
	if len(cl) != 2 || cl[0].Count != 500 || cl[1].Count != 300 {
		t.Fatalf("clusters %+v, want the 1 s and the 1.5 s timeouts apart", cl)
	}
}

// What a busy proxy's late timers cannot explain stays an event: a backend
// that dies half a second after a 3 s idle timeout cut most connections
// kills the survivors, which were opened later and are not yet due.
func TestFindClustersEventAfterATimeoutIsNotItsStraggler(t *testing.T) {
	idle := dropGen{n: 800, openSpan: 400, ageMs: 3000, jitter: 40, kind: "eof", seed: 11}.events()
	death := dropGen{n: 200, openFrom: 1000, openSpan: 1000, wallMs: 3900, jitter: 3, kind: "eof", seed: 12}.events()
	cl := FindClusters(concat(idle, death), 1000)
	if len(cl) != 2 || cl[0].Count != 800 || cl[0].Clock != "idle" || cl[1].Count != 200 || cl[1].Cause != "event" {
		t.Fatalf("clusters %+v, want the 800 idle-timeout drops and the 200 of the backend's death apart", cl)
	}
	// Drops of another kind are another story, however close in time.
	reset := dropGen{n: 100, openSpan: 400, ageMs: 3100, jitter: 2, kind: "reset", seed: 13}.events()
	cl = FindClusters(concat(idle, reset), 900)
	if len(cl) != 2 || cl[0].Count != 800 || cl[0].Kind != "eof" || cl[1].Count != 100 || cl[1].Kind != "reset" {
		t.Fatalf("clusters %+v, want the 800 eof and the 100 reset apart", cl)
	}
}

func TestFindClustersMixedGroups(t *testing.T) {
	// 600 connections opened over 1 s cut at idle 5 s, then a backend death
	// at 8 s kills the 400 opened later.
	idle := dropGen{n: 600, openSpan: 1000, ageMs: 5000, jitter: 10, kind: "eof", seed: 4}.events()
	death := dropGen{n: 400, openFrom: 4000, openSpan: 2000, wallMs: 8000, jitter: 5, kind: "eof", seed: 5}.events()
	cl := FindClusters(concat(idle, death), 1000)
	if len(cl) != 2 {
		t.Fatalf("got %d clusters, want 2: %+v", len(cl), cl)
	}
	if cl[0].Count != 600 || cl[0].Clock == "wall" || cl[0].Cause != "idle_timeout" || cl[0].AtMs < 4950 || cl[0].AtMs > 5050 {
		t.Errorf("first cluster = %+v, want the 600 idle-timeout drops at 5 s", cl[0])
	}
	if cl[1].Count != 400 || cl[1].Clock != "wall" || cl[1].Cause != "event" || cl[1].AtMs < 7990 || cl[1].AtMs > 8010 {
		t.Errorf("second cluster = %+v, want the 400 drops at wall 8 s", cl[1])
	}
}

func TestFindClustersControlGroup(t *testing.T) {
	t.Run("silent dropped, pinging alive: idle timeout", func(t *testing.T) {
		silent := dropGen{n: 100, openSpan: 500, ageMs: 30_000, jitter: 10, kind: "eof", seed: 6}.events()
		// One pinging connection dropped much later for another reason:
		// it proves the control group existed.
		other := []DropEvent{{AtMs: 70_000, AgeMs: 69_900, IdleMs: 100, Kind: "reset", Pinging: true}}
		cl := FindClusters(concat(silent, other), 200)
		if len(cl) != 1 || cl[0].Cause != "idle_timeout" || cl[0].Count != 100 {
			t.Fatalf("clusters = %+v, want one idle_timeout of 100", cl)
		}
		if strings.Contains(cl[0].Hint, "GCP") || strings.Contains(cl[0].Hint, "looks the same") {
			t.Errorf("with a control group an idle timeout is not a lifetime limit: %s", cl[0].Hint)
		}
	})
	t.Run("both dropped at the same age: max lifetime", func(t *testing.T) {
		silent := dropGen{n: 100, openSpan: 500, ageMs: 30_000, jitter: 10, kind: "eof", seed: 7}.events()
		ping := dropGen{n: 100, openSpan: 500, ageMs: 30_000, jitter: 10, idleMs: 1000, kind: "eof", pinging: true, seed: 8}.events()
		cl := FindClusters(concat(silent, ping), 200)
		if len(cl) != 1 || cl[0].Cause != "max_lifetime" || cl[0].Count != 200 || cl[0].Clock != "age" {
			t.Fatalf("clusters = %+v, want one max_lifetime of 200 on the age clock", cl)
		}
		if !strings.Contains(cl[0].Hint, "GCP load balancer backend service timeout") || strings.Contains(cl[0].Hint, "nginx") {
			t.Errorf("hint should name the 30 s lifetime default only: %s", cl[0].Hint)
		}
	})
	t.Run("both dropped at one moment: event", func(t *testing.T) {
		silent := dropGen{n: 100, openSpan: 2000, wallMs: 9000, jitter: 2, kind: "eof", seed: 9}.events()
		ping := dropGen{n: 100, openSpan: 2000, wallMs: 9000, jitter: 2, idleMs: 500, kind: "eof", pinging: true, seed: 10}.events()
		cl := FindClusters(concat(silent, ping), 200)
		if len(cl) != 1 || cl[0].Cause != "event" || cl[0].Count != 200 {
			t.Fatalf("clusters = %+v, want one event of 200", cl)
		}
	})
}

func TestFindClustersWithoutControlGroupTrafficTellsTheClocks(t *testing.T) {
	// Connections that carried traffic (idle < age): ages spread, idle
	// tight = idle timeout; ages tight, idle spread = lifetime.
	idleTight := dropGen{n: 100, openSpan: 500, ageMs: 40_000, jitter: 5_000, idleMs: 10_000, kind: "eof", seed: 11}.events()
	for i := range idleTight {
		idleTight[i].IdleMs = roundMs(10_000 + float64(i%10))
	}
	if cl := FindClusters(idleTight, 100); len(cl) != 1 || cl[0].Clock != "idle" || cl[0].Cause != "idle_timeout" {
		t.Errorf("idle-tight clusters = %+v, want one idle_timeout on the idle clock", cl)
	}
	ageTight := dropGen{n: 100, openSpan: 500, ageMs: 45_000, jitter: 5, kind: "eof", seed: 12}.events()
	for i := range ageTight {
		ageTight[i].IdleMs = float64(100 * (i % 50))
	}
	if cl := FindClusters(ageTight, 100); len(cl) != 1 || cl[0].Clock != "age" || cl[0].Cause != "max_lifetime" {
		t.Errorf("age-tight clusters = %+v, want one max_lifetime on the age clock", cl)
	}
}

func TestFindClustersSmallAndEmpty(t *testing.T) {
	tests := []struct {
		name      string
		events    []DropEvent
		wantCount []int64
	}{
		{"no drops", nil, []int64{}},
		{"one drop is its own cluster", []DropEvent{{AtMs: 60_500, AgeMs: 60_000, IdleMs: 60_000, Kind: "eof"}}, []int64{1}},
		{"two drops together", []DropEvent{
			{AtMs: 60_500, AgeMs: 60_000, IdleMs: 60_000, Kind: "eof"},
			{AtMs: 60_600, AgeMs: 60_010, IdleMs: 60_010, Kind: "eof"},
		}, []int64{2}},
		{"two drops apart", []DropEvent{
			{AtMs: 1_000, AgeMs: 900, IdleMs: 900, Kind: "eof"},
			{AtMs: 40_000, AgeMs: 30_000, IdleMs: 30_000, Kind: "reset"},
		}, []int64{}},
		{"scattered drops share nothing", func() []DropEvent {
			var ev []DropEvent
			for i := range 200 {
				// Opened every 37 ms, dropped every 101 ms: no moment,
				// age or idle time is shared by 10 of them.
				up := float64(i) * 37
				at := 1000 + float64(i)*101
				ev = append(ev, DropEvent{AtMs: at, AgeMs: at - up, IdleMs: at - up, Kind: "reset"})
			}
			return ev
		}(), []int64{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cl := FindClusters(tt.events, 10)
			if cl == nil {
				t.Fatal("FindClusters returned nil; want an empty list so JSON says []")
			}
			got := []int64{}
			for _, c := range cl {
				got = append(got, c.Count)
			}
			if !slices.Equal(got, tt.wantCount) {
				t.Errorf("cluster counts = %v, want %v (%+v)", got, tt.wantCount, cl)
			}
		})
	}
}

// Properties every clustering must keep, on random mixtures: clusters never
// claim more drops than there are, each is at least the minimum size, and
// the same input gives the same output.
func TestFindClustersInvariants(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 99))
		var parts [][]DropEvent
		for range 1 + rng.IntN(3) {
			parts = append(parts, dropGen{n: 1 + rng.IntN(300), openSpan: rng.Float64() * 3000,
				ageMs: 1000 + rng.Float64()*100_000, jitter: rng.Float64() * 200, kind: "eof", seed: seed}.events())
		}
		var noise []DropEvent
		for range rng.IntN(50) {
			a := rng.Float64() * 100_000
			noise = append(noise, DropEvent{AtMs: a + 100, AgeMs: a, IdleMs: a, Kind: "reset"})
		}
		ev := concat(append(parts, noise)...)
		cl := FindClusters(ev, int64(len(ev)))
		var sum int64
		for _, c := range cl {
			sum += c.Count
			if c.Count < int64(minClusterSize(len(ev))) {
				t.Errorf("seed %d: cluster of %d below the minimum %d", seed, c.Count, minClusterSize(len(ev)))
			}
			if c.SpreadMs < 0 || c.Kind == "" {
				t.Errorf("seed %d: malformed cluster %+v", seed, c)
			}
		}
		if sum > int64(len(ev)) {
			t.Errorf("seed %d: clusters hold %d drops of %d", seed, sum, len(ev))
		}
		if again := FindClusters(ev, int64(len(ev))); !reflect.DeepEqual(cl, again) {
			t.Errorf("seed %d: not deterministic", seed)
		}
		if slices.IsSortedFunc(cl, func(a, b Cluster) int { return int(b.Count - a.Count) }) == false {
			t.Errorf("seed %d: clusters not sorted by count: %+v", seed, cl)
		}
	}
}

func TestReclusterUsesTheScenarioControlGroup(t *testing.T) {
	res := &Result{Counts: Counts{Upgraded: 200}}
	res.Drops.Events = dropGen{n: 100, openSpan: 500, ageMs: 30_000, jitter: 10, kind: "eof", seed: 13}.events()
	Recluster(res)
	if len(res.Drops.Clusters) != 1 || !strings.Contains(res.Drops.Clusters[0].Hint, "GCP") {
		t.Fatalf("without a control group a 30 s cluster may be GCP's lifetime: %+v", res.Drops.Clusters)
	}
	res.Scenario.Ping = 1e9
	res.Scenario.PingFraction = 0.5
	Recluster(res)
	if len(res.Drops.Clusters) != 1 || strings.Contains(res.Drops.Clusters[0].Hint, "GCP") {
		t.Errorf("half the connections pinged and survived, so it is not a lifetime: %+v", res.Drops.Clusters)
	}
}

// Recorded on the same box with three busy loops beside it: nginx with
// proxy_read_timeout 3s cut 937 of 1000 idle connections on time, many of
// them early (it dates timers by a clock read once per pass of its event
// loop), and the last 63 alive in one pass at 3.70 s into the run, idle
// 2.77 to 3.00 s. That pass cut every connection left, so it spared none,
// yet each was within the timer's own spread of due: the timer explains
// it as well as an event would, and it is the timer's.
func TestFindClustersBusyProxyLastPassStaysItsTimer(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "nginx-3s-busy-d.drops.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ev []DropEvent
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatal(err)
	}
	cl := FindClusters(ev, int64(len(ev)))
	for _, c := range cl {
		if c.Clock == "wall" || c.Cause == "event" || c.AtMs < 2700 || c.AtMs > 3300 {
			t.Errorf("cluster %+v away from the 3 s idle timeout; all %+v", c, cl)
		}
	}
	if len(cl) == 0 || cl[0].Count < 990 || cl[0].Cause != "idle_timeout" {
		t.Errorf("clusters %+v: want (nearly) all 1000 drops as one idle timeout", cl)
	}
}
