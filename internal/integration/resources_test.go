package integration

import (
	"path/filepath"
	"testing"
	"time"
)

// The harness's cost per held connection is measured and reported, on the
// binary as shipped: the race detector's own memory moves RSS by as much as
// 5000 idle connections add, so the test binary cannot stand in for it. The
// goal (512 bytes at 15,000) is checked by scripts/bench.sh, not here: a
// loaded machine must not fail the suite.
func TestMemoryPerHeldConnectionIsReported(t *testing.T) {
	t.Parallel()
	bin := buildWsholdForTest(t)
	addr := startServeProcess(t, bin)
	out := filepath.Join(t.TempDir(), "r.json")
	o := runCLI(t, bin, 2*time.Minute, "run", "-c", "5000", "-r", "5000", "--hold", "1s", "-o", out, "-q", "ws://"+addr+"/")
	if o.Code != 0 {
		t.Fatalf("exit %d:\n%s", o.Code, o.Stderr)
	}
	res := mustReadResult(t, out)
	r := res.Resources
	if res.Counts.Held != 5000 || r.RSSPerConnBytes <= 0 || len(r.Procs) != 1 || r.Procs[0].RSSPerConnBytes != r.RSSPerConnBytes {
		t.Fatalf("held %d, resources %+v; want 5000 held and a positive per-connection figure", res.Counts.Held, r)
	}
	t.Logf("5000 held idle against a separate serve: %.0f bytes RSS per connection, peak RSS %d KiB, %.2f s CPU",
		r.RSSPerConnBytes, r.PeakRSSBytes>>10, r.CPUSeconds)
}
