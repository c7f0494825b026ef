package runner

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// RSS is taken at the hold's start, so it is divided by the connections
// up then: drops later in the hold (every one of them, here) change
// neither the figure nor whether there is one.
func TestRSSPerConnectionCountsTheConnectionsUpAtTheHoldsStart(t *testing.T) {
	m := &meter{holdEndCPU: -1} // base RSS 0: all of this process counts as growth
	m.holdStarted(time.Hour, 1000)
	defer m.stop()
	r := m.resources(0)
	if want := float64(m.holdRSS) / 1000; r.RSSPerConnBytes != want || want <= 0 {
		t.Fatalf("RSS per connection %v, want RSS at the hold's start / 1000 = %v", r.RSSPerConnBytes, want)
	}
	if r.Procs[0].Held != 0 {
		t.Errorf("held %d, want the 0 alive at the end", r.Procs[0].Held)
	}
}

// A run whose hold never began measured no RSS per connection and no hold
// RSS: the result has no such fields, rather than a zero that reads as a
// measurement.
func TestResourcesOfARunThatNeverHeldHaveNoHoldFigures(t *testing.T) {
	m := startMeter()
	m.stop()
	b, err := json.Marshal(m.resources(0))
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"rss_per_conn_bytes", "hold_start_rss_bytes", "hold_end_rss_bytes", "hold_cpu_seconds"} {
		if strings.Contains(string(b), key) {
			t.Errorf("resources %s have %q; want it absent (not measured)", b, key)
		}
	}
	if !strings.Contains(string(b), `"peak_rss_bytes"`) {
		t.Errorf("resources %s lack the peak RSS, which is always measured", b)
	}
}

// RSS is taken at the hold's start and at its end, each after a GC; a
// checkpoint during the hold has RSS now as its end; a run that ends
// early takes the end then.
func TestHoldRSSIsTakenAtTheHoldsStartAndEnd(t *testing.T) {
	m := startMeter()
	m.holdStarted(time.Hour, 10)
	r := m.resources(10)
	if r.HoldStartRSSBytes <= 0 || r.HoldEndRSSBytes <= 0 || r.Procs[0].HoldStartRSSBytes != r.HoldStartRSSBytes {
		t.Fatalf("during the hold: start %d end %d (proc %+v); want both measured", r.HoldStartRSSBytes, r.HoldEndRSSBytes, r.Procs[0])
	}
	m.stop()
	if m.holdEndRSS <= 0 {
		t.Fatalf("ending early took no RSS")
	}
	r = m.resources(10)
	if r.HoldEndRSSBytes != m.holdEndRSS {
		t.Errorf("after the hold, end RSS %d, want the one taken at its end %d", r.HoldEndRSSBytes, m.holdEndRSS)
	}
}
