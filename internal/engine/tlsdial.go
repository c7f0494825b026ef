package engine

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/wshold/wshold/internal/event"
	"github.com/wshold/wshold/internal/identify"
	"github.com/wshold/wshold/internal/tlsrecord"
)

// Opening a wss:// connection. crypto/tls's handshake cannot be driven by
// readiness (an EAGAIN in the middle of it is a sticky error), so each
// attempt in flight has a goroutine — at most MaxInFlight of them — which
// connects, handshakes over a tlsrecord.Tap, sends the upgrade request and
// judges the answer through the tls.Conn with the judge the loops use for
// ws:// (judgeAnswer), then hands the bare descriptor and the connection's
// record protection to a loop (tlsloop_linux.go). Nothing of the attempt —
// goroutine, net.Conn, tls.Conn, certificates — outlives its handshake.

// prepareTLS works out once per run what every wss:// attempt shares.
func (e *engine) prepareTLS() {
	e.dst.reqHead, e.dst.reqTail = upgradeRequest(&e.cfg)
	c := &tls.Config{}
	if e.cfg.TLS != nil {
		c = e.cfg.TLS.Clone()
	}
	if c.ServerName == "" {
		c.ServerName = serverName(&e.cfg)
	}
	if c.CipherSuites == nil {
		c.CipherSuites = tlsrecord.Suites12()
	}
	if c.NextProtos == nil {
		// What a browser offers on a connection for a WebSocket: a proxy
		// that would choose h2 must not.
		c.NextProtos = []string{"http/1.1"}
	}
	e.tlsConf = c
	if e.cfg.TLSResume {
		e.sessions = tlsrecord.NewSessionCache(16)
	}
	e.handshakes = map[net.Conn]struct{}{}
}

// serverName is the name sent in SNI and checked against the certificate:
// the Host header's when -H Host: replaces the URL's (a name-routed proxy
// reached by address), else the URL's host. crypto/tls sends no SNI for
// an IP address but still checks the certificate against it.
func serverName(cfg *Config) string {
	if cfg.Host == "" {
		return cfg.URL.Hostname()
	}
	if host, _, err := net.SplitHostPort(cfg.Host); err == nil {
		return host
	}
	return cfg.Host
}

// attemptTLS opens wss:// connection i; intended is its slot in the rate
// schedule (see attempt).
func (e *engine) attemptTLS(ctx context.Context, i int, intended time.Time) {
	began := e.now()
	deadline := time.Now().Add(e.cfg.HandshakeTimeout)
	addr := e.dialAddr
	if addr == "" {
		addr = hostPort(e.cfg.URL)
	}
	dctx, cancel := context.WithDeadline(ctx, deadline)
	conn, err := e.netDial(i)(dctx, "tcp", addr)
	cancel()
	if err != nil {
		e.failIn(ctx, err, "", nil)
		return
	}
	// Before track: an interrupt moves the deadline to now.
	_ = conn.SetDeadline(deadline)
	if !e.track(conn) {
		conn.Close()
		e.failIn(ctx, context.Canceled, "", nil)
		return
	}
	kept := false
	defer func() {
		e.untrack(conn)
		if !kept {
			conn.Close()
		}
	}()
	connected := e.now()
	tap := tlsrecord.NewTap(conn)
	tc := tls.Client(tap, tap.Config(e.tlsConf, e.sessions))
	if err := tc.Handshake(); err != nil {
		e.failIn(ctx, err, "", nil)
		return
	}
	tap.HandshakeDone()
	secured := e.now()
	resp, v := e.upgradeOver(tc, newKey())
	if v.err != nil {
		var answer *identify.Answer
		if v.status != 0 {
			answer = e.answers.of(resp, e.cfg.Scrub)
		}
		e.failIn(ctx, v.err, v.captured, answer)
		return
	}
	early := resp[v.headerLen:]
	judged := e.now()
	upgradedAt := max(secured, judged-sinceLastData(conn))
	st, err := tap.State(tc.ConnectionState())
	if err != nil {
		e.failIn(ctx, fmt.Errorf("holding the connection outside crypto/tls (%s, %s): %w",
			tls.VersionName(tc.ConnectionState().Version), tls.CipherSuiteName(tc.ConnectionState().CipherSuite), err), "", nil)
		return
	}
	_ = conn.SetDeadline(time.Time{})
	kept = true
	fd, err := detach(conn)
	if err != nil {
		cause, _ := classify(err)
		e.sink.Failed(event.Failed{AtNs: e.now(), Cause: cause, Example: "taking over the socket: " + err.Error()})
		return
	}
	if fd >= len(e.conns) {
		rawClose(fd)
		e.sink.Failed(event.Failed{AtNs: e.now(), Cause: "emfile", Example: "descriptor beyond the open-files limit seen at start"})
		return
	}
	e.sink.Upgraded(event.Upgraded{
		AtNs: upgradedAt, LatencyNs: upgradedAt - intended.Sub(e.start).Nanoseconds(),
		ConnectNs: connected - began, TLSNs: secured - connected, UpgradeNs: judged - secured,
		Resumed: tc.ConnectionState().DidResume, Answer: e.answers.of(resp[:v.headerLen], e.cfg.Scrub),
	})
	e.loopFor(fd).addTLS(fd, upgradedAt, e.cfg.pings(i), early, st)
}

// upgradeOver sends the upgrade request over rw and reads the answer until
// it is judged; resp is the answer as read (for a 101, what follows its
// header is what the server sent behind it). Every read through a Tap's
// tls.Conn stops at a record's end, and a buffer of a whole record's size
// takes each record whole: nothing is left inside crypto/tls.
func (e *engine) upgradeOver(rw io.ReadWriter, key string) (resp []byte, v verdict) {
	if _, err := io.WriteString(rw, e.dst.reqHead+key+e.dst.reqTail); err != nil {
		return nil, verdict{done: true, err: err}
	}
	buf := make([]byte, tlsrecord.MaxPlaintext)
	for {
		n, err := rw.Read(buf)
		resp = append(resp, buf[:n]...)
		if n > 0 {
			if v = judgeAnswer(resp, key, e.cfg.Subprotocols, v.status); v.done {
				return resp, v
			}
		}
		if err != nil {
			return resp, answerEnded(resp, v.status, err)
		}
	}
}

func newKey() string {
	var nonce [16]byte
	_, _ = rand.Read(nonce[:])
	return base64.StdEncoding.EncodeToString(nonce[:])
}

// failIn reports a failed attempt, as interrupted when the run was, with
// the identity of the server's answer when there was one.
func (e *engine) failIn(ctx context.Context, err error, captured string, answer *identify.Answer) {
	if ctx.Err() != nil {
		err = fmt.Errorf("%w: %w", context.Canceled, err)
	}
	e.failAnswer(err, captured, answer)
}

// track notes a wss:// handshake in flight, so that an interrupt can end it
// at once; false means the run is already interrupted.
func (e *engine) track(c net.Conn) bool {
	e.hsMu.Lock()
	defer e.hsMu.Unlock()
	if e.ctx.Err() != nil {
		return false
	}
	e.handshakes[c] = struct{}{}
	return true
}

func (e *engine) untrack(c net.Conn) {
	e.hsMu.Lock()
	delete(e.handshakes, c)
	e.hsMu.Unlock()
}

// interruptTLS ends the wss:// handshakes in flight: their deadline passes
// now, and each fails as interrupted.
func (e *engine) interruptTLS() {
	e.hsMu.Lock()
	defer e.hsMu.Unlock()
	for c := range e.handshakes {
		_ = c.SetDeadline(time.Now())
	}
}
