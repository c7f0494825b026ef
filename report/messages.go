package report

import (
	"fmt"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/wshold/wshold/internal/event"
)

// Messages is what the client's timed messages (--send-every) saw: the
// result's "messages". Received counts the echoes that came back, in order
// or not; Lost the messages whose connection ended before their echo came
// (a drop, or the end of the run); OutOfOrder the echoes that came back
// before one sent earlier; Corrupted the echoes whose bytes were not the
// ones sent. RTT is the round trip of every echo, on the client's own
// clock.
type Messages struct {
	Sent       int64   `json:"sent"`
	Received   int64   `json:"received"`
	Lost       int64   `json:"lost"`
	OutOfOrder int64   `json:"out_of_order"`
	Corrupted  int64   `json:"corrupted"`
	RTT        Latency `json:"rtt"`
}

// Push is what the messages the server sent on its own (serve
// --push-every, --broadcast-every, ?push=) saw: the result's "push". Delay
// is the one-way delay of pushes, from the server's stamp to the client's
// clock; Fanout the delay of each broadcast copy from the moment the
// broadcast began, so its max is the time until the last connection had
// it. Both compare two clocks: see Clock.
type Push struct {
	Received          int64   `json:"received"`
	Delay             Latency `json:"delay"`
	BroadcastReceived int64   `json:"broadcast_received"`
	Fanout            Latency `json:"fanout"`
	Corrupted         int64   `json:"corrupted"`
	// BelowZero counts delays below zero — the server's clock ahead of
	// the client's — which the histograms hold as 0.
	BelowZero int64 `json:"below_zero,omitempty"`
	// MinDelayMs is the smallest delay seen, below zero included: the
	// server's clock is at least -MinDelayMs ahead when it is negative.
	MinDelayMs float64 `json:"min_delay_ms"`
	// Clock says what the delays are worth.
	Clock string `json:"clock"`
}

// messageRecord is the Recorder's account of timed messages. Histograms
// are made on first use: each is 188 KB, most runs send nothing, and a
// snapshot copies them.
type messageRecord struct {
	sent, echoed, outOfOrder, echoCorrupt, lost int64
	pushed, broadcast, pushCorrupt, belowZero   int64
	minDelayNs                                  int64
	anyDelay                                    bool
	rtt, push, fanout                           *hdrhistogram.Histogram
	clamped                                     int64
}

func (m *messageRecord) clone() messageRecord {
	c := *m
	for _, h := range []**hdrhistogram.Histogram{&c.rtt, &c.push, &c.fanout} {
		if *h != nil {
			*h = (*h).Clone()
		}
	}
	return c
}

// recordLazy records v µs in *h, making the histogram on first use.
func (m *messageRecord) recordLazy(h **hdrhistogram.Histogram, us int64) {
	if *h == nil {
		*h = NewHistogram()
	}
	if recordUs(*h, us) {
		m.clamped++
	}
}

// oneWay records a push's or broadcast copy's delay, which compares the
// server's clock with ours and may be negative.
func (m *messageRecord) oneWay(h **hdrhistogram.Histogram, ns int64) {
	if !m.anyDelay || ns < m.minDelayNs {
		m.minDelayNs, m.anyDelay = ns, true
	}
	if ns < 0 {
		m.belowZero++
	}
	m.recordLazy(h, ns/1000)
}

// Message records what happened to a timed message. It allocates only
// when a histogram is first needed.
func (r *Recorder) Message(e event.Message) {
	r.mu.Lock()
	m := &r.msg
	switch e.Kind {
	case event.Sent:
		m.sent++
	case event.Echoed:
		m.echoed++
		if e.OutOfOrder {
			m.outOfOrder++
		}
		m.recordLazy(&m.rtt, e.DelayNs/1000)
	case event.Pushed:
		m.pushed++
		m.oneWay(&m.push, e.DelayNs)
	case event.Broadcast:
		m.broadcast++
		m.oneWay(&m.fanout, e.DelayNs)
	case event.EchoCorrupt:
		m.echoCorrupt++
	case event.PushCorrupt:
		m.pushCorrupt++
	case event.Lost:
		m.lost += e.N
	}
	r.mu.Unlock()
}

// summarizeLazy is Summarize for a histogram that may never have been made.
func summarizeLazy(h *hdrhistogram.Histogram) Latency {
	if h == nil {
		return Latency{}
	}
	return Summarize(h)
}

// messagesResult is the result's messages, or nil when the run sent none
// and was not asked to.
func (m *messageRecord) messagesResult(sends bool) *Messages {
	if !sends && m.sent == 0 && m.echoed == 0 && m.echoCorrupt == 0 {
		return nil
	}
	return &Messages{
		Sent:       m.sent,
		Received:   m.echoed,
		Lost:       m.lost,
		OutOfOrder: m.outOfOrder,
		Corrupted:  m.echoCorrupt,
		RTT:        summarizeLazy(m.rtt),
	}
}

// pushResult is the result's push, or nil when the server pushed nothing.
func (m *messageRecord) pushResult() *Push {
	if m.pushed == 0 && m.broadcast == 0 && m.pushCorrupt == 0 {
		return nil
	}
	p := &Push{
		Received:          m.pushed,
		Delay:             summarizeLazy(m.push),
		BroadcastReceived: m.broadcast,
		Fanout:            summarizeLazy(m.fanout),
		Corrupted:         m.pushCorrupt,
		BelowZero:         m.belowZero,
		MinDelayMs:        nsToMs(m.minDelayNs),
	}
	p.Clock = ClockNote(p)
	return p
}

// ClockNote says what a push result's delays are worth: they subtract the
// server's clock from the client's, which is exact on one host and off by
// the clocks' offset across hosts. A delay below zero proves an offset.
func ClockNote(p *Push) string {
	if p.BelowZero > 0 {
		return fmt.Sprintf("%d delays were below zero: the server's clock is at least %s ahead of the client's, so these one-way delays are not to be trusted; run client and server on one host, or synchronise their clocks",
			p.BelowZero, msText(-p.MinDelayMs))
	}
	return "one-way delays compare the server's clock with the client's: exact when both run on one host, off by the clocks' offset otherwise (the smallest delay, " +
		msText(p.MinDelayMs) + ", bounds how far the server's clock can be behind)"
}
