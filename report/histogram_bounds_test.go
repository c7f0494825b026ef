package report

import (
	"strings"
	"testing"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// A histogram whose header declares another range than wshold writes is
// refused before it is decoded: the decoder would allocate counts for the
// whole declared range (about 50 MB for 1 µs to 2^62 at 5 digits).
func TestHistogramOfForeignBoundsIsRefusedBeforeDecoding(t *testing.T) {
	wide := hdrhistogram.New(1, 1<<62, 5)
	_ = wide.RecordValue(7)
	enc, err := wide.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		t.Fatal(err)
	}
	_, err = DecodeHistogram(string(enc))
	if err == nil || !strings.Contains(err.Error(), "significant digits where wshold writes") {
		t.Fatalf("a histogram declaring 1 to 2^62 at 5 digits: err %v, want it refused for its bounds", err)
	}

	own := NewHistogram()
	_ = own.RecordValue(1500)
	l := Summarize(own)
	h, err := DecodeHistogram(l.Histogram)
	if err != nil || h.TotalCount() != 1 {
		t.Fatalf("wshold's own histogram: %v, count %v; want it decoded", err, h)
	}
}
