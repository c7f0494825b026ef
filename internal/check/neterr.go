package check

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/wshold/wshold/internal/handshake"
	"github.com/wshold/wshold/internal/neterr"
)

// netFailure explains a check that got no HTTP answer at all.
func (t *target) netFailure(r *Report, phase string, err error) {
	r.Phase = phase
	if err != nil {
		r.Error = t.redact.Scrub(err.Error())
	}
	cause := neterr.Cause(err)
	if phase == PhaseTLS && cause != CauseTimeout {
		t.tlsFailure(r, err, cause)
		return
	}
	if cause == CauseDNS {
		r.Phase = PhaseDNS
	}
	r.Cause = cause
	host := t.u.Hostname()
	switch cause {
	case CauseDNS:
		r.Verdict = fmt.Sprintf("the host name %q did not resolve", host)
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) && dnsErr.IsTimeout {
			r.explain("The name lookup for %q timed out: the resolver did not answer within %v, so no connection was attempted.", host, t.timeout)
		} else {
			r.explain("The name lookup for %q failed, so no connection was attempted: the name does not exist for this machine's resolver.", host)
		}
		r.fix("client", "Check the spelling of the host, /etc/hosts and the resolver; or give the IP address and set the name with -H 'Host: "+host+"'.", "")
	case CauseRefused:
		r.Verdict = fmt.Sprintf("connection refused: nothing is listening on %s", t.addr)
		r.explain("The connection to %s was refused: no process listens on that address and port. If a proxy should be there, it is not running, or it listens on another port or address (a server bound to 127.0.0.1 does not answer on ::1, and \"localhost\" may resolve to either).", t.addr)
		r.fix("client", "Check the port in the URL against the proxy's listen/bind/Listen directive, and that the proxy is running: ss -ltnp | grep :"+portOf(t.addr), "")
	case CauseUnreachable:
		r.Verdict = fmt.Sprintf("no route to %s", t.addr)
		r.explain("The network reported the host unreachable (%s). This is a routing or firewall problem, not the proxy's configuration.", r.Error)
		r.fix("client", "Check the address, the route to it and any firewall between here and there.", "")
	case CauseTimeout:
		t.timeoutFailure(r, phase)
	case CauseReset, CauseEOF:
		how := map[string]string{CauseReset: "reset (RST)", CauseEOF: "closed (FIN)"}[cause]
		r.Verdict = fmt.Sprintf("the connection was %s before any HTTP answer", how)
		r.explain("The TCP connection was accepted, the upgrade request was sent, and the peer %s without sending a single byte of an answer. A proxy does this when it refuses to serve the connection at all: nginx that has run out of worker_connections closes new connections before reading them (its error log says \"worker_connections are not enough\"; every proxied WebSocket holds two), HAProxy past maxconn, a server that requires TLS on this port, or a firewall that kills the connection.", how)
		r.fix(ProxyNginx, "nginx: if the error log says \"worker_connections are not enough\", raise the limits (each WebSocket needs two connections and two file descriptors):",
			"worker_rlimit_nofile 20000;\nevents { worker_connections 10000; }")
		r.fix(ProxyHAProxy, "HAProxy: raise maxconn in the global and frontend sections if the log shows the limit reached.", "")
		if t.u.Scheme == "ws" {
			r.fix("client", "If this port speaks TLS, use wss://.", "")
		}
	default:
		r.Cause = CauseBadResponse
		r.Verdict = "the connection failed before any HTTP answer"
		r.explain("The connection failed with an error this check does not recognise: %s.", r.Error)
	}
}

func (t *target) timeoutFailure(r *Report, phase string) {
	r.Verdict = fmt.Sprintf("no answer within %v (while waiting for the %s)", t.timeout, map[string]string{
		PhaseDNS: "name lookup", PhaseConnect: "TCP connection", PhaseTLS: "TLS handshake", PhaseHandshake: "answer to the upgrade request",
	}[phase])
	switch phase {
	case PhaseConnect, PhaseDNS:
		r.explain("The TCP connection to %s did not complete within %v: packets are dropped on the way (a firewall, a wrong address) or the listener's backlog is full.", t.addr, t.timeout)
		r.fix("client", "Check the address and any firewall; a closed port on a reachable host answers at once with \"refused\", so silence points to filtering.", "")
	case PhaseTLS:
		r.explain("The TCP connection was made but the TLS handshake did not finish within %v. The server may not speak TLS on this port and be waiting for a plain HTTP request.", t.timeout)
		r.fix("client", "If the port serves plain HTTP, use ws:// instead of wss://.", "")
	default:
		r.explain("The connection was made and the upgrade request sent, but no complete answer came within %v. The server, or a backend behind the proxy, accepted the connection and did not answer: it is stuck or overloaded, or the proxy is still waiting for the backend (nginx waits proxy_read_timeout, 60 s by default, before answering 504).", t.timeout)
		r.fix("client", "Raise --timeout (e.g. --timeout 75s) to see what eventually answers.", "")
		r.fix("backend", "Check that the backend answers quickly when reached directly: wshold check ws://BACKEND:PORT"+t.u.RequestURI(), "")
	}
}

// tlsFailure explains a TLS handshake that failed for other than a timeout.
func (t *target) tlsFailure(r *Report, err error, netCause string) {
	r.Cause = CauseTLS
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	var recErr tls.RecordHeaderError
	switch {
	case errors.As(err, &recErr):
		r.Verdict = "the server did not answer with TLS: this port speaks plain HTTP"
		r.explain("The answer to the TLS ClientHello was not a TLS record (it began %q). The port serves plain HTTP.", printable(recErr.RecordHeader[:]))
		r.fix("client", "Use ws:// for this port, or the port where the proxy terminates TLS.", "")
	case errors.As(err, &unknownCA):
		r.Verdict = "the server's certificate is not signed by a trusted authority"
		r.explain("The certificate chain does not lead to a trusted root (%s). This is usual for a self-signed or internal CA.", r.Error)
		r.fix("client", "Pass the CA that signed it with --ca FILE (PEM), or skip verification for this test with --insecure.", "")
	case errors.As(err, &hostErr):
		r.Verdict = fmt.Sprintf("the server's certificate is not valid for %q", t.u.Hostname())
		r.explain("%s. The URL's host must be one of the certificate's names.", r.Error)
		r.fix("client", "Use a host name the certificate covers, or --insecure to skip verification for this test.", "")
	case errors.As(err, &invalid):
		r.Verdict = "the server's certificate is invalid (expired, not yet valid, or not for serving)"
		r.explain("%s.", r.Error)
		r.fix("proxy", "Renew or replace the certificate in the proxy's TLS configuration.", "")
		r.fix("client", "Or skip verification for this test with --insecure.", "")
	case netCause == CauseEOF || netCause == CauseReset:
		r.Verdict = "the server closed the connection during the TLS handshake"
		r.explain("The connection was closed in the middle of the TLS handshake (%s). The port may not speak TLS, or the server rejected the name sent in SNI (%q) or every offered protocol version.", r.Error, t.u.Hostname())
		r.fix("client", "If the port serves plain HTTP, use ws://; otherwise check the proxy's TLS settings for this server name.", "")
	default:
		r.Verdict = "the TLS handshake failed"
		r.explain("The TLS handshake failed: %s.", r.Error)
		r.fix("client", "Check the proxy's TLS configuration; --ca FILE or --insecure help only with certificate problems.", "")
	}
}

// notHTTP explains an answer that does not start like HTTP.
func (t *target) notHTTP(r *Report, rx []byte) {
	r.Cause = CauseBadResponse
	r.Verdict = "the answer is not HTTP"
	r.Response = nil
	show := t.redact.Scrub(string(rx[:min(len(rx), 64)]))
	switch {
	case len(rx) > 0 && (rx[0] == 0x15 || rx[0] == 0x16):
		r.Verdict = "the server answered with TLS: use wss://"
		r.explain("The answer begins with a TLS record (%q): this port expects TLS and the check spoke plain HTTP.", show)
		r.fix("client", "Use wss:// for this port.", "")
	case strings.HasPrefix(string(rx), "SSH-"):
		r.explain("The answer is an SSH banner (%q): this port is an SSH server, not an HTTP proxy.", firstLine(show))
		r.fix("client", "Check the port in the URL.", "")
	default:
		r.explain("The first bytes of the answer were %q, which is not an HTTP status line. Something other than an HTTP server listens on %s.", show, t.addr)
		r.fix("client", "Check the port in the URL.", "")
	}
}

// badResponse explains an answer that starts like HTTP but is not valid
// HTTP/1.x: the judge's reason is the verdict.
func (t *target) badResponse(r *Report, rx []byte, why error) {
	r.Cause = CauseBadResponse
	r.Verdict = "the answer is not valid HTTP/1.x: " + t.redact.Scrub(why.Error())
	r.explain("%s. The first bytes were %q.", upperFirst(t.redact.Scrub(why.Error())), t.redact.Scrub(string(rx[:min(len(rx), 80)])))
	r.fix("client", "Check that the URL's port belongs to an HTTP server or proxy.", "")
}

// headerTooLarge explains an answer whose header block never ended within
// the bound: an HTTP server, broken or hostile, not the wrong port.
func (t *target) headerTooLarge(r *Report, rx []byte, why error) {
	r.Cause = CauseHeaderTooLarge
	r.Verdict = t.redact.Scrub(why.Error())
	line, _, _ := strings.Cut(string(rx[:min(len(rx), 200)]), "\n")
	r.explain("The answer began %q and then sent more than %d KiB of headers without the blank line that ends them. No proxy relays a header block that large with its default buffers (nginx proxy_buffer_size is one page, HAProxy's tune.bufsize 16 KiB), so the server or proxy that answered is broken or misconfigured: a header repeated in a loop, or a huge cookie.", t.redact.Scrub(printable([]byte(strings.TrimSuffix(line, "\r")))), handshake.MaxHead>>10)
	r.fix("backend", "Find which header grows: curl -sv -o /dev/null -H 'Connection: Upgrade' -H 'Upgrade: websocket' the same URL over http(s)://, and read the proxy's and the backend's configuration for headers added in a loop.", "")
}

// partialAnswer explains an answer that stopped before its headers ended.
func (t *target) partialAnswer(r *Report, rx []byte, err error) {
	if err != nil {
		r.Error = t.redact.Scrub(err.Error())
	}
	cause := neterr.Cause(err)
	if cause == "" {
		cause = CauseEOF
	}
	r.Cause = cause
	got := firstLine(t.redact.Scrub(printable(rx)))
	if cause == CauseTimeout {
		r.Verdict = fmt.Sprintf("the answer started but its headers did not finish within %v", t.timeout)
	} else {
		r.Verdict = "the connection was closed in the middle of the answer's headers"
	}
	r.explain("The answer began with %q but the header block never ended (%d bytes received). The server or proxy failed while answering; its error log will say why.", got, len(rx))
	r.fix("proxy", "Look at the proxy's error log at the time of this check.", "")
}

func (r *Report) explain(format string, a ...any) {
	r.Explanation = append(r.Explanation, fmt.Sprintf(format, a...))
}

func (r *Report) fix(forWhat, title, config string) {
	r.Fixes = append(r.Fixes, Fix{For: forWhat, Title: title, Config: config})
}

func portOf(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
