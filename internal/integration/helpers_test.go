package integration

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wshold/wshold/internal/runner"
	"github.com/wshold/wshold/internal/server"
	"github.com/wshold/wshold/report"
	"github.com/wshold/wshold/scenario"
)

// backend starts the built-in target on a free loopback port and returns
// its host:port, for a proxy's upstream.
func backend(t *testing.T) string {
	t.Helper()
	srv, err := server.Start(server.Config{Listen: []string{"127.0.0.1:0"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv.Addrs()[0].String()
}

// scenarioFor returns the defaults with target, conns, rate and hold set.
func scenarioFor(target string, conns int, rate float64, hold time.Duration, expect ...string) scenario.Scenario {
	sc := scenario.Defaults()
	sc.Name = "test"
	sc.Target = target
	sc.Conns = conns
	sc.Rate = rate
	sc.Hold = scenario.Duration(hold)
	sc.Expect = expect
	return sc
}

// run runs sc, bounded by the hold plus a generous margin.
func run(t *testing.T, sc scenario.Scenario) *report.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), sc.Hold.D()+2*time.Minute)
	defer cancel()
	res, err := runner.Run(ctx, resolved(t, sc), runner.Options{})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	keepIfFailed(t, res)
	checkInvariants(t, res)
	return res
}

// keepResultsEnv names a directory where a failed test leaves the result of
// its run (TestName.json), so that a verdict that failed on a loaded CI
// machine can be read again (wshold report, or reclustered) instead of
// guessed at.
const keepResultsEnv = "WSHOLD_KEEP_FAILED_RESULTS"

func keepIfFailed(t *testing.T, res *report.Result) {
	dir := os.Getenv(keepResultsEnv)
	if dir == "" {
		return
	}
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		name := strings.NewReplacer("/", "_", " ", "_").Replace(t.Name()) + ".json"
		if err := report.WriteResultFile(filepath.Join(dir, name), res); err != nil {
			t.Logf("keeping the result: %v", err)
			return
		}
		t.Logf("result kept in %s", filepath.Join(dir, name))
	})
}

// checkInvariants holds for every result: attempts are upgraded or failed,
// upgraded connections are held or dropped.
func checkInvariants(t *testing.T, res *report.Result) {
	t.Helper()
	c := res.Counts
	var reconnected int64
	if rc := res.Reconnects; rc != nil {
		reconnected = rc.Upgraded
		if rc.Attempted != rc.Upgraded+rc.Failed {
			t.Fatalf("reconnects break attempted = upgraded + failed: %+v", rc)
		}
	}
	if c.Attempted != c.Upgraded+c.Failed || c.Upgraded+reconnected != c.Held+c.Dropped {
		t.Fatalf("counts break the invariants (with %d reconnected): %+v", reconnected, c)
	}
	var byKind int64
	for _, n := range res.Drops.ByKind {
		byKind += n
	}
	if byKind != c.Dropped || res.Drops.Count != c.Dropped {
		t.Fatalf("drops by kind add to %d, drops.count %d, counts.dropped %d", byKind, res.Drops.Count, c.Dropped)
	}
	var failures int64
	for _, f := range res.Failures {
		failures += f.Count
	}
	if failures != c.Failed {
		t.Fatalf("failures add to %d, counts.failed %d", failures, c.Failed)
	}
}

// resolved is sc resolved, as the command line hands it to the runner.
func resolved(t testing.TB, sc scenario.Scenario) *scenario.Resolved {
	t.Helper()
	rs, err := scenario.Resolve(sc)
	if err != nil {
		t.Fatalf("resolve: %v", err)
	}
	return rs
}
