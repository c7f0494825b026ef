package report

import (
	"fmt"
	"time"

	"github.com/wshold/wshold/scenario"
)

// Schema identifies the result format. Field names are stable within v1;
// additions are allowed, renames and removals need v2.
const Schema = "wshold.result/v1"

// Result is everything one run (or a merge of shard runs) observed. It is
// written as JSON with -o and is the only input of every renderer, of
// compare and of merge.
type Result struct {
	Schema   string            `json:"schema"`
	Version  string            `json:"wshold_version"`
	Scenario scenario.Scenario `json:"scenario"`
	// Target is the URL actually dialled (the built-in target's address
	// when Scenario.Target is empty).
	Target string `json:"target"`
	// Start and End are wall-clock; HoldStart is when the last connection
	// attempt finished and the hold began, HoldEnd when it ended (its
	// duration, or an interrupt) and closing began; both zero if the hold
	// was never reached.
	Start     time.Time `json:"start"`
	HoldStart time.Time `json:"hold_start,omitzero"`
	HoldEnd   time.Time `json:"hold_end,omitzero"`
	End       time.Time `json:"end"`
	// EndReason is "completed", "interrupted" or "error".
	EndReason   string `json:"end_reason"`
	Interrupted bool   `json:"interrupted"`
	// Shards is how many runs this result combines (1 for a plain run).
	Shards int `json:"shards"`
	// Shard is the share this run took with --shard, "I/N" (shard I of N,
	// counted from 0); empty for a whole run.
	Shard string `json:"shard,omitempty"`
	// RunID names the run: every shard of one run carries the same (given
	// with --run-id, derived from --start-at, or handed to its workers by
	// --procs); a whole run gets its own at random. merge refuses results
	// of different runs, and whole runs side by side. Empty in results of
	// older wsholds.
	RunID        string        `json:"run_id,omitempty"`
	ProxyConfigs []ProxyConfig `json:"proxy_configs"`
	// Proxy is the proxy in front as far as the run can tell (nil when
	// nothing names one); Answers the distinct identities of the answers
	// it got, most frequent first. See DeriveProxy.
	Proxy *Proxy `json:"proxy,omitempty"`
	// ProxyClues are what the answers' form says about what is in front
	// without naming it ("every header name is lower-case: HAProxy …,
	// Node's http-proxy … — not enough to name one (50 of 50 answers)").
	ProxyClues []string `json:"proxy_clues,omitempty"`
	Answers    []Answer `json:"answers,omitempty"`
	Counts     Counts   `json:"counts"`
	Handshake  Latency  `json:"handshake"`
	// Phases splits the handshakes into TCP connect, TLS and upgrade;
	// absent in results written before it existed.
	Phases   *Phases   `json:"handshake_phases,omitempty"`
	Failures []Failure `json:"failures"`
	Drops    Drops     `json:"drops"`
	// Messages, Push and Reconnects are there when the run sent timed
	// messages, got pushes from the server, or reconnected.
	Messages   *Messages   `json:"messages,omitempty"`
	Push       *Push       `json:"push,omitempty"`
	Reconnects *Reconnects `json:"reconnects,omitempty"`
	Timeline   []Second    `json:"timeline"`
	// Marks are moments the run annotated (e.g. an --at command).
	Marks        []Mark        `json:"marks,omitempty"`
	Expectations []Expectation `json:"expectations"`
	// Verdict is "pass" when every expectation held, else "fail".
	Verdict   string    `json:"verdict"`
	Resources Resources `json:"resources"`
	// Warnings are things the reader must know to trust the numbers
	// (e.g. TLS verification disabled, rate not reached).
	Warnings []string `json:"warnings,omitempty"`
	// Redacted lists the secrets whose values this result shows as
	// "[redacted]": "header Authorization", "URL password", "query
	// parameter token", … (names kept, values never written).
	Redacted []string `json:"redacted,omitempty"`
}

// ProxyConfig fingerprints a proxy configuration file given with
// --proxy-config, so a result says exactly which config produced it.
type ProxyConfig struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
	// Product is the kind of configuration it is ("nginx", "haproxy",
	// "caddy", "apache", "lighttpd", "varnish"), "" when not recognised;
	// Timeouts the timeouts it sets that can end a WebSocket.
	Product  string              `json:"product,omitempty"`
	Timeouts []ConfiguredTimeout `json:"timeouts,omitempty"`
}

// Counts obey two invariants: Attempted = Upgraded + Failed and
// Upgraded + Reconnects.Upgraded = Held + Dropped (+ connections still
// being closed when the run was cut short, which count as held). Attempted,
// Upgraded and Failed count the first wave; reconnects are apart.
type Counts struct {
	Attempted int64 `json:"attempted"`
	Upgraded  int64 `json:"upgraded"`
	Failed    int64 `json:"failed"`
	// Held is how many were alive when the hold ended.
	Held    int64 `json:"held"`
	Dropped int64 `json:"dropped"`
}

// Latency summarises a latency distribution in milliseconds. Histogram is
// the HDR histogram (microseconds, 1 µs .. 1 h, 3 significant figures),
// base64 of hdrhistogram-go's Encode, so merges are exact.
type Latency struct {
	Count     int64   `json:"count"`
	MinMs     float64 `json:"min_ms"`
	MeanMs    float64 `json:"mean_ms"`
	P50Ms     float64 `json:"p50_ms"`
	P90Ms     float64 `json:"p90_ms"`
	P99Ms     float64 `json:"p99_ms"`
	P999Ms    float64 `json:"p999_ms"`
	MaxMs     float64 `json:"max_ms"`
	Histogram string  `json:"histogram"`
}

// Phases are the handshake's parts, each its own distribution: TCP connect
// (from the attempt's start, not its slot in the schedule), the TLS
// handshake (wss:// only; empty for ws://), and the upgrade request to its
// 101. They are timed by the harness as it sees each part end, so on a
// loaded machine they include its own delays; Handshake is dated by the
// kernel.
type Phases struct {
	Connect Latency `json:"connect"`
	TLS     Latency `json:"tls,omitzero"`
	Upgrade Latency `json:"upgrade"`
	// TLSResumed counts the TLS handshakes that resumed a session
	// (--tls-resume).
	TLSResumed int64 `json:"tls_resumed,omitempty"`
}

// Failure groups failed attempts by cause (and status for "http").
type Failure struct {
	Cause   string `json:"cause"`
	Status  int    `json:"status"`
	Count   int64  `json:"count"`
	Example string `json:"example"`
	// Hint says what the cause usually means and the fix.
	Hint string `json:"hint,omitempty"`
}

// Drops describes connections that ended before the hold was over.
type Drops struct {
	Count int64 `json:"count"`
	// ByKind counts drops per kind code: "eof", "reset", "close_1001",
	// "pong_timeout", "protocol_error".
	ByKind map[string]int64 `json:"by_kind"`
	// ProtocolErrors counts the "protocol_error" drops by the rule of RFC
	// 6455 the server broke: "masked_frame", "reserved_bits",
	// "bad_opcode", "bad_length", "fragmented_control",
	// "control_too_long", "orphan_continuation", "unfinished_message",
	// "close_one_byte", "bad_close_code", "close_reason_utf8". Absent
	// when there were none.
	ProtocolErrors map[string]int64 `json:"protocol_errors,omitempty"`
	// Age is the distribution of time since upgrade at the drop.
	Age Latency `json:"age"`
	// Idle is the distribution of time since the last frame at the drop.
	Idle     Latency   `json:"idle"`
	Clusters []Cluster `json:"clusters"`
	// Events lists every drop so merge can recompute clusters exactly.
	Events []DropEvent `json:"events,omitempty"`
}

// DropEvent is one drop. Times in milliseconds: AtMs since the run's Start
// (wall-clock aligned when merged), AgeMs since the connection's upgrade,
// IdleMs since its last frame.
type DropEvent struct {
	AtMs    float64 `json:"at_ms"`
	AgeMs   float64 `json:"age_ms"`
	IdleMs  float64 `json:"idle_ms"`
	Kind    string  `json:"kind"`
	Pinging bool    `json:"pinging,omitempty"`
	// QuietMs is the longest silence the connection lived through before
	// the one IdleMs measures (0: none, or not recorded).
	QuietMs float64 `json:"quiet_ms,omitempty"`
	// PongWaitMs is, for a pong_timeout, how long its ping had waited.
	PongWaitMs float64 `json:"pong_wait_ms,omitempty"`
}

// Cluster is a group of drops close together on one clock.
type Cluster struct {
	// Clock is what the drops cluster on: "age" (since upgrade), "idle"
	// (since the last frame in either direction), "wall" (the same moment
	// of the run) or, for pong timeouts, "pong" (since the ping whose
	// pong did not come).
	Clock string `json:"clock"`
	// AtMs is the cluster's value on Clock: the drops' median, or, for a
	// timer that cut in sweeps (ToMs set), the lower edge of their values,
	// which is the timer's: it cut every connection past it at each sweep.
	AtMs float64 `json:"at_ms"`
	// ToMs is, for a timer that cut in sweeps, the upper edge: its drops
	// lie between AtMs and ToMs, as far apart as its sweeps.
	ToMs float64 `json:"to_ms,omitempty"`
	// Sweeps is, for a timer that cut in sweeps, how many batches it cut
	// in (1: one sweep the control group or the proxy in front told from
	// an event), and SparedMs the most idle (or old) a connection that a
	// sweep spared had been: the timer lies between SparedMs and AtMs.
	Sweeps   int     `json:"sweeps,omitempty"`
	SparedMs float64 `json:"spared_ms,omitempty"`
	// SpreadMs is the width of the middle 90 % of the drops on Clock
	// (p5 to p95; max to min under 20 drops); reports show ± half of it.
	SpreadMs float64 `json:"spread_ms"`
	Count    int64   `json:"count"`
	// Kind is the dominant drop kind in the cluster.
	Kind string `json:"kind"`
	// Cause is the attribution: "idle_timeout", "max_lifetime", "event",
	// or "" when it cannot be told.
	Cause string `json:"cause,omitempty"`
	// Alternative is a second explanation about as strong as Cause
	// (same codes), "" when none is; AlternativeAtMs is its value when it
	// is on another clock (an event at 6.0 s into the run, or an idle
	// timeout of 5.98 s).
	Alternative     string  `json:"alternative,omitempty"`
	AlternativeAtMs float64 `json:"alternative_at_ms,omitempty"`
	// Evidence is why: one short statement each about the clocks (their
	// spreads as ratios), the wire kind, the traffic, the control group,
	// the timer's period.
	Evidence []string `json:"evidence,omitempty"`
	// PeriodMs is, for a timer that fired in batches at a fixed period
	// (lighttpd checks once a second), that period.
	PeriodMs float64 `json:"period_ms,omitempty"`
	// Matches names the known defaults and configured timeouts whose value,
	// clock and wire kind agree with the cluster, best first (the proxy in
	// front's first), e.g. "nginx proxy_read_timeout default (60 s)".
	Matches []string `json:"matches,omitempty"`
	// Possible names the defaults that agree with it too, but whose
	// product the answers do not show: one that would not name itself
	// (an AWS ALB, a piping Varnish, Apache), or one hidden behind the
	// proxy in front. Never the headline: "if on the path".
	Possible []string `json:"possible,omitempty"`
	// Hint explains it: the matches with their fixes, or that none
	// matches, and what the kind and the alternative mean.
	Hint string `json:"hint,omitempty"`
	// Recovery is how the connections came back after this cluster's
	// drops, when the run reconnected (recover.go).
	Recovery *Recovery `json:"recovery,omitempty"`
}

// span is where a cluster's drops lie on its clock: from AtMs to ToMs for
// a timer that cut in sweeps, else AtMs ± half the spread.
func (c Cluster) span() (lo, hi float64) {
	if c.ToMs > 0 {
		return c.AtMs, c.ToMs
	}
	return c.AtMs - c.SpreadMs/2, c.AtMs + c.SpreadMs/2
}

// Second is one second of the run's timeline: T counts whole wall-clock
// seconds from the one the run started in (so second 0 is the part of it
// after Start), which makes the timelines of shards that started a
// fraction of a second apart line up exactly. Upgraded, Failed and Dropped
// count events within that second; Alive is the number open at its end.
type Second struct {
	T        int   `json:"t"`
	Alive    int64 `json:"alive"`
	Upgraded int64 `json:"upgraded"`
	Failed   int64 `json:"failed"`
	Dropped  int64 `json:"dropped"`
	// Reconnected and ReconnectFailed count reconnect attempts that
	// upgraded or failed in that second; Alive includes the former.
	Reconnected     int64 `json:"reconnected,omitempty"`
	ReconnectFailed int64 `json:"reconnect_failed,omitempty"`
}

// Mark is a labelled moment of the run, in ms since Start.
type Mark struct {
	AtMs  float64 `json:"at_ms"`
	Label string  `json:"label"`
}

// Expectation is one evaluated expectation.
type Expectation struct {
	// Want is the expectation as written (e.g. "drop-at=60s±2s").
	Want string `json:"want"`
	// Got is what was observed, in the expectation's terms.
	Got  string `json:"got"`
	Pass bool   `json:"pass"`
}

// Resources is the harness's own cost, so a reader can tell the harness was
// not the bottleneck.
type Resources struct {
	PeakRSSBytes int64   `json:"peak_rss_bytes"`
	CPUSeconds   float64 `json:"cpu_seconds"`
	// RSSPerConnBytes is RSS growth from before the first connection to
	// the start of the hold, divided by the connections alive then. Absent
	// when not measured: the hold never started (an interrupted ramp, a
	// checkpoint before the hold), no connection was up, or RSS did not
	// grow. Never a measured zero.
	RSSPerConnBytes float64 `json:"rss_per_conn_bytes,omitzero"`
	// HoldStartRSSBytes is RSS at the hold's start (after a GC), and
	// HoldEndRSSBytes at its end (after a GC, before closing; in a
	// checkpoint, at the checkpoint): whether the harness itself grew
	// while holding, over a long soak. Summed over processes; absent when
	// not measured.
	HoldStartRSSBytes int64 `json:"hold_start_rss_bytes,omitzero"`
	HoldEndRSSBytes   int64 `json:"hold_end_rss_bytes,omitzero"`
	// HoldCPUSeconds is the part of CPUSeconds spent during the hold
	// (from its start to its planned end, or the run's end if sooner):
	// what holding idle connections costs. 0 if the hold never began.
	HoldCPUSeconds float64         `json:"hold_cpu_seconds,omitempty"`
	Procs          []ProcResources `json:"procs,omitempty"`
}

// ProcResources is one worker process's share of Resources.
type ProcResources struct {
	PID int `json:"pid"`
	// Shard is the process's --shard ("I/N"), when it ran as one.
	Shard             string  `json:"shard,omitempty"`
	PeakRSSBytes      int64   `json:"peak_rss_bytes"`
	CPUSeconds        float64 `json:"cpu_seconds"`
	RSSPerConnBytes   float64 `json:"rss_per_conn_bytes,omitzero"`
	HoldStartRSSBytes int64   `json:"hold_start_rss_bytes,omitzero"`
	HoldEndRSSBytes   int64   `json:"hold_end_rss_bytes,omitzero"`
	HoldCPUSeconds    float64 `json:"hold_cpu_seconds,omitempty"`
	Held              int64   `json:"held"`
}

// Label names a process's row in the reports: its shard and PID when it ran
// as a shard (pods of one Job are all PID 1), else its PID.
func (p ProcResources) Label() string {
	if p.Shard != "" {
		return fmt.Sprintf("shard %s (pid %d)", p.Shard, p.PID)
	}
	return fmt.Sprintf("pid %d", p.PID)
}
