package report

import (
	"strings"
	"testing"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

func TestSummarize(t *testing.T) {
	h := NewHistogram()
	for v := int64(1); v <= 1000; v++ {
		recordUs(h, v*1000) // 1 .. 1000 ms
	}
	l := Summarize(h)
	near := func(name string, got, want float64) {
		t.Helper()
		// 3 significant figures: within 0.1 %, plus one bucket.
		if got < want*0.998 || got > want*1.002 {
			t.Errorf("%s = %v ms, want about %v", name, got, want)
		}
	}
	if l.Count != 1000 {
		t.Errorf("count = %d", l.Count)
	}
	near("min", l.MinMs, 1)
	near("mean", l.MeanMs, 500.5)
	near("p50", l.P50Ms, 500)
	near("p90", l.P90Ms, 900)
	near("p99", l.P99Ms, 990)
	near("p999", l.P999Ms, 999)
	near("max", l.MaxMs, 1000)
	if !(l.MinMs <= l.P50Ms && l.P50Ms <= l.P90Ms && l.P90Ms <= l.P99Ms && l.P99Ms <= l.P999Ms && l.P999Ms <= l.MaxMs) {
		t.Errorf("percentiles out of order: %+v", l)
	}
	back, err := DecodeHistogram(l.Histogram)
	if err != nil {
		t.Fatal(err)
	}
	if again := Summarize(back); again != l {
		t.Errorf("decode and summarize again:\n got %+v\nwant %+v", again, l)
	}
}

func TestSummarizeEmpty(t *testing.T) {
	l := Summarize(NewHistogram())
	if l.Count != 0 || l.MaxMs != 0 || l.P99Ms != 0 {
		t.Errorf("empty summary = %+v, want zeros", l)
	}
	// Still encoded: merge treats every shard alike.
	if h, err := DecodeHistogram(l.Histogram); err != nil || h.TotalCount() != 0 {
		t.Errorf("empty histogram does not round trip: %v", err)
	}
}

func TestDecodeHistogramRejectsGarbage(t *testing.T) {
	for _, in := range []string{"", "not base64!", "AAAA", "HISTFAAAACR4nJNpmSzMwMDAxMDKwMBgYGBgYGBgYGBgYGBgAgA"} {
		if _, err := DecodeHistogram(in); err == nil || !strings.Contains(err.Error(), "histogram") {
			t.Errorf("DecodeHistogram(%q): err = %v, want a decode error", in, err)
		}
	}
}

func FuzzDecodeHistogram(f *testing.F) {
	f.Add(Summarize(NewHistogram()).Histogram)
	f.Add("AAAA")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := DecodeHistogram(s)
		if err == nil {
			_ = Summarize(h) // must not panic on whatever decoded
		}
	})
}

func newHist(lo, hi int64, sig int) *hdrhistogram.Histogram { return hdrhistogram.New(lo, hi, sig) }
