package report

import (
	"fmt"
	"strconv"
)

// nginxUpgradeFix is the three lines the seed's broken config was missing.
const nginxUpgradeFix = `proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade; ` +
	`proxy_set_header Connection "upgrade";`

// FailureHint says what a failed upgrade usually means and how to fix it.
// cause is the failure's stable code ("http", "refused", ...), status the
// HTTP status for "http". It returns "" for causes it knows nothing about.
func FailureHint(cause string, status int) string {
	switch cause {
	case "http":
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
		return "TLS handshake failed: wss:// to a plain port, an untrusted certificate (--ca FILE, " +
			"or --insecure in a lab), or a name that does not match the certificate"
	case "dns":
		return "the host name did not resolve: check the URL's host"
	case "bad_accept":
		return "Sec-WebSocket-Accept does not match the key sent: something between rewrote the handshake " +
			"or answered for another request"
	case "bad_upgrade":
		return "a 101 without Upgrade: websocket and Connection: upgrade: the proxy mangled the response headers"
	case "bad_response":
		return "the answer was not HTTP: wrong port or protocol (e.g. a non-HTTP service, or TLS where plain was expected)"
	}
	return ""
}

func httpHint(status int) string {
	switch {
	case status == 400 || status == 426:
		return "the backend saw a plain GET: the proxy stripped Upgrade/Connection or spoke HTTP/1.0 to it; " +
			"for nginx add " + nginxUpgradeFix + " (Apache: ProxyPass … upgrade=websocket)"
	case status == 502 || status == 503 || status == 504:
		return "the proxy got no good answer from the backend: it is down, not where the proxy points, " +
			"or too slow; see the proxy's error log"
	case status == 301 || status == 302 || status == 307 || status == 308:
		return "redirected: the proxy or app wants another scheme, host or path (ws:// vs wss://, " +
			"a trailing slash); use the URL in the Location header"
	case status == 401:
		return "authentication required: pass credentials with -H 'Authorization: …'"
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
// question mark because a status alone cannot prove it.
func failureGuess(cause string, status int) string {
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
		return "TLS failed"
	case "dns":
		return "host not found"
	}
	return ""
}

// failureSummary is "HTTP 400 (proxy stripped Upgrade/Connection?)".
func failureSummary(f Failure) string {
	s := failureLabel(f.Cause, f.Status)
	if g := failureGuess(f.Cause, f.Status); g != "" {
		s += fmt.Sprintf(" (%s)", g)
	}
	return s
}
