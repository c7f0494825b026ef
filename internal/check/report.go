package check

import (
	"encoding/json"
	"io"
	"strconv"
	"strings"

	"github.com/wshold/wshold/internal/handshake"
)

// Schema identifies the JSON form of a Report (`wshold check --json`).
// Field names are stable within v1; additions are allowed.
const Schema = "wshold.check/v1"

// Cause codes. They are stable: scripts and CI match on them. A non-101
// answer is "http_<status>" (see HTTPCause); the others name an error class.
const (
	CauseOK = "ok"
	// CauseRefused: nothing listens on the address (ECONNREFUSED).
	CauseRefused = "refused"
	// CauseReset: the peer reset the connection before a complete answer.
	CauseReset = "reset"
	// CauseEOF: the peer closed the connection (FIN) before a complete answer.
	CauseEOF = "eof"
	// CauseTimeout: no complete answer within Options.Timeout.
	CauseTimeout = "timeout"
	// CauseTLS: the TLS handshake failed (certificate, protocol, not TLS).
	CauseTLS = "tls"
	// CauseDNS: the host name did not resolve.
	CauseDNS = "dns"
	// CauseUnreachable: no route to the host or network.
	CauseUnreachable = "unreachable"
	// CauseBadAccept: 101, but Sec-WebSocket-Accept is missing, repeated,
	// or does not match the key that was sent.
	CauseBadAccept = handshake.CauseBadAccept
	// CauseBadUpgrade: 101, but Upgrade is not `websocket` alone, or
	// Connection lacks the token `upgrade`.
	CauseBadUpgrade = handshake.CauseBadUpgrade
	// CauseBadExtensions: 101 selecting an extension (none is offered).
	CauseBadExtensions = handshake.CauseBadExtensions
	// CauseBadSubprotocol: 101 selecting a subprotocol that was not
	// offered, or several.
	CauseBadSubprotocol = handshake.CauseBadSubprotocol
	// CauseBadResponse: the answer is not HTTP/1.x (or its status line is
	// malformed).
	CauseBadResponse = handshake.CauseBadResponse
	// CauseHeaderTooLarge: the answer's header block did not end within
	// 64 KiB.
	CauseHeaderTooLarge = handshake.CauseHeaderTooLarge
)

// HTTPCause is the cause code of a non-101 answer, e.g. "http_400".
func HTTPCause(status int) string { return "http_" + strconv.Itoa(status) }

// Phases of the check, in order; Report.Phase names the one that failed.
const (
	PhaseDNS       = "dns"
	PhaseConnect   = "connect"
	PhaseTLS       = "tls"
	PhaseHandshake = "handshake"
)

// Report is the explained outcome of one upgrade attempt.
type Report struct {
	Schema string `json:"schema"`
	// URL is the target as given, with any password in it replaced.
	URL string `json:"url"`
	// Address is the IP:port the TCP connection went to (empty if none).
	Address string `json:"address,omitempty"`
	// TLS describes the TLS session for wss:// (nil for ws:// or when the
	// TLS handshake did not complete).
	TLS *TLSInfo `json:"tls,omitempty"`
	// Request is what was sent, with secret header values redacted. Empty
	// when the check failed before anything was sent.
	Request Request `json:"request"`
	// Response is what came back; nil when no status line arrived.
	Response *Response `json:"response,omitempty"`
	// Key is the Sec-WebSocket-Key sent; AcceptExpected the
	// Sec-WebSocket-Accept a correct server derives from it.
	Key            string `json:"key,omitempty"`
	AcceptExpected string `json:"accept_expected,omitempty"`
	// AcceptOK is true when the answer carried the expected accept value.
	AcceptOK bool `json:"accept_ok"`
	// Subprotocol is the subprotocol the server selected, if any.
	Subprotocol string `json:"subprotocol,omitempty"`
	// OK is true only for a valid upgrade: status 101, `Upgrade: websocket`,
	// `Connection: upgrade` and the right accept value.
	OK bool `json:"ok"`
	// Cause is a stable code (CauseOK, HTTPCause(400), CauseRefused, …).
	Cause string `json:"cause"`
	// Phase is where the check stopped: dns, connect, tls or handshake.
	Phase string `json:"phase"`
	// Verdict is the one-line summary a person reads first.
	Verdict string `json:"verdict"`
	// Proxy is the proxy the answer came through or from ("nginx",
	// "haproxy", "caddy", "apache", "lighttpd", "varnish", another known
	// product, or an unknown one as its header names it, in lower case;
	// empty if no proxy named itself) and
	// ProxyEvidence what gave it away (e.g. "Server: nginx/1.22.1").
	Proxy         string `json:"proxy,omitempty"`
	ProxyEvidence string `json:"proxy_evidence,omitempty"`
	// AnsweredBy says whose answer this is, as far as can be told, e.g.
	// "the backend, relayed by nginx" or "nginx itself (its own error page)".
	AnsweredBy string `json:"answered_by,omitempty"`
	// Explanation is the reasoning, one paragraph per element.
	Explanation []string `json:"explanation"`
	// Fixes are what to change, the detected proxy's first.
	Fixes []Fix `json:"fixes"`
	// Problems are the rules a 101 broke, each with the header at fault
	// (empty for the status line), as the judge found them.
	Problems []Problem `json:"problems,omitempty"`
	// Notes are remarks that do not change the verdict (e.g. TLS
	// verification disabled, no subprotocol selected).
	Notes []string `json:"notes,omitempty"`
	// Error is the underlying network or TLS error text, if any.
	Error string `json:"error,omitempty"`
	// Timings in milliseconds: TCP connect, TLS handshake, and from sending
	// the request to the end of the response headers. Zero if not reached.
	ConnectMs   float64 `json:"connect_ms"`
	TLSMs       float64 `json:"tls_ms,omitempty"`
	HandshakeMs float64 `json:"handshake_ms"`
}

// TLSInfo is the negotiated TLS session and the server's certificate.
type TLSInfo struct {
	Version    string `json:"version"`
	Cipher     string `json:"cipher"`
	ServerName string `json:"server_name"`
	// ALPN is the negotiated application protocol (usually empty).
	ALPN string `json:"alpn,omitempty"`
	// Subject, Issuer, DNSNames and NotAfter describe the leaf certificate.
	Subject  string   `json:"subject,omitempty"`
	Issuer   string   `json:"issuer,omitempty"`
	DNSNames []string `json:"dns_names,omitempty"`
	NotAfter string   `json:"not_after,omitempty"`
	// Verified is false when --insecure skipped verification.
	Verified bool `json:"verified"`
}

// Request is the upgrade request as sent.
type Request struct {
	// Line is the request line, e.g. "GET /ws HTTP/1.1".
	Line    string   `json:"line"`
	Headers []Header `json:"headers"`
}

// Response is the answer as received: header names keep their case and
// order, because that case is evidence (HAProxy lower-cases every name).
type Response struct {
	// StatusLine is the first line, verbatim.
	StatusLine string   `json:"status_line"`
	Proto      string   `json:"proto"`
	Status     int      `json:"status"`
	Reason     string   `json:"reason"`
	Headers    []Header `json:"headers"`
	// Body is an excerpt of the body (at most BodyLimit bytes, secrets
	// that were sent replaced); BodyTruncated says whether there was more.
	Body          string `json:"body_excerpt"`
	BodyTruncated bool   `json:"body_truncated,omitempty"`

	// raw holds the headers before redaction, for the diagnosis; judged
	// is the answer as the judge read it (nil for a report read back).
	raw    []Header
	judged *handshake.Response
}

// Problem is one rule of RFC 6455 §4.1 an answer broke.
type Problem struct {
	Header string `json:"header,omitempty"`
	Text   string `json:"text"`
}

// Header is one header line. Value is "[redacted]" for secret headers.
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Fix is one remedy. For names what it applies to: a specific proxy
// ("nginx", "haproxy", "caddy", "apache", "lighttpd", "varnish"), "proxy"
// (whichever is in front),
// "backend", or "client" (the URL or flags of this command).
type Fix struct {
	For string `json:"for"`
	// Title is one line saying what to do.
	Title string `json:"title"`
	// Config is a snippet to paste (configuration or a command), if any.
	Config string `json:"config,omitempty"`
}

// Get returns the first value of the named header, compared
// case-insensitively, and whether it was present.
func (r *Response) Get(name string) (string, bool) {
	if r == nil {
		return "", false
	}
	for _, h := range r.headers() {
		if strings.EqualFold(h.Name, name) {
			return h.Value, true
		}
	}
	return "", false
}

// headers are the received headers as they arrived when known (a live
// check), else as shown (a report read back from JSON).
func (r *Response) headers() []Header {
	if r.raw != nil {
		return r.raw
	}
	return r.Headers
}

// WriteJSON writes the report as indented JSON (schema wshold.check/v1).
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}
