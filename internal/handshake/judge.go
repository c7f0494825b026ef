package handshake

import (
	"fmt"
	"strconv"
	"strings"
)

// Cause codes of an answer that does not complete the handshake. They are
// stable (results and `check --json` carry them, scripts match on them),
// and check and run use the same ones for the same answer.
const (
	// CauseHTTP: the status is not 101 (Error.Status holds it).
	CauseHTTP = "http"
	// CauseBadUpgrade: a 101 whose Upgrade is not exactly "websocket", or
	// whose Connection lacks the token "upgrade".
	CauseBadUpgrade = "bad_upgrade"
	// CauseBadAccept: a 101 whose Sec-WebSocket-Accept is missing, repeated
	// or not the one the key sent requires.
	CauseBadAccept = "bad_accept"
	// CauseBadExtensions: a 101 that selects an extension the request did
	// not offer (wshold offers none), or an empty extension list.
	CauseBadExtensions = "bad_extensions"
	// CauseBadSubprotocol: a 101 that selects a subprotocol the request did
	// not offer, or more than one.
	CauseBadSubprotocol = "bad_subprotocol"
	// CauseBadResponse: the answer is not HTTP/1.x at all, or its status
	// line is malformed.
	CauseBadResponse = "bad_response"
	// CauseHeaderTooLarge: the answer's header block does not end within
	// MaxHead bytes.
	CauseHeaderTooLarge = "header_too_large"
)

// Header names as the judge reports them in Problem.Header.
const (
	HeaderUpgrade    = "Upgrade"
	HeaderConnection = "Connection"
	HeaderAccept     = "Sec-WebSocket-Accept"
	HeaderProtocol   = "Sec-WebSocket-Protocol"
	HeaderExtensions = "Sec-WebSocket-Extensions"
)

// Offer is what the request asked for: the answer is judged against it.
type Offer struct {
	// Key is the Sec-WebSocket-Key sent.
	Key string
	// Protocols are the subprotocols offered in Sec-WebSocket-Protocol.
	Protocols []string
}

// Problem is one rule an answer broke.
type Problem struct {
	// Header is the header at fault (one of the Header* names), or "" for
	// the status line or the answer as a whole.
	Header string
	// Text says what was wrong, quoting what was received.
	Text string
}

// Error is the judge's refusal of an answer: the cause, and every rule
// broken, in words. Cause is the first of bad_upgrade, bad_accept,
// bad_extensions, bad_subprotocol that applies when several do.
type Error struct {
	Cause string
	// Status is the answer's status code when it is known (CauseHTTP: the
	// non-101 status).
	Status   int
	Problems []Problem
}

func (e *Error) Error() string {
	texts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		texts[i] = p.Text
	}
	switch e.Cause {
	case CauseHTTP:
		return "HTTP status " + strconv.Itoa(e.Status) + " instead of 101"
	case CauseBadResponse, CauseHeaderTooLarge:
		return strings.Join(texts, "; ")
	}
	return "101, but not a valid WebSocket upgrade: " + strings.Join(texts, "; ")
}

// Failed reports whether the rule about header h was broken.
func (e *Error) Failed(h string) bool {
	if e == nil {
		return false
	}
	for _, p := range e.Problems {
		if p.Header == h {
			return true
		}
	}
	return false
}

// Judge decides whether resp completes the opening handshake that o
// offered: nil for a valid upgrade, else an *Error. It is the one judge of
// an answer in wshold: check and run (ws:// and wss://) all ask it, so they
// cannot disagree. The rules are RFC 6455 §4.1's, read as browsers read
// them where the RFC leaves room (checked against Chromium, and Node's ws):
//
//   - The status must be 101. Any HTTP/1.x version is accepted: Chrome and
//     Node's ws both open a WebSocket on an "HTTP/1.0 101"; HTTP/2 or later
//     in an HTTP/1 status line is not an HTTP/1.1 upgrade. The reason
//     phrase is optional.
//   - Upgrade holds exactly one token, "websocket" in any case: a list or a
//     repeated header is refused, as Chrome and ws refuse it.
//   - Connection is a token list that must hold "upgrade" in any case
//     ("keep-alive, Upgrade" upgrades).
//   - Sec-WebSocket-Accept appears exactly once with the value the key
//     requires; a missing one is reported as missing, not as a mismatch.
//   - Sec-WebSocket-Extensions may only select extensions that were
//     offered; the request offers none, so any value — permessage-deflate
//     included, and an empty one, which Chrome and ws also refuse — fails.
//   - Sec-WebSocket-Protocol, if present, appears once and names one
//     offered subprotocol, compared case-sensitively. Selecting none of
//     the offered ones is allowed (RFC 6455, Firefox), though Chrome and
//     ws refuse it: check notes that.
func Judge(resp *Response, o Offer) *Error {
	if resp.Status != 101 {
		return &Error{Cause: CauseHTTP, Status: resp.Status}
	}
	if resp.Major != 1 {
		return &Error{Cause: CauseBadResponse, Status: 101, Problems: []Problem{{Text: fmt.Sprintf(
			"the 101 says %s: a WebSocket upgrade is an HTTP/1.1 exchange", resp.Proto)}}}
	}
	// Small arrays behind the slices: a typical 101 is judged without
	// allocating for them.
	var upA, connA, acceptA, extsA, protosA [2]string
	up, conn, accept, exts, protos := upA[:0], connA[:0], acceptA[:0], extsA[:0], protosA[:0]
	for _, f := range resp.Header {
		switch {
		case strings.EqualFold(f.Name, HeaderUpgrade):
			up = append(up, f.Value)
		case strings.EqualFold(f.Name, HeaderConnection):
			conn = append(conn, f.Value)
		case strings.EqualFold(f.Name, HeaderAccept):
			accept = append(accept, f.Value)
		case strings.EqualFold(f.Name, HeaderExtensions):
			exts = append(exts, f.Value)
		case strings.EqualFold(f.Name, HeaderProtocol):
			protos = append(protos, f.Value)
		}
	}
	var e *Error
	add := func(cause, header, format string, args ...any) {
		if e == nil {
			e = &Error{Cause: cause, Status: 101}
		}
		e.Problems = append(e.Problems, Problem{Header: header, Text: fmt.Sprintf(format, args...)})
	}

	switch tokens, first := countTokens(up); {
	case len(up) == 0:
		add(CauseBadUpgrade, HeaderUpgrade, "there is no Upgrade header")
	case len(up) > 1:
		add(CauseBadUpgrade, HeaderUpgrade, "Upgrade appears %d times (%s); it must appear once, as \"websocket\"", len(up), quoteAll(up))
	case tokens != 1:
		add(CauseBadUpgrade, HeaderUpgrade, "Upgrade is %s; it must be \"websocket\" alone", quoteValue(up[0]))
	case !strings.EqualFold(first, "websocket"):
		add(CauseBadUpgrade, HeaderUpgrade, "Upgrade is %s, not \"websocket\"", quoteValue(up[0]))
	}
	switch {
	case len(conn) == 0:
		add(CauseBadUpgrade, HeaderConnection, "there is no Connection header")
	case !HasToken(conn, "upgrade"):
		add(CauseBadUpgrade, HeaderConnection, "Connection is %s, without the token \"upgrade\"", quoteAll(conn))
	}
	switch {
	case len(accept) == 0:
		add(CauseBadAccept, HeaderAccept, "there is no Sec-WebSocket-Accept header")
	case len(accept) > 1:
		add(CauseBadAccept, HeaderAccept, "Sec-WebSocket-Accept appears %d times (%s); it must appear once", len(accept), quoteAll(accept))
	default:
		if want := Accept(o.Key); accept[0] != want {
			add(CauseBadAccept, HeaderAccept, "Sec-WebSocket-Accept is %s, but the key sent requires %q", quoteValue(accept[0]), want)
		}
	}
	for _, v := range exts {
		if v == "" {
			add(CauseBadExtensions, HeaderExtensions, "Sec-WebSocket-Extensions is empty, which is not a valid extension list")
		} else {
			add(CauseBadExtensions, HeaderExtensions, "Sec-WebSocket-Extensions selects %s, but the request offered no extension", quoteValue(v))
		}
	}
	switch tokens, _ := countTokens(protos); {
	case len(protos) > 1:
		add(CauseBadSubprotocol, HeaderProtocol, "Sec-WebSocket-Protocol appears %d times (%s); a server selects at most one subprotocol", len(protos), quoteAll(protos))
	case len(protos) == 1 && tokens > 1:
		add(CauseBadSubprotocol, HeaderProtocol, "Sec-WebSocket-Protocol is %s; a server selects one subprotocol, not a list", quoteValue(protos[0]))
	case len(protos) == 1 && !contains(o.Protocols, protos[0]):
		add(CauseBadSubprotocol, HeaderProtocol, "Sec-WebSocket-Protocol selects %s, which was not offered (offered: %s)", quoteValue(protos[0]), offered(o.Protocols))
	}
	return e
}

// Subprotocol is the subprotocol a valid 101 selected ("" for none).
func Subprotocol(resp *Response) string {
	if v := resp.Values(HeaderProtocol); len(v) == 1 {
		return v[0]
	}
	return ""
}

// HasToken reports whether a comma-separated header, possibly repeated,
// holds token, ignoring case: "Connection: keep-alive, Upgrade" upgrades.
func HasToken(values []string, token string) bool {
	for _, v := range values {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// countTokens counts the non-empty tokens of comma-separated values and
// returns the first.
func countTokens(values []string) (n int, first string) {
	for _, v := range values {
		for t := range strings.SplitSeq(v, ",") {
			if t = strings.TrimSpace(t); t != "" {
				if n == 0 {
					first = t
				}
				n++
			}
		}
	}
	return n, first
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func offered(protocols []string) string {
	if len(protocols) == 0 {
		return "none"
	}
	return quoteAll(protocols)
}

// quoteValue shows a received header value: quoted (control characters
// escaped) and at most 120 bytes of it.
func quoteValue(v string) string { return quote([]byte(v), 120) }

func quoteAll(vs []string) string {
	q := make([]string, len(vs))
	for i, v := range vs {
		q[i] = quoteValue(v)
	}
	return strings.Join(q, ", ")
}
