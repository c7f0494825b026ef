package report

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/wshold/wshold/internal/event"
	"github.com/wshold/wshold/scenario"
)

func TestRecorderCountsMessagesAndTheirLatencies(t *testing.T) {
	r := NewRecorder(t0, 4)
	r.Upgraded(event.Upgraded{AtNs: 10 * ms, LatencyNs: ms})
	for i := range 100 {
		r.Message(event.Message{Kind: event.Sent, AtNs: int64(i) * ms})
	}
	for i := range 97 {
		r.Message(event.Message{Kind: event.Echoed, AtNs: int64(i) * ms, DelayNs: int64(i+1) * 100_000, OutOfOrder: i == 50})
	}
	r.Message(event.Message{Kind: event.EchoCorrupt})
	r.Message(event.Message{Kind: event.Lost, N: 3})
	for i := range 10 {
		r.Message(event.Message{Kind: event.Pushed, DelayNs: int64(i+1) * ms})
		r.Message(event.Message{Kind: event.Broadcast, DelayNs: int64(i+1) * 2 * ms})
	}
	res := r.Result(Meta{Scenario: scenario.Defaults()})

	m := res.Messages
	if m == nil || m.Sent != 100 || m.Received != 97 || m.Lost != 3 || m.OutOfOrder != 1 || m.Corrupted != 1 {
		t.Fatalf("messages = %+v", m)
	}
	if m.RTT.Count != 97 || m.RTT.MinMs != 0.1 || m.RTT.MaxMs < 9.69 || m.RTT.MaxMs > 9.71 || m.RTT.Histogram == "" {
		t.Errorf("rtt = %+v, want 97 values from 0.1 to 9.7 ms with a histogram", m.RTT)
	}
	p := res.Push
	if p == nil || p.Received != 10 || p.BroadcastReceived != 10 || p.Delay.Count != 10 || p.Fanout.Count != 10 {
		t.Fatalf("push = %+v", p)
	}
	if p.Fanout.MaxMs < 19.9 || p.MinDelayMs != 1 || p.BelowZero != 0 || !strings.Contains(p.Clock, "one host") {
		t.Errorf("push = %+v, want fan-out up to 20 ms, min delay 1 ms and the one-host note", p)
	}
	if len(res.Warnings) != 0 {
		t.Errorf("warnings %q for delays that were all positive", res.Warnings)
	}
	if live := r.Live(); live.MessagesSent != 100 || live.MessagesReceived != 97 || live.RTTP99Ms == 0 {
		t.Errorf("live = %+v", live)
	}
}

// A server whose clock runs ahead makes one-way delays negative: they are
// kept (as 0) and counted, and the result says the figures are not to be
// trusted.
func TestNegativeDelaysProveAClockOffset(t *testing.T) {
	r := NewRecorder(t0, 1)
	r.Message(event.Message{Kind: event.Pushed, DelayNs: -25 * ms})
	r.Message(event.Message{Kind: event.Pushed, DelayNs: 2 * ms})
	res := r.Result(Meta{})
	if res.Push.BelowZero != 1 || res.Push.MinDelayMs != -25 || res.Push.Delay.Count != 2 {
		t.Fatalf("push = %+v", res.Push)
	}
	if !strings.Contains(res.Push.Clock, "at least 25.0 ms ahead") || len(res.Warnings) != 1 {
		t.Errorf("clock note %q, warnings %q", res.Push.Clock, res.Warnings)
	}
}

// A run that neither sends nor gets pushes nor reconnects has no such
// sections: its result reads as before.
func TestIdleRunHasNoMessageSections(t *testing.T) {
	r := NewRecorder(t0, 1)
	r.Upgraded(event.Upgraded{AtNs: ms, LatencyNs: ms})
	res := r.Result(Meta{Scenario: scenario.Defaults()})
	if res.Messages != nil || res.Push != nil || res.Reconnects != nil {
		t.Fatalf("messages %v, push %v, reconnects %v: want none", res.Messages, res.Push, res.Reconnects)
	}
	var b bytes.Buffer
	if err := WriteJSON(&b, res); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"messages"`, `"push"`, `"reconnects"`, `"recovery"`, `"reconnected"`} {
		if strings.Contains(b.String(), key) {
			t.Errorf("JSON of an idle run has %s", key)
		}
	}
	// Asked to send, it says what it sent, even nothing.
	sc := scenario.Defaults()
	sc.SendEvery = scenario.Duration(time.Second)
	if res := r.Result(Meta{Scenario: sc}); res.Messages == nil || res.Messages.Sent != 0 {
		t.Errorf("a sending run's messages = %+v, want a zero section", res.Messages)
	}
}

// stormRun is 100 connections opened in the first second, all cut at
// 3.0 s of age (wall 3.0–3.99 s) and reopened 150 ms after the cut; the
// first 20 reopenings fail once with 503 and succeed 200 ms later. The
// reopened ones are cut again at 3 s of age: a second wave.
func stormRun(t testing.TB, hold time.Duration) *Result {
	sc := scenario.Defaults()
	sc.Conns, sc.Reconnect = 100, true
	sc.Expect = []string{"recover<1s"}
	meta := outMeta(t0, time.Second, time.Second+hold)
	meta.HoldEnd = meta.End
	end := int64(time.Second + hold) // the engine reports nothing past the hold
	return outBuild(t, sc, meta, func(r *Recorder) {
		for i := range int64(100) {
			up := i * 10 * ms
			r.Upgraded(event.Upgraded{AtNs: up, LatencyNs: ms})
			for wave := range int64(2) {
				cut := up + 3000*ms
				if cut > end {
					break
				}
				r.Dropped(event.Dropped{AtNs: cut, AgeNs: 3000 * ms, IdleNs: 3000 * ms, Kind: event.EOF})
				back := cut + 150*ms
				if i < 20 && wave == 0 && back <= end {
					r.Failed(event.Failed{AtNs: back, Cause: "http", Status: 503, Example: "HTTP/1.1 503", Reconnect: true})
					back += 200 * ms
				}
				if back > end {
					break
				}
				r.Upgraded(event.Upgraded{AtNs: back, LatencyNs: 2 * ms, Reconnect: true})
				up = back
			}
		}
	})
}

func TestRecoveryOfEachWaveOfACluster(t *testing.T) {
	res := stormRun(t, 10*time.Second)
	rc := res.Reconnects
	if rc == nil || rc.Attempted != 220 || rc.Upgraded != 200 || rc.Failed != 20 || rc.Handshake.Count != 200 {
		t.Fatalf("reconnects = %+v", rc)
	}
	if len(rc.Failures) != 1 || rc.Failures[0].Status != 503 || rc.Failures[0].Count != 20 || len(rc.Events) != 220 {
		t.Fatalf("reconnect failures %+v, %d events", rc.Failures, len(rc.Events))
	}
	if c := res.Counts; c.Upgraded != 100 || c.Held != 100 || c.Dropped != 200 || c.Upgraded+rc.Upgraded != c.Held+c.Dropped {
		t.Errorf("counts %+v break upgraded + reconnected = held + dropped", c)
	}
	if len(res.Drops.Clusters) != 1 {
		t.Fatalf("clusters = %+v, want one at 3 s of age", res.Drops.Clusters)
	}
	rec := res.Drops.Clusters[0].Recovery
	if rec == nil || len(rec.Waves) != 2 {
		t.Fatalf("recovery = %+v, want two waves", rec)
	}
	w1, w2 := rec.Waves[0], rec.Waves[1]
	// Wave 1: the first cut at 3.0 s; 100 alive before; the cuts come
	// every 10 ms and the returns 150 ms (350 ms for the first 20) later,
	// so alive bottoms out around 65 and is back at 99 when the last
	// cut's return is: 3.99 s + 150 ms.
	if w1.AtMs != 3000 || w1.Drops != 100 || w1.AliveBefore != 100 || w1.AliveMin > 80 {
		t.Errorf("wave 1 = %+v", w1)
	}
	if w1.TimeToRecoverMs == nil || *w1.TimeToRecoverMs != 1130 {
		t.Errorf("wave 1 time to recover %v, want 1130 ms (back at 99 of 100 when the 99th return came, at 4.13 s)", ptrText(w1.TimeToRecoverMs))
	}
	if len(w1.Failures) != 1 || w1.Failures[0].Count != 20 || w1.Failures[0].Status != 503 {
		t.Errorf("wave 1 failures = %+v, want the 20 503s", w1.Failures)
	}
	if w2.AtMs != 6350 || w2.Drops != 100 || w2.TimeToRecoverMs == nil || len(w2.Failures) != 0 {
		t.Errorf("wave 2 = %+v, ttr %s", w2, ptrText(w2.TimeToRecoverMs))
	}
	if rec.TimeToRecoverMs == nil || *rec.TimeToRecoverMs != max(*w1.TimeToRecoverMs, *w2.TimeToRecoverMs) {
		t.Errorf("cluster time to recover %s, want the slowest wave's", ptrText(rec.TimeToRecoverMs))
	}
	// recover<1s: wave 1 took 1.13 s.
	if e := res.Expectations[0]; e.Pass || !strings.Contains(e.Got, "2 waves, slowest recovered in 1.13 s; 1 slower than 1.00 s") {
		t.Errorf("recover<1s = %+v", e)
	}
	var b bytes.Buffer
	if err := WriteTable(&b, res); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Reconnects (apart from the first wave)", "20 HTTP 503", "Recovery after each drop cluster", "1.13 s", "200 reconnected, back within 1.13 s"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	if err := WriteMarkdown(&b, res); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"**Reconnects**: 220 attempted, 200 upgraded, 20 failed (20 HTTP 503)", "| 3.0 s | 100 | 100 |"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, b.String())
		}
	}
}

// A wave the hold cut short before it could recover is named, not
// failed: the run stopped watching.
func TestRecoverDoesNotFailAWaveTheHoldCutShort(t *testing.T) {
	res := stormRun(t, 2500*time.Millisecond) // the hold ends 3.5 s in, mid wave 1
	rec := res.Drops.Clusters[0].Recovery
	if rec == nil || len(rec.Waves) != 1 || rec.Waves[0].TimeToRecoverMs != nil || rec.TimeToRecoverMs != nil {
		t.Fatalf("recovery = %+v, want one unrecovered wave", rec)
	}
	if e := res.Expectations[0]; !e.Pass || !strings.Contains(e.Got, "1 still recovering when the hold ended") {
		t.Errorf("recover<1s = %+v", e)
	}
	Evaluate(res, mustParse(t, "recover<400ms"))
	if e := res.Expectations[0]; e.Pass || !strings.Contains(e.Got, "1 wave, none recovered; 1 never recovered") {
		t.Errorf("recover<400ms = %+v: the wave began 500 ms before the end and had not recovered", e)
	}
}

func ptrText(p *float64) string {
	if p == nil {
		return "null"
	}
	return msText(*p)
}

func TestMessageExpectations(t *testing.T) {
	res := &Result{
		Messages: &Messages{Sent: 10, Received: 9, Lost: 1, RTT: Latency{Count: 9, P50Ms: 1, P99Ms: 4, MaxMs: 5}},
		Push:     &Push{Received: 3, Delay: Latency{Count: 3, P99Ms: 2}, BroadcastReceived: 0},
	}
	for _, tc := range []struct {
		want string
		pass bool
		got  string
	}{
		{"rtt-p99<5ms", true, "p99 = 4.00 ms over 9 echoes"},
		{"rtt-max<5ms", false, "max = 5.00 ms"},
		{"rtt-max<=5ms", true, "max = 5.00 ms"},
		{"push-p99<1ms", false, "p99 = 2.00 ms over 3 pushes"},
		{"fanout-p99<1s", false, "no broadcast arrived"},
		{"messages-lost=0", false, "1 lost of 10 sent"},
		{"recover<1s", true, "no drop to recover from"},
	} {
		exps, err := scenario.ParseExpectations([]string{tc.want})
		if err != nil {
			t.Fatal(err)
		}
		Evaluate(res, exps)
		if e := res.Expectations[0]; e.Pass != tc.pass || !strings.Contains(e.Got, tc.got) {
			t.Errorf("%s = %+v, want pass %v and got containing %q", tc.want, e, tc.pass, tc.got)
		}
	}
	Evaluate(&Result{}, mustParse(t, "rtt-p99<5ms", "messages-lost=0"))
	none := &Result{}
	Evaluate(none, mustParse(t, "rtt-p99<5ms", "messages-lost=0"))
	if none.Verdict != "fail" || none.Expectations[0].Got != "no echo came back" || none.Expectations[1].Got != "no message was sent" {
		t.Errorf("with no messages: %+v", none.Expectations)
	}
}

func mustParse(t testing.TB, raw ...string) []scenario.Expectation {
	t.Helper()
	exps, err := scenario.ParseExpectations(raw)
	if err != nil {
		t.Fatal(err)
	}
	return exps
}

// The merge property of merge_test.go, for messages, pushes and
// reconnects: shards recorded apart and merged give exactly the run
// recorded in one place — histograms, reconnect events, recoveries.
func TestMergeOfShardsEqualsOneRunWithMessagesAndReconnects(t *testing.T) {
	type conn struct {
		up      int64
		rtts    []int64
		pushes  []int64
		cut     bool
		fail503 bool
	}
	for seed := range uint64(4) {
		rng := rand.New(rand.NewPCG(seed, 7))
		n := 100 + rng.IntN(200)
		conns := make([]conn, n)
		for i := range conns {
			c := &conns[i]
			// After the latest shard's start (1 s), as in a real run.
			c.up = 2000*ms + int64(i)*5*ms + rng.Int64N(1000)*1000
			for range rng.IntN(5) {
				c.rtts = append(c.rtts, 100_000+rng.Int64N(5_000_000))
			}
			for range rng.IntN(3) {
				c.pushes = append(c.pushes, rng.Int64N(3_000_000)-100_000)
			}
			c.cut = rng.IntN(4) > 0
			c.fail503 = rng.IntN(5) == 0
		}
		record := func(cs []conn, offset time.Duration) *Result {
			sc := scenario.Defaults()
			sc.Name, sc.Conns, sc.SendEvery, sc.Reconnect = "storm", len(cs), scenario.Duration(time.Second), true
			sc.Expect = []string{"rtt-p99<10ms", "messages-lost=0", "recover<2s", "fanout-p99<5ms"}
			meta := outMeta(t0.Add(offset), 0, 0)
			meta.HoldStart, meta.HoldEnd, meta.End = t0.Add(4*time.Second), t0.Add(20*time.Second), t0.Add(20*time.Second)
			off := int64(offset)
			return outBuild(t, sc, meta, func(r *Recorder) {
				for _, c := range cs {
					r.Upgraded(event.Upgraded{AtNs: c.up - off, LatencyNs: ms})
					for j, d := range c.rtts {
						r.Message(event.Message{Kind: event.Sent})
						r.Message(event.Message{Kind: event.Echoed, DelayNs: d, OutOfOrder: j == 3})
					}
					for j, d := range c.pushes {
						k := event.Pushed
						if j%2 == 1 {
							k = event.Broadcast
						}
						r.Message(event.Message{Kind: k, DelayNs: d})
					}
					if !c.cut {
						continue
					}
					cut := c.up + 5000*ms
					r.Dropped(event.Dropped{AtNs: cut - off, AgeNs: 5000 * ms, IdleNs: 5000 * ms, Kind: event.CloseFrame, CloseCode: 1001})
					back := cut + 100*ms + c.up%100*ms
					if c.fail503 {
						r.Failed(event.Failed{AtNs: back - off, Cause: "http", Status: 503, Example: "503", Reconnect: true})
						back += 300 * ms
					}
					r.Upgraded(event.Upgraded{AtNs: back - off, LatencyNs: 2*ms + c.up%7*ms, Reconnect: true})
				}
			})
		}
		single := record(conns, 0)
		single.RunID = "storm"
		shards := 2 + int(seed%3)
		parts := make([][]conn, shards)
		for _, c := range conns {
			j := rng.IntN(shards)
			parts[j] = append(parts[j], c)
		}
		var results []*Result
		for j, p := range parts {
			// Shards start apart, at fractions of a second.
			r := record(p, time.Duration(j%2)*time.Second+time.Duration(j)*137*time.Millisecond)
			r.RunID, r.Shard = "storm", itoa(int64(j))+"/"+itoa(int64(shards))
			r.Scenario.Rate = float64(mergeShare(int(single.Scenario.Rate), shards, j))
			r.Scenario.MaxInFlight = mergeShare(single.Scenario.MaxInFlight, shards, j)
			results = append(results, r)
		}
		merged, err := Merge(results)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		merged.Resources = Resources{}
		want := *single
		want.Shards = shards
		if got, w := mergeJSON(t, merged), mergeJSON(t, &want); !bytes.Equal(got, w) {
			t.Fatalf("seed %d (%d conns, %d shards): merged result differs from the single run:\n%s",
				seed, n, shards, mergeFirstDiff(got, w))
		}
		if single.Messages.RTT.Count == 0 || single.Push.Fanout.Count == 0 || single.Reconnects.Failed == 0 ||
			len(single.Drops.Clusters) == 0 || single.Drops.Clusters[0].Recovery == nil {
			t.Fatalf("seed %d: the synthetic run should have echoes, broadcasts, failed reconnects and a recovery", seed)
		}
	}
}

// A result from elsewhere may hold anything: a cluster that strikes
// thousands of times lists its first thousand waves and counts the rest,
// in bounded time.
func TestRecoveryListsAtMostAThousandWaves(t *testing.T) {
	const n = 3000
	res := &Result{Reconnects: &Reconnects{}, Timeline: []Second{{T: 0, Upgraded: 1, Alive: 1}}, Counts: Counts{Upgraded: 1}}
	for i := range n {
		at := 2000 + float64(i)*1500
		res.Drops.Events = append(res.Drops.Events, DropEvent{AtMs: at, AgeMs: 3000, IdleMs: 3000, Kind: "eof"})
		res.Reconnects.Events = append(res.Reconnects.Events, ReconnectEvent{AtMs: at + 100})
	}
	res.Drops.Count = n
	Recluster(res)
	began := time.Now()
	Recoveries(res)
	if took := time.Since(began); took > 5*time.Second {
		t.Errorf("recoveries took %v", took)
	}
	rec := res.Drops.Clusters[0].Recovery
	if rec == nil || len(rec.Waves) != maxWaves || rec.MoreWaves != n-maxWaves {
		t.Fatalf("recovery lists %d waves and %d more, want %d and %d", len(rec.Waves), rec.MoreWaves, maxWaves, n-maxWaves)
	}
	if w := rec.Waves[0]; w.TimeToRecoverMs == nil || *w.TimeToRecoverMs != 100 || w.AliveBefore != 1 || w.AliveMin != 0 {
		t.Errorf("first wave %+v, want back in 100 ms", w)
	}
}
