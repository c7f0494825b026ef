package report

import (
	"cmp"
	"slices"
	"strings"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/wshold/wshold/internal/event"
)

// Reconnects counts the attempts to reopen connections that dropped
// (--reconnect), apart from the first wave that Counts describes: the
// result's "reconnects". Events lists each attempt's end, so that merge
// can compute every cluster's recovery again.
type Reconnects struct {
	Attempted int64            `json:"attempted"`
	Upgraded  int64            `json:"upgraded"`
	Failed    int64            `json:"failed"`
	Failures  []Failure        `json:"failures"`
	Handshake Latency          `json:"handshake"`
	Events    []ReconnectEvent `json:"events,omitempty"`
}

// ReconnectEvent is one reconnect attempt's end, AtMs since the result's
// Start: upgraded when Cause is empty, else failed with that cause (and
// HTTP status).
type ReconnectEvent struct {
	AtMs   float64 `json:"at_ms"`
	Cause  string  `json:"cause,omitempty"`
	Status int     `json:"status,omitempty"`
}

// maxReconnectEvents bounds the per-attempt list a recorder keeps (16
// bytes each): a proxy refusing 15,000 clients for an hour must not eat
// the harness's memory. Attempts past it are counted, not listed.
const maxReconnectEvents = 4 << 20

// reconnectRecord is the Recorder's account of reconnects. The histogram
// is made on first use, like the message histograms.
type reconnectRecord struct {
	upgraded, failed int64
	handshake        *hdrhistogram.Histogram
	failures         []failureGroup
	events           []reconnectAt
	unlisted         int64
	clamped          int64
}

// reconnectAt is one attempt's end; group is 1 + its index in failures,
// 0 for an upgrade.
type reconnectAt struct {
	atNs  int64
	group int32
}

func (rc *reconnectRecord) clone() reconnectRecord {
	c := *rc
	if c.handshake != nil {
		c.handshake = c.handshake.Clone()
	}
	c.failures = slices.Clone(c.failures)
	c.events = slices.Clone(c.events)
	return c
}

func (rc *reconnectRecord) event(at reconnectAt) {
	if len(rc.events) >= maxReconnectEvents {
		rc.unlisted++
		return
	}
	rc.events = append(rc.events, at)
}

func (rc *reconnectRecord) upgrade(e event.Upgraded) {
	rc.upgraded++
	if rc.handshake == nil {
		rc.handshake = NewHistogram()
	}
	if recordUs(rc.handshake, e.LatencyNs/1000) {
		rc.clamped++
	}
	rc.event(reconnectAt{atNs: e.AtNs})
}

func (rc *reconnectRecord) fail(e event.Failed) {
	rc.failed++
	g := slices.IndexFunc(rc.failures, func(g failureGroup) bool { return g.status == e.Status && g.cause == e.Cause })
	if g < 0 {
		rc.failures = append(rc.failures, failureGroup{cause: strings.Clone(e.Cause), status: e.Status, example: strings.Clone(e.Example)})
		g = len(rc.failures) - 1
	}
	rc.failures[g].count++
	rc.event(reconnectAt{atNs: e.AtNs, group: int32(g + 1)})
}

// result is the result's reconnects, with event times offset by offsetMs;
// proxy is the proxy in front, for the failures' hints.
func (rc *reconnectRecord) result(offsetMs float64, proxy *Proxy) *Reconnects {
	out := &Reconnects{
		Attempted: rc.upgraded + rc.failed,
		Upgraded:  rc.upgraded,
		Failed:    rc.failed,
		Failures:  failureList(rc.failures, proxy),
		Handshake: summarizeLazy(rc.handshake),
	}
	if len(rc.events) > 0 {
		out.Events = make([]ReconnectEvent, len(rc.events))
	}
	for i, ev := range rc.events {
		out.Events[i].AtMs = roundMs(nsToMs(ev.atNs) + offsetMs)
		if ev.group > 0 {
			g := rc.failures[ev.group-1]
			out.Events[i].Cause, out.Events[i].Status = g.cause, g.status
		}
	}
	sortReconnectEvents(out.Events)
	return out
}

func sortReconnectEvents(evs []ReconnectEvent) {
	slices.SortStableFunc(evs, func(a, b ReconnectEvent) int {
		return cmp.Or(cmp.Compare(a.AtMs, b.AtMs), strings.Compare(a.Cause, b.Cause), cmp.Compare(a.Status, b.Status))
	})
}
