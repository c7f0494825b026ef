package scenario

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestParseExpectationAcceptsEveryForm(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want Expectation
	}{
		{"no-drops", Expectation{Kind: ExpectNoDrops}},
		{"  no-drops ", Expectation{Kind: ExpectNoDrops}},
		{"no-drop-before=55s", Expectation{Kind: ExpectNoDropBefore, Dur: 55 * time.Second}},
		{"drop-at=60s±2s", Expectation{Kind: ExpectDropAt, Dur: 60 * time.Second, Tol: 2 * time.Second}},
		{"drop-at=60s+-2s", Expectation{Kind: ExpectDropAt, Dur: 60 * time.Second, Tol: 2 * time.Second}},
		{"drop-at=1m±1500ms,share>=90%", Expectation{Kind: ExpectDropAt, Dur: time.Minute, Tol: 1500 * time.Millisecond, Share: 0.9}},
		{"drop-at=3s+-500ms,share>=99.5%", Expectation{Kind: ExpectDropAt, Dur: 3 * time.Second, Tol: 500 * time.Millisecond, Share: 0.995}},
		{"handshake-p50<10ms", Expectation{Kind: ExpectHandshake, Percentile: "p50", Dur: 10 * time.Millisecond}},
		{"handshake-p90<=20ms", Expectation{Kind: ExpectHandshake, Percentile: "p90", Dur: 20 * time.Millisecond, Inclusive: true}},
		{"handshake-p99<250ms", Expectation{Kind: ExpectHandshake, Percentile: "p99", Dur: 250 * time.Millisecond}},
		{"handshake-p999<1s", Expectation{Kind: ExpectHandshake, Percentile: "p999", Dur: time.Second}},
		{"handshake-max<=2s", Expectation{Kind: ExpectHandshake, Percentile: "max", Dur: 2 * time.Second, Inclusive: true}},
		{"upgraded>=100%", Expectation{Kind: ExpectUpgraded, Ratio: 1}},
		{"upgraded>=99.9%", Expectation{Kind: ExpectUpgraded, Ratio: 0.999}},
		{"upgraded>=0%", Expectation{Kind: ExpectUpgraded, Ratio: 0}},
		{"failed-status=400", Expectation{Kind: ExpectFailedStatus, Status: 400}},
		{"failed-status=426", Expectation{Kind: ExpectFailedStatus, Status: 426}},
		{"failed-status=599", Expectation{Kind: ExpectFailedStatus, Status: 599}},
		{"failed-status=100", Expectation{Kind: ExpectFailedStatus, Status: 100}},
		{"rtt-p99<50ms", Expectation{Kind: ExpectRTT, Percentile: "p99", Dur: 50 * time.Millisecond}},
		{"rtt-max<=1s", Expectation{Kind: ExpectRTT, Percentile: "max", Dur: time.Second, Inclusive: true}},
		{"push-p50<5ms", Expectation{Kind: ExpectPush, Percentile: "p50", Dur: 5 * time.Millisecond}},
		{"fanout-p999<200ms", Expectation{Kind: ExpectFanout, Percentile: "p999", Dur: 200 * time.Millisecond}},
		{"messages-lost=0", Expectation{Kind: ExpectMessagesLost}},
		{"recover<5s", Expectation{Kind: ExpectRecover, Dur: 5 * time.Second}},
		{"recover<=1m", Expectation{Kind: ExpectRecover, Dur: time.Minute, Inclusive: true}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseExpectation(tt.in)
			if err != nil {
				t.Fatalf("ParseExpectation(%q): %v", tt.in, err)
			}
			tt.want.Raw = tt.in
			if got != tt.want {
				t.Errorf("ParseExpectation(%q)\n got %+v\nwant %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseExpectationRejectsWithTheFormToWrite(t *testing.T) {
	t.Parallel()
	// Each error must quote the input and say what to write instead.
	tests := []struct {
		in   string
		want string
	}{
		{"", "accepted forms: no-drops"},
		{"nodrops", "unknown form; accepted forms: no-drops, no-drop-before=DUR, drop-at=DUR±TOL"},
		{"No-Drops", "unknown form"},
		{"no-drops=5s", "takes no value"},
		{"no-drop-before", "write it as no-drop-before=DUR"},
		{"no-drop-before=55", `"55" has no unit; write e.g. 55s`},
		{"no-drop-before=0s", "must be above zero"},
		{"no-drop-before=-5s", "must be above zero"},
		{"no-drop-before=soon", "is not a duration"},
		{"drop-at=60s", "needs a tolerance: write DUR±TOL or DUR+-TOL"},
		{"drop-at=60±2", `"60" has no unit`},
		{"drop-at=60s±2", `tolerance: "2" has no unit`},
		{"drop-at=60s±0s", "tolerance: \"0s\" must be above zero"},
		{"drop-at=9223372036s±1s", `"9223372036s" is more than a year`},
		{"drop-at=60s±2562047h", `tolerance: "2562047h" is more than a year`},
		{"no-drop-before=8761h", "more than a year"},
		{"drop-at 60s±2s", "unknown form"},
		{"drop-at<60s±2s", "write it as drop-at=DUR±TOL"},
		{"drop-at=60s±2s,share>90%", "the only option is share>=PCT%"},
		{"drop-at=60s±2s,share>=90", `share: "90" needs a % sign`},
		{"drop-at=60s±2s,share>=0%", "out of range: write above 0 to 100%"},
		{"drop-at=60s±2s,share>=101%", "out of range"},
		{"drop-at=60s±2s,share>=NaN%", "is not a percentage"},
		{"drop-at=60s±2s,share>=1e2%", "is not a percentage"},
		{"drop-at=60s±2s,share>=9.9.9%", "is not a percentage"},
		{"handshake-p95<1s", `"p95" is not a recorded percentile`},
		{"handshake-p99>1s", "write it as handshake-p99<DUR or handshake-p99<=DUR"},
		{"handshake-p99<1", `"1" has no unit`},
		{"handshake-max<0s", "must be above zero"},
		{"upgraded=100%", "write it as upgraded>=PCT%"},
		{"upgraded>=100", "needs a % sign"},
		{"upgraded>=100.1%", "out of range: write 0 to 100%"},
		{"upgraded>=-1%", "is not a percentage"},
		{"failed-status=4OO", "is not an HTTP status code"},
		{"failed-status=99", "not an HTTP status code (100..599)"},
		{"failed-status=600", "not an HTTP status code (100..599)"},
		{"failed-status=0400", "is not an HTTP status code"},
		{"failed-status=101", "101 is a successful upgrade"},
		{"failed-status", "write it as failed-status=CODE"},
		{"rtt-p95<1s", `"p95" is not a recorded percentile; use rtt-p50`},
		{"push-p99>1s", "write it as push-p99<DUR or push-p99<=DUR"},
		{"fanout-p99<1", `"1" has no unit`},
		{"messages-lost=1", "write it as messages-lost=0"},
		{"messages-lost", "write it as messages-lost=0"},
		{"recover=5s", "write it as recover<DUR"},
		{"recover<0s", "must be above zero"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := ParseExpectation(tt.in)
			if err == nil {
				t.Fatalf("ParseExpectation(%q) = %+v, want an error containing %q", tt.in, got, tt.want)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, fmt.Sprintf("expectation %q: ", tt.in)) {
				t.Errorf("error %q does not start by quoting the input", msg)
			}
			if !strings.Contains(msg, tt.want) {
				t.Errorf("ParseExpectation(%q) error\n got %q\nwant it to contain %q", tt.in, msg, tt.want)
			}
		})
	}
}

func TestParseExpectationsReportsEveryBadEntry(t *testing.T) {
	t.Parallel()
	got, err := ParseExpectations([]string{"no-drops", "drop-at=60s", "upgraded>=99%", "handshake-p95<1s"})
	if err == nil {
		t.Fatalf("ParseExpectations = %+v, want an error", got)
	}
	for _, want := range []string{`"drop-at=60s"`, `"handshake-p95<1s"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if n := strings.Count(err.Error(), "\n") + 1; n != 2 {
		t.Errorf("error has %d lines, want one per bad entry (2):\n%v", n, err)
	}

	ok, err := ParseExpectations([]string{"no-drops", "upgraded>=99%"})
	if err != nil || len(ok) != 2 || ok[0].Kind != ExpectNoDrops || ok[1].Kind != ExpectUpgraded {
		t.Errorf("ParseExpectations(good) = %+v, %v; want both, in order", ok, err)
	}
}

func TestScenarioExpectationsFallBackToTheDefaults(t *testing.T) {
	t.Parallel()
	s := Defaults()
	got, err := s.Expectations()
	if err != nil || len(got) != 2 || got[0].Kind != ExpectUpgraded || got[0].Ratio != 1 || got[1].Kind != ExpectNoDrops {
		t.Fatalf("Expectations() with none set = %+v, %v; want upgraded>=100%% and no-drops", got, err)
	}
	s.Expect = []string{"failed-status=400"}
	if got, err := s.Expectations(); err != nil || len(got) != 1 || got[0].Status != 400 {
		t.Errorf("Expectations() = %+v, %v; want only failed-status=400", got, err)
	}
}

// FuzzParseExpectation: never panics; a success keeps the input as Raw and
// has a kind; a failure quotes the input.
func FuzzParseExpectation(f *testing.F) {
	for _, s := range []string{
		"no-drops", "no-drop-before=55s", "drop-at=60s±2s", "drop-at=60s+-2s,share>=90%",
		"handshake-p99<250ms", "handshake-max<=1s", "upgraded>=99.9%", "failed-status=400",
		"drop-at=±", "upgraded>=%", "handshake-<", "failed-status=",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseExpectation(s)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "expectation ") {
				t.Fatalf("error %q does not quote the expectation", err)
			}
			return
		}
		if e.Raw != s {
			t.Fatalf("Raw = %q, want the input %q", e.Raw, s)
		}
		if e.Kind < ExpectNoDrops || e.Kind > ExpectFailedStatus {
			t.Fatalf("ParseExpectation(%q) kind %d is not a known kind", s, e.Kind)
		}
		if e.Share < 0 || e.Share > 1 || e.Ratio < 0 || e.Ratio > 1 || e.Dur < 0 || e.Tol < 0 {
			t.Fatalf("ParseExpectation(%q) = %+v: a field is out of range", s, e)
		}
	})
}
