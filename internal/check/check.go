package check

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gobwas/ws"
	"github.com/wshold/wshold/internal/handshake"
)

// bodyGrace bounds how long the body of a failed answer is read once its
// headers are in: a server that sends neither Content-Length nor closes
// the connection would otherwise hold the check until its timeout.
const bodyGrace = 2 * time.Second

// Run performs one upgrade to rawURL and explains the outcome. The error is
// non-nil only when the input is unusable (bad URL, scheme, header, CA
// file) or ctx ended before the check did; every outcome of the attempt itself —
// including a refused connection or an unknown host (Cause "dns") — is a
// Report, with OK true only for a valid upgrade.
func Run(ctx context.Context, rawURL string, o Options) (*Report, error) {
	t, err := prepare(rawURL, o)
	if err != nil {
		return nil, err
	}
	r := t.run(ctx)
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("check of %s interrupted: %w", t.display, err)
	}
	scrubReport(r, t.redact.Scrub)
	return r, nil
}

// scrubReport hides every secret that was sent (header credentials, the
// URL's password, secret query values) wherever the report could repeat
// it: a server that echoes them, e.g. in a redirect's Location, has them
// quoted into the verdict, the explanation and the fixes, not only into
// the headers shown. It is the last step before the report is returned,
// so no part of it is missed by a later change.
func scrubReport(r *Report, scrub func(string) string) {
	each := func(ss []string) {
		for i := range ss {
			ss[i] = scrub(ss[i])
		}
	}
	r.URL = scrub(r.URL)
	r.Verdict = scrub(r.Verdict)
	r.AnsweredBy = scrub(r.AnsweredBy)
	r.ProxyEvidence = scrub(r.ProxyEvidence)
	r.Error = scrub(r.Error)
	r.Subprotocol = scrub(r.Subprotocol)
	each(r.Explanation)
	each(r.Notes)
	for i := range r.Fixes {
		r.Fixes[i].Title = scrub(r.Fixes[i].Title)
		r.Fixes[i].Config = scrub(r.Fixes[i].Config)
	}
	r.Request.Line = scrub(r.Request.Line)
	for i := range r.Request.Headers {
		r.Request.Headers[i].Value = scrub(r.Request.Headers[i].Value)
	}
	if resp := r.Response; resp != nil {
		resp.StatusLine = scrub(resp.StatusLine)
		resp.Reason = scrub(resp.Reason)
		resp.Body = scrub(resp.Body)
		for i := range resp.Headers {
			resp.Headers[i].Name = scrub(resp.Headers[i].Name)
			resp.Headers[i].Value = scrub(resp.Headers[i].Value)
		}
	}
}

func (t *target) run(parent context.Context) *Report {
	r := &Report{Schema: Schema, URL: t.display, Explanation: []string{}, Fixes: []Fix{}}
	if t.insecureWS {
		r.Notes = append(r.Notes, "--insecure and --ca only apply to wss:// URLs; this is ws://, so they had no effect.")
	}
	if t.tlsConf != nil && t.tlsConf.InsecureSkipVerify {
		r.Notes = append(r.Notes, "TLS certificate verification was disabled (--insecure): a browser would refuse a certificate this check accepted.")
	}
	ctx, cancel := context.WithTimeout(parent, t.timeout)
	defer cancel()
	deadline, _ := ctx.Deadline()

	start := time.Now()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", t.addr)
	r.ConnectMs = ms(time.Since(start))
	if err != nil {
		t.netFailure(r, PhaseConnect, err)
		return r
	}
	defer conn.Close()
	r.Address = conn.RemoteAddr().String()

	if t.tlsConf != nil {
		start := time.Now()
		tc := tls.Client(conn, t.tlsConf)
		err := tc.HandshakeContext(ctx)
		r.TLSMs = ms(time.Since(start))
		if err != nil {
			t.netFailure(r, PhaseTLS, err)
			return r
		}
		r.TLS = tlsInfo(tc.ConnectionState(), !t.tlsConf.InsecureSkipVerify)
		conn = tc
	}

	// The deadline bounds the handshake; cancelling ctx (e.g. Ctrl-C)
	// interrupts a read that is already waiting.
	_ = conn.SetDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	rec := &recorder{Conn: conn}
	dialer := ws.Dialer{Protocols: t.protocols, Header: t.header, Host: t.host}
	start = time.Now()
	// The library writes the request and validates the answer; its verdict
	// is not used, because it stops reading at the first header it rejects
	// and refuses HTTP/1.0 error pages unread. The recorder has every byte,
	// and the checks below are made on all of them.
	_, _, _ = dialer.Upgrade(rec, t.u)
	t.completeHead(rec)
	r.HandshakeMs = ms(time.Since(start))

	t.fillRequest(r, rec.tx)
	t.examine(r, rec, deadline)
	return r
}

// completeHead keeps reading until the recorder holds the answer's whole
// header block, the peer stops sending, or the answer is clearly not HTTP.
// The library may have returned after the status line (any non-101) or
// at a header it rejected.
func (t *target) completeHead(rec *recorder) {
	buf := make([]byte, 4096)
	var sc handshake.Scanner // each byte looked at once, however it dribbles in
	for rec.rerr == nil {
		if _, n, err := sc.Scan(rec.rx); n > 0 || err != nil {
			return
		}
		if _, err := rec.Read(buf); err != nil {
			return
		}
	}
}

// fillRequest shows the request as sent, secrets redacted, and derives the
// accept value a correct server must answer with.
func (t *target) fillRequest(r *Report, tx []byte) {
	if len(tx) == 0 {
		return
	}
	end := handshake.HeadEnd(tx)
	if end < 0 {
		end = len(tx)
	}
	line, headers := splitHead(tx[:end])
	r.Request.Line = printable([]byte(line))
	for _, h := range headers {
		if strings.EqualFold(h.Name, "Sec-WebSocket-Key") {
			r.Key = h.Value
			r.AcceptExpected = handshake.Accept(h.Value)
		}
		h = hide(t.redact, h)
		h.Value = t.redact.Scrub(printable([]byte(h.Value)))
		r.Request.Headers = append(r.Request.Headers, h)
	}
}

// examine turns what was received into the report's response, verdict and
// advice. Whether the answer upgrades is the judge's decision
// (internal/handshake), the same that run makes of the same bytes.
func (t *target) examine(r *Report, rec *recorder, deadline time.Time) {
	r.Phase = PhaseHandshake
	rx := rec.rx
	if len(rx) == 0 {
		err := rec.rerr
		if err == nil {
			err = rec.werr
		}
		t.netFailure(r, PhaseHandshake, err)
		return
	}
	status, end, err := handshake.Scan(rx)
	var he *handshake.Error
	errors.As(err, &he)
	switch {
	case he != nil && !handshake.LooksLikeHTTP(rx):
		t.notHTTP(r, rx)
		return
	case he != nil && he.Cause == handshake.CauseBadResponse:
		t.badResponse(r, rx, he)
		return
	case he != nil && (status == 0 || status == 101):
		t.headerTooLarge(r, rx, he)
		return
	case he != nil:
		// A refusal with a huge header is still the refusal (run counts
		// it by its status too): shown as far as it was read.
		end = len(rx)
		r.Notes = append(r.Notes, upperFirst(he.Error())+"; only its start was read.")
	case end == 0:
		t.partialAnswer(r, rx, rec.rerr)
		return
	}

	hr, err := handshake.Parse(rx[:end])
	if err != nil {
		// Scan has read the status line already; kept for safety.
		t.badResponse(r, rx, err)
		return
	}
	first, _, _ := strings.Cut(string(rx[:end]), "\n")
	resp := &Response{
		StatusLine: t.redact.Scrub(printable([]byte(strings.TrimSuffix(first, "\r")))),
		Proto:      printable([]byte(hr.Proto)),
		Status:     hr.Status,
		Reason:     t.redact.Scrub(printable([]byte(hr.Reason))),
		judged:     hr,
	}
	for _, f := range hr.Header {
		h := Header{Name: t.redact.Scrub(printable([]byte(f.Name))), Value: printable([]byte(f.Value))}
		resp.raw = append(resp.raw, h)
		h.Value = t.redact.Scrub(h.Value)
		resp.Headers = append(resp.Headers, hide(t.redact, h))
	}
	r.Response = resp

	if status == http.StatusSwitchingProtocols {
		if t.validate(r) {
			closeNormally(rec.Conn)
		}
		return
	}
	t.readBody(resp, rx, rec, deadline)
	t.diagnoseHTTP(r)
}

// readBody keeps an excerpt of a failed answer's body. Framing (length,
// chunks) is left to net/http; if it cannot parse the answer, the bytes
// after the head that already arrived are shown instead.
func (t *target) readBody(resp *Response, rx []byte, rec *recorder, deadline time.Time) {
	_ = rec.SetReadDeadline(earlier(deadline, time.Now().Add(bodyGrace)))
	stream := bufio.NewReader(io.MultiReader(bytes.NewReader(bytes.Clone(rx)), rec))
	var body []byte
	hr, err := http.ReadResponse(stream, &http.Request{Method: http.MethodGet})
	if err == nil {
		body, _ = io.ReadAll(io.LimitReader(hr.Body, int64(t.bodyLimit)+1))
		_ = hr.Body.Close()
	} else {
		body = rx[max(handshake.HeadEnd(rx), 0):]
	}
	if len(body) > t.bodyLimit {
		body, resp.BodyTruncated = body[:t.bodyLimit], true
	}
	resp.Body = t.redact.Scrub(printable(body))
}

// validate asks the judge whether a 101 completes the handshake, and
// explains its answer.
func (t *target) validate(r *Report) bool {
	resp := r.Response
	je := handshake.Judge(resp.judged, handshake.Offer{Key: r.Key, Protocols: t.protocols})
	_, hasAccept := resp.Get(handshake.HeaderAccept)
	r.AcceptOK = hasAccept && !je.Failed(handshake.HeaderAccept) && r.AcceptExpected != ""
	if !je.Failed(handshake.HeaderProtocol) {
		r.Subprotocol = handshake.Subprotocol(resp.judged)
	}
	p := detectProxy(resp)
	r.Proxy, r.ProxyEvidence = p.name, p.evidence
	if resp.judged.Minor == 0 {
		r.Notes = append(r.Notes, "The 101 says HTTP/1.0, which cannot switch protocols; Chrome and Node's ws accept it anyway, and so does this check, but a proxy or server on the way speaks HTTP/1.0 and may break other things.")
	}

	if je == nil {
		r.OK, r.Cause = true, CauseOK
		r.Verdict = fmt.Sprintf("upgraded in %s: 101 with Upgrade, Connection and Sec-WebSocket-Accept valid", fmtMs(r.HandshakeMs))
		if len(t.protocols) > 0 && r.Subprotocol == "" {
			r.Notes = append(r.Notes, fmt.Sprintf("The server selected none of the offered subprotocols (%s). RFC 6455 and Firefox allow that, but Chrome and Node's ws fail such a connection.", joinQuoted(t.protocols)))
		}
		if p.name != "" {
			r.AnsweredBy = fmt.Sprintf("the backend, through %s (%s)", proxyTitle(p.name), p.evidence)
			if note := idleNote(p.name); note != "" {
				r.Notes = append(r.Notes, note)
			}
		}
		clueNotes(r, p)
		return true
	}
	t.diagnose101(r, je, p)
	return false
}

// closeNormally ends a successful check politely: a masked close frame
// (1000), as a client must send, then the TCP close.
func closeNormally(c net.Conn) {
	f := ws.NewCloseFrame(ws.NewCloseFrameBody(ws.StatusNormalClosure, ""))
	_ = ws.WriteFrame(c, ws.MaskFrameInPlace(f))
}

func tlsInfo(cs tls.ConnectionState, verified bool) *TLSInfo {
	info := &TLSInfo{
		Version:    tls.VersionName(cs.Version),
		Cipher:     tls.CipherSuiteName(cs.CipherSuite),
		ServerName: cs.ServerName,
		ALPN:       cs.NegotiatedProtocol,
		Verified:   verified,
	}
	if len(cs.PeerCertificates) > 0 {
		c := cs.PeerCertificates[0]
		info.Subject = c.Subject.String()
		info.Issuer = c.Issuer.String()
		info.DNSNames = c.DNSNames
		info.NotAfter = c.NotAfter.UTC().Format(time.RFC3339)
	}
	return info
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func fmtMs(v float64) string { return fmt.Sprintf("%.1f ms", v) }
