package metrics

import (
	"strconv"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/wshold/wshold/internal/event"
)

// Phases are the values SetPhase knows in advance; each is exported as
// wshold_phase{phase="…"} with value 1 for the current phase and 0 for the
// others, so a dashboard can draw the phases as bands.
var Phases = []string{"starting", "ramping", "holding", "closing", "done"}

// commonCloseCodes get their counters up front so that a drop with one of
// them allocates nothing; any other code gets its counter on first use.
var commonCloseCodes = []uint16{0, 1000, 1001, 1002, 1003, 1005, 1006, 1008, 1009, 1011, 1012, 1013, 1014}

// Metrics is one run's (or one shard's) Prometheus metrics, in a registry of
// its own: nothing global is touched, so tests and several runs in one
// process do not collide.
type Metrics struct {
	reg *prometheus.Registry

	attempted prometheus.Counter
	upgraded  prometheus.Counter
	alive     prometheus.Gauge
	handshake prometheus.Histogram
	failed    *prometheus.CounterVec
	dropped   *prometheus.CounterVec
	phase     *prometheus.GaugeVec

	// droppedKind is indexed by event.DropKind; the CloseFrame entry is
	// unused (close frames are counted by code in droppedClose).
	droppedKind [8]prometheus.Counter

	mu           sync.Mutex
	droppedClose map[uint16]prometheus.Counter
	failedBy     map[failKey]prometheus.Counter
	phaseNow     string
}

type failKey struct {
	cause  string
	status int
}

// HandshakeBuckets are the upper bounds of wshold_handshake_seconds: 0.5 ms
// doubling up to about 33 s, which covers loopback (sub-millisecond) to a
// saturated proxy near the default 10 s handshake timeout.
var HandshakeBuckets = prometheus.ExponentialBuckets(0.0005, 2, 17)

// New returns metrics with every series of known label values created, at
// zero, so that a scrape before the first event already shows them. The
// registry also carries the process's own metrics (open fds, RSS, CPU) and
// the Go runtime's, prefixed wshold_ like the rest.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		attempted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wshold_connections_attempted_total",
			Help: "Connection attempts that ended, upgraded or failed.",
		}),
		upgraded: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "wshold_connections_upgraded_total",
			Help: "Connections that completed the WebSocket upgrade (valid 101).",
		}),
		alive: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "wshold_connections_alive",
			Help: "Upgraded connections open now (upgraded minus dropped, or as last set by the runner).",
		}),
		handshake: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "wshold_handshake_seconds",
			Help:    "Handshake latency from the attempt's slot in the rate schedule to the validated 101.",
			Buckets: HandshakeBuckets,
		}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wshold_connections_failed_total",
			Help: "Connection attempts that did not upgrade, by cause (http, refused, timeout, ...) and HTTP status (0 unless cause is http).",
		}, []string{"cause", "status"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "wshold_connections_dropped_total",
			Help: "Upgraded connections that ended before the hold was over, by kind (close_<code>, eof, reset, pong_timeout, protocol_error).",
		}, []string{"kind"}),
		phase: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "wshold_phase",
			Help: "1 for the run's current phase, 0 for the others.",
		}, []string{"phase"}),
		droppedClose: make(map[uint16]prometheus.Counter, len(commonCloseCodes)),
		failedBy:     make(map[failKey]prometheus.Counter),
	}
	m.reg.MustRegister(m.attempted, m.upgraded, m.alive, m.handshake, m.failed, m.dropped, m.phase)
	prefixed := prometheus.WrapRegistererWithPrefix("wshold_", m.reg)
	prefixed.MustRegister(
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewGoCollector(),
	)

	for _, k := range []event.DropKind{event.EOF, event.Reset, event.PongTimeout, event.ProtocolError, event.SendBlocked, event.CloseNotify} {
		m.droppedKind[k] = m.dropped.WithLabelValues(k.Name(0))
	}
	for _, code := range commonCloseCodes {
		m.droppedClose[code] = m.dropped.WithLabelValues(closeName(code))
	}
	for _, p := range Phases {
		m.phase.WithLabelValues(p)
	}
	m.SetPhase("starting")
	return m
}

// Registry is where the metrics live, for a caller that serves them on its
// own mux or gathers them in a test.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// SetPhase marks phase as the current one (wshold_phase{phase} = 1) and the
// previous one as over. A phase not in Phases gets its series on first use.
func (m *Metrics) SetPhase(phase string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if phase == m.phaseNow {
		return
	}
	if m.phaseNow != "" {
		m.phase.WithLabelValues(m.phaseNow).Set(0)
	}
	m.phase.WithLabelValues(phase).Set(1)
	m.phaseNow = phase
}

// SetAlive overrides wshold_connections_alive, which the sink otherwise
// keeps as upgraded minus dropped: the runner sets it to 0 once it has
// closed the held connections itself (those closes are not drops).
func (m *Metrics) SetAlive(n int64) { m.alive.Set(float64(n)) }

func closeName(code uint16) string {
	if code == 0 {
		return "close_1005"
	}
	return "close_" + strconv.Itoa(int(code))
}
