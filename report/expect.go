package report

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/wshold/wshold/scenario"
)

// shareEpsilon absorbs float error in ratio comparisons, so that 95 of 100
// meets "95%" although 0.95*100 is 94.99999999999999 in binary.
const shareEpsilon = 1e-9

// Evaluate checks res against exps, replacing res.Expectations (one per
// expectation, in order: Want as written, Got what was observed in the same
// terms) and setting res.Verdict: "pass" when every expectation held, else
// "fail". No expectations pass. The caller chooses the defaults
// (scenario.DefaultExpectations) when the scenario named none.
func Evaluate(res *Result, exps []scenario.Expectation) {
	res.Expectations = make([]Expectation, 0, len(exps))
	verdict := "pass"
	for _, e := range exps {
		got, pass := evaluate(res, e)
		res.Expectations = append(res.Expectations, Expectation{Want: e.Raw, Got: got, Pass: pass})
		if !pass {
			verdict = "fail"
		}
	}
	res.Verdict = verdict
}

func evaluate(res *Result, e scenario.Expectation) (got string, pass bool) {
	switch e.Kind {
	case scenario.ExpectNoDrops:
		return evalNoDrops(res)
	case scenario.ExpectNoDropBefore:
		return evalNoDropBefore(res, e.Dur)
	case scenario.ExpectDropAt:
		return evalDropAt(res, e)
	case scenario.ExpectHandshake:
		return evalHandshake(res, e)
	case scenario.ExpectUpgraded:
		return evalUpgraded(res, e.Ratio)
	case scenario.ExpectFailedStatus:
		return evalFailedStatus(res, e.Status)
	case scenario.ExpectRTT, scenario.ExpectPush, scenario.ExpectFanout:
		return evalMessageLatency(res, e)
	case scenario.ExpectMessagesLost:
		return evalMessagesLost(res)
	case scenario.ExpectRecover:
		return evalRecover(res, e)
	}
	return fmt.Sprintf("unknown expectation kind %d (a bug: the scenario parser and the report disagree)", e.Kind), false
}

func evalNoDrops(res *Result) (string, bool) {
	n := res.Drops.Count
	if n == 0 {
		return "0 dropped", true
	}
	return fmt.Sprintf("%d dropped (first at age %s)", n, msText(res.Drops.Age.MinMs)), false
}

func evalNoDropBefore(res *Result, bound time.Duration) (string, bool) {
	boundMs := durMs(bound)
	if res.Drops.Count == 0 {
		return "0 dropped", true
	}
	if !hasAllEvents(res) {
		// The age histogram's minimum is the lowest equivalent value of its
		// bucket, so it never overstates the earliest age.
		if res.Drops.Age.MinMs < boundMs {
			return fmt.Sprintf("earliest drop at age %s (from the age histogram)", msText(res.Drops.Age.MinMs)), false
		}
		return fmt.Sprintf("%d dropped, none before %s", res.Drops.Count, msText(boundMs)), true
	}
	var early int64
	first := math.Inf(1)
	for _, d := range res.Drops.Events {
		first = min(first, d.AgeMs)
		if d.AgeMs < boundMs {
			early++
		}
	}
	if early > 0 {
		return fmt.Sprintf("%d dropped before %s (earliest at age %s)", early, msText(boundMs), msText(first)), false
	}
	return fmt.Sprintf("%d dropped, none before %s (earliest at age %s)", res.Drops.Count, msText(boundMs), msText(first)), true
}

// evalDropAt: without a share, at least one drop and every drop's age in
// [Dur-Tol, Dur+Tol]; with a share, at least Share of the upgraded
// connections dropped at an age in that window.
func evalDropAt(res *Result, e scenario.Expectation) (string, bool) {
	if res.Drops.Count == 0 {
		return "0 dropped", false
	}
	if !hasAllEvents(res) {
		return fmt.Sprintf("%d dropped, but the result lists %d drop events: cannot check ages "+
			"(re-run, or merge the shards' full results)", res.Drops.Count, len(res.Drops.Events)), false
	}
	lo, hi := durMs(e.Dur-e.Tol), durMs(e.Dur+e.Tol)
	ages := make([]float64, len(res.Drops.Events))
	var in int64
	for i, d := range res.Drops.Events {
		ages[i] = d.AgeMs
		if d.AgeMs >= lo && d.AgeMs <= hi {
			in++
		}
	}
	slices.Sort(ages)
	med := ages[len(ages)/2]
	if len(ages)%2 == 0 {
		med = roundMs((ages[len(ages)/2-1] + med) / 2)
	}
	dev := max(med-ages[0], ages[len(ages)-1]-med)
	got := fmt.Sprintf("%d dropped at %s ±%s", res.Drops.Count, msText(med), pmText(dev))
	if e.Share == 0 {
		got += fmt.Sprintf(" (%d/%d in window)", in, res.Drops.Count)
		return got, in == res.Drops.Count
	}
	up := res.Counts.Upgraded
	got += fmt.Sprintf(" (%d/%d upgraded in window, %s)", in, up, pct(in, up))
	return got, up > 0 && float64(in) >= e.Share*float64(up)-shareEpsilon
}

// evalHandshake compares the HDR value of the named percentile with the
// bound. With no handshake there is no latency to vouch for, so it fails.
func evalHandshake(res *Result, e scenario.Expectation) (string, bool) {
	h := res.Handshake
	if h.Count == 0 {
		return "no handshake completed", false
	}
	return evalLatency(h, e, "handshakes")
}

// evalLatency compares the named percentile of h with the bound; what
// names the values counted ("handshakes", "echoes").
func evalLatency(h Latency, e scenario.Expectation, what string) (string, bool) {
	var v float64
	switch e.Percentile {
	case "p50":
		v = h.P50Ms
	case "p90":
		v = h.P90Ms
	case "p99":
		v = h.P99Ms
	case "p999":
		v = h.P999Ms
	case "max":
		v = h.MaxMs
	default:
		return fmt.Sprintf("unknown percentile %q (use p50, p90, p99, p999 or max)", e.Percentile), false
	}
	bound := durMs(e.Dur)
	pass := v < bound || (e.Inclusive && v == bound)
	return fmt.Sprintf("%s = %s over %d %s", e.Percentile, msText(v), h.Count, what), pass
}

func evalUpgraded(res *Result, ratio float64) (string, bool) {
	c := res.Counts
	if c.Attempted == 0 {
		return "no connection attempted", false
	}
	got := fmt.Sprintf("%d/%d upgraded (%s)", c.Upgraded, c.Attempted, pct(c.Upgraded, c.Attempted))
	return got, float64(c.Upgraded) >= ratio*float64(c.Attempted)-shareEpsilon
}

// evalFailedStatus: at least one attempt, and every attempt failed with
// that HTTP status.
func evalFailedStatus(res *Result, status int) (string, bool) {
	c := res.Counts
	if c.Attempted == 0 {
		return "no connection attempted", false
	}
	var match int64
	var others []string
	for _, f := range res.Failures {
		if f.Cause == "http" && f.Status == status {
			match += f.Count
			continue
		}
		others = append(others, fmt.Sprintf("%d %s", f.Count, failureLabel(f.Cause, f.Status)))
	}
	if c.Upgraded > 0 {
		others = append([]string{fmt.Sprintf("%d upgraded", c.Upgraded)}, others...)
	}
	got := fmt.Sprintf("%d/%d failed with HTTP %d", match, c.Attempted, status)
	if len(others) > 0 {
		got += "; " + strings.Join(others, ", ")
	}
	return got, match == c.Attempted
}

// hasAllEvents reports whether the per-drop list is complete, which the
// age checks need (the age histogram is too coarse: ±33 ms at 60 s).
func hasAllEvents(res *Result) bool { return int64(len(res.Drops.Events)) == res.Drops.Count }

func durMs(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func pct(n, of int64) string {
	if of == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(of))
}
