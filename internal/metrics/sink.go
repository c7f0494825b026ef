package metrics

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/wshold/wshold/internal/event"
)

// Sink returns an event.Sink that counts each event and then hands it to
// next (nil: count only). It is safe for concurrent use, like every Sink.
//
// Upgraded, and Dropped of a known kind or a common close code, allocate
// nothing; a new failure cause or an unusual close code allocates its
// series once.
func (m *Metrics) Sink(next event.Sink) event.Sink {
	if next == nil {
		next = discard{}
	}
	return &tee{m: m, next: next}
}

// discard is the next sink when there is none.
type discard struct{}

func (discard) Upgraded(event.Upgraded) {}
func (discard) Failed(event.Failed)     {}
func (discard) Dropped(event.Dropped)   {}
func (discard) Message(event.Message)   {}

type tee struct {
	m    *Metrics
	next event.Sink
}

func (t *tee) Upgraded(e event.Upgraded) {
	m := t.m
	if e.Reconnect {
		m.msg.reconnected.Inc()
		m.alive.Inc()
		t.next.Upgraded(e)
		return
	}
	m.attempted.Inc()
	m.upgraded.Inc()
	m.alive.Inc()
	m.handshake.Observe(float64(e.LatencyNs) / 1e9)
	t.next.Upgraded(e)
}

func (t *tee) Failed(e event.Failed) {
	m := t.m
	if e.Reconnect {
		m.msg.reconnectFailed.Inc()
		t.next.Failed(e)
		return
	}
	m.attempted.Inc()
	m.failedCounter(e.Cause, e.Status).Inc()
	t.next.Failed(e)
}

func (t *tee) Dropped(e event.Dropped) {
	m := t.m
	m.alive.Dec()
	m.droppedCounter(e.Kind, e.CloseCode).Inc()
	t.next.Dropped(e)
}

func (m *Metrics) failedCounter(cause string, status int) prometheus.Counter {
	k := failKey{cause, status}
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.failedBy[k]
	if !ok {
		c = m.failed.WithLabelValues(cause, strconv.Itoa(status))
		m.failedBy[k] = c
	}
	return c
}

func (m *Metrics) droppedCounter(kind event.DropKind, code uint16) prometheus.Counter {
	if kind != event.CloseFrame {
		if int(kind) < len(m.droppedKind) && m.droppedKind[kind] != nil {
			return m.droppedKind[kind]
		}
		return m.dropped.WithLabelValues(kind.Name(code))
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.droppedClose[code]
	if !ok {
		c = m.dropped.WithLabelValues(closeName(code))
		m.droppedClose[code] = c
	}
	return c
}
