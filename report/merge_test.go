package report

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wshold/wshold/internal/event"
	"github.com/wshold/wshold/scenario"
)

// mergeConn is one synthetic connection attempt and its fate, on the
// global clock (ns since outT0).
type mergeConn struct {
	at      int64 // attempt start
	latency int64
	failed  *event.Failed
	drop    *event.Dropped // AtNs on the global clock
}

// mergeSynth makes n connections: a few failures of three causes, a
// cluster of FIN drops at 60 s, close frames at 30 s, scattered resets and
// protocol errors, and some pinging connections, all at distinct
// microseconds.
func mergeSynth(rng *rand.Rand, n int) []mergeConn {
	examples := []event.Failed{
		{Cause: "http", Status: 400, Example: "HTTP/1.1 400 Bad Request | missing Upgrade"},
		{Cause: "refused", Example: "connect: connection refused"},
		{Cause: "timeout", Example: "handshake timed out after 10s"},
	}
	conns := make([]mergeConn, n)
	for i := range conns {
		c := &conns[i]
		c.at = int64(3*time.Second) + int64(i)*int64(time.Millisecond) + rng.Int64N(1000)*1000
		if rng.IntN(20) == 0 {
			f := examples[rng.IntN(len(examples))]
			f.AtNs = c.at + int64(time.Millisecond)
			c.failed = &f
			continue
		}
		c.latency = (200 + rng.Int64N(30_000)) * 1000
		if rng.IntN(10) < 4 {
			continue // held to the end
		}
		d := event.Dropped{Kind: event.EOF, AgeNs: int64(60*time.Second) + rng.Int64N(8000)*1000}
		switch rng.IntN(6) {
		case 0:
			d.Kind, d.CloseCode = event.CloseFrame, 1001
			d.AgeNs = int64(30*time.Second) + rng.Int64N(20_000)*1000
		case 1:
			d.Kind = event.Reset
			d.AgeNs = (1000 + rng.Int64N(70_000)) * int64(time.Millisecond)
			if rng.IntN(3) == 0 {
				d.Kind, d.Rule = event.ProtocolError, event.Rule(1+rng.IntN(3))
			}
		}
		d.IdleNs = d.AgeNs
		if rng.IntN(10) == 0 {
			d.Pinging = true
			d.IdleNs = rng.Int64N(d.AgeNs/1000) * 1000
		}
		d.AtNs = c.at + c.latency + d.AgeNs
		c.drop = &d
	}
	return conns
}

var mergeScenarioExpect = []string{"upgraded>=90%", "drop-at=60s±50ms,share>=10%", "handshake-p99<25ms", "no-drop-before=10s"}

// mergeRecord runs conns through one Recorder that started offset after
// outT0, the way one shard process would see them.
func mergeRecord(t testing.TB, conns []mergeConn, offset, holdAt, endAt time.Duration) *Result {
	sc := scenario.Defaults()
	sc.Name = "prop"
	sc.Conns = len(conns)
	sc.Expect = mergeScenarioExpect
	meta := outMeta(outT0.Add(offset), 0, 0)
	meta.HoldStart, meta.End = outT0.Add(holdAt), outT0.Add(endAt)
	off := int64(offset)
	return outBuild(t, sc, meta, func(r *Recorder) {
		for _, c := range conns {
			if c.failed != nil {
				f := *c.failed
				f.AtNs -= off
				r.Failed(f)
				continue
			}
			r.Upgraded(event.Upgraded{AtNs: c.at + c.latency - off, LatencyNs: c.latency})
			if c.drop != nil {
				d := *c.drop
				d.AtNs -= off
				r.Dropped(d)
			}
		}
	})
}

func mergeJSON(t testing.TB, r *Result) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := WriteJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestMergeOfShardsEqualsOneRun is the property that makes merge
// trustworthy: split one run's connections over N shards (which started up
// to a few seconds apart), record each shard on its own, merge, and get
// exactly the result of recording everything in one place — histograms,
// clusters, timeline, failures, expectations and verdict included.
func TestMergeOfShardsEqualsOneRun(t *testing.T) {
	for seed := range uint64(6) {
		rng := rand.New(rand.NewPCG(seed, 42))
		n := 200 + rng.IntN(400)
		shards := 1 + int(seed%5)
		conns := mergeSynth(rng, n)
		holdAt := 3*time.Second + time.Duration(n)*time.Millisecond + time.Second
		endAt := holdAt + 75*time.Second

		// The run starts at a fraction of a second too, for odd seeds.
		base := time.Duration(seed%2) * 400 * time.Millisecond
		single := mergeRecord(t, conns, base, holdAt, endAt)
		single.RunID = "prop"
		parts := make([][]mergeConn, shards)
		for _, c := range conns {
			j := rng.IntN(shards)
			parts[j] = append(parts[j], c)
		}
		var results []*Result
		for j, p := range parts {
			// Shards start up to ~2.6 s apart, at fractions of a second
			// (the issue: 0.3 s apart, 17 of 80 seconds differed).
			// Shard 0 starts with the run; the others up to ~2.9 s later,
			// at fractions of a second.
			off := base
			if j > 0 {
				off += time.Duration(j%3)*time.Second + time.Duration(1+rng.IntN(999))*time.Millisecond
			}
			r := mergeRecord(t, p, off, holdAt, endAt)
			r.RunID, r.Shard = "prop", itoa(int64(j))+"/"+itoa(int64(shards))
			// Each shard ran its share of the rate and of the in-flight
			// bound, as --shard gives it.
			r.Scenario.Rate = float64(mergeShare(int(single.Scenario.Rate), shards, j))
			r.Scenario.MaxInFlight = mergeShare(single.Scenario.MaxInFlight, shards, j)
			results = append(results, r)
		}

		merged, err := Merge(results)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		if merged.Resources.Procs == nil || len(merged.Resources.Procs) != shards {
			t.Errorf("seed %d: %d per-process entries, want one per shard (%d)", seed, len(merged.Resources.Procs), shards)
		}
		merged.Resources = Resources{}
		want := *single
		want.Shards = shards
		if got, w := mergeJSON(t, merged), mergeJSON(t, &want); !bytes.Equal(got, w) {
			t.Fatalf("seed %d (%d conns, %d shards): merged result differs from the single run:\n%s",
				seed, n, shards, mergeFirstDiff(got, w))
		}
		if single.Counts.Dropped == 0 || len(single.Drops.Clusters) == 0 || len(single.Failures) == 0 || len(single.Drops.ProtocolErrors) == 0 {
			t.Fatalf("seed %d: the synthetic run should have drops, clusters, protocol errors and failures to merge", seed)
		}

		rng.Shuffle(len(results), func(i, j int) { results[i], results[j] = results[j], results[i] })
		again, err := Merge(results)
		if err != nil {
			t.Fatal(err)
		}
		again.Resources = Resources{}
		if !bytes.Equal(mergeJSON(t, again), mergeJSON(t, merged)) {
			t.Fatalf("seed %d: merging the shards in another order changed the output", seed)
		}
	}
}

func mergeFirstDiff(got, want []byte) string {
	gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	for i := range min(len(gl), len(wl)) {
		if gl[i] != wl[i] {
			return "line " + itoa(int64(i+1)) + ":\n got: " + gl[i] + "\nwant: " + wl[i]
		}
	}
	return "lengths differ"
}

func TestMergeDoesNotModifyInputs(t *testing.T) {
	a, b := outNginxDefault(t), outNginxDefault(t)
	b.Start = b.Start.Add(time.Second)
	b.Expectations = append(b.Expectations, Expectation{Want: "every worker finished", Got: "worker 2 died", Pass: false})
	before := append(mergeJSON(t, a), mergeJSON(t, b)...)
	if _, err := Merge([]*Result{a, b}); err != nil {
		t.Fatal(err)
	}
	if after := append(mergeJSON(t, a), mergeJSON(t, b)...); !bytes.Equal(before, after) {
		t.Error("Merge modified its inputs")
	}
}

func TestMergeCombinesRunFacts(t *testing.T) {
	a, b := outNginxDefault(t), outFixed(t)     // b starts an hour after a
	b.Scenario, b.Target = a.Scenario, a.Target // one run's shards: only the figures differ
	b.Interrupted, b.EndReason = true, "interrupted"
	b.Shards = 3
	b.Warnings = []string{"rate not reached", "TLS verification disabled"}
	a.Warnings = []string{"rate not reached"}
	m, err := Merge([]*Result{b, a})
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		what      string
		got, want any
	}{
		{"start", m.Start, a.Start},
		{"end", m.End, b.End},
		{"hold start", m.HoldStart, b.HoldStart},
		{"shards", m.Shards, 4},
		{"interrupted", m.Interrupted, true},
		{"end reason", m.EndReason, "interrupted"},
		{"conns", m.Scenario.Conns, 2000},
		{"scenario name", m.Scenario.Name, "nginx-default"},
		{"attempted", m.Counts.Attempted, int64(2000)},
		{"held", m.Counts.Held, int64(1000)},
		{"dropped", m.Drops.Count, int64(1000)},
		{"by kind", m.Drops.ByKind["eof"], int64(1000)},
		{"handshake count", m.Handshake.Count, int64(2000)},
		{"proxy configs", len(m.ProxyConfigs), 2},
		{"verdict", m.Verdict, "fail"},
		{"b's drop-free timeline lands an hour later", len(m.Timeline), 3600 + 76},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
		}
	}
	for _, w := range []string{"rate not reached", "TLS verification disabled"} {
		if !strings.Contains(strings.Join(m.Warnings, "\n"), w) {
			t.Errorf("warnings %q lack %q", m.Warnings, w)
		}
	}
	if strings.Count(strings.Join(m.Warnings, "\n"), "rate not reached") != 1 {
		t.Errorf("a warning shared by shards should appear once: %q", m.Warnings)
	}
}

func TestMergeResources(t *testing.T) {
	a, b := outFixed(t), outFixed(t)
	a.Resources = Resources{PeakRSSBytes: 300, CPUSeconds: 3, RSSPerConnBytes: 10, Procs: []ProcResources{
		{PID: 11, PeakRSSBytes: 100, CPUSeconds: 1, RSSPerConnBytes: 10, Held: 400},
		{PID: 12, PeakRSSBytes: 200, CPUSeconds: 1.5, RSSPerConnBytes: 10, Held: 600},
	}}
	b.Resources = Resources{PeakRSSBytes: 50, CPUSeconds: 0.5, RSSPerConnBytes: 40} // one process, no list
	m, err := Merge([]*Result{a, b})
	if err != nil {
		t.Fatal(err)
	}
	r := m.Resources
	if r.PeakRSSBytes != 350 || r.CPUSeconds != 3.5 || len(r.Procs) != 3 {
		t.Errorf("resources = %+v; want peak 100+200+50, cpu 3+0.5, three processes", r)
	}
	// (10 B × 1000 held + 40 B × 1000 held) / 2000 held
	if r.RSSPerConnBytes != 25 {
		t.Errorf("RSS per connection = %v, want the held-weighted mean 25", r.RSSPerConnBytes)
	}
	if p := r.Procs[2]; p.PeakRSSBytes != 50 || p.Held != 1000 {
		t.Errorf("a result without a process list should count as one process: %+v", p)
	}
}

// Timelines count wall-clock seconds from the one each run started in:
// b, started 0.6 s after a but in the wall-clock second after a's, adds its
// second T to a's second T+1, whatever fraction of a second lies between
// the starts (rounding the difference would put it at T+1 or T+0 by
// chance of the fractions, and smear events across seconds).
func TestMergeTimelineByWallClockSecond(t *testing.T) {
	a, b := outFixed(t), outFixed(t)
	a.Start = a.Start.Truncate(time.Second).Add(700 * time.Millisecond)
	a.Timeline = []Second{{T: 0, Alive: 5, Upgraded: 5}, {T: 1, Alive: 5}, {T: 3, Alive: 2, Dropped: 3}}
	b.Start = a.Start.Add(600 * time.Millisecond) // in a's wall-clock second 1
	b.Timeline = []Second{{T: 0, Alive: 10, Upgraded: 10}, {T: 1, Alive: 10}, {T: 2, Alive: 10}}
	m, err := Merge([]*Result{a, b})
	if err != nil {
		t.Fatal(err)
	}
	want := []Second{
		{T: 0, Alive: 5, Upgraded: 5},
		{T: 1, Alive: 5 + 10, Upgraded: 10},
		{T: 2, Alive: 5 + 10}, // a's missing second repeats its alive count
		{T: 3, Alive: 2 + 10, Dropped: 3},
	}
	if got, _ := json.Marshal(m.Timeline); string(got) != string(must(json.Marshal(want))) {
		t.Errorf("timeline\n got %s\nwant %s", got, must(json.Marshal(want)))
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

func TestMergeRebasesDropEvents(t *testing.T) {
	a, b := outNginxDefault(t), outNginxDefault(t)
	b.Start = a.Start.Add(2500 * time.Millisecond)
	m, err := Merge([]*Result{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Drops.Events) != 2000 {
		t.Fatalf("%d events, want 2000", len(m.Drops.Events))
	}
	last := m.Drops.Events[len(m.Drops.Events)-1]
	if wantLast := b.Drops.Events[len(b.Drops.Events)-1].AtMs + 2500; last.AtMs != wantLast {
		t.Errorf("last event at %v ms, want b's last moved by 2500 ms to %v", last.AtMs, wantLast)
	}
	if len(m.Drops.Clusters) == 0 || m.Drops.Clusters[0].Count != 2000 {
		t.Errorf("the two shards' 60 s drops should form one cluster of 2000: %+v", m.Drops.Clusters)
	}
}

func TestMergeRejects(t *testing.T) {
	nginx := outNginxDefault(t)
	for _, tc := range []struct {
		name string
		edit func(a *Result) []*Result
		want string
	}{
		{"nothing", func(*Result) []*Result { return nil }, "no results"},
		{"nil", func(a *Result) []*Result { return []*Result{a, nil} }, "result 2 is missing"},
		{"wrong schema", func(a *Result) []*Result { a.Schema = "wshold.result/v2"; return []*Result{a} }, "schema"},
		{"drops without events", func(a *Result) []*Result { a.Drops.Events = a.Drops.Events[:10]; return []*Result{a} }, "1000 drops but 10 drop events"},
		{"corrupt histogram", func(a *Result) []*Result { a.Handshake.Histogram = "not-a-histogram"; return []*Result{a} }, "handshake.histogram: decode histogram"},
		{"count without histogram", func(a *Result) []*Result { a.Drops.Age.Histogram = ""; return []*Result{a} }, "no histogram"},
		{"bad expectation", func(a *Result) []*Result { a.Scenario.Expect = []string{"drops-never"}; return []*Result{a} }, "drops-never"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Merge(tc.edit(outClone(t, nginx)))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func TestMergeOneResultKeepsItsVerdict(t *testing.T) {
	for _, r := range []*Result{outNginxDefault(t), outFixed(t), outBroken(t)} {
		m, err := Merge([]*Result{r})
		if err != nil {
			t.Fatal(err)
		}
		m.Resources = r.Resources
		if got, want := mergeJSON(t, m), mergeJSON(t, r); !bytes.Equal(got, want) {
			t.Errorf("%s: merging one result changed it:\n%s", r.Scenario.Name, mergeFirstDiff(got, want))
		}
	}
}

func TestMergeSaysWhichShardsAreMissing(t *testing.T) {
	fixed := outFixed(t)
	for _, tc := range []struct {
		name   string
		labels []string
		want   []string // substrings of the warnings; nil: no shard warning
	}{
		{"complete", []string{"0/3", "2/3", "1/3"}, nil},
		{"one missing", []string{"0/3", "2/3"}, []string{"shard 1/3 missing: the merged result covers 2 of 3 shares"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rs []*Result
			for i, l := range tc.labels {
				r := outClone(t, fixed)
				r.Start = r.Start.Add(time.Duration(i) * time.Second)
				r.Shard, r.RunID = l, "run-1"
				rs = append(rs, r)
			}
			m, err := Merge(rs)
			if err != nil {
				t.Fatal(err)
			}
			var shardWarnings []string
			for _, w := range m.Warnings {
				if strings.Contains(w, "shard") || strings.Contains(w, "run id") {
					shardWarnings = append(shardWarnings, w)
				}
			}
			if tc.want == nil && len(shardWarnings) > 0 {
				t.Errorf("unexpected warnings %q", shardWarnings)
			}
			all := strings.Join(shardWarnings, "\n")
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("warnings %q lack %q", shardWarnings, w)
				}
			}
			if m.Shard != "" || m.RunID != "run-1" {
				t.Errorf("merged shard %q, run id %q; want none (the merge is not one shard's share) and the run's", m.Shard, m.RunID)
			}
		})
	}
}

// Only the shards of one run merge: results of other runs, whole runs,
// labels of other splits and a share given twice are refused, naming the
// files (the issue: two unsharded runs 3 s apart, or shard 0/2 of two
// runs, merged into one "complete" result).
func TestMergeRefusesWhatIsNotOneRun(t *testing.T) {
	fixed := outFixed(t)
	type in struct{ id, shard string }
	for _, tc := range []struct {
		name string
		ins  []in
		want string
	}{
		{"two whole runs", []in{{"a1", ""}, {"b2", ""}}, "result 1 (scenario \"nginx-fixed\", started 2026-03-01T13:00:00Z) is of run a1 and result 2"},
		{"two whole runs of one id", []in{{"a1", ""}, {"a1", ""}}, "is a whole run (run a1, written without --shard), not a shard"},
		{"shard 0/2 of two runs", []in{{"a1", "0/2"}, {"b2", "0/2"}}, "is of run a1 and result 2 (scenario \"nginx-fixed\", started 2026-03-01T13:00:01Z) of run b2"},
		{"a shard and a whole run", []in{{"a1", "0/2"}, {"a1", ""}}, "is a whole run"},
		{"retried pod", []in{{"a1", "0/2"}, {"a1", "1/2"}, {"a1", "1/2"}}, "are both shard 1/2 (a retried pod?)"},
		{"two splits", []in{{"a1", "0/2"}, {"a1", "1/3"}}, "is shard 1/3 and result 1 (scenario \"nginx-fixed\", started 2026-03-01T13:00:00Z) a shard of 2"},
		{"garbage label", []in{{"a1", "0/2"}, {"a1", "1-2"}}, `has shard label "1-2", which is not I/N`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var rs []*Result
			for i, x := range tc.ins {
				r := outClone(t, fixed)
				r.Start = r.Start.Add(time.Duration(i) * time.Second)
				r.RunID, r.Shard = x.id, x.shard
				rs = append(rs, r)
			}
			if _, err := Merge(rs); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one saying %q", err, tc.want)
			}
		})
	}
	// Results without run ids (an older wshold) still merge, with a warning.
	a, b := outClone(t, fixed), outClone(t, fixed)
	b.Start = a.Start.Add(time.Second)
	m, err := Merge([]*Result{a, b})
	if err != nil || !slices.ContainsFunc(m.Warnings, func(w string) bool { return strings.Contains(w, "2 of the 2 results carry no run id") }) {
		t.Errorf("err %v, warnings %q; want them merged with a warning", err, m.Warnings)
	}
}

func TestMergeErrorsNameTheResultAsGiven(t *testing.T) {
	a, b, c := outFixed(t), outNginxDefault(t), outFixed(t)
	a.Start = b.Start.Add(time.Hour) // sorts after b: positions as given must still be used
	c.Start = b.Start.Add(2 * time.Hour)
	b.Drops.Events = nil
	_, err := Merge([]*Result{a, b, c})
	if err == nil || !strings.Contains(err.Error(), `result 2 (scenario "nginx-default"`) {
		t.Fatalf("err = %v; want it to name result 2, the broken one", err)
	}
}

// mergeShare is shard j's part of total split over n, remainder first.
func mergeShare(total, n, j int) int {
	share := total / n
	if j < total%n {
		share++
	}
	return share
}
