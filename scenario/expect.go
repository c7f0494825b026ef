package scenario

import "time"

// ExpectKind is the form of an expectation.
type ExpectKind int

const (
	// ExpectNoDrops: "no-drops" — no connection dropped.
	ExpectNoDrops ExpectKind = iota + 1
	// ExpectNoDropBefore: "no-drop-before=DUR" — no drop at an age below Dur.
	ExpectNoDropBefore
	// ExpectDropAt: "drop-at=DUR±TOL[,share>=PCT%]" (also "DUR+-TOL") —
	// without a share: at least one drop, and every drop's age lies in
	// [Dur-Tol, Dur+Tol]; with a share: at least Share of the upgraded
	// connections dropped at an age in that window.
	ExpectDropAt
	// ExpectHandshake: "handshake-p99<DUR" (p50, p90, p99, p999, max;
	// "<=" sets Inclusive).
	ExpectHandshake
	// ExpectUpgraded: "upgraded>=PCT%" — Upgraded/Attempted >= Ratio.
	ExpectUpgraded
	// ExpectFailedStatus: "failed-status=CODE" — at least one attempt,
	// and every attempt failed with HTTP status Status.
	ExpectFailedStatus
	// ExpectRTT: "rtt-p99<DUR" (p50, p90, p99, p999, max; "<=" too) — a
	// bound on the round-trip time of echoed messages.
	ExpectRTT
	// ExpectPush: "push-p99<DUR" (as ExpectRTT) — a bound on the one-way
	// delay of messages the server pushed.
	ExpectPush
	// ExpectFanout: "fanout-p99<DUR" (as ExpectRTT) — a bound on the delay
	// from a broadcast's start to each connection's copy.
	ExpectFanout
	// ExpectMessagesLost: "messages-lost=0" — every message sent was
	// echoed.
	ExpectMessagesLost
	// ExpectRecover: "recover<DUR" ("<=" too) — after every drop cluster,
	// the connections alive were back to 99 % of the count before it
	// within Dur (needs reconnects).
	ExpectRecover
)

// Expectation is one parsed expectation; Raw keeps the text as written so
// reports quote the user.
type Expectation struct {
	Raw  string
	Kind ExpectKind
	// Dur is the bound of NoDropBefore, Recover and the latency kinds
	// (Handshake, RTT, Push, Fanout), the centre of DropAt.
	Dur time.Duration
	// Tol is DropAt's tolerance.
	Tol time.Duration
	// Share is DropAt's minimum share of upgraded connections, 0..1;
	// 0 means "all drops in the window".
	Share float64
	// Percentile is "p50", "p90", "p99", "p999" or "max" for the latency
	// kinds.
	Percentile string
	// Inclusive is true for "<=".
	Inclusive bool
	// Ratio is Upgraded's minimum success ratio, 0..1.
	Ratio float64
	// Status is FailedStatus's HTTP status code.
	Status int
}

// DefaultExpectations apply when a scenario names none: every upgrade
// succeeds and no connection drops before the hold ends.
var DefaultExpectations = []string{"upgraded>=100%", "no-drops"}
