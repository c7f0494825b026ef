package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/wshold/wshold/scenario"
)

// Shards of one run share everything but their share of the load; results
// of different runs are refused, naming the field and the files.
func TestMergeRefusesResultsOfDifferentRuns(t *testing.T) {
	base := outFixed(t)
	for _, tc := range []struct {
		field string
		edit  func(b *Result)
		want  string
	}{
		{"hold", func(b *Result) { b.Scenario.Hold = scenario.Duration(8 * time.Second) }, "b.json has hold 8s where a.json has 1m15s"},
		{"ping", func(b *Result) { b.Scenario.Ping = scenario.Duration(30 * time.Second) }, "b.json has ping 30s where a.json has 0s"},
		{"target", func(b *Result) {
			b.Scenario.Target, b.Target = "ws://127.0.0.1:8082/ws", "ws://127.0.0.1:8082/ws"
		}, `b.json has target "ws://127.0.0.1:8082/ws" where a.json has "ws://127.0.0.1:8081/ws"`},
		{"scenario name", func(b *Result) { b.Scenario.Name = "nginx-default" }, `b.json has scenario name "nginx-default"`},
		{"expectations", func(b *Result) { b.Scenario.Expect = []string{"no-drops"} }, `b.json has expect ["no-drops"] where a.json has []`},
		{"headers", func(b *Result) { b.Scenario.Headers = []string{"X-Test: 1"} }, "b.json has headers"},
		{"pong timeout", func(b *Result) { b.Scenario.PongTimeout = scenario.Duration(time.Second) }, "b.json has pong_timeout 1s"},
	} {
		t.Run(tc.field, func(t *testing.T) {
			a, b := outClone(t, base), outClone(t, base)
			b.Start = a.Start.Add(time.Second)
			tc.edit(b)
			for _, order := range [][]*Result{{a, b}, {b, a}} {
				names := []string{"a.json", "b.json"}
				if order[0] == b {
					names = []string{"b.json", "a.json"}
				}
				_, err := MergeNamed(order, names)
				if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "not shards of one run") {
					t.Errorf("err = %v; want a refusal saying %q", err, tc.want)
				}
			}
		})
	}
}

// What shards do split (their share of the load, and how many processes
// each used) is no reason to refuse them, nor is each shard's own
// built-in target.
func TestMergeAcceptsWhatShardsSplit(t *testing.T) {
	a, b := outClone(t, outFixed(t)), outClone(t, outFixed(t))
	b.Start = a.Start.Add(time.Second)
	a.Scenario.Conns, b.Scenario.Conns = 500, 499
	a.Scenario.Rate, b.Scenario.Rate = 500, 499.5
	a.Scenario.MaxInFlight, b.Scenario.MaxInFlight = 128, 127
	a.Scenario.SourceIPs, b.Scenario.SourceIPs = []string{"127.0.0.2"}, []string{"127.0.0.3"}
	a.Scenario.Procs, b.Scenario.Procs = 1, 2
	a.Scenario.Target, b.Scenario.Target = "", ""
	a.Target, b.Target = "ws://127.0.0.1:40001/", "ws://127.0.0.1:40002/"
	m, err := Merge([]*Result{a, b})
	if err != nil {
		t.Fatalf("shards of one run refused: %v", err)
	}
	if m.Scenario.Conns != 999 || m.Verdict != "pass" {
		t.Errorf("conns %d verdict %q; want 999, pass", m.Scenario.Conns, m.Verdict)
	}
}

// outCheckpoint is r as its shard's last checkpoint would have it:
// written `into` the hold, before the run finished.
func outCheckpoint(t *testing.T, r *Result, into time.Duration) *Result {
	t.Helper()
	c := outClone(t, r)
	c.EndReason, c.HoldEnd, c.End = "checkpoint", time.Time{}, c.HoldStart.Add(into)
	c.Expectations, c.Verdict = []Expectation{}, ""
	return c
}

// A checkpoint is a shard that did not finish: merged, it is not a
// completed, passing run.
func TestMergeOfACheckpointSaysTheShardDidNotFinish(t *testing.T) {
	done := outFixed(t)
	cp := outCheckpoint(t, outFixed(t), 1900*time.Millisecond)
	cp.Start = done.Start.Add(time.Second)
	cp.HoldStart = cp.HoldStart.Add(time.Second)
	cp.End = cp.End.Add(time.Second)

	for _, tc := range []struct {
		name    string
		results []*Result
		names   []string
	}{
		{"with a finished shard", []*Result{done, cp}, []string{"shard-0.json", "shard-1.json"}},
		{"alone", []*Result{cp}, []string{"shard-1.json"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := MergeNamed(tc.results, tc.names)
			if err != nil {
				t.Fatal(err)
			}
			if m.EndReason != "checkpoint" || m.Interrupted {
				t.Errorf("end reason %q, interrupted %v; want checkpoint, false", m.EndReason, m.Interrupted)
			}
			if m.Verdict != "fail" {
				t.Errorf("verdict %q; a merge with a shard that did not finish cannot pass", m.Verdict)
			}
			var e *Expectation
			for i := range m.Expectations {
				if m.Expectations[i].Want == WantEveryShardFinished {
					e = &m.Expectations[i]
				}
			}
			if e == nil || e.Pass {
				t.Fatalf("expectations %+v; want a failed %q", m.Expectations, WantEveryShardFinished)
			}
			for _, want := range []string{"shard-1.json is a checkpoint", "1.9 s into the 1m15s hold"} {
				if !strings.Contains(e.Got, want) {
					t.Errorf("got %q does not say %q", e.Got, want)
				}
			}
			if w := strings.Join(m.Warnings, "\n"); !strings.Contains(w, "merged a checkpoint") || !strings.Contains(w, "shard-1.json") {
				t.Errorf("warnings do not name the checkpoint:\n%s", w)
			}
			if strings.Contains(m.Expectations[0].Got, "shard-0.json") {
				t.Errorf("the finished shard is named as unfinished: %+v", m.Expectations)
			}
			if line := VerdictLine(m); !strings.HasPrefix(line, "FAIL") || !strings.Contains(line, WantEveryShardFinished) {
				t.Errorf("verdict line %q; want FAIL naming %q", line, WantEveryShardFinished)
			}
		})
	}
}

// An error outranks a checkpoint, which outranks an interruption.
func TestMergeEndReasonRanks(t *testing.T) {
	mk := func(reasons ...string) []*Result {
		var rs []*Result
		for i, why := range reasons {
			r := outClone(t, outFixed(t))
			r.Start = r.Start.Add(time.Duration(i) * time.Second)
			r.EndReason, r.Interrupted = why, why == "interrupted"
			rs = append(rs, r)
		}
		return rs
	}
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{[]string{"completed", "completed"}, "completed"},
		{[]string{"completed", "interrupted"}, "interrupted"},
		{[]string{"interrupted", "checkpoint"}, "checkpoint"},
		{[]string{"checkpoint", "error"}, "error"},
	} {
		m, err := Merge(mk(tc.in...))
		if err != nil {
			t.Fatal(err)
		}
		if m.EndReason != tc.want {
			t.Errorf("%v: end reason %q, want %q", tc.in, m.EndReason, tc.want)
		}
	}
}

// Expectations that no figure can show again ("every worker finished" of
// a --procs run whose worker died) survive a merge, and fail it.
func TestMergeKeepsExpectationsTheScenarioDoesNotState(t *testing.T) {
	a, b := outClone(t, outFixed(t)), outClone(t, outFixed(t))
	b.Start = a.Start.Add(time.Second)
	a.Expectations = append(a.Expectations, Expectation{Want: "every worker finished", Got: "worker 2 of 2 killed by SIGKILL at 3.1 s", Pass: false})
	a.Verdict, a.EndReason = "fail", "error"
	b.Expectations = append(b.Expectations, Expectation{Want: "every worker finished", Got: "every worker finished", Pass: true})
	m, err := Merge([]*Result{a, b})
	if err != nil {
		t.Fatal(err)
	}
	m2, err := Merge([]*Result{b, a})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(mergeJSON(t, m), mergeJSON(t, m2)) {
		t.Error("the kept expectations depend on the order of the inputs")
	}
	if m.Verdict != "fail" || m.EndReason != "error" {
		t.Errorf("verdict %q end %q; want fail, error", m.Verdict, m.EndReason)
	}
	n := 0
	for _, e := range m.Expectations {
		if e.Want == "every worker finished" {
			n++
			if e.Pass || !strings.Contains(e.Got, "SIGKILL at 3.1 s") {
				t.Errorf("kept %+v; want it failed, with the death", e)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d entries for every worker finished in %+v, want one", n, m.Expectations)
	}
}

// Reevaluate judges the figures again and keeps what they cannot show.
func TestReevaluate(t *testing.T) {
	r := outClone(t, outFixed(t))
	r.Expectations = append(r.Expectations, Expectation{Want: "every worker finished", Got: "worker 1 of 2 died", Pass: false})
	r.Counts.Attempted += 10
	r.Counts.Failed += 10
	if err := Reevaluate(r); err != nil {
		t.Fatal(err)
	}
	if len(r.Expectations) != 3 || r.Expectations[2].Want != "every worker finished" {
		t.Fatalf("expectations %+v; want the scenario's two, then the kept one", r.Expectations)
	}
	if r.Expectations[0].Pass || !strings.Contains(r.Expectations[0].Got, "1000/1010") {
		t.Errorf("upgraded>=100%% not judged again on the new counts: %+v", r.Expectations[0])
	}
	if r.Verdict != "fail" {
		t.Errorf("verdict %q", r.Verdict)
	}
}
