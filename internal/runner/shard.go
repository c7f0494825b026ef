package runner

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/wshold/wshold/scenario"
)

// Shard names one share of a run split over processes or machines: shard
// Index of Count, counted from 0. The zero value means the whole run.
type Shard struct {
	Index, Count int
}

// ParseShard reads "I/N" with 0 <= I < N, as --shard takes it (and as a
// Kubernetes Indexed Job writes it: $(JOB_COMPLETION_INDEX)/N).
func ParseShard(s string) (Shard, error) {
	i, n, ok := strings.Cut(strings.TrimSpace(s), "/")
	idx, err1 := strconv.Atoi(strings.TrimSpace(i))
	cnt, err2 := strconv.Atoi(strings.TrimSpace(n))
	switch {
	case !ok || err1 != nil || err2 != nil:
		return Shard{}, fmt.Errorf("--shard %q: write I/N, shard I of N counted from 0, e.g. --shard 0/4 … --shard 3/4", s)
	case cnt < 1:
		return Shard{}, fmt.Errorf("--shard %q: N must be at least 1", s)
	case idx < 0 || idx >= cnt:
		return Shard{}, fmt.Errorf("--shard %q: I must be from 0 to %d (shards are counted from 0)", s, cnt-1)
	}
	return Shard{Index: idx, Count: cnt}, nil
}

// IsZero reports whether s is the whole run.
func (s Shard) IsZero() bool { return s.Count == 0 }

// String is "I/N", or "" for the whole run.
func (s Shard) String() string {
	if s.IsZero() {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}

// Of returns the share of rs that shard s runs:
//   - connections split as evenly as possible, the remainder going to the
//     first shards (10 over 4: 3 3 2 2);
//   - rate and max-in-flight divided by N, so the shards together open at
//     the scenario's rate (max-in-flight rounded up, at least 1);
//   - source addresses dealt round-robin (shard i gets addresses i, i+N,
//     …); with fewer addresses than shards, shard i uses address i mod
//     len, shared with the other shards dealt it.
//
// Everything else is the scenario's own. The whole run is returned as is;
// rs itself is never changed.
func (s Shard) Of(rs *scenario.Resolved) *scenario.Resolved {
	if s.IsZero() || s.Count == 1 {
		return rs
	}
	n := s.Count
	sub := *rs
	sub.Conns = ShareOf(rs.Conns, s)
	sub.Rate /= float64(n)
	if sub.MaxInFlight > 0 {
		sub.MaxInFlight = max(1, (sub.MaxInFlight+n-1)/n)
	}
	if addrs := rs.Sources; len(addrs) > 0 {
		var mine []netip.Addr
		if len(addrs) >= n {
			for j := s.Index; j < len(addrs); j += n {
				mine = append(mine, addrs[j])
			}
		} else {
			mine = []netip.Addr{addrs[s.Index%len(addrs)]}
		}
		sub.Sources = mine
		// The record says what this shard used.
		sub.SourceIPs = make([]string, len(mine))
		for i, a := range mine {
			sub.SourceIPs[i] = a.String()
		}
	}
	return &sub
}

// ShareOf is shard s's share of total: total/N, plus one for the first
// total%N shards.
func ShareOf(total int, s Shard) int {
	if s.IsZero() {
		return total
	}
	share := total / s.Count
	if s.Index < total%s.Count {
		share++
	}
	return share
}
