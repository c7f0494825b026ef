package report

import (
	"math"
	"slices"
)

// Whether a group of drops is a pattern at all. A dense window is found
// wherever enough drops fall close together, and among drops spread evenly
// at random (an application closing each connection at a random age) some
// windows always do: 60 drops over 8 s put 4 or 5 within 80 ms somewhere
// on each clock, and those must not become events or timers. So a
// candidate must beat chance: how likely is a window of its width, placed
// anywhere in the range the drops cover, to hold as many of them when they
// are spread evenly at the density of the others (the scan statistic)?
// The density is the larger of the whole range's and its neighbourhood's,
// so a group is judged against the drops around it (a ramp's own spacing
// on the wall clock) as well as against the run.
const (
	// chanceLevel: a candidate as dense as this would be found by chance
	// in fewer than one run in two hundred per clock (measured: 60 to
	// 1000 drops at random ages give a cluster on some clock in about one
	// run in a hundred; see TestRandomClosesAreNoPattern).
	chanceLevel = 0.005
	// floorMs is the narrowest width a group is credited with: the kernel
	// dates the drops to the microsecond, but a proxy cutting connections
	// one after another in one pass takes a fraction of a millisecond.
	floorMs = 0.5
	// neighbourhood: the local density is taken over this many widths of
	// the group (and at least this many clustering windows) either side.
	neighbourhood = 5
)

// significantOnly keeps the candidates that are significant among cs.
func significantOnly(events []DropEvent, group []int, cs []candidate) []candidate {
	all := slices.Clone(cs)
	return slices.DeleteFunc(cs, func(c candidate) bool { return !significant(events, group, c, all) })
}

// significant reports whether candidate c, among the drops of group on its
// clock, is denser than evenly spread drops would be by chance. The drops
// of larger candidates on the same clock are not its background: a group
// beside a timer's bulk (a loaded proxy's early or late share) is judged
// against the scattered drops around it, not against the bulk.
func significant(events []DropEvent, group []int, c candidate, others []candidate) bool {
	k := len(c.members)
	if k >= len(group) {
		// Every drop of the kind together: nothing else to compare with,
		// and all of them sharing a moment or an age is the pattern.
		return true
	}
	skip := make(map[int]bool)
	for _, m := range c.members {
		skip[m] = true
	}
	for _, o := range others {
		if len(o.members) > k {
			for _, m := range o.members {
				skip[m] = true
			}
		}
	}
	all := make([]float64, 0, len(group))
	bg := make([]float64, 0, len(group))
	for _, i := range group {
		v := clockValue(&events[i], c.clock)
		all = append(all, v)
		if !skip[i] {
			bg = append(bg, v)
		}
	}
	if len(bg) == 0 {
		return true
	}
	slices.Sort(all)
	slices.Sort(bg)
	d := max(c.hi-c.lo, floorMs)
	r := max(all[len(all)-1]-all[0], d)
	rho := float64(len(bg)) / max(r-d, d)
	// The neighbourhood, clipped to the range the drops cover.
	reach := max(neighbourhood*d, neighbourhood*windowMs(c.at))
	lo, _ := slices.BinarySearch(bg, c.lo-reach)
	hi, _ := slices.BinarySearch(bg, c.hi+reach+1e-9)
	width := min(c.hi+reach, all[len(all)-1]) - max(c.lo-reach, all[0]) - d
	if near := hi - lo; near > 0 && width > 0 {
		rho = max(rho, float64(near)/max(width, d))
	}
	// The group's width was chosen by the drops themselves, among widths
	// from floorMs to the range: as many chances as doublings between the
	// two.
	widths := max(1, math.Log2(r/floorMs))
	return widths*chanceOfGroup(k, rho*d, rho*max(r-d, 0)) < chanceLevel
}

// chanceOfGroup is the probability that some window of a given width holds
// k or more points of a Poisson process with lambda points per window,
// over a range that holds expected points in all: Alm's approximation of
// the scan statistic (S. E. Alm, "On the distribution of the scan
// statistic of a Poisson process", 1983; J. Glaz, J. Naus, S. Wallenstein,
// "Scan Statistics", 2001, ch. 2), accurate in the tail that matters here.
func chanceOfGroup(k int, lambda, expected float64) float64 {
	if lambda <= 0 {
		return 0
	}
	kf := float64(k)
	if kf <= lambda {
		return 1
	}
	cdf, pmf := poissonTail(k-1, lambda)
	q := cdf * math.Exp(-(kf-lambda)/kf*expected*pmf)
	return min(1, max(0, 1-q))
}

// poissonTail returns P(X ≤ m) and P(X = m) for X ~ Poisson(lambda).
func poissonTail(m int, lambda float64) (cdf, pmf float64) {
	logP := -lambda // log P(X = 0)
	sum := math.Exp(logP)
	for i := 1; i <= m; i++ {
		logP += math.Log(lambda) - math.Log(float64(i))
		sum += math.Exp(logP)
	}
	return min(sum, 1), math.Exp(logP)
}
