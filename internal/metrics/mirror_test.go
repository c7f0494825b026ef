package metrics

import (
	"math"
	"testing"
	"time"

	"github.com/wshold/wshold/internal/event"
	"github.com/wshold/wshold/report"
)

// A --procs parent's metrics follow the merged checkpoints of its workers:
// counters rise by what each checkpoint adds, never fall when a worker's
// file lags, and the histogram holds every handshake once.
func TestMirrorFollowsMergedCheckpoints(t *testing.T) {
	m := New()
	url := serve(t, m)
	mr := m.Mirror()
	rec := report.NewRecorder(time.Now(), 200)
	feed := func(from, to int) {
		for i := from; i < to; i++ {
			rec.Upgraded(event.Upgraded{AtNs: int64(i), LatencyNs: int64(i%10+1) * int64(time.Millisecond)})
		}
	}
	feed(0, 100)
	rec.Failed(event.Failed{Cause: "http", Status: 400})
	first := rec.Result(report.Meta{})
	mr.Update(first)

	feed(100, 150)
	rec.Failed(event.Failed{Cause: "refused"})
	rec.Dropped(event.Dropped{AtNs: 1e9, AgeNs: 1e9, IdleNs: 1e9, Kind: event.EOF})
	rec.Dropped(event.Dropped{AtNs: 1e9, AgeNs: 1e9, IdleNs: 1e9, Kind: event.CloseFrame, CloseCode: 1001})
	mr.Update(rec.Result(report.Meta{}))
	mr.Update(first) // a stale checkpoint: nothing goes back

	got := scrape(t, url)
	for k, want := range map[string]float64{
		"wshold_connections_attempted_total":                      152,
		"wshold_connections_upgraded_total":                       150,
		"wshold_connections_alive":                                100, // the stale one's upgraded - dropped
		`wshold_connections_failed_total{cause=http,status=400}`:  1,
		`wshold_connections_failed_total{cause=refused,status=0}`: 1,
		`wshold_connections_dropped_total{kind=eof}`:              1,
		`wshold_connections_dropped_total{kind=close_1001}`:       1,
		"wshold_handshake_seconds_count":                          150,
	} {
		if got[k] != want {
			t.Errorf("%s = %v, want %v", k, got[k], want)
		}
	}
	// Latencies of 1..10 ms, 15 each: the sum is 150 × 5.5 ms, to HDR's
	// three digits.
	if sum := got["wshold_handshake_seconds_sum"]; math.Abs(sum-0.825) > 0.825*0.002 {
		t.Errorf("handshake sum %v s, want 0.825 s", sum)
	}
}

// A later checkpoint that holds a slower handshake than any before (its
// histogram lists more bars), or a stale one with fewer, adds only what is
// new: each handshake is observed once.
func TestMirrorCountsEachHandshakeOnceAsTheHistogramWidens(t *testing.T) {
	m := New()
	url := serve(t, m)
	mr := m.Mirror()
	rec := report.NewRecorder(time.Now(), 50)
	for i := range 25 {
		rec.Upgraded(event.Upgraded{AtNs: int64(i), LatencyNs: int64(time.Millisecond)})
	}
	first := rec.Result(report.Meta{})
	mr.Update(first)
	for i := range 25 {
		rec.Upgraded(event.Upgraded{AtNs: int64(25 + i), LatencyNs: int64(i+1) * int64(100*time.Millisecond)})
	}
	mr.Update(rec.Result(report.Meta{}))
	mr.Update(first)                     // stale: fewer bars
	mr.Update(rec.Result(report.Meta{})) // and the whole again
	if got := scrape(t, url)["wshold_handshake_seconds_count"]; got != 50 {
		t.Errorf("handshake count %v after checkpoints of 25 and 50 handshakes, want 50", got)
	}
}

func TestMirrorFollowsMessagesAndReconnects(t *testing.T) {
	m := New()
	url := serve(t, m)
	mr := m.Mirror()
	rec := report.NewRecorder(time.Now(), 10)
	rec.Upgraded(event.Upgraded{LatencyNs: 1e6})
	for range 3 {
		rec.Message(event.Message{Kind: event.Sent})
		rec.Message(event.Message{Kind: event.Echoed, DelayNs: 2e6})
	}
	mr.Update(rec.Result(report.Meta{}))
	rec.Message(event.Message{Kind: event.Sent})
	rec.Message(event.Message{Kind: event.Lost, N: 1})
	rec.Dropped(event.Dropped{AtNs: 1e9, AgeNs: 1e9, IdleNs: 1e9, Kind: event.EOF})
	rec.Upgraded(event.Upgraded{AtNs: 2e9, LatencyNs: 1e6, Reconnect: true})
	rec.Failed(event.Failed{AtNs: 2e9, Cause: "refused", Reconnect: true})
	mr.Update(rec.Result(report.Meta{}))

	got := scrape(t, url)
	for k, want := range map[string]float64{
		"wshold_messages_sent_total":               4,
		"wshold_messages_received_total":           3,
		"wshold_messages_lost_total":               1,
		"wshold_message_rtt_seconds_count":         3,
		"wshold_reconnects_total{result=upgraded}": 1,
		"wshold_reconnects_total{result=failed}":   1,
		"wshold_connections_alive":                 1,
	} {
		if got[k] != want {
			t.Errorf("%s = %v, want %v", k, got[k], want)
		}
	}
}
