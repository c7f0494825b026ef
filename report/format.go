package report

import (
	"fmt"
	"strconv"
	"strings"
)

// Text forms of numbers and codes shared by the renderers, so that a
// result reads the same in every format.

// kindText spells out a drop kind code for readers who do not know the
// codes: "eof" is "FIN, no close frame".
func kindText(kind string) string {
	switch kind {
	case "eof":
		return "FIN, no close frame"
	case "reset":
		return "RST"
	case "pong_timeout":
		return "no pong in time"
	case "protocol_error":
		return "protocol error"
	case "send_blocked":
		return "server stopped reading"
	case "tls_close_notify":
		return "TLS close_notify, no close frame"
	}
	if code, ok := strings.CutPrefix(kind, "tls_alert_"); ok {
		return "TLS alert " + code
	}
	if code, ok := strings.CutPrefix(kind, "close_"); ok {
		return "close frame " + code
	}
	return kind
}

// ruleText spells out the RFC 6455 rule a protocol error broke.
func ruleText(rule string) string {
	switch rule {
	case "masked_frame":
		return "masked server frame"
	case "reserved_bits":
		return "RSV bits set without an extension"
	case "bad_opcode":
		return "reserved opcode"
	case "bad_length":
		return "64-bit length with its top bit set"
	case "fragmented_control":
		return "fragmented control frame"
	case "control_too_long":
		return "control frame over 125 bytes"
	case "orphan_continuation":
		return "continuation frame with no message begun"
	case "unfinished_message":
		return "new message inside a fragmented one"
	case "close_one_byte":
		return "1-byte close payload"
	case "bad_close_code":
		return "close code that must not be sent"
	case "close_reason_utf8":
		return "close reason not UTF-8"
	case "tls_bad_record":
		return "TLS record that does not authenticate"
	case "tls_record_overflow":
		return "TLS record too long"
	case "tls_unexpected_message":
		return "TLS message a client may not receive"
	case "tls_bad_alert":
		return "malformed TLS alert"
	}
	return rule
}

// rulesText lists the rules protocol errors broke, the most frequent
// first: "masked server frame", or "masked server frame ×3, reserved
// opcode ×1".
func rulesText(rules map[string]int64) string {
	if len(rules) == 1 {
		for r := range rules {
			return ruleText(r)
		}
	}
	parts := make([]string, 0, len(rules))
	for _, r := range sortedKinds(rules) {
		parts = append(parts, fmt.Sprintf("%s ×%d", ruleText(r), rules[r]))
	}
	return strings.Join(parts, ", ")
}

// kindTextIn is kindText with what the result knows besides the code: a
// protocol error names the rules broken.
func kindTextIn(res *Result, kind string) string {
	if kind == "protocol_error" && len(res.Drops.ProtocolErrors) > 0 {
		return "protocol error: " + rulesText(res.Drops.ProtocolErrors)
	}
	return kindText(kind)
}

// causeText is a cluster's attribution in words.
// spreadText is a cluster's width as reports show it: ± half its spread
// around its value, or, for a timer that cut in sweeps (whose value is the
// lower edge of its drops), how far up they reach: "to 4.9 s".
func spreadText(c Cluster) string {
	if c.ToMs > 0 {
		return "to " + secText(c.ToMs)
	}
	return "±" + pmText(c.SpreadMs/2)
}

func causeText(cause string) string {
	switch cause {
	case "idle_timeout":
		return "idle timeout"
	case "max_lifetime":
		return "maximum lifetime"
	case "event":
		return "an event (reload, restart, backend death?)"
	}
	return ""
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// msText formats milliseconds for people: "850 ms", "12.5 ms", "3.00 s".
func msText(ms float64) string {
	a := max(ms, -ms)
	switch {
	case a >= 1000:
		return strconv.FormatFloat(ms/1000, 'f', 2, 64) + " s"
	case a >= 100:
		return strconv.FormatFloat(ms, 'f', 0, 64) + " ms"
	case a >= 10:
		return strconv.FormatFloat(ms, 'f', 1, 64) + " ms"
	case a == 0:
		return "0 ms"
	}
	return strconv.FormatFloat(ms, 'f', 2, 64) + " ms"
}

// secText is the coarser form for times on the seconds scale, "3.0 s",
// falling back to msText below a second.
func secText(ms float64) string {
	if max(ms, -ms) < 1000 {
		return msText(ms)
	}
	return strconv.FormatFloat(ms/1000, 'f', 1, 64) + " s"
}

func secondsCPU(s float64) string { return strconv.FormatFloat(s, 'f', 2, 64) + " s" }

func bytesText(b int64) string {
	const kib, mib = 1 << 10, 1 << 20
	switch {
	case b >= mib:
		return strconv.FormatFloat(float64(b)/mib, 'f', 1, 64) + " MiB"
	case b >= kib:
		return strconv.FormatFloat(float64(b)/kib, 'f', 1, 64) + " KiB"
	}
	return strconv.FormatInt(b, 10) + " B"
}

// pmText formats a tolerance or spread after "±": whole milliseconds read
// best there ("±12 ms"); below 1 ms one decimal, above 1 s seconds.
func pmText(ms float64) string {
	a := max(ms, -ms)
	switch {
	case a >= 1000:
		return msText(ms)
	case a >= 1:
		return strconv.FormatFloat(ms, 'f', 0, 64) + " ms"
	}
	return strconv.FormatFloat(ms, 'f', 1, 64) + " ms"
}
