package report

import (
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wshold/wshold/internal/event"
	"github.com/wshold/wshold/scenario"
)

var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

const ms = int64(time.Millisecond)

func TestRecorderCountsAndInvariants(t *testing.T) {
	r := NewRecorder(t0, 10)
	for i := range 6 {
		r.Upgraded(event.Upgraded{AtNs: int64(i) * 100 * ms, LatencyNs: int64(i+1) * ms})
	}
	r.Failed(event.Failed{AtNs: 50 * ms, Cause: "http", Status: 400, Example: "HTTP/1.1 400 Bad Request: first"})
	r.Failed(event.Failed{AtNs: 60 * ms, Cause: "http", Status: 400, Example: "HTTP/1.1 400 Bad Request: second"})
	r.Failed(event.Failed{AtNs: 70 * ms, Cause: "refused", Example: "connect: connection refused"})
	r.Dropped(event.Dropped{AtNs: 3100 * ms, AgeNs: 3000 * ms, IdleNs: 3000 * ms, Kind: event.EOF})
	r.Dropped(event.Dropped{AtNs: 3200 * ms, AgeNs: 3000 * ms, IdleNs: 3000 * ms, Kind: event.CloseFrame, CloseCode: 1001})

	res := r.Result(Meta{Scenario: scenario.Defaults(), Target: "ws://127.0.0.1:1/", End: t0.Add(5 * time.Second)})
	want := Counts{Attempted: 9, Upgraded: 6, Failed: 3, Held: 4, Dropped: 2}
	if res.Counts != want {
		t.Fatalf("counts = %+v, want %+v", res.Counts, want)
	}
	if res.Counts.Attempted != res.Counts.Upgraded+res.Counts.Failed || res.Counts.Upgraded != res.Counts.Held+res.Counts.Dropped {
		t.Errorf("count invariants broken: %+v", res.Counts)
	}
	if res.Schema != Schema || res.Shards != 1 || res.EndReason != "completed" {
		t.Errorf("schema/shards/end reason = %q/%d/%q", res.Schema, res.Shards, res.EndReason)
	}
	if res.Expectations == nil || len(res.Expectations) != 0 || res.Verdict != "" {
		t.Errorf("Result must not evaluate: expectations %#v, verdict %q", res.Expectations, res.Verdict)
	}

	// Failures: grouped by (cause, status), most frequent first, first example kept.
	if len(res.Failures) != 2 {
		t.Fatalf("failures = %+v, want 2 groups", res.Failures)
	}
	f := res.Failures[0]
	if f.Cause != "http" || f.Status != 400 || f.Count != 2 || !strings.HasSuffix(f.Example, "first") || f.Hint == "" {
		t.Errorf("first failure group = %+v", f)
	}
	if g := res.Failures[1]; g.Cause != "refused" || g.Count != 1 || g.Status != 0 {
		t.Errorf("second failure group = %+v", g)
	}

	if res.Handshake.Count != 6 || res.Handshake.MinMs < 0.99 || res.Handshake.MaxMs > 6.01 || res.Handshake.Histogram == "" {
		t.Errorf("handshake = %+v", res.Handshake)
	}
	if res.Drops.Count != 2 || res.Drops.ByKind["eof"] != 1 || res.Drops.ByKind["close_1001"] != 1 {
		t.Errorf("drops = %+v", res.Drops)
	}
	if len(res.Drops.Events) != 2 || res.Drops.Events[0].AtMs != 3100 || res.Drops.Events[1].Kind != "close_1001" {
		t.Errorf("drop events = %+v", res.Drops.Events)
	}
	if res.Drops.Age.Count != 2 || res.Drops.Idle.Count != 2 {
		t.Errorf("age/idle counts = %d/%d, want 2/2", res.Drops.Age.Count, res.Drops.Idle.Count)
	}
}

// A protocol error keeps the rule the server broke: counted by rule, and
// named where the drop kind is spelled out.
func TestRecorderCountsProtocolErrorsByRule(t *testing.T) {
	r := NewRecorder(t0, 4)
	for i := range 3 {
		r.Upgraded(event.Upgraded{AtNs: int64(i) * ms, LatencyNs: ms})
	}
	r.Dropped(event.Dropped{AtNs: 500 * ms, AgeNs: 500 * ms, Kind: event.ProtocolError, Rule: event.RuleMaskedFrame})
	r.Dropped(event.Dropped{AtNs: 501 * ms, AgeNs: 500 * ms, Kind: event.ProtocolError, Rule: event.RuleMaskedFrame})
	r.Dropped(event.Dropped{AtNs: 502 * ms, AgeNs: 500 * ms, Kind: event.EOF})
	res := r.Result(Meta{Scenario: scenario.Defaults(), Target: "ws://127.0.0.1:1/", End: t0.Add(time.Second)})
	if res.Drops.ByKind["protocol_error"] != 2 || !reflect.DeepEqual(res.Drops.ProtocolErrors, map[string]int64{"masked_frame": 2}) {
		t.Fatalf("by kind %v, protocol errors %v", res.Drops.ByKind, res.Drops.ProtocolErrors)
	}
	if got := kindTextIn(res, "protocol_error"); got != "protocol error: masked server frame" {
		t.Errorf("kind text %q", got)
	}
	res.Drops.ProtocolErrors["bad_opcode"] = 1
	if got := kindTextIn(res, "protocol_error"); got != "protocol error: masked server frame ×2, reserved opcode ×1" {
		t.Errorf("kind text %q", got)
	}
	clean := NewRecorder(t0, 1).Result(Meta{Scenario: scenario.Defaults()})
	if clean.Drops.ProtocolErrors != nil {
		t.Errorf("no protocol errors, yet %v", clean.Drops.ProtocolErrors)
	}
}

func TestRecorderTimeline(t *testing.T) {
	r := NewRecorder(t0, 4)
	r.Upgraded(event.Upgraded{AtNs: 100 * ms})
	r.Upgraded(event.Upgraded{AtNs: 900 * ms})
	r.Upgraded(event.Upgraded{AtNs: 1500 * ms})
	r.Failed(event.Failed{AtNs: 1600 * ms, Cause: "timeout"})
	r.Dropped(event.Dropped{AtNs: 2500 * ms, Kind: event.EOF})
	// The run ends at 4.2 s: the quiet seconds 3 and 4 still appear.
	res := r.Result(Meta{End: t0.Add(4200 * time.Millisecond)})
	want := []Second{
		{T: 0, Alive: 2, Upgraded: 2},
		{T: 1, Alive: 3, Upgraded: 1, Failed: 1},
		{T: 2, Alive: 2, Dropped: 1},
		{T: 3, Alive: 2},
		{T: 4, Alive: 2},
	}
	if !reflect.DeepEqual(res.Timeline, want) {
		t.Errorf("timeline =\n%+v\nwant\n%+v", res.Timeline, want)
	}
}

func TestRecorderMeta(t *testing.T) {
	r := NewRecorder(t0, 0)
	r.Dropped(event.Dropped{AtNs: 2000 * ms, Kind: event.EOF})
	local := time.FixedZone("X", 3600)
	res := r.Result(Meta{
		// The result's start is 500 ms before the recorder's: drop times
		// must be shifted so they count from the result's Start.
		Start:        t0.Add(-500 * time.Millisecond).In(local),
		Interrupted:  true,
		ProxyConfigs: []ProxyConfig{{Path: "nginx.conf", SHA256: "ab"}},
		Warnings:     []string{"TLS verification disabled"},
	})
	if res.EndReason != "interrupted" || !res.Interrupted {
		t.Errorf("end reason %q, interrupted %v", res.EndReason, res.Interrupted)
	}
	if res.Start.Location() != time.UTC || !res.Start.Equal(t0.Add(-500*time.Millisecond)) {
		t.Errorf("start = %v, want UTC %v", res.Start, t0.Add(-500*time.Millisecond))
	}
	if got := res.Drops.Events[0].AtMs; got != 2500 {
		t.Errorf("drop at_ms = %v, want 2500 (shifted to the result's start)", got)
	}
	if len(res.ProxyConfigs) != 1 || len(res.Warnings) != 1 {
		t.Errorf("meta not copied: %+v %+v", res.ProxyConfigs, res.Warnings)
	}
	empty := NewRecorder(t0, 0).Result(Meta{})
	if empty.ProxyConfigs == nil || empty.Failures == nil || empty.Drops.ByKind == nil || empty.Drops.Clusters == nil || empty.Drops.Events != nil {
		t.Errorf("empty result: lists must be empty, not null (events omitted): %+v", empty)
	}
}

func TestRecorderClampsBeyondOneHour(t *testing.T) {
	r := NewRecorder(t0, 1)
	r.Upgraded(event.Upgraded{AtNs: 1, LatencyNs: 2 * int64(time.Hour)})
	r.Dropped(event.Dropped{AtNs: 3 * int64(time.Hour), AgeNs: 3 * int64(time.Hour), IdleNs: 3 * int64(time.Hour), Kind: event.EOF})
	res := r.Result(Meta{})
	if res.Handshake.Count != 1 || res.Drops.Age.Count != 1 {
		t.Errorf("clamped values must still count: handshake %d, age %d", res.Handshake.Count, res.Drops.Age.Count)
	}
	if res.Handshake.MaxMs < 3_599_000 || res.Handshake.MaxMs > 3_700_000 {
		t.Errorf("clamped max = %v ms, want about 1 h", res.Handshake.MaxMs)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "3 times beyond 1 h") {
		t.Errorf("warnings = %q, want one naming 3 clamped values", res.Warnings)
	}
	if res.Drops.Events[0].AgeMs != 3*3600*1000 {
		t.Errorf("the event keeps the exact age, got %v", res.Drops.Events[0].AgeMs)
	}
}

func TestRecorderLive(t *testing.T) {
	r := NewRecorder(t0, 8)
	if l := r.Live(); l != (Live{}) {
		t.Errorf("fresh Live = %+v, want zero", l)
	}
	for i := range 100 {
		r.Upgraded(event.Upgraded{AtNs: int64(i) * ms, LatencyNs: int64(i+1) * ms})
	}
	r.Failed(event.Failed{Cause: "refused"})
	r.Dropped(event.Dropped{AtNs: 200 * ms, Kind: event.Reset})
	l := r.Live()
	if l.Attempted != 101 || l.Upgraded != 100 || l.Failed != 1 || l.Dropped != 1 || l.Alive != 99 {
		t.Errorf("Live = %+v", l)
	}
	if l.HandshakeP99Ms < 98 || l.HandshakeP99Ms > 100.5 {
		t.Errorf("p99 = %v ms, want about 99", l.HandshakeP99Ms)
	}
}

// The recorder is shared by the engine's loops: counts must come out exact
// under concurrent recording (and -race must stay quiet).
func TestRecorderConcurrent(t *testing.T) {
	const workers, each = 4, 500
	r := NewRecorder(t0, workers*each)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				at := int64(w*each+i) * ms
				r.Upgraded(event.Upgraded{AtNs: at, LatencyNs: ms})
				if i%2 == 0 {
					r.Dropped(event.Dropped{AtNs: at + ms, AgeNs: ms, IdleNs: ms, Kind: event.EOF})
				} else {
					r.Failed(event.Failed{AtNs: at, Cause: "timeout"})
				}
				_ = r.Live()
			}
		}()
	}
	wg.Wait()
	res := r.Result(Meta{})
	want := Counts{Attempted: 3000, Upgraded: 2000, Failed: 1000, Held: 1000, Dropped: 1000}
	if res.Counts != want {
		t.Errorf("counts = %+v, want %+v", res.Counts, want)
	}
	var up int64
	for _, s := range res.Timeline {
		up += s.Upgraded
	}
	if up != 2000 || res.Timeline[len(res.Timeline)-1].Alive != 1000 {
		t.Errorf("timeline sums: upgraded %d, final alive %d", up, res.Timeline[len(res.Timeline)-1].Alive)
	}
}

// The steady state (holding, recording upgrades and drops) must not
// allocate: at tens of thousands of connections the GC would otherwise be
// part of what is measured.
func TestRecorderSteadyStateAllocatesNothing(t *testing.T) {
	const n = 1000
	r := NewRecorder(t0, 2*n)
	// Warm up: reach the timeline's length and create the failure group.
	r.Upgraded(event.Upgraded{AtNs: 9 * int64(time.Second), LatencyNs: ms})
	r.Failed(event.Failed{AtNs: 1, Cause: "http", Status: 400, Example: "x"})
	var i int64
	if a := testing.AllocsPerRun(n, func() {
		i++
		r.Upgraded(event.Upgraded{AtNs: i * ms, LatencyNs: i * 1000})
	}); a != 0 {
		t.Errorf("Upgraded allocates %v times per event", a)
	}
	if a := testing.AllocsPerRun(n, func() {
		i++
		r.Dropped(event.Dropped{AtNs: i * ms, AgeNs: i * ms, IdleNs: i * ms, Kind: event.EOF})
	}); a != 0 {
		t.Errorf("Dropped allocates %v times per event", a)
	}
	if a := testing.AllocsPerRun(n, func() {
		r.Failed(event.Failed{AtNs: 2, Cause: "http", Status: 400, Example: "x"})
	}); a != 0 {
		t.Errorf("Failed of a known group allocates %v times per event", a)
	}
}

func BenchmarkSteadyStateRecordUpgrade(b *testing.B) {
	r := NewRecorder(t0, 0)
	r.Upgraded(event.Upgraded{AtNs: 60 * int64(time.Second)})
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		r.Upgraded(event.Upgraded{AtNs: int64(i%60_000) * ms, LatencyNs: int64(i%100_000) * 1000})
	}
}

func BenchmarkSteadyStateRecordDrop(b *testing.B) {
	// Capacity for the drops, as the runner gives it: the slice never
	// grows, so any allocation shown is a real per-event cost. Emptied
	// (off the clock) every 1<<20 drops to keep the benchmark's memory
	// at 32 MiB.
	const batch = 1 << 20
	r := NewRecorder(t0, min(b.N, batch)+1)
	r.Dropped(event.Dropped{AtNs: 60 * int64(time.Second)})
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if len(r.drops) == cap(r.drops) {
			b.StopTimer()
			r.drops = r.drops[:0]
			b.StartTimer()
		}
		at := int64(i%60_000) * ms
		r.Dropped(event.Dropped{AtNs: at, AgeNs: at, IdleNs: at, Kind: event.EOF})
	}
}

// A failure's hint reads the answer's body: a 400 whose body gives the
// server's own reason does not send the user to the proxy's headers.
func TestFailureHintReadsTheAnswersBody(t *testing.T) {
	r := NewRecorder(t0, 2)
	r.Failed(event.Failed{AtNs: ms, Cause: "http", Status: 400, Example: `HTTP/1.1 400 Bad Request; body: bad query parameter status="abc": want a number from 200 to 599`})
	res := r.Result(Meta{Scenario: scenario.Defaults(), Target: "ws://127.0.0.1:1/", End: t0.Add(time.Second)})
	if h := res.Failures[0].Hint; !strings.Contains(h, "refused the upgrade for the reason its body gives") || strings.Contains(h, "plain GET") {
		t.Errorf("hint %q, want the body's reason, not the stripped-headers diagnosis", h)
	}
}
