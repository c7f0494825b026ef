package metrics

import (
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/wshold/wshold/internal/event"
)

// scrape GETs url and returns every sample as "name{k=v,...}" -> value
// (labels sorted; histograms as _count and _sum only).
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("scrape %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("scrape %s: %s: %s", url, resp.Status, body)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("scrape %s: not the text exposition format: %v", url, err)
	}
	out := map[string]float64{}
	for name, f := range families {
		for _, m := range f.GetMetric() {
			key := name + labels(m)
			switch {
			case m.Counter != nil:
				out[key] = m.GetCounter().GetValue()
			case m.Gauge != nil:
				out[key] = m.GetGauge().GetValue()
			case m.Histogram != nil:
				out[name+"_count"+labels(m)] = float64(m.GetHistogram().GetSampleCount())
				out[name+"_sum"+labels(m)] = m.GetHistogram().GetSampleSum()
			case m.Untyped != nil:
				out[key] = m.GetUntyped().GetValue()
			}
		}
	}
	return out
}

func labels(m *dto.Metric) string {
	if len(m.GetLabel()) == 0 {
		return ""
	}
	var kv []string
	for _, l := range m.GetLabel() {
		kv = append(kv, l.GetName()+"="+l.GetValue())
	}
	sort.Strings(kv)
	return "{" + strings.Join(kv, ",") + "}"
}

func serve(t *testing.T, m *Metrics) string {
	t.Helper()
	srv, err := m.Serve("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return "http://" + srv.Addr.String() + "/metrics"
}

// countingSink records what reaches the next sink, to show the tee
// forwards every event unchanged.
type countingSink struct {
	mu                        sync.Mutex
	upgraded, failed, dropped []int64
	messages                  []event.MessageKind
}

func (c *countingSink) Upgraded(e event.Upgraded) {
	c.mu.Lock()
	c.upgraded = append(c.upgraded, e.AtNs)
	c.mu.Unlock()
}

func (c *countingSink) Failed(e event.Failed) {
	c.mu.Lock()
	c.failed = append(c.failed, e.AtNs)
	c.mu.Unlock()
}

func (c *countingSink) Dropped(e event.Dropped) {
	c.mu.Lock()
	c.dropped = append(c.dropped, e.AtNs)
	c.mu.Unlock()
}

func (c *countingSink) Message(e event.Message) {
	c.mu.Lock()
	c.messages = append(c.messages, e.Kind)
	c.mu.Unlock()
}

func TestSinkCountsEventsByCauseAndKindAndForwardsThem(t *testing.T) {
	t.Parallel()
	m := New()
	next := &countingSink{}
	s := m.Sink(next)
	for i := range 10 {
		s.Upgraded(event.Upgraded{AtNs: int64(i), LatencyNs: int64(i+1) * 1e6})
	}
	for i := range 3 {
		s.Failed(event.Failed{AtNs: int64(i), Cause: "http", Status: 400})
	}
	s.Failed(event.Failed{Cause: "refused"})
	s.Dropped(event.Dropped{Kind: event.EOF})
	s.Dropped(event.Dropped{Kind: event.EOF})
	s.Dropped(event.Dropped{Kind: event.CloseFrame, CloseCode: 1001})
	s.Dropped(event.Dropped{Kind: event.CloseFrame, CloseCode: 4321}) // not pre-created
	s.Dropped(event.Dropped{Kind: event.CloseFrame})                  // no code: 1005
	s.Dropped(event.Dropped{Kind: event.Reset})

	got := scrape(t, serve(t, m))
	want := map[string]float64{
		"wshold_connections_attempted_total":                      14,
		"wshold_connections_upgraded_total":                       10,
		"wshold_connections_alive":                                4,
		"wshold_connections_failed_total{cause=http,status=400}":  3,
		"wshold_connections_failed_total{cause=refused,status=0}": 1,
		"wshold_connections_dropped_total{kind=eof}":              2,
		"wshold_connections_dropped_total{kind=close_1001}":       1,
		"wshold_connections_dropped_total{kind=close_4321}":       1,
		"wshold_connections_dropped_total{kind=close_1005}":       1,
		"wshold_connections_dropped_total{kind=reset}":            1,
		"wshold_connections_dropped_total{kind=pong_timeout}":     0,
		"wshold_connections_dropped_total{kind=protocol_error}":   0,
		"wshold_handshake_seconds_count":                          10,
		"wshold_phase{phase=starting}":                            1,
		"wshold_phase{phase=holding}":                             0,
	}
	for k, v := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("%s missing from the scrape", k)
			continue
		}
		if g != v {
			t.Errorf("%s = %v, want %v", k, g, v)
		}
	}
	// 1+2+…+10 ms
	if sum := got["wshold_handshake_seconds_sum"]; sum < 0.0549 || sum > 0.0551 {
		t.Errorf("handshake sum %v s, want 0.055", sum)
	}
	if len(next.upgraded) != 10 || len(next.failed) != 4 || len(next.dropped) != 6 {
		t.Errorf("forwarded %d/%d/%d events, want 10/4/6", len(next.upgraded), len(next.failed), len(next.dropped))
	}
}

func TestEveryMetricIsNamedWshold(t *testing.T) {
	t.Parallel()
	got := scrape(t, serve(t, New()))
	if len(got) < 10 {
		t.Fatalf("only %d samples: %v", len(got), got)
	}
	for name := range got {
		if !strings.HasPrefix(name, "wshold_") {
			t.Errorf("%s is not prefixed wshold_", name)
		}
	}
	// The process's own numbers matter for a connection holder: open fds
	// against the limit.
	if _, ok := got["wshold_process_open_fds"]; !ok {
		t.Errorf("wshold_process_open_fds missing")
	}
}

func TestSetPhaseLeavesExactlyOnePhaseAtOne(t *testing.T) {
	t.Parallel()
	m := New()
	url := serve(t, m)
	for _, phase := range []string{"ramping", "holding", "holding", "closing", "custom", "done"} {
		m.SetPhase(phase)
		got := scrape(t, url)
		var ones []string
		for k, v := range got {
			if strings.HasPrefix(k, "wshold_phase{") && v == 1 {
				ones = append(ones, k)
			}
		}
		if len(ones) != 1 || ones[0] != "wshold_phase{phase="+phase+"}" {
			t.Fatalf("after SetPhase(%q) the phases at 1 are %v", phase, ones)
		}
	}
}

func TestSetAliveOverridesTheCount(t *testing.T) {
	t.Parallel()
	m := New()
	s := m.Sink(nil)
	s.Upgraded(event.Upgraded{})
	s.Upgraded(event.Upgraded{})
	m.SetAlive(0)
	if got := scrape(t, serve(t, m))["wshold_connections_alive"]; got != 0 {
		t.Fatalf("alive %v after SetAlive(0), want 0", got)
	}
}

func TestServeRefusesAnUnusableAddress(t *testing.T) {
	t.Parallel()
	m := New()
	srv, err := m.Serve("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	for _, addr := range []string{srv.Addr.String(), "127.0.0.1:notaport", "no-colon"} {
		_, err := New().Serve(addr)
		if err == nil {
			t.Errorf("Serve(%q) succeeded, want an error", addr)
			continue
		}
		if !strings.Contains(err.Error(), "--metrics-addr "+addr) {
			t.Errorf("Serve(%q): %v: want the flag and the address named", addr, err)
		}
	}
}

func TestHotPathsAllocateNothing(t *testing.T) {
	m := New()
	s := m.Sink(nil)
	cases := map[string]func(){
		"upgraded":     func() { s.Upgraded(event.Upgraded{LatencyNs: 1e6}) },
		"dropped eof":  func() { s.Dropped(event.Dropped{Kind: event.EOF}) },
		"dropped 1001": func() { s.Dropped(event.Dropped{Kind: event.CloseFrame, CloseCode: 1001}) },
		"failed again": func() { s.Failed(event.Failed{Cause: "timeout"}) },
	}
	s.Failed(event.Failed{Cause: "timeout"}) // the first of a cause may allocate
	for name, f := range cases {
		if n := testing.AllocsPerRun(1000, f); n != 0 {
			t.Errorf("%s: %v allocations per event, want 0", name, n)
		}
	}
}

func BenchmarkSinkUpgraded(b *testing.B) {
	s := New().Sink(nil)
	b.ReportAllocs()
	for i := range b.N {
		s.Upgraded(event.Upgraded{LatencyNs: int64(i % 1e7)})
	}
}

// Timed messages and reconnects have their own series: reconnects count
// apart from the first wave's attempts, yet they are alive like any other.
func TestSinkCountsMessagesAndReconnectsApart(t *testing.T) {
	t.Parallel()
	m := New()
	next := &countingSink{}
	s := m.Sink(next)
	s.Upgraded(event.Upgraded{LatencyNs: 1e6})
	for range 5 {
		s.Message(event.Message{Kind: event.Sent})
	}
	for i := range 4 {
		s.Message(event.Message{Kind: event.Echoed, DelayNs: int64(i+1) * 1e6})
	}
	s.Message(event.Message{Kind: event.Lost, N: 1})
	s.Message(event.Message{Kind: event.Pushed, DelayNs: 1e6})
	s.Dropped(event.Dropped{Kind: event.EOF})
	s.Upgraded(event.Upgraded{LatencyNs: 2e6, Reconnect: true})
	s.Failed(event.Failed{Cause: "http", Status: 503, Reconnect: true})
	s.Failed(event.Failed{Cause: "http", Status: 503, Reconnect: true})

	got := scrape(t, serve(t, m))
	for k, want := range map[string]float64{
		"wshold_messages_sent_total":                             5,
		"wshold_messages_received_total":                         4,
		"wshold_messages_lost_total":                             1,
		"wshold_message_rtt_seconds_count":                       4,
		"wshold_reconnects_total{result=upgraded}":               1,
		"wshold_reconnects_total{result=failed}":                 2,
		"wshold_connections_attempted_total":                     1,
		"wshold_connections_upgraded_total":                      1,
		"wshold_connections_alive":                               1,
		"wshold_handshake_seconds_count":                         1,
		"wshold_connections_failed_total{cause=http,status=503}": 0,
	} {
		if g, ok := got[k]; (!ok && want != 0) || g != want {
			t.Errorf("%s = %v, want %v", k, g, want)
		}
	}
	if sum := got["wshold_message_rtt_seconds_sum"]; sum < 0.0099 || sum > 0.0101 {
		t.Errorf("rtt sum %v s, want 0.010", sum)
	}
	if len(next.messages) != 11 || len(next.upgraded) != 2 || len(next.failed) != 2 {
		t.Errorf("forwarded %d messages, %d upgrades, %d failures; want 11, 2, 2", len(next.messages), len(next.upgraded), len(next.failed))
	}
}

func TestMessageEventsAllocateNothing(t *testing.T) {
	s := New().Sink(nil)
	for name, f := range map[string]func(){
		"sent":   func() { s.Message(event.Message{Kind: event.Sent}) },
		"echoed": func() { s.Message(event.Message{Kind: event.Echoed, DelayNs: 1e5}) },
		"pushed": func() { s.Message(event.Message{Kind: event.Pushed, DelayNs: 1e5}) },
	} {
		if n := testing.AllocsPerRun(1000, f); n != 0 {
			t.Errorf("%s: %v allocations per event, want 0", name, n)
		}
	}
}
