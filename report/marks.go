package report

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Marks are moments the run itself caused (an --at command: a reload, a
// kill). A group of drops right after one is that command's doing, whatever
// clock the drops also cluster on, so the cluster is attributed to it.
const (
	// markWindowMs is how long after a mark a cluster still counts as
	// following it. A reload acts within a second (Caddy: ≈0.1 s) or after
	// a grace period such as nginx's worker_shutdown_timeout (3 s in the
	// lab); ten seconds covers both without reaching back to a mark that
	// has nothing to do with a drop at an idle timeout a minute later.
	markWindowMs = 10_000
	// markSlackMs allows for a drop recorded a little before its mark: the
	// mark's time is read by the goroutine that starts the command, the
	// drop's by the engine, and the command may act before the goroutine
	// resumes.
	markSlackMs = 50
	// verdictLabelMax keeps the verdict line one line when the command is
	// long (a caddy reload names its config file).
	verdictLabelMax = 60
)

// AttributeMarks gives every drop cluster that closely follows a Mark the
// cause "event" and a hint naming the mark, e.g. "follows --at 2s: caddy
// reload (at 2.01 s, 95 ms before the drops)". A cluster on the wall clock
// follows a mark when its drops start at or after the mark and lie within
// ten seconds of it. A cluster on the age or idle clock does too when its
// drops are as tight on the wall clock as on its own (connections opened
// together, then cut together): the clocks tie, and the mark says which
// one is right. The Recorder and Merge call it; calling it again changes
// nothing.
func AttributeMarks(res *Result) {
	if len(res.Marks) == 0 {
		return
	}
	for i := range res.Drops.Clusters {
		c := &res.Drops.Clusters[i]
		m, wallAt, ok := followedMark(res, *c)
		if !ok {
			continue
		}
		c.Cause = "event"
		c.Alternative, c.AlternativeAtMs, c.Matches, c.Possible = "", 0, nil, nil
		c.Hint = markHint(m, wallAt, c.Kind, contextOf(res))
		ev := "follows " + m.Label + ": a command the run itself ran"
		if !slices.Contains(c.Evidence, ev) {
			c.Evidence = append(c.Evidence, ev)
		}
	}
}

// followedMark returns the latest mark that cluster c follows closely, and
// the cluster's median time on the wall clock.
func followedMark(res *Result, c Cluster) (Mark, float64, bool) {
	if len(res.Marks) == 0 {
		return Mark{}, 0, false
	}
	var lo, at float64
	if c.Clock == clockNames[clockWall] {
		lo, at = c.AtMs-c.SpreadMs/2, c.AtMs
	} else {
		var spread float64
		var ok bool
		lo, at, spread, ok = wallPosition(res.Drops.Events, c)
		// Tighter on its own clock: the drops came at one age or idle
		// time, over a stretch of the run, which no single command does.
		if !ok || (spread > c.SpreadMs && spread-c.SpreadMs > max(tieAbsoluteMs, tieShare*spread)) {
			return Mark{}, 0, false
		}
	}
	best, found := Mark{}, false
	for _, m := range res.Marks {
		if m.AtMs-markSlackMs > lo || at-m.AtMs > markWindowMs {
			continue
		}
		if !found || m.AtMs > best.AtMs {
			best, found = m, true
		}
	}
	return best, at, found
}

// wallPosition finds where on the wall clock the drops of a cluster on
// another clock lie: the low end (p5, or the minimum under 20 drops), the
// median and the spread, the same statistics the cluster itself uses. Its
// members are the drops of its kind within its window on its clock; the
// Result does not keep the exact membership.
func wallPosition(events []DropEvent, c Cluster) (lo, at, spread float64, ok bool) {
	clock := slices.Index(clockNames[:], c.Clock)
	if clock < 0 {
		return 0, 0, 0, false
	}
	from, to := c.span()
	reach := windowMs(c.AtMs)
	var walls []float64
	for i := range events {
		e := &events[i]
		if v := clockValue(e, clock); e.Kind == c.Kind && v >= from-reach && v <= to+reach {
			walls = append(walls, e.AtMs)
		}
	}
	if len(walls) == 0 {
		return 0, 0, 0, false
	}
	slices.Sort(walls)
	q := func(p float64) float64 { return walls[int(math.Round(p*float64(len(walls)-1)))] }
	lo, hi := q(0.05), q(0.95)
	if len(walls) < 20 {
		lo, hi = walls[0], walls[len(walls)-1]
	}
	return lo, q(0.5), hi - lo, true
}

func markHint(m Mark, wallAt float64, kind string, ctx clusterContext) string {
	parts := []string{fmt.Sprintf("follows %s (at %s, %s before the drops): "+
		"an event the run caused, not an idle timeout", m.Label, secText(m.AtMs), msText(max(wallAt-m.AtMs, 0)))}
	if h := kindHint(kind, ctx); h != "" {
		parts = append(parts, h)
	}
	return strings.Join(parts, "; ")
}

// verdictMark is the verdict line's name for the mark a cluster follows,
// shortened to fit one line, or "".
func verdictMark(res *Result, c Cluster) string {
	if c.Cause != "event" {
		return ""
	}
	m, _, ok := followedMark(res, c)
	if !ok {
		return ""
	}
	label := m.Label
	if r := []rune(label); len(r) > verdictLabelMax {
		label = string(r[:verdictLabelMax-1]) + "…"
	}
	return label
}
