package runner

import (
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
