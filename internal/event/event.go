// Package event is the vocabulary between the engine, which observes
// connections, and the report, which counts them. Events are plain values so
// that recording one allocates nothing; times are offsets from the run's
// start on the monotonic clock, in nanoseconds.
package event

import (
	"strconv"

	"github.com/wshold/wshold/internal/identify"
)

// DropKind says how an upgraded connection ended before the harness closed it.
type DropKind uint8

const (
	// CloseFrame: the server (or proxy) sent a WebSocket close frame;
	// Drop.CloseCode holds its code.
	CloseFrame DropKind = iota + 1
	// EOF: TCP FIN without a close frame (a browser would report 1006).
	// This is how nginx, HAProxy and Apache end idle tunnels.
	EOF
	// Reset: TCP RST (ECONNRESET).
	Reset
	// PongTimeout: the harness gave up waiting for a pong.
	PongTimeout
	// ProtocolError: the server sent something a client must reject;
	// Dropped.Rule says what.
	ProtocolError
	// SendBlocked: the server stopped reading; what the client had to send
	// (pongs, pings) no longer fit beside the full socket buffer.
	SendBlocked
	// CloseNotify: over wss://, a TLS close_notify alert without a close
	// frame before it (a TLS terminator closing the connection in order,
	// where a bare TCP FIN would be EOF).
	CloseNotify
	// TLSAlert: over wss://, any other TLS alert; Drop.CloseCode holds its
	// description (e.g. 80, internal_error).
	TLSAlert
)

// Rule is the rule of RFC 6455 a server broke, for a ProtocolError drop:
// a number, so recording it allocates nothing; Name is its stable code.
type Rule uint8

const (
	RuleNone Rule = iota
	// RuleMaskedFrame: a server frame with the mask bit set (§5.1).
	RuleMaskedFrame
	// RuleReservedBits: RSV1-3 set although no extension was agreed (§5.2).
	RuleReservedBits
	// RuleBadOpcode: a reserved opcode, 0x3-0x7 or 0xB-0xF (§5.2).
	RuleBadOpcode
	// RuleBadLength: a 64-bit payload length with its top bit set (§5.2).
	RuleBadLength
	// RuleFragmentedControl: a control frame without FIN (§5.5).
	RuleFragmentedControl
	// RuleControlTooLong: a control frame payload over 125 bytes (§5.5).
	RuleControlTooLong
	// RuleOrphanContinuation: a continuation frame with no fragmented
	// message begun (§5.4).
	RuleOrphanContinuation
	// RuleUnfinishedMessage: a new text or binary frame while a fragmented
	// message is still open (§5.4).
	RuleUnfinishedMessage
	// RuleCloseOneByte: a close frame whose payload is a single byte
	// (§5.5.1).
	RuleCloseOneByte
	// RuleBadCloseCode: a close code that must not be sent (§7.4), e.g.
	// 999 or 1006.
	RuleBadCloseCode
	// RuleCloseReasonUTF8: a close reason that is not UTF-8 (§5.5.1; the
	// connection is failed with 1007).
	RuleCloseReasonUTF8
	// Over wss://, rules of TLS (RFC 8446, RFC 5246), broken below the
	// WebSocket: the client answers with a fatal alert.
	// RuleTLSBadRecord: a record that does not authenticate or is
	// malformed (bad_record_mac).
	RuleTLSBadRecord
	// RuleTLSRecordOverflow: a record longer than TLS allows.
	RuleTLSRecordOverflow
	// RuleTLSUnexpected: a record or handshake message a client may not
	// receive after the handshake (unexpected_message), e.g. a
	// ChangeCipherSpec or a request for a client certificate.
	RuleTLSUnexpected
	// RuleTLSBadAlert: an alert record that is not two bytes.
	RuleTLSBadAlert
)

var ruleNames = [...]string{
	RuleNone:               "",
	RuleMaskedFrame:        "masked_frame",
	RuleReservedBits:       "reserved_bits",
	RuleBadOpcode:          "bad_opcode",
	RuleBadLength:          "bad_length",
	RuleFragmentedControl:  "fragmented_control",
	RuleControlTooLong:     "control_too_long",
	RuleOrphanContinuation: "orphan_continuation",
	RuleUnfinishedMessage:  "unfinished_message",
	RuleCloseOneByte:       "close_one_byte",
	RuleBadCloseCode:       "bad_close_code",
	RuleCloseReasonUTF8:    "close_reason_utf8",
	RuleTLSBadRecord:       "tls_bad_record",
	RuleTLSRecordOverflow:  "tls_record_overflow",
	RuleTLSUnexpected:      "tls_unexpected_message",
	RuleTLSBadAlert:        "tls_bad_alert",
}

// Name is the rule's stable code in results ("masked_frame", ...), ""
// for RuleNone.
func (r Rule) Name() string {
	if int(r) < len(ruleNames) {
		return ruleNames[r]
	}
	return "unknown"
}

// Name is the stable code used in results: "close_<code>", "eof", "reset",
// "pong_timeout", "protocol_error", "send_blocked", "tls_close_notify",
// "tls_alert_<description>".
func (k DropKind) Name(closeCode uint16) string {
	switch k {
	case CloseFrame:
		if closeCode == 0 {
			return "close_1005"
		}
		return "close_" + strconv.Itoa(int(closeCode))
	case EOF:
		return "eof"
	case Reset:
		return "reset"
	case PongTimeout:
		return "pong_timeout"
	case ProtocolError:
		return "protocol_error"
	case SendBlocked:
		return "send_blocked"
	case CloseNotify:
		return "tls_close_notify"
	case TLSAlert:
		return "tls_alert_" + strconv.Itoa(int(closeCode))
	}
	return "unknown"
}

// Upgraded is a successful handshake.
type Upgraded struct {
	// AtNs is when the 101 was received, since run start.
	AtNs int64
	// LatencyNs runs from the intended start of the attempt (its slot in
	// the rate schedule, so a stalled harness cannot hide latency) to the
	// validated 101.
	LatencyNs int64
	// ConnectNs, TLSNs and UpgradeNs split the handshake into its phases,
	// from the attempt's actual start: TCP connect, the TLS handshake (0
	// for ws://), and the upgrade request to its 101. They are timed by
	// the harness as it sees each phase end (the kernel's clock only dates
	// the 101, to the millisecond: too coarse for phases of a fraction of
	// one), so on a loaded machine they include its delays. All 0 when the
	// path did not measure them.
	ConnectNs, TLSNs, UpgradeNs int64
	// Resumed: the TLS handshake resumed an earlier session.
	Resumed bool
	// Answer is what the 101 says about who sent it (Server, Via, header
	// names and their case and order), one value shared by every answer
	// alike; nil when not captured. It is never modified and may be kept.
	Answer *identify.Answer
}

// Failed is a connection attempt that did not end in a valid upgrade.
type Failed struct {
	AtNs int64
	// Cause is a stable code: "http" (non-101 answer; Status set),
	// "refused", "timeout", "reset", "eof", "tls", "dns", "emfile",
	// "eaddrnotavail", "bad_accept", "bad_upgrade", "bad_extensions",
	// "bad_subprotocol", "bad_response", "header_too_large", ...
	Cause string
	// Status is the HTTP status for Cause "http", else 0.
	Status int
	// Example is the status line and a short body excerpt, or the error
	// text. It must not contain secrets (request headers are never copied).
	Example string
	// Answer is what a non-101 answer says about who sent it, as for
	// Upgraded; nil when there was no answer.
	Answer *identify.Answer
}

// Dropped is an upgraded connection that ended before the hold was over.
type Dropped struct {
	// AtNs is when the end was observed, since run start.
	AtNs int64
	// AgeNs is the time since that connection's upgrade.
	AgeNs int64
	// IdleNs is the time since the last frame in either direction on that
	// connection (the upgrade counts as one), which is what proxy idle
	// timers measure.
	IdleNs int64
	// QuietNs is the longest silence (no frame either way) the connection
	// lived through before the one IdleNs measures: an idle timer shorter
	// than that would have cut it then. 0 when it never carried a frame.
	QuietNs int64
	// PongWaitNs is, for PongTimeout, how long the oldest unanswered ping
	// had waited: the clock a pong timeout runs on. 0 otherwise or unknown.
	PongWaitNs int64
	Kind       DropKind
	CloseCode  uint16
	// Rule is the rule broken, for Kind ProtocolError.
	Rule Rule
	// Pinging is true when this connection was in the pinging group.
	Pinging bool
}

// Sink receives events. Implementations must be safe for concurrent use
// and must not retain pointers into the engine (an Answer is not one: it
// is immutable and may be kept).
type Sink interface {
	Upgraded(Upgraded)
	Failed(Failed)
	Dropped(Dropped)
}
