package report

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"math"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram bounds shared by every latency distribution in a result:
// microseconds from 1 µs to 1 h at 3 significant figures. Merging needs
// identical bounds, so they are fixed here and nowhere else.
const (
	histLowestUs  = 1
	histHighestUs = 3_600_000_000
	histSigFigs   = 3
)

// NewHistogram returns an empty histogram with the bounds every result uses.
func NewHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(histLowestUs, histHighestUs, histSigFigs)
}

// recordUs records v microseconds, clamping to the histogram's range, and
// reports whether it had to clamp (a value beyond 1 h). Clamping keeps the
// count exact, which matters more to a reader than the tail's exact value.
func recordUs(h *hdrhistogram.Histogram, v int64) (clamped bool) {
	if v < 0 {
		v = 0
	}
	if v > histHighestUs {
		v, clamped = histHighestUs, true
	}
	// Within range RecordValue cannot fail; the error path allocates, so it
	// must stay unreachable in the steady state.
	_ = h.RecordValue(v)
	return clamped
}

// Summarize reduces a microsecond histogram to the millisecond summary of a
// result, keeping the encoded histogram so merges stay exact. An empty
// histogram gives zero values and still an encoded (empty) histogram.
func Summarize(h *hdrhistogram.Histogram) Latency {
	l := Latency{Count: h.TotalCount()}
	if l.Count > 0 {
		l.MinMs = usToMs(h.Min())
		l.MeanMs = roundMs(h.Mean() / 1000)
		l.P50Ms = usToMs(h.ValueAtQuantile(50))
		l.P90Ms = usToMs(h.ValueAtQuantile(90))
		l.P99Ms = usToMs(h.ValueAtQuantile(99))
		l.P999Ms = usToMs(h.ValueAtQuantile(99.9))
		l.MaxMs = usToMs(h.Max())
	}
	enc, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err == nil {
		// Encode already returns base64 text.
		l.Histogram = string(enc)
	}
	return l
}

// DecodeHistogram reads the Histogram field of a Latency back into a
// histogram. It fails on text that is not an HDR V2 compressed histogram.
func DecodeHistogram(s string) (*hdrhistogram.Histogram, error) {
	if s == "" {
		return nil, fmt.Errorf("decode histogram: the field is empty (the result was written without histograms; re-run to get one)")
	}
	if err := checkEncodedBounds(s); err != nil {
		return nil, err
	}
	h, err := hdrhistogram.Decode([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("decode histogram: %w (the result file may be truncated or edited)", err)
	}
	return h, nil
}

// checkEncodedBounds reads the bounds an encoded histogram declares (its
// first 40 bytes once inflated) before the library decodes it: the library
// allocates a counts array as wide as the declared range, up to tens of
// megabytes for a forged header, and wshold only ever writes one range.
// Text it cannot read this far is left to the decoder to refuse.
func checkEncodedBounds(s string) error {
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil || len(raw) < 8 {
		return nil
	}
	n := int32(binary.BigEndian.Uint32(raw[4:8]))
	if n < 0 || int64(n) > int64(len(raw)-8) {
		return nil
	}
	z, err := zlib.NewReader(bytes.NewReader(raw[8 : 8+n]))
	if err != nil {
		return nil
	}
	defer z.Close()
	var hdr [40]byte
	if _, err := io.ReadFull(z, hdr[:]); err != nil {
		return nil
	}
	digits := int32(binary.BigEndian.Uint32(hdr[12:16]))
	lowest := int64(binary.BigEndian.Uint64(hdr[16:24]))
	highest := int64(binary.BigEndian.Uint64(hdr[24:32]))
	if digits != histSigFigs || lowest != histLowestUs || highest != histHighestUs {
		return fmt.Errorf("decode histogram: it declares %d to %d µs at %d significant digits where wshold writes %d to %d at %d (the result file was edited or forged)",
			lowest, highest, digits, histLowestUs, histHighestUs, histSigFigs)
	}
	return nil
}

func usToMs(us int64) float64 { return float64(us) / 1000 }

// roundMs rounds milliseconds to the microsecond, the resolution of every
// time in a result; it keeps JSON short and round trips exact.
func roundMs(ms float64) float64 { return math.Round(ms*1000) / 1000 }

// nsToMs converts a nanosecond offset to milliseconds at µs resolution.
func nsToMs(ns int64) float64 { return roundMs(float64(ns) / 1e6) }
