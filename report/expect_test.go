package report

import (
	"strings"
	"testing"
	"time"

	"github.com/wshold/wshold/scenario"
)

// resultWith builds a Result with the given counts and drop ages (ms).
func resultWith(attempted, upgraded int64, ages ...float64) *Result {
	res := &Result{Counts: Counts{Attempted: attempted, Upgraded: upgraded, Failed: attempted - upgraded}}
	res.Drops.Count = int64(len(ages))
	res.Counts.Dropped = res.Drops.Count
	res.Counts.Held = upgraded - res.Drops.Count
	h := NewHistogram()
	for i, a := range ages {
		res.Drops.Events = append(res.Drops.Events, DropEvent{AtMs: a + float64(i), AgeMs: a, IdleMs: a, Kind: "eof"})
		recordUs(h, int64(a*1000))
	}
	res.Drops.Age = Summarize(h)
	return res
}

func withHandshake(res *Result, p50, p99, max float64) *Result {
	res.Handshake = Latency{Count: res.Counts.Upgraded, P50Ms: p50, P90Ms: p50, P99Ms: p99, P999Ms: max, MaxMs: max}
	return res
}

func withFailures(res *Result, f ...Failure) *Result {
	res.Failures = f
	return res
}

func TestEvaluate(t *testing.T) {
	sec := time.Second
	msd := time.Millisecond
	tests := []struct {
		name    string
		res     *Result
		exp     scenario.Expectation
		pass    bool
		gotHas  string
		gotLack string
	}{
		{"no-drops holds", resultWith(10, 10), scenario.Expectation{Kind: scenario.ExpectNoDrops}, true, "0 dropped", ""},
		{"no-drops fails", resultWith(10, 10, 3000), scenario.Expectation{Kind: scenario.ExpectNoDrops}, false, "1 dropped (first at age 3.00 s)", ""},

		{"no-drop-before holds with late drops", resultWith(10, 10, 60_100, 60_200),
			scenario.Expectation{Kind: scenario.ExpectNoDropBefore, Dur: 60 * sec}, true, "none before 60.00 s", ""},
		{"no-drop-before holds without drops", resultWith(10, 10),
			scenario.Expectation{Kind: scenario.ExpectNoDropBefore, Dur: 60 * sec}, true, "0 dropped", ""},
		{"no-drop-before fails on one early drop", resultWith(10, 10, 59_999, 60_100),
			scenario.Expectation{Kind: scenario.ExpectNoDropBefore, Dur: 60 * sec}, false, "1 dropped before 60.00 s (earliest at age 60.00 s)", ""},
		{"no-drop-before: a drop exactly at the bound is not below it", resultWith(10, 10, 60_000),
			scenario.Expectation{Kind: scenario.ExpectNoDropBefore, Dur: 60 * sec}, true, "", ""},

		{"drop-at holds when every drop is in the window", resultWith(3, 3, 2990, 3000, 3012),
			scenario.Expectation{Kind: scenario.ExpectDropAt, Dur: 3 * sec, Tol: 50 * msd}, true, "3 dropped at 3.00 s ±12 ms (3/3 in window)", ""},
		{"drop-at: window edges are inside", resultWith(2, 2, 2950, 3050),
			scenario.Expectation{Kind: scenario.ExpectDropAt, Dur: 3 * sec, Tol: 50 * msd}, true, "(2/2 in window)", ""},
		{"drop-at fails on one drop outside", resultWith(3, 3, 2990, 3000, 9000),
			scenario.Expectation{Kind: scenario.ExpectDropAt, Dur: 3 * sec, Tol: 50 * msd}, false, "(2/3 in window)", ""},
		{"drop-at fails without drops", resultWith(3, 3),
			scenario.Expectation{Kind: scenario.ExpectDropAt, Dur: 3 * sec, Tol: 50 * msd}, false, "0 dropped", ""},
		{"drop-at with share holds", resultWith(100, 100, repeat(95, 60_000)...),
			scenario.Expectation{Kind: scenario.ExpectDropAt, Dur: 60 * sec, Tol: sec, Share: 0.95}, true, "(95/100 upgraded in window, 95.0%)", ""},
		{"drop-at with share ignores drops outside", resultWith(100, 100, append(repeat(90, 60_000), repeat(10, 5_000)...)...),
			scenario.Expectation{Kind: scenario.ExpectDropAt, Dur: 60 * sec, Tol: sec, Share: 0.95}, false, "(90/100 upgraded in window, 90.0%)", ""},
		{"drop-at with share: outliers do not fail it", resultWith(100, 100, append(repeat(97, 60_000), 1_000)...),
			scenario.Expectation{Kind: scenario.ExpectDropAt, Dur: 60 * sec, Tol: sec, Share: 0.95}, true, "97/100", ""},
		{"drop-at with share fails with nothing upgraded", resultWith(100, 0),
			scenario.Expectation{Kind: scenario.ExpectDropAt, Dur: 60 * sec, Tol: sec, Share: 0.5}, false, "0 dropped", ""},

		{"handshake p99 under the bound", withHandshake(resultWith(10, 10), 1, 4.9, 9),
			scenario.Expectation{Kind: scenario.ExpectHandshake, Percentile: "p99", Dur: 5 * msd}, true, "p99 = 4.90 ms over 10 handshakes", ""},
		{"handshake p99 equal to a strict bound fails", withHandshake(resultWith(10, 10), 1, 5, 9),
			scenario.Expectation{Kind: scenario.ExpectHandshake, Percentile: "p99", Dur: 5 * msd}, false, "p99 = 5.00 ms", ""},
		{"handshake p99 equal to an inclusive bound holds", withHandshake(resultWith(10, 10), 1, 5, 9),
			scenario.Expectation{Kind: scenario.ExpectHandshake, Percentile: "p99", Dur: 5 * msd, Inclusive: true}, true, "", ""},
		{"handshake max over the bound", withHandshake(resultWith(10, 10), 1, 5, 250),
			scenario.Expectation{Kind: scenario.ExpectHandshake, Percentile: "max", Dur: 200 * msd}, false, "max = 250 ms", ""},
		{"handshake p50", withHandshake(resultWith(10, 10), 1.5, 5, 9),
			scenario.Expectation{Kind: scenario.ExpectHandshake, Percentile: "p50", Dur: 2 * msd}, true, "p50 = 1.50 ms", ""},
		{"handshake without any upgrade fails", resultWith(10, 0),
			scenario.Expectation{Kind: scenario.ExpectHandshake, Percentile: "p99", Dur: sec}, false, "no handshake completed", ""},
		{"handshake with an unknown percentile fails", withHandshake(resultWith(10, 10), 1, 1, 1),
			scenario.Expectation{Kind: scenario.ExpectHandshake, Percentile: "p75", Dur: sec}, false, "unknown percentile", ""},

		{"upgraded 100% holds", resultWith(200, 200), scenario.Expectation{Kind: scenario.ExpectUpgraded, Ratio: 1}, true, "200/200 upgraded (100.0%)", ""},
		{"upgraded 100% fails on one failure", resultWith(200, 199), scenario.Expectation{Kind: scenario.ExpectUpgraded, Ratio: 1}, false, "199/200 upgraded (99.5%)", ""},
		{"upgraded 95% at exactly 95%", resultWith(100, 95), scenario.Expectation{Kind: scenario.ExpectUpgraded, Ratio: 0.95}, true, "", ""},
		{"upgraded fails with no attempt", resultWith(0, 0), scenario.Expectation{Kind: scenario.ExpectUpgraded, Ratio: 0}, false, "no connection attempted", ""},

		{"failed-status holds when all got it",
			withFailures(resultWith(200, 0), Failure{Cause: "http", Status: 400, Count: 200}),
			scenario.Expectation{Kind: scenario.ExpectFailedStatus, Status: 400}, true, "200/200 failed with HTTP 400", ";"},
		{"failed-status fails on another status",
			withFailures(resultWith(200, 0), Failure{Cause: "http", Status: 400, Count: 150}, Failure{Cause: "http", Status: 502, Count: 50}),
			scenario.Expectation{Kind: scenario.ExpectFailedStatus, Status: 400}, false, "150/200 failed with HTTP 400; 50 HTTP 502", ""},
		{"failed-status fails when some upgraded",
			withFailures(resultWith(200, 10), Failure{Cause: "http", Status: 400, Count: 190}),
			scenario.Expectation{Kind: scenario.ExpectFailedStatus, Status: 400}, false, "10 upgraded", ""},
		{"failed-status fails on a non-http cause",
			withFailures(resultWith(5, 0), Failure{Cause: "refused", Count: 5}),
			scenario.Expectation{Kind: scenario.ExpectFailedStatus, Status: 400}, false, "0/5 failed with HTTP 400; 5 refused", ""},
		{"failed-status fails with no attempt", resultWith(0, 0),
			scenario.Expectation{Kind: scenario.ExpectFailedStatus, Status: 400}, false, "no connection attempted", ""},

		{"an unknown kind fails loudly", resultWith(1, 1), scenario.Expectation{Kind: 99}, false, "unknown expectation kind", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.exp.Raw = "the raw text"
			Evaluate(tt.res, []scenario.Expectation{tt.exp})
			if len(tt.res.Expectations) != 1 {
				t.Fatalf("expectations = %+v, want 1", tt.res.Expectations)
			}
			e := tt.res.Expectations[0]
			if e.Pass != tt.pass {
				t.Errorf("pass = %v, want %v (got %q)", e.Pass, tt.pass, e.Got)
			}
			if e.Want != "the raw text" {
				t.Errorf("want = %q, must quote the expectation as written", e.Want)
			}
			if !strings.Contains(e.Got, tt.gotHas) {
				t.Errorf("got = %q, want it to contain %q", e.Got, tt.gotHas)
			}
			if tt.gotLack != "" && strings.Contains(e.Got, tt.gotLack) {
				t.Errorf("got = %q, must not contain %q", e.Got, tt.gotLack)
			}
			wantVerdict := map[bool]string{true: "pass", false: "fail"}[tt.pass]
			if tt.res.Verdict != wantVerdict {
				t.Errorf("verdict = %q, want %q", tt.res.Verdict, wantVerdict)
			}
		})
	}
}

func TestEvaluateVerdictNeedsEveryExpectation(t *testing.T) {
	res := resultWith(10, 10, 3000)
	Evaluate(res, []scenario.Expectation{
		{Raw: "upgraded>=100%", Kind: scenario.ExpectUpgraded, Ratio: 1},
		{Raw: "no-drops", Kind: scenario.ExpectNoDrops},
	})
	if res.Verdict != "fail" || !res.Expectations[0].Pass || res.Expectations[1].Pass {
		t.Errorf("verdict %q, expectations %+v", res.Verdict, res.Expectations)
	}
	// Evaluating again replaces, never appends.
	Evaluate(res, nil)
	if res.Verdict != "pass" || res.Expectations == nil || len(res.Expectations) != 0 {
		t.Errorf("after Evaluate(nil): verdict %q, expectations %#v", res.Verdict, res.Expectations)
	}
}

func TestEvaluateWithoutDropEvents(t *testing.T) {
	// A result whose per-drop list is missing (e.g. hand-trimmed): the
	// age checks fall back on the histogram or say they cannot check.
	res := resultWith(10, 10, 5000)
	res.Drops.Events = nil
	Evaluate(res, []scenario.Expectation{
		{Raw: "no-drop-before=60s", Kind: scenario.ExpectNoDropBefore, Dur: time.Minute},
		{Raw: "drop-at=5s±1s", Kind: scenario.ExpectDropAt, Dur: 5 * time.Second, Tol: time.Second},
	})
	if e := res.Expectations[0]; e.Pass || !strings.Contains(e.Got, "age histogram") {
		t.Errorf("no-drop-before without events: %+v", e)
	}
	if e := res.Expectations[1]; e.Pass || !strings.Contains(e.Got, "cannot check") {
		t.Errorf("drop-at without events: %+v", e)
	}
}

func repeat(n int, v float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}
