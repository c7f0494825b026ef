package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/wshold/wshold/internal/event"
	"github.com/wshold/wshold/internal/identify"
	"github.com/wshold/wshold/scenario"
)

// maxTimelineSeconds bounds the timeline so that one event with a corrupt
// time cannot allocate gigabytes: a week of seconds. Later events count in
// the last second.
const maxTimelineSeconds = 7 * 24 * 3600

// initialTimelineSeconds is preallocated so that short runs never grow the
// timeline while recording (24 bytes a second).
const initialTimelineSeconds = 256

// Recorder accumulates the events of one run. It is an event.Sink, safe for
// concurrent use; recording an upgrade or a drop allocates nothing once the
// drop capacity given to NewRecorder is not exceeded and the timeline has
// grown to the run's length.
type Recorder struct {
	mu    sync.Mutex
	start time.Time
	// phase is how far into its wall-clock second the run started: the
	// timeline counts whole wall-clock seconds, so that shards that
	// started a fraction of a second apart merge second by second exactly.
	phase     int64
	handshake *hdrhistogram.Histogram
	// The handshake's phases (Phases); connect holds nothing when the
	// engine did not time them.
	connect, tls, upgrade *hdrhistogram.Histogram
	resumed               int64 // TLS handshakes that resumed a session
	upgraded              int64
	failed                int64
	failures              []failureGroup
	drops                 []dropRecord
	seconds               []secondCounts
	// clamped counts handshake latencies beyond the histogram's 1 h.
	clamped int64
	// answers counts the distinct identities of the answers, answerIdx
	// finds one by key; otherAnswers counts those beyond maxAnswerGroups.
	answers      []answerGroup
	answerIdx    map[uint64]int
	otherAnswers int64
}

// failureGroup is the running count of one (cause, status) pair; example
// is the first occurrence's text.
type failureGroup struct {
	cause   string
	status  int
	count   int64
	example string
}

// dropRecord is one drop, fixed-size (48 bytes) so a slice of them holds a
// million drops in 48 MB with no pointers for the GC to scan.
type dropRecord struct {
	atNs       int64
	ageNs      int64
	idleNs     int64
	quietNs    int64
	pongWaitNs int64
	closeCode  uint16
	kind       event.DropKind
	rule       event.Rule
	pinging    bool
}

type secondCounts struct {
	upgraded, failed, dropped int64
}

// NewRecorder returns a Recorder for a run that started at start (the
// origin of every event's AtNs). capacityHint is the number of connections
// the run will open: drops are stored in a slice of that capacity, so no
// drop allocates unless there are more drops than that.
func NewRecorder(start time.Time, capacityHint int) *Recorder {
	return &Recorder{
		start:     start,
		phase:     int64(start.Sub(start.Truncate(time.Second))),
		handshake: NewHistogram(),
		connect:   NewHistogram(),
		tls:       NewHistogram(),
		upgrade:   NewHistogram(),
		drops:     make([]dropRecord, 0, max(capacityHint, 0)),
		seconds:   make([]secondCounts, 0, initialTimelineSeconds),
	}
}

// second returns the timeline slot of an event at atNs, growing the
// timeline when the run reaches a new second. Called with r.mu held.
func (r *Recorder) second(atNs int64) *secondCounts {
	s := int((max(atNs, 0) + r.phase) / int64(time.Second))
	s = min(s, maxTimelineSeconds-1)
	if s >= len(r.seconds) {
		r.seconds = slices.Grow(r.seconds, s+1-len(r.seconds))[:s+1]
	}
	return &r.seconds[s]
}

// Upgraded records a successful handshake.
func (r *Recorder) Upgraded(e event.Upgraded) {
	r.mu.Lock()
	r.upgraded++
	r.second(e.AtNs).upgraded++
	if recordUs(r.handshake, e.LatencyNs/1000) {
		r.clamped++
	}
	if e.ConnectNs > 0 {
		recordUs(r.connect, e.ConnectNs/1000)
		recordUs(r.upgrade, e.UpgradeNs/1000)
		if e.TLSNs > 0 {
			recordUs(r.tls, e.TLSNs/1000)
		}
		if e.Resumed {
			r.resumed++
		}
	}
	r.answer(e.Answer)
	r.mu.Unlock()
}

// answer counts one answer's identity. Called with r.mu held; allocates
// only for an identity not seen before.
func (r *Recorder) answer(a *identify.Answer) {
	if a == nil {
		return
	}
	if i, ok := r.answerIdx[a.Key]; ok {
		r.answers[i].count++
		return
	}
	if len(r.answers) >= maxAnswerGroups {
		r.otherAnswers++
		return
	}
	if r.answerIdx == nil {
		r.answerIdx = map[uint64]int{}
	}
	r.answerIdx[a.Key] = len(r.answers)
	r.answers = append(r.answers, answerGroup{a: a, count: 1})
}

// Failed records a failed attempt. The first failure of a (cause, status)
// pair copies its strings; later ones only count.
func (r *Recorder) Failed(e event.Failed) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed++
	r.second(e.AtNs).failed++
	r.answer(e.Answer)
	for i := range r.failures {
		g := &r.failures[i]
		if g.status == e.Status && g.cause == e.Cause {
			g.count++
			return
		}
	}
	// Clone: the engine may build these strings over buffers it reuses.
	r.failures = append(r.failures, failureGroup{
		cause:   strings.Clone(e.Cause),
		status:  e.Status,
		count:   1,
		example: strings.Clone(e.Example),
	})
}

// Dropped records an upgraded connection that ended before the hold did.
func (r *Recorder) Dropped(e event.Dropped) {
	r.mu.Lock()
	r.second(e.AtNs).dropped++
	r.drops = append(r.drops, dropRecord{
		atNs:       e.AtNs,
		ageNs:      e.AgeNs,
		idleNs:     e.IdleNs,
		quietNs:    e.QuietNs,
		pongWaitNs: e.PongWaitNs,
		closeCode:  e.CloseCode,
		kind:       e.Kind,
		rule:       e.Rule,
		pinging:    e.Pinging,
	})
	r.mu.Unlock()
}

// Live is a snapshot for a progress line.
type Live struct {
	Attempted int64
	Upgraded  int64
	Failed    int64
	Dropped   int64
	// Alive is Upgraded - Dropped: connections open now.
	Alive int64
	// HandshakeP99Ms is the handshake latency p99 so far, in ms (0 before
	// the first upgrade).
	HandshakeP99Ms float64
}

// Live returns the counts so far. It is cheap enough to call a few times a
// second (one pass over the histogram's buckets).
func (r *Recorder) Live() Live {
	r.mu.Lock()
	defer r.mu.Unlock()
	dropped := int64(len(r.drops))
	return Live{
		Attempted:      r.upgraded + r.failed,
		Upgraded:       r.upgraded,
		Failed:         r.failed,
		Dropped:        dropped,
		Alive:          r.upgraded - dropped,
		HandshakeP99Ms: usToMs(r.handshake.ValueAtQuantile(99)),
	}
}

// Meta is what the runner knows about a run that the events do not say.
type Meta struct {
	Scenario scenario.Scenario
	// Version is the wshold version that ran (may be empty).
	Version string
	// Target is the URL actually dialled.
	Target string
	// Start is the run's start; zero means the start given to NewRecorder.
	// HoldStart and HoldEnd bound the hold (zero if never reached); End is
	// when the run ended (zero: the timeline ends at the last event).
	Start, HoldStart, HoldEnd, End time.Time
	// EndReason is "completed", "interrupted" or "error"; empty means
	// "interrupted" when Interrupted is set, else "completed".
	EndReason   string
	Interrupted bool
	// ProxyConfigs, Marks, Resources, Warnings and Redacted are copied as
	// given.
	ProxyConfigs []ProxyConfig
	Marks        []Mark
	Resources    Resources
	Warnings     []string
	Redacted     []string
}

// Result builds the run's Result from everything recorded so far. It does
// not evaluate expectations (see Evaluate): Expectations is empty and
// Verdict is "". It may be called more than once, also while events still
// arrive: it copies what it needs and builds the rest (sorting, clustering)
// without holding up the engine.
func (r *Recorder) Result(m Meta) *Result {
	return r.snapshot().result(m)
}

// snapshot copies the recorder's state so a Result can be built from it
// without the lock.
func (r *Recorder) snapshot() *Recorder {
	r.mu.Lock()
	defer r.mu.Unlock()
	return &Recorder{
		start:     r.start,
		phase:     r.phase,
		handshake: r.handshake.Clone(),
		connect:   r.connect.Clone(),
		tls:       r.tls.Clone(),
		upgrade:   r.upgrade.Clone(),
		resumed:   r.resumed,
		upgraded:  r.upgraded,
		failed:    r.failed,
		failures:  slices.Clone(r.failures),
		drops:     slices.Clone(r.drops),
		seconds:   slices.Clone(r.seconds),
		clamped:   r.clamped,
		// The groups' Answers are immutable; the counts are copied.
		answers:      slices.Clone(r.answers),
		otherAnswers: r.otherAnswers,
	}
}

// result builds the Result of a snapshot, which nothing else touches.
func (r *Recorder) result(m Meta) *Result {
	start := m.Start
	if start.IsZero() {
		start = r.start
	}
	// Event times count from the recorder's start; results count from
	// the result's Start. They are the same unless the runner says not.
	offsetMs := roundMs(float64(r.start.Sub(start)) / 1e6)

	res := &Result{
		Schema:       Schema,
		Version:      m.Version,
		Scenario:     m.Scenario,
		Target:       m.Target,
		Start:        wallUTC(start),
		HoldStart:    wallUTC(m.HoldStart),
		HoldEnd:      wallUTC(m.HoldEnd),
		End:          wallUTC(m.End),
		EndReason:    m.EndReason,
		Interrupted:  m.Interrupted,
		Shards:       1,
		ProxyConfigs: append([]ProxyConfig{}, m.ProxyConfigs...),
		Marks:        slices.Clone(m.Marks),
		Resources:    m.Resources,
		Warnings:     slices.Clone(m.Warnings),
		Redacted:     slices.Clone(m.Redacted),
		Expectations: []Expectation{},
	}
	if res.EndReason == "" {
		res.EndReason = "completed"
		if m.Interrupted {
			res.EndReason = "interrupted"
		}
	}

	dropped := int64(len(r.drops))
	res.Counts = Counts{
		Attempted: r.upgraded + r.failed,
		Upgraded:  r.upgraded,
		Failed:    r.failed,
		Held:      r.upgraded - dropped,
		Dropped:   dropped,
	}
	res.Handshake = Summarize(r.handshake)
	if r.connect.TotalCount() > 0 {
		res.Phases = &Phases{Connect: Summarize(r.connect), TLS: Summarize(r.tls), Upgrade: Summarize(r.upgrade), TLSResumed: r.resumed}
	}
	res.Answers = answerList(r.answers, r.otherAnswers)
	DeriveProxy(res)
	res.Failures = r.failureList(res.Proxy)
	clamped := r.clamped
	res.Drops, clamped = r.dropSummary(offsetMs, clamped)
	Recluster(res)
	AttributeMarks(res)
	res.Timeline = r.timeline(m.End)
	if clamped > 0 {
		res.Warnings = append(res.Warnings, fmt.Sprintf(
			"%d times beyond 1 h were counted as 1 h in the histograms", clamped))
	}
	return res
}

// wallUTC strips the monotonic reading (which JSON cannot carry, so round
// trips compare equal) and normalises the zone.
func wallUTC(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.Round(0).UTC()
}

func (r *Recorder) failureList(proxy *Proxy) []Failure {
	out := make([]Failure, 0, len(r.failures))
	for _, g := range r.failures {
		out = append(out, Failure{
			Cause:   g.cause,
			Status:  g.status,
			Count:   g.count,
			Example: g.example,
			Hint:    FailureHintFor(g.cause, g.status, g.example, proxy),
		})
	}
	SortFailures(out)
	return out
}

// SortFailures puts failures in the order a result keeps them: the most
// frequent first, then by cause and status so that equal counts render the
// same every time.
func SortFailures(f []Failure) {
	slices.SortStableFunc(f, func(a, b Failure) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.Cause, b.Cause), cmp.Compare(a.Status, b.Status))
	})
}

// ruleName is a protocol error's rule code; "unknown" when the engine did
// not say (it always does).
func ruleName(r event.Rule) string {
	if n := r.Name(); n != "" {
		return n
	}
	return "unknown"
}

// dropSummary builds Drops (without clusters): kinds, age and idle
// distributions, and the event list sorted by time. It adds to clamped
// the ages or idle times beyond the histograms' 1 h.
func (r *Recorder) dropSummary(offsetMs float64, clamped int64) (Drops, int64) {
	d := Drops{
		Count:  int64(len(r.drops)),
		ByKind: map[string]int64{},
	}
	age, idle := NewHistogram(), NewHistogram()
	if len(r.drops) > 0 {
		d.Events = make([]DropEvent, 0, len(r.drops))
	}
	// Interning the kind names keeps a million events from holding a
	// million copies of "close_1001".
	names := map[[2]uint16]string{}
	for _, dr := range r.drops {
		key := [2]uint16{uint16(dr.kind), dr.closeCode}
		name, ok := names[key]
		if !ok {
			name = dr.kind.Name(dr.closeCode)
			names[key] = name
		}
		d.ByKind[name]++
		if dr.kind == event.ProtocolError {
			if d.ProtocolErrors == nil {
				d.ProtocolErrors = map[string]int64{}
			}
			d.ProtocolErrors[ruleName(dr.rule)]++
		}
		if recordUs(age, dr.ageNs/1000) {
			clamped++
		}
		if recordUs(idle, dr.idleNs/1000) {
			clamped++
		}
		d.Events = append(d.Events, DropEvent{
			AtMs:       roundMs(nsToMs(dr.atNs) + offsetMs),
			AgeMs:      nsToMs(dr.ageNs),
			IdleMs:     nsToMs(dr.idleNs),
			Kind:       name,
			Pinging:    dr.pinging,
			QuietMs:    nsToMs(dr.quietNs),
			PongWaitMs: nsToMs(dr.pongWaitNs),
		})
	}
	slices.SortStableFunc(d.Events, func(a, b DropEvent) int {
		return cmp.Or(cmp.Compare(a.AtMs, b.AtMs), cmp.Compare(a.AgeMs, b.AgeMs))
	})
	d.Age = Summarize(age)
	d.Idle = Summarize(idle)
	return d, clamped
}

// timeline turns the per-second counters into Seconds, extended to the
// run's end so a quiet hold still shows its seconds. Second T is the T-th
// wall-clock second from the one the run started in.
func (r *Recorder) timeline(end time.Time) []Second {
	n := len(r.seconds)
	if !end.IsZero() {
		if d := end.Sub(r.start) + time.Duration(r.phase); d > 0 {
			secs := int((d + time.Second - 1) / time.Second)
			n = max(n, min(secs, maxTimelineSeconds))
		}
	}
	out := make([]Second, n)
	var alive int64
	for i := range out {
		var c secondCounts
		if i < len(r.seconds) {
			c = r.seconds[i]
		}
		alive += c.upgraded - c.dropped
		out[i] = Second{T: i, Alive: alive, Upgraded: c.upgraded, Failed: c.failed, Dropped: c.dropped}
	}
	return out
}
