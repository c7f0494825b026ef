package engine

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wshold/wshold/internal/event"
	"github.com/wshold/wshold/internal/handshake"
	"github.com/wshold/wshold/internal/identify"
	"github.com/wshold/wshold/internal/tlsrecord"
)

// attempt opens connection i with a goroutine of its own, for as long as
// its handshake lasts: wss:// (crypto/tls's handshake cannot be driven by
// readiness: an EAGAIN in the middle of it is a sticky error), and ws://
// when a test holds the loops to this path. At most MaxInFlight run at
// once. Once upgraded, the bare descriptor goes to a loop — for wss://
// with the connection's record protection, taken from crypto/tls through
// a tlsrecord.Tap (tlsloop_linux.go) — and nothing of the attempt
// (goroutine, net.Conn, tls.Conn, certificates) outlives it. intended is
// its slot in the rate schedule: latency is measured from there, not from
// when the harness got round to it, so a harness that falls behind shows
// up as latency instead of hiding it (no coordinated omission).
func (e *engine) attempt(ctx context.Context, t try, intended time.Time) {
	i := t.i
	began := e.now()
	d, err := e.dialUpgrade(ctx, i)
	if err != nil && ctx.Err() != nil {
		err = fmt.Errorf("%w: %w", context.Canceled, err)
	}
	if err != nil {
		var id *identify.Answer
		if d.a != nil && d.a.status != 0 {
			id = e.answers.of(d.a.buf, e.cfg.Scrub)
		}
		e.failAnswer(t, err, d.captured, id)
		return
	}
	// The kernel dates the last data in jiffies (4 ms at HZ=250) and may
	// put it up to one before the request left; the answer cannot have
	// arrived before then.
	upgradedAt := max(d.sent, d.judged-sinceLastData(d.raw))
	ev := event.Upgraded{
		AtNs: upgradedAt, LatencyNs: upgradedAt - intended.Sub(e.start).Nanoseconds(),
		ConnectNs: d.connected - began, UpgradeNs: d.judged - d.connected,
		Answer: e.answers.of(d.a.buf[:len(d.a.buf)-len(d.early)], e.cfg.Scrub),
	}
	var st *tlsrecord.State
	if d.tc != nil {
		cs := d.tc.ConnectionState()
		if st, err = d.tap.State(); err != nil {
			d.tap.Forget()
			d.raw.Close()
			e.failAnswer(t, fmt.Errorf("holding the connection outside crypto/tls (%s, %s): %w",
				tls.VersionName(cs.Version), tls.CipherSuiteName(cs.CipherSuite), err), "", nil)
			return
		}
		ev.TLSNs, ev.UpgradeNs, ev.Resumed = d.secured-d.connected, d.judged-d.secured, cs.DidResume
	}
	fd, err := detach(d.raw)
	if err != nil {
		if st != nil {
			st.Clear()
		}
		cause, _ := classify(err)
		e.failed(t, event.Failed{AtNs: e.now(), Cause: cause, Example: "taking over the socket: " + err.Error()})
		return
	}
	if fd >= len(e.conns) {
		// The open-files limit was raised after the table was sized.
		unix.Close(fd)
		if st != nil {
			st.Clear()
		}
		e.failed(t, event.Failed{AtNs: e.now(), Cause: "emfile", Example: "descriptor beyond the open-files limit seen at start"})
		return
	}
	e.upgraded(t, ev)
	if st != nil {
		e.loopFor(fd).addTLS(fd, i, upgradedAt, d.early, st)
		return
	}
	e.loopFor(fd).add(fd, i, upgradedAt, d.early)
}

// dialed is an attempt's connection as far as dialUpgrade took it.
type dialed struct {
	raw net.Conn // the TCP connection
	// For wss://: the TLS connection over tap, over raw.
	tc  *tls.Conn
	tap *tlsrecord.Tap
	// a is the answer as received (nil if none was awaited); early is
	// what the server sent behind its 101; captured describes a refusal.
	a        *answer
	early    []byte
	captured string
	// When the connect and the TLS handshake ended, the request was
	// sent and the answer was judged, ns since the run's start.
	connected, secured, sent, judged int64
}

// dialUpgrade connects (and for wss:// does the TLS handshake), sends the
// request the loops send, and reads the answer until the judge decides it,
// all within the handshake timeout. The run's context reaches the connect;
// past it, an interrupt moves the deadline to now (interruptDials): a
// watcher goroutine per attempt would cost more. On error the connection
// is closed.
func (e *engine) dialUpgrade(ctx context.Context, i int) (d dialed, err error) {
	deadline := time.Now().Add(e.cfg.HandshakeTimeout)
	dctx, cancel := context.WithDeadline(ctx, deadline)
	d.raw, err = e.netDial(i)(dctx, "tcp", hostPort(e.cfg.URL))
	cancel()
	if err != nil {
		return d, err
	}
	d.connected = e.now()
	// Before track: an interrupt moves the deadline to now.
	_ = d.raw.SetDeadline(deadline)
	if !e.track(d.raw) {
		d.raw.Close()
		return d, context.Canceled
	}
	defer func() {
		e.untrack(d.raw)
		if err != nil {
			d.raw.Close()
			if d.tap != nil {
				// A failed handshake or a refused upgrade: its
				// secrets are wiped now, not left to the collector.
				d.tap.Forget()
			}
		}
	}()
	var conn net.Conn = d.raw
	// A read through a Tap's tls.Conn stops at a record's end; a buffer
	// of a whole record's size takes each record whole, so nothing of the
	// answer or what follows it is left inside crypto/tls.
	buf := make([]byte, 4096)
	if e.cfg.URL.Scheme == "wss" {
		d.tap = tlsrecord.NewTap(d.raw)
		d.tc = tls.Client(d.tap, d.tap.Config(e.tls, e.sessions))
		if err := d.tc.Handshake(); err != nil {
			return d, err
		}
		d.tap.HandshakeDone(d.tc.ConnectionState())
		d.secured = e.now()
		conn = d.tc
		buf = make([]byte, tlsrecord.MaxPlaintext)
	}
	var nonce [16]byte
	_, _ = rand.Read(nonce[:])
	key := base64.StdEncoding.EncodeToString(nonce[:])
	if _, err := io.WriteString(conn, e.dst.reqHead+key+e.dst.reqTail); err != nil {
		return d, err
	}
	d.sent = e.now()
	d.a = &answer{offer: handshake.Offer{Key: key, Protocols: e.cfg.Subprotocols}}
	for {
		n, rerr := conn.Read(buf)
		if n > 0 {
			if done, early, captured, err := d.a.add(buf[:n]); done {
				d.judged, d.captured = e.now(), captured
				if err == nil {
					_ = d.raw.SetDeadline(time.Time{})
					d.early = bytes.Clone(early)
				}
				return d, err
			}
		}
		if rerr != nil {
			captured, err := d.a.ended(rerr)
			d.captured = captured
			return d, err
		}
	}
}

// tlsConfig is the run's TLS configuration as a browser would make it for
// a WebSocket: the server name (SNI, and the name the certificate must
// carry) is the host the request names (the URL's, or Host's); ALPN offers
// http/1.1 alone; and, unless the configuration says otherwise, TLS 1.2
// offers the AEAD suites whose records the loops carry (tlsrecord.Suites12).
func tlsConfig(cfg *Config) *tls.Config {
	c := &tls.Config{}
	if cfg.TLS != nil {
		c = cfg.TLS.Clone()
	}
	if c.ServerName == "" {
		host := cfg.URL.Host
		if cfg.Host != "" {
			host = cfg.Host
		}
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		c.ServerName = strings.Trim(host, "[]")
	}
	if c.NextProtos == nil {
		c.NextProtos = []string{"http/1.1"}
	}
	if c.CipherSuites == nil {
		c.CipherSuites = tlsrecord.Suites12()
	}
	return c
}

// track notes a connection whose handshake is in flight, so that an
// interrupt can end it at once; false means the run is already
// interrupted.
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

// interruptDials ends the handshakes in flight in their goroutines: their
// deadline passes now, and each fails as interrupted.
func (e *engine) interruptDials() {
	e.hsMu.Lock()
	defer e.hsMu.Unlock()
	for c := range e.handshakes {
		_ = c.SetDeadline(time.Now())
	}
}

// netDial returns the dial function for attempt i: plain, or bound to one of
// the source addresses in turn.
func (e *engine) netDial(i int) func(ctx context.Context, network, addr string) (net.Conn, error) {
	if len(e.cfg.SourceIPs) == 0 {
		return e.dialer.DialContext
	}
	src := e.cfg.SourceIPs[i%len(e.cfg.SourceIPs)]
	d := net.Dialer{
		LocalAddr: &net.TCPAddr{IP: src.AsSlice(), Zone: src.Zone()},
		// Binding a source address normally reserves a port at bind time
		// from one pool shared by every destination; with this option the
		// kernel picks it at connect time per destination. Without it,
		// tcpkali and Tsung stall at half the ephemeral range.
		Control: func(network, address string, c syscall.RawConn) error {
			return c.Control(func(fd uintptr) {
				_ = unix.SetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
			})
		},
	}
	return d.DialContext
}

// detach takes the socket out of the Go runtime: it duplicates the
// descriptor and closes the net.Conn, so exactly one descriptor remains and
// it is ours to put in an epoll set. (Keeping the net.Conn alive next to a
// dup, as conn.File() does, would cost two descriptors per connection.)
func detach(conn net.Conn) (int, error) {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		conn.Close()
		return -1, fmt.Errorf("connection of type %T has no descriptor", conn)
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		conn.Close()
		return -1, err
	}
	nfd := -1
	var derr error
	cerr := raw.Control(func(fd uintptr) {
		nfd, derr = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
	})
	conn.Close()
	if cerr != nil {
		return -1, cerr
	}
	if derr != nil {
		return -1, derr
	}
	// The duplicate shares the open file description, and with it the
	// non-blocking flag Go set; say so explicitly anyway.
	if err := unix.SetNonblock(nfd, true); err != nil {
		unix.Close(nfd)
		return -1, err
	}
	return nfd, nil
}

// describeResponse summarises a non-101 answer: its status line, the Server
// header (who answered) and the start of its body — enough to tell an
// nginx page from a backend's one-line refusal.
func describeResponse(r io.Reader) string {
	resp, err := http.ReadResponse(bufio.NewReader(r), nil)
	if err != nil {
		return "unparseable response: " + err.Error()
	}
	defer resp.Body.Close()
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", resp.Proto, resp.Status)
	if s := resp.Header.Get("Server"); s != "" {
		fmt.Fprintf(&b, "; Server: %s", s)
	}
	body := make([]byte, 512)
	n, _ := io.ReadFull(io.LimitReader(resp.Body, int64(len(body))), body)
	if text := summarizeBody(body[:n]); text != "" {
		fmt.Fprintf(&b, "; body: %s", text)
	}
	return b.String()
}

// summarizeBody reduces a body to one short line; for an HTML error page
// that is its <title>.
func summarizeBody(p []byte) string {
	s := string(p)
	if i := strings.Index(strings.ToLower(s), "<title>"); i >= 0 {
		rest := s[i+len("<title>"):]
		if j := strings.Index(strings.ToLower(rest), "</title>"); j >= 0 {
			s = rest[:j]
		}
	}
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	return s
}

// sinceLastData asks the kernel how long ago the last data (here: the 101)
// arrived on conn, in ns (counted in jiffies: 1–4 ms). On a busy machine a
// goroutine may get to the response tens or hundreds of milliseconds after
// it arrived; dating the upgrade by the kernel's clock keeps both the
// handshake latency and every drop's age true — a proxy starts its idle
// timer when it relays the 101, not when the harness notices it. What the
// kernel keeps is the last segment's time only: when the server sent more
// behind the 101 before the harness read it, the date is that data's.
func sinceLastData(conn net.Conn) int64 {
	if nc, ok := conn.(interface{ NetConn() net.Conn }); ok {
		conn = nc.NetConn()
	}
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return 0
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return 0
	}
	var lag int64
	_ = raw.Control(func(fd uintptr) {
		if ti, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO); err == nil {
			lag = int64(ti.Last_data_recv) * int64(time.Millisecond)
		}
	})
	return lag
}
