package report

import (
	"bytes"
	"strings"
	"testing"
)

// A forged or damaged result is refused on load, naming the field that
// does not add up: before, a histogram of 2^62 values merged into a run of
// ten, 1e18 upgraded with 10 held was reported PASS, and -5 upgraded was
// printed.
func TestReadResultRefusesFiguresThatDoNotAddUp(t *testing.T) {
	huge := NewHistogram()
	if err := huge.RecordValues(1000, 1<<62); err != nil {
		t.Fatal(err)
	}
	hugeEnc := Summarize(huge).Histogram
	wide := Latency{Count: 1000}
	for _, tc := range []struct {
		name string
		edit func(r *Result)
		want string
	}{
		{"negative upgraded", func(r *Result) { r.Counts.Upgraded = -5 }, "counts.upgraded is -5, and a count is never negative"},
		{"upgraded far above held", func(r *Result) { r.Counts.Upgraded, r.Counts.Attempted = 1e18, 1e18 }, "counts.upgraded is 1000000000000000000 but counts.held + counts.dropped is 1000 + 0"},
		{"attempted not the sum", func(r *Result) { r.Counts.Attempted = 7 }, "counts.attempted is 7 but counts.upgraded + counts.failed is 1000 + 0"},
		{"histogram of 2^62 values", func(r *Result) { r.Handshake.Histogram = hugeEnc }, "handshake.histogram holds 4611686018427387904 values but handshake.count is 1000"},
		{"handshake count not upgraded", func(r *Result) { r.Handshake.Count = 1 << 62 }, "handshake.count is 4611686018427387904 but counts.upgraded is 1000"},
		{"other histogram bounds", func(r *Result) {
			h := wide
			h.Histogram = mustEncode(t, 1, 1<<40, 5, 1000)
			r.Handshake = h
		}, "handshake.histogram: decode histogram: it declares 1 to 1099511627776 µs at 5 significant digits"},
		{"failures do not add up", func(r *Result) { r.Failures = []Failure{{Cause: "http", Status: 400, Count: 3}} }, "failures add up to 3 but counts.failed is 0"},
		{"drop kinds do not add up", func(r *Result) { r.Drops.ByKind = map[string]int64{"eof": 2} }, "drops.by_kind adds up to 2 but drops.count is 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := outFixed(t)
			tc.edit(r)
			var b bytes.Buffer
			if err := WriteJSON(&b, r); err != nil {
				t.Fatal(err)
			}
			_, err := ReadResult(&b)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one saying %q", err, tc.want)
			}
			if _, err := Merge([]*Result{r}); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("merge: err = %v, want one saying %q", err, tc.want)
			}
		})
	}
}

// The one documented exception: after a --procs worker died, its
// connections open at its last checkpoint are upgraded but not held.
func TestInvariantsAllowWhatADeadWorkerLeaves(t *testing.T) {
	r := outFixed(t)
	r.Counts.Held -= 10
	if err := CheckInvariants(r); err == nil {
		t.Fatal("held short of upgraded - dropped accepted without a dead worker")
	}
	r.Expectations = append(r.Expectations, Expectation{Want: WantEveryWorkerFinished, Got: "worker 2 of 2 was killed"})
	if err := CheckInvariants(r); err != nil {
		t.Errorf("a dead worker's result refused: %v", err)
	}
}

func mustEncode(t *testing.T, lo, hi int64, sig int, n int64) string {
	t.Helper()
	h := newHist(lo, hi, sig)
	if err := h.RecordValues(lo, n); err != nil {
		t.Fatal(err)
	}
	return Summarize(h).Histogram
}
