package report

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/wshold/wshold/internal/event"
)

// phasedResult records n wss-like upgrades whose phases are connect, tls
// and upgrade ms long.
func phasedResult(t *testing.T, n int, connect, tls, upgrade time.Duration) *Result {
	t.Helper()
	start := time.Now()
	r := NewRecorder(start, n)
	for i := range n {
		r.Upgraded(event.Upgraded{AtNs: int64(i) * 1e6, LatencyNs: int64(connect + tls + upgrade),
			ConnectNs: int64(connect), TLSNs: int64(tls), UpgradeNs: int64(upgrade), Resumed: i%2 == 1})
	}
	return r.Result(Meta{Start: start, End: start.Add(time.Second)})
}

// The handshake's phases are recorded apart, survive a merge exactly, and
// are shown in the table and in Markdown; without a TLS phase (ws://) the
// row is left out.
func TestHandshakePhases(t *testing.T) {
	a := phasedResult(t, 30, 2*time.Millisecond, 9*time.Millisecond, time.Millisecond)
	if a.Phases == nil || a.Phases.TLS.Count != 30 || a.Phases.Connect.P50Ms < 1.9 || a.Phases.Connect.P50Ms > 2.1 || a.Phases.TLS.P99Ms < 8.9 || a.Phases.TLS.P99Ms > 9.1 {
		t.Fatalf("phases %+v, want 30 of each: connect 2 ms, TLS 9 ms", a.Phases)
	}
	b := phasedResult(t, 10, 4*time.Millisecond, 9*time.Millisecond, time.Millisecond)
	b.Start = a.Start.Add(time.Second)
	m, err := Merge([]*Result{a, b})
	if err != nil {
		t.Fatal(err)
	}
	if m.Phases == nil || m.Phases.Connect.Count != 40 || m.Phases.TLS.Count != 40 || m.Phases.Connect.MaxMs < 3.9 || m.Phases.TLSResumed != 20 {
		t.Fatalf("merged phases %+v, want 40 of each, the slower shard's connect as max, 20 resumed", m.Phases)
	}
	var table, md bytes.Buffer
	if err := WriteTable(&table, m); err != nil {
		t.Fatal(err)
	}
	if err := WriteMarkdown(&md, m); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"table": table.String(), "markdown": md.String()} {
		for _, want := range []string{"TCP connect", "TLS handshake (20 resumed)", "upgrade (request to 101)"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s does not show %q:\n%s", name, want, out)
			}
		}
	}

	plain := phasedResult(t, 5, time.Millisecond, 0, time.Millisecond)
	table.Reset()
	if err := WriteTable(&table, plain); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(table.String(), "TCP connect") || strings.Contains(table.String(), "TLS handshake") {
		t.Errorf("a ws:// result shows phases without a TLS row:\n%s", table.String())
	}
}
