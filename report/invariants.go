package report

import (
	"fmt"
	"slices"
)

// WantEveryWorkerFinished is the Want of the expectation a --procs run
// adds when a worker died (see internal/procs): no figure shows it, and it
// fails the run. Its presence is also the one documented exception to
// Upgraded = Held + Dropped: the connections the worker held at its last
// checkpoint closed with it, so they are upgraded but not held.
const WantEveryWorkerFinished = "every worker finished"

// CheckInvariants says whether res is a result wshold could have written:
// counts that are never negative and add up (attempted = upgraded +
// failed; upgraded + reconnects.upgraded = held + dropped, or at least
// that after a --procs worker died; the failures add up to failed; the drop kinds and drop
// distributions to dropped), and histograms whose counts are the counts
// they stand for, with the bounds every result uses. Every load of a
// result (report, merge, compare, the --procs parent) checks it, so that a
// forged or damaged file is refused, with the field named, before it is
// rendered or merged into anything.
func CheckInvariants(res *Result) error {
	c := res.Counts
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"counts.attempted", c.Attempted}, {"counts.upgraded", c.Upgraded}, {"counts.failed", c.Failed},
		{"counts.held", c.Held}, {"counts.dropped", c.Dropped}, {"drops.count", res.Drops.Count},
		{"handshake.count", res.Handshake.Count}, {"drops.age.count", res.Drops.Age.Count}, {"drops.idle.count", res.Drops.Idle.Count},
	} {
		if f.v < 0 {
			return invariantErr("%s is %d, and a count is never negative", f.name, f.v)
		}
	}
	if c.Attempted != c.Upgraded+c.Failed {
		return invariantErr("counts.attempted is %d but counts.upgraded + counts.failed is %d + %d", c.Attempted, c.Upgraded, c.Failed)
	}
	workerDied := slices.ContainsFunc(res.Expectations, func(e Expectation) bool { return e.Want == WantEveryWorkerFinished })
	// Reopened connections are held or dropped like the first wave's.
	var reconnected int64
	if res.Reconnects != nil {
		reconnected = res.Reconnects.Upgraded
	}
	switch up := c.Upgraded + reconnected; {
	case up == c.Held+c.Dropped:
	case workerDied && up > c.Held+c.Dropped:
		// Documented: a dead worker's connections are upgraded, not held.
	case reconnected > 0:
		return invariantErr("counts.upgraded + reconnects.upgraded is %d + %d but counts.held + counts.dropped is %d + %d", c.Upgraded, reconnected, c.Held, c.Dropped)
	default:
		return invariantErr("counts.upgraded is %d but counts.held + counts.dropped is %d + %d", c.Upgraded, c.Held, c.Dropped)
	}
	if res.Drops.Count != c.Dropped {
		return invariantErr("drops.count is %d but counts.dropped is %d", res.Drops.Count, c.Dropped)
	}
	var kinds int64
	for k, n := range res.Drops.ByKind {
		if n < 0 {
			return invariantErr("drops.by_kind.%s is %d, and a count is never negative", k, n)
		}
		kinds += n
	}
	if kinds != res.Drops.Count {
		return invariantErr("drops.by_kind adds up to %d but drops.count is %d", kinds, res.Drops.Count)
	}
	var failed int64
	for i, f := range res.Failures {
		if f.Count < 0 {
			return invariantErr("failures[%d].count is %d, and a count is never negative", i, f.Count)
		}
		failed += f.Count
	}
	if failed != c.Failed {
		return invariantErr("failures add up to %d but counts.failed is %d", failed, c.Failed)
	}
	for _, h := range []struct {
		name  string
		l     Latency
		count int64
		of    string
	}{
		{"handshake", res.Handshake, c.Upgraded, "counts.upgraded"},
		{"drops.age", res.Drops.Age, c.Dropped, "counts.dropped"},
		{"drops.idle", res.Drops.Idle, c.Dropped, "counts.dropped"},
	} {
		if err := checkLatency(h.name, h.l, h.count, h.of); err != nil {
			return err
		}
	}
	return checkMessageInvariants(res)
}

// checkLatency checks one distribution: its count is the count it stands
// for, and its histogram (when there is one) holds that many values within
// the bounds every result uses.
func checkLatency(name string, l Latency, want int64, of string) error {
	if l.Count != want {
		return invariantErr("%s.count is %d but %s is %d", name, l.Count, of, want)
	}
	if l.Histogram == "" {
		return nil // merge says it needs one; a renderer needs only the summary
	}
	h, err := DecodeHistogram(l.Histogram)
	if err != nil {
		return invariantErr("%s.histogram: %v", name, err)
	}
	// Other bounds than wshold's were refused by DecodeHistogram, before
	// the decoder allocated for them.
	if n := h.TotalCount(); n != l.Count {
		return invariantErr("%s.histogram holds %d values but %s.count is %d", name, n, name, l.Count)
	}
	return nil
}

func invariantErr(format string, a ...any) error {
	return fmt.Errorf("not a consistent result: "+format+" (was the file edited or damaged? write it again with 'wshold run -o')", a...)
}
