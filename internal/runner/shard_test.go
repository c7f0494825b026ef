package runner

import (
	"slices"
	"strings"
	"testing"

	"github.com/wshold/wshold/scenario"
)

func TestParseShard(t *testing.T) {
	t.Parallel()
	good := []struct {
		in   string
		want Shard
	}{
		{"0/1", Shard{0, 1}},
		{"0/2", Shard{0, 2}},
		{"3/4", Shard{3, 4}},
		{" 1 / 2 ", Shard{1, 2}},
	}
	for _, tc := range good {
		got, err := ParseShard(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseShard(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
		if got.String() != strings.ReplaceAll(tc.in, " ", "") {
			t.Errorf("Shard%v.String() = %q", got, got.String())
		}
	}
	bad := []struct{ in, says string }{
		{"", "write I/N"},
		{"1", "write I/N"},
		{"a/2", "write I/N"},
		{"1/b", "write I/N"},
		{"2/2", "from 0 to 1"},
		{"-1/2", "from 0 to 1"},
		{"0/0", "at least 1"},
	}
	for _, tc := range bad {
		if _, err := ParseShard(tc.in); err == nil || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("ParseShard(%q) error = %v; want one saying %q", tc.in, err, tc.says)
		}
	}
}

func TestSharesAddUpAndDifferByOneAtMost(t *testing.T) {
	t.Parallel()
	for _, total := range []int{0, 1, 7, 1000, 50001} {
		for n := 1; n <= 9; n++ {
			sum, lo, hi := 0, total, 0
			for i := range n {
				s := ShareOf(total, Shard{i, n})
				sum += s
				lo, hi = min(lo, s), max(hi, s)
				if i > 0 && s > ShareOf(total, Shard{i - 1, n}) {
					t.Errorf("%d over %d: shard %d has more than shard %d; the remainder goes to the first shards", total, n, i, i-1)
				}
			}
			if sum != total || hi-lo > 1 {
				t.Errorf("%d over %d shards: sum %d, min %d, max %d", total, n, sum, lo, hi)
			}
		}
	}
	if got := ShareOf(10, Shard{}); got != 10 {
		t.Errorf("the whole run's share is %d, want 10", got)
	}
}

func TestShardTakesItsShareOfConnsRateAndAddresses(t *testing.T) {
	t.Parallel()
	base := scenario.Defaults()
	base.Conns, base.Rate, base.MaxInFlight = 10, 1000, 256
	base.SourceIPs = []string{"127.0.0.1-127.0.0.5"}
	cases := []struct {
		shard     Shard
		conns     int
		rate      float64
		inFlight  int
		sourceIPs []string
	}{
		{Shard{0, 2}, 5, 500, 128, []string{"127.0.0.1", "127.0.0.3", "127.0.0.5"}},
		{Shard{1, 2}, 5, 500, 128, []string{"127.0.0.2", "127.0.0.4"}},
		{Shard{0, 4}, 3, 250, 64, []string{"127.0.0.1", "127.0.0.5"}},
		{Shard{3, 4}, 2, 250, 64, []string{"127.0.0.4"}},
		// Fewer addresses than shards: shards share them round-robin.
		{Shard{5, 7}, 1, 1000.0 / 7, 37, []string{"127.0.0.1"}},
		{Shard{6, 7}, 1, 1000.0 / 7, 37, []string{"127.0.0.2"}},
		{Shard{}, 10, 1000, 256, []string{"127.0.0.1-127.0.0.5"}},
	}
	for _, tc := range cases {
		got := tc.shard.Of(resolved(t, base))
		if !tc.shard.IsZero() && len(got.Sources) != len(got.SourceIPs) {
			t.Errorf("shard %v: %d addresses to dial from, %d recorded", tc.shard, len(got.Sources), len(got.SourceIPs))
		}
		if got.Conns != tc.conns || got.Rate != tc.rate || got.MaxInFlight != tc.inFlight || !slices.Equal(got.SourceIPs, tc.sourceIPs) {
			t.Errorf("shard %v: conns %d rate %v in-flight %d source IPs %v; want %d %v %d %v",
				tc.shard, got.Conns, got.Rate, got.MaxInFlight, got.SourceIPs, tc.conns, tc.rate, tc.inFlight, tc.sourceIPs)
		}
		if got.Hold != base.Hold || got.Name != base.Name {
			t.Errorf("shard %v changed what is not shared: %+v", tc.shard, got)
		}
	}
	noIPs := base
	noIPs.SourceIPs = nil
	if got := (Shard{1, 3}).Of(resolved(t, noIPs)); got.SourceIPs != nil || got.Sources != nil {
		t.Errorf("a scenario without source addresses got %v", got.SourceIPs)
	}
	zeroRate := base
	zeroRate.Rate = 0
	if got := (Shard{1, 3}).Of(resolved(t, zeroRate)); got.Rate != 0 {
		t.Errorf("rate 0 (as fast as allowed) became %v", got.Rate)
	}
}

// resolved is sc resolved, as the command line hands it to the runner.
func resolved(t testing.TB, sc scenario.Scenario) *scenario.Resolved {
	t.Helper()
	rs, err := scenario.Resolve(sc)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}
