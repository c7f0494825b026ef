package report

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/wshold/wshold/internal/identify"
)

// upgradeFixes are the one-line fixes for a proxy that does not forward
// the upgrade, in the order they are offered when nothing names the proxy
// in front (nginx first: the seed's broken config).
var upgradeFixes = []struct{ product, fix string }{
	{identify.ProxyNginx, `for nginx add proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade; ` +
		`proxy_set_header Connection "upgrade";`},
	{identify.ProxyApache, "for Apache: ProxyPass … upgrade=websocket"},
	{identify.ProxyLighttpd, `for lighttpd add proxy.header = ("upgrade" => "enable") where it proxies`},
	{identify.ProxyVarnish, `for Varnish return (pipe) in vcl_recv when req.http.upgrade ~ "(?i)websocket", ` +
		`and in vcl_pipe set bereq.http.upgrade = req.http.upgrade; set bereq.http.connection = req.http.connection;`},
	{identify.ProxyHAProxy, "for HAProxy check that no http-request rule deletes Upgrade or Connection"},
	{identify.ProxyCaddy, "for Caddy check that no header_up removes Upgrade or Connection"},
	{identify.ProxyH2O, "for h2o set proxy.websocket: ON beside proxy.reverse.url (off by default)"},
	{identify.ProxyNghttpx, "for nghttpx make the backend that serves this path HTTP/1.1 (no proto=h2), and let no mruby script remove Upgrade or Connection"},
	{identify.ProxyATS, "for ATS add a ws:// remap rule (map ws://HOST/ ws://BACKEND/): an http:// rule does not take an upgrade"},
}

// refusedUpgradeHint explains a 400 or 426 to an upgrade: the proxy in
// front's fix first, when one is named; every known fix otherwise.
func refusedUpgradeHint(proxy *Proxy) string {
	h := "the backend saw a plain GET: the proxy stripped Upgrade/Connection or spoke HTTP/1.0 to it; "
	if proxy != nil {
		inFront := " (" + proxy.Title() + " is in front: " + strings.Join(proxy.Evidence, "; ") + ")"
		for _, f := range upgradeFixes {
			if f.product == proxy.Name {
				return h + f.fix + inFront
			}
		}
		// A product with no recipe gets what every proxy must do, and no
		// other product's recipe.
		return h + "wshold has no recipe for " + proxy.Title() + ": make it speak HTTP/1.1 to the backend and forward " +
			"the Upgrade and Connection headers, then relay the 101; look for its WebSocket or upgrade switch" + inFront
	}
	fixes := make([]string, 0, 3)
	for _, f := range upgradeFixes[:4] {
		fixes = append(fixes, f.fix)
	}
	return h + strings.Join(fixes, " — ")
}

// FailureHint says what a failed upgrade usually means and how to fix it.
// cause is the failure's stable code ("http", "refused", ...), status the
// HTTP status for "http", example as in Failure.Example ("HTTP/1.1 400 Bad
// Request; Server: …; body: …", or ""): for a 400 or 426 whose body gives a
// reason other than the upgrade headers (see ClassifyRefusal), the hint
// names that reason instead of blaming the proxy. It returns "" for causes
// it knows nothing about.
func FailureHint(cause string, status int, example string) string {
	return FailureHintFor(cause, status, example, nil)
}

// FailureHintFor is FailureHint knowing the proxy in front (nil when
// nothing names one): a refused upgrade gets that proxy's fix first.
func FailureHintFor(cause string, status int, example string, proxy *Proxy) string {
	if reason, ok := refusedFor(cause, status, example); ok {
		return fmt.Sprintf("the server refused the upgrade for the reason its body gives (%q), "+
			"not for missing Upgrade/Connection headers: change the request (URL, query, -H) or the backend; "+
			"to rule out the proxy, try the backend directly with wshold check", clip(reason, 100))
	}
	switch cause {
	case "http":
		if status == 400 || status == 426 {
			return refusedUpgradeHint(proxy)
		}
		return httpHint(status)
	case "refused":
		return "nothing is listening at the target address: start the proxy or server, or fix the URL's host and port"
	case "timeout":
		return "the handshake did not finish within --handshake-timeout: the proxy or backend is overloaded " +
			"or not answering, a firewall drops packets, or --rate is more than it takes"
	case "reset", "eof":
		return "the proxy closed the connection before answering the upgrade: often a connection limit " +
			"(nginx with worker_connections exhausted closes new connections and logs " +
			"\"worker_connections are not enough\"), or a TLS/plain mismatch"
	case "emfile":
		return "out of file descriptors: raise the soft limit (ulimit -n, up to the hard limit) " +
			"or split the connections over processes with --procs"
	case "eaddrnotavail":
		return "out of ephemeral ports for one source/destination pair: add source addresses " +
			"(--source-ip 127.0.0.2-127.0.0.9) or widen net.ipv4.ip_local_port_range"
	case "tls":
		return tlsHint(example)
	case "dns":
		return "the host name did not resolve: check the URL's host"
	case "bad_accept":
		return "the 101's Sec-WebSocket-Accept is missing, repeated or does not match the key sent (the example says which): " +
			"something between rewrote the handshake, added its own copy, or answered for another request"
	case "bad_upgrade":
		return "a 101 whose Upgrade is not websocket alone, or whose Connection lacks the token upgrade: " +
			"the proxy mangled the response headers, or the server switched to another protocol"
	case "bad_extensions":
		return "the 101 selects a WebSocket extension in Sec-WebSocket-Extensions (e.g. permessage-deflate) although " +
			"the request offered none, which browsers refuse too: make the server (or the proxy adding the header) " +
			"select an extension only when the client's request offers it"
	case "bad_subprotocol":
		return "the 101's Sec-WebSocket-Protocol names a subprotocol the request did not offer, or several: " +
			"offer the one the server selects with --subprotocol, or make the server select only from the offered list"
	case "bad_response":
		return "the answer was not HTTP/1.x (the example quotes its start): wrong port or protocol " +
			"(a non-HTTP service, TLS where plain ws:// was expected), or a broken status line"
	case "header_too_large":
		return "the answer's header block ran past 64 KiB without ending: an HTTP server or proxy that repeats a " +
			"header or sends a huge cookie (no proxy relays that much with its default buffers); see its configuration"
	}
	return ""
}

// refusedFor is the reason the body in a 400 or 426 failure's example
// gives for refusing the upgrade, when that is not the upgrade headers
// (RefusalOther); ok is false for any other failure.
func refusedFor(cause string, status int, example string) (reason string, ok bool) {
	if cause != "http" || (status != 400 && status != 426) {
		return "", false
	}
	kind, reason := ClassifyRefusal(exampleBody(example))
	return reason, kind == RefusalOther
}

func httpHint(status int) string {
	switch {
	case status == 502 || status == 503 || status == 504:
		return "the proxy got no good answer from the backend: it is down, not where the proxy points, " +
			"or too slow; see the proxy's error log"
	case status == 301 || status == 302 || status == 307 || status == 308:
		return "redirected: the proxy or app wants another scheme, host or path (ws:// vs wss://, " +
			"a trailing slash); use the URL in the Location header"
	case status == 401:
		return "authentication required: pass credentials with -H 'Authorization: …'"
	case status == 407:
		return "a forward proxy on the way wants credentials: pass them with -H 'Proxy-Authorization: Basic …' " +
			"(its Proxy-Authenticate header says which scheme)"
	case status == 403:
		return "forbidden, often an Origin check: set --origin to an allowed origin, or allow it in the app"
	case status == 404:
		return "not found: wrong path, or the proxy does not route it to the WebSocket backend"
	case status == 429:
		return "rate limited: lower --rate, or raise the proxy's limit for this test"
	case status == 200:
		return "a plain HTTP answer instead of 101: the request reached a non-WebSocket handler " +
			"(wrong path, or the proxy did not pass the upgrade)"
	case status >= 500:
		return "the server failed: see its error log"
	case status >= 400:
		return "the server rejected the request: check headers (-H), --origin and --subprotocol"
	}
	return ""
}

// failureLabel is a failure's short name for one line: "HTTP 400",
// "refused".
func failureLabel(cause string, status int) string {
	if cause == "http" {
		return "HTTP " + strconv.Itoa(status)
	}
	return cause
}

// failureGuess is the verdict line's few words on a failure, with a
// question mark because a status alone cannot prove it; for a 400 or 426
// whose example's body gives another reason, that reason.
func failureGuess(cause string, status int, example string) string {
	if reason, ok := refusedFor(cause, status, example); ok {
		return fmt.Sprintf("refused: %q", clip(reason, 60))
	}
	switch cause {
	case "http":
		switch {
		case status == 400 || status == 426:
			return "proxy stripped Upgrade/Connection?"
		case status == 502 || status == 503 || status == 504:
			return "backend down or slow?"
		case status >= 300 && status < 400:
			return "redirect: wrong scheme or host?"
		case status == 403:
			return "origin check?"
		case status == 407:
			return "proxy wants Proxy-Authorization"
		case status == 404:
			return "wrong path?"
		}
		return ""
	case "refused":
		return "nothing listening?"
	case "timeout":
		return "handshake timed out"
	case "reset", "eof":
		return "proxy closed before answering: connection limit?"
	case "emfile":
		return "open-files limit: ulimit -n or --procs"
	case "eaddrnotavail":
		return "out of ephemeral ports: --source-ip"
	case "tls":
		switch {
		case strings.Contains(example, "signed by unknown authority"):
			return "certificate not trusted: --ca or --insecure"
		case strings.Contains(example, "certificate has expired"):
			return "certificate expired"
		case strings.Contains(example, "certificate is valid for"), strings.Contains(example, "cannot validate certificate for"):
			return "certificate for another name"
		}
		return "TLS failed"
	case "dns":
		return "host not found"
	case "bad_extensions":
		return "unrequested extension in the 101"
	case "bad_subprotocol":
		return "subprotocol not offered"
	case "header_too_large":
		return "answer headers over 64 KiB"
	}
	return ""
}

// failureSummary is "HTTP 400 (proxy stripped Upgrade/Connection?)" —
// "(lighttpd stripped …)" when the proxy in front is known — or,
// when the example's body gives another reason for refusing the upgrade,
// "HTTP 400 (refused: bad query parameter …)".
func failureSummary(f Failure, proxy *Proxy) string {
	s := failureLabel(f.Cause, f.Status)
	g := failureGuess(f.Cause, f.Status, f.Example)
	if proxy != nil && g == "proxy stripped Upgrade/Connection?" {
		// The proxy in front named itself (or was stated): say which.
		g = proxy.Title() + " stripped Upgrade/Connection?"
	}
	if g != "" {
		s += fmt.Sprintf(" (%s)", g)
	}
	return s
}

// Refusal is what the body of a 400 or 426 answer to an upgrade says about
// why the server refused it.
type Refusal int

const (
	// RefusalUnstated: no body, or one that only repeats the status ("Bad
	// Request", a page titled "400 Bad Request"). Backends answer a plain
	// GET so (gorilla/websocket does), but the body proves nothing.
	RefusalUnstated Refusal = iota
	// RefusalNoUpgrade: the body names the upgrade headers or the HTTP
	// version: the request reached the server without Upgrade/Connection,
	// or over HTTP/1.0, which is what a proxy that does not forward them
	// causes.
	RefusalNoUpgrade
	// RefusalOther: the body gives another reason (a bad query parameter,
	// a malformed request, a missing Sec-WebSocket-Key): the server refused
	// the upgrade for it, and nothing in the answer points at the proxy.
	RefusalOther
)

// noUpgradeWords are fragments (lower case) of the bodies with which
// WebSocket servers refuse a request that came without the upgrade headers
// or over HTTP/1.0. Any one of them makes a body RefusalNoUpgrade, even if
// it names other problems too: the missing headers come first.
var noUpgradeWords = []string{
	`"upgrade`,                   // wshold serve: missing "Upgrade: websocket" header; Spring, Tornado: Can "Upgrade" only to "WebSocket"
	`'upgrade`,                   // gorilla/websocket: 'upgrade' token not found in 'Connection' header
	"upgrade header",             // ws (Node): Invalid Upgrade header; gobwas/ws: bad Upgrade header; Python websockets: missing Upgrade header
	"upgrade:",                   // missing Upgrade: websocket
	"upgrade required",           // ws (Node) and Node's http: 426 Upgrade Required
	"missing upgrade",            //
	"bad upgrade",                // golang.org/x/net/websocket: missing or bad upgrade
	"no upgrade",                 //
	"does not contain upgrade",   // coder/websocket: Connection header "close" does not contain Upgrade
	"connection header",          // Python websockets: missing Connection header; gobwas/ws: bad Connection header
	`"connection`, "'connection", // wshold serve: missing "Connection: upgrade" header; Spring: "Connection" must be "upgrade"
	"http/1.0", "http/1.1", // wshold serve: HTTP/1.0 cannot upgrade; use HTTP/1.1; coder/websocket: must be at least HTTP/1.1
	"http version",                     //
	"not websocket", "not a websocket", // golang.org/x/net/websocket: not websocket protocol
}

// unstatedWords are the words of a body that only repeats the status; any
// number goes with them ("400 Bad Request", {"code":3,"message":"Bad request"}).
var unstatedWords = map[string]bool{
	"bad": true, "request": true, "invalid": true, "error": true, "http": true,
	"status": true, "code": true, "message": true, "reason": true,
}

// ClassifyRefusal reads the body of a 400 or 426 answer to an upgrade
// request. It returns what the body says and its text on one line, HTML
// tags replaced by spaces, to quote.
func ClassifyRefusal(body string) (Refusal, string) {
	text := strings.Join(strings.Fields(stripTags(body)), " ")
	lower := strings.ToLower(text)
	for _, w := range noUpgradeWords {
		if strings.Contains(lower, w) {
			return RefusalNoUpgrade, text
		}
	}
	words := strings.FieldsFunc(lower, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	for _, w := range words {
		if !unstatedWords[w] && strings.TrimFunc(w, unicode.IsDigit) != "" {
			return RefusalOther, text
		}
	}
	return RefusalUnstated, text
}

// stripTags replaces each tag (<a…>, </a…>, <!…>) of an HTML page by a
// space; a "<" that starts no tag ("want n < 10") stays.
func stripTags(s string) string {
	if !strings.Contains(s, "<") {
		return s
	}
	var b strings.Builder
	inTag := false
	for i, r := range s {
		switch {
		case r == '<' && !inTag && i+1 < len(s) && startsTag(s[i+1]):
			inTag = true
			b.WriteByte(' ')
		case r == '>' && inTag:
			inTag = false
		case !inTag:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func startsTag(c byte) bool {
	return c == '/' || c == '!' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

// exampleBody is the body part of a failure's example ("HTTP/1.1 400 Bad
// Request; Server: nginx; body: TEXT"); "" when the example has none.
func exampleBody(example string) string {
	if _, body, ok := strings.Cut(example, "; body: "); ok {
		return body
	}
	return ""
}

// clip shortens s to at most n bytes, on a rune boundary, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// tlsHint explains a failed TLS handshake by what crypto/tls said (the
// failure's example).
func tlsHint(example string) string {
	switch {
	case strings.Contains(example, "signed by unknown authority"):
		return "the server's certificate is not signed by a CA this machine trusts (self-signed, or a private CA): " +
			"give that CA with --ca FILE, or skip verification with --insecure in a lab"
	case strings.Contains(example, "certificate has expired"):
		return "the server's certificate has expired or is not valid yet (see the dates in the example): " +
			"renew it where TLS is terminated; check this machine's clock; --insecure skips the check in a lab"
	case strings.Contains(example, "certificate is valid for"), strings.Contains(example, "certificate is not valid for any names"),
		strings.Contains(example, "cannot validate certificate for"):
		return "the certificate does not carry the name wshold checked, the URL's host (or -H Host:'s, which is also sent as SNI): " +
			"use a name the certificate has, or fix the certificate; --insecure skips the check in a lab"
	case strings.Contains(example, "first record does not look like a TLS handshake"):
		return "the port answered in plain text, not TLS: use ws:// for it, or the port where TLS is terminated"
	}
	return "TLS handshake failed: wss:// to a plain port, an untrusted certificate (--ca FILE, " +
		"or --insecure in a lab), or a name that does not match the certificate"
}
