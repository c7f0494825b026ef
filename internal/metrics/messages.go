package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/wshold/wshold/internal/event"
	"github.com/wshold/wshold/report"
)

// RTTBuckets are the upper bounds of wshold_message_rtt_seconds: 0.1 ms
// doubling up to about 13 s, from loopback to a proxy on its knees.
var RTTBuckets = prometheus.ExponentialBuckets(0.0001, 2, 18)

// messageMetrics are the series of timed messages and reconnects.
type messageMetrics struct {
	sent, received, lost prometheus.Counter
	rtt                  prometheus.Histogram
	reconnects           *prometheus.CounterVec
	reconnected          prometheus.Counter // reconnects{result="upgraded"}
	reconnectFailed      prometheus.Counter // reconnects{result="failed"}
}

func newMessageMetrics() messageMetrics {
	mm := messageMetrics{
		sent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wshold_messages_sent_total",
			Help: "Timed messages the client sent to be echoed (--send-every).",
		}),
		received: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wshold_messages_received_total",
			Help: "Echoes of timed messages that came back.",
		}),
		lost: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wshold_messages_lost_total",
			Help: "Timed messages whose connection ended before their echo came back.",
		}),
		rtt: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "wshold_message_rtt_seconds",
			Help:    "Round-trip time of timed messages, send to echo, on the client's clock.",
			Buckets: RTTBuckets,
		}),
		reconnects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wshold_reconnects_total",
			Help: "Attempts to reopen dropped connections (--reconnect), by result: upgraded or failed.",
		}, []string{"result"}),
	}
	mm.reconnected = mm.reconnects.WithLabelValues("upgraded")
	mm.reconnectFailed = mm.reconnects.WithLabelValues("failed")
	return mm
}

func (mm *messageMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{mm.sent, mm.received, mm.lost, mm.rtt, mm.reconnects}
}

func (t *tee) Message(e event.Message) {
	mm := &t.m.msg
	switch e.Kind {
	case event.Sent:
		mm.sent.Inc()
	case event.Echoed:
		mm.received.Inc()
		mm.rtt.Observe(float64(e.DelayNs) / 1e9)
	case event.Lost:
		mm.lost.Add(float64(e.N))
	}
	t.next.Message(e)
}

// mirrorMessages is Mirror.Update's part for messages and reconnects.
type mirrorMessages struct {
	sent, received, lost, reconnected, reconnectFailed int64
	rtt                                                []int64
}

func (mr *Mirror) updateMessages(res *report.Result) {
	mm, last := &mr.m.msg, &mr.msg
	if m := res.Messages; m != nil {
		addUp(&last.sent, m.Sent, mm.sent.Add)
		addUp(&last.received, m.Received, mm.received.Add)
		addUp(&last.lost, m.Lost, mm.lost.Add)
		if h, err := report.DecodeHistogram(m.RTT.Histogram); err == nil {
			observeNew(h, &last.rtt, mm.rtt)
		}
	}
	if rc := res.Reconnects; rc != nil {
		addUp(&last.reconnected, rc.Upgraded, mm.reconnected.Add)
		addUp(&last.reconnectFailed, rc.Failed, mm.reconnectFailed.Add)
	}
}
