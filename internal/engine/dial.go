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
)

// attempt opens connection i with a goroutine of its own: wss:// (its TLS
// state lives in crypto/tls), and ws:// when a test holds the loops to
// this path. intended is its slot in the rate schedule: latency is
// measured from there, not from when the harness got round to it, so a
// harness that falls behind shows up as latency instead of hiding it (no
// coordinated omission).
func (e *engine) attempt(ctx context.Context, t try, intended time.Time) {
	i := t.i
	began := e.now()
	conn, a, early, captured, err := e.dialUpgrade(ctx, i)
	if err != nil && ctx.Err() != nil {
		err = fmt.Errorf("%w: %w", context.Canceled, err)
	}
	if err != nil {
		var id *identify.Answer
		if a != nil && a.status != 0 {
			id = e.answers.of(a.buf, e.cfg.Scrub)
		}
		e.failAnswer(t, err, captured, id)
		return
	}
	id := e.answers.of(a.buf[:len(a.buf)-len(early)], e.cfg.Scrub)
	upgradedAt := max(began, e.now()-sinceLastData(conn))
	latency := upgradedAt - intended.Sub(e.start).Nanoseconds()
	if e.cfg.URL.Scheme == "wss" {
		e.upgraded(t, event.Upgraded{AtNs: upgradedAt, LatencyNs: latency, Answer: id})
		e.holdTLS(conn, i, upgradedAt, early)
		return
	}
	fd, err := detach(conn)
	if err != nil {
		cause, _ := classify(err)
		e.failed(t, event.Failed{AtNs: e.now(), Cause: cause, Example: "taking over the socket: " + err.Error()})
		return
	}
	if fd >= len(e.conns) {
		// The open-files limit was raised after the table was sized.
		unix.Close(fd)
		e.failed(t, event.Failed{AtNs: e.now(), Cause: "emfile", Example: "descriptor beyond the open-files limit seen at start"})
		return
	}
	e.upgraded(t, event.Upgraded{AtNs: upgradedAt, LatencyNs: latency, Answer: id})
	e.loopFor(fd).add(fd, i, upgradedAt, early)
}

// dialUpgrade connects (and for wss:// does the TLS handshake), sends the
// request the loops send, and reads the answer until the judge decides it,
// all within the handshake timeout. The run's context reaches the connect;
// past it, the timeout bounds the exchange (a watcher goroutine per attempt
// to cancel it would cost more than it saves). early is what the server
// sent behind its 101; captured describes a refusal; a is the answer as
// received (nil if none was awaited).
func (e *engine) dialUpgrade(ctx context.Context, i int) (conn net.Conn, a *answer, early []byte, captured string, err error) {
	deadline := time.Now().Add(e.cfg.HandshakeTimeout)
	dctx, cancel := context.WithDeadline(ctx, deadline)
	conn, err = e.netDial(i)(dctx, "tcp", hostPort(e.cfg.URL))
	cancel()
	if err != nil {
		return nil, nil, nil, "", err
	}
	defer func() {
		if err != nil {
			conn.Close()
		}
	}()
	_ = conn.SetDeadline(deadline)
	if e.cfg.URL.Scheme == "wss" {
		tc := tls.Client(conn, e.tls)
		if err := tc.Handshake(); err != nil {
			return conn, nil, nil, "", err
		}
		conn = tc
	}
	var nonce [16]byte
	_, _ = rand.Read(nonce[:])
	key := base64.StdEncoding.EncodeToString(nonce[:])
	if _, err := io.WriteString(conn, e.dst.reqHead+key+e.dst.reqTail); err != nil {
		return conn, nil, nil, "", err
	}
	a = &answer{offer: handshake.Offer{Key: key, Protocols: e.cfg.Subprotocols}}
	buf := make([]byte, 4096)
	for {
		n, rerr := conn.Read(buf)
		if n > 0 {
			if done, early, captured, err := a.add(buf[:n]); done {
				if err == nil {
					_ = conn.SetDeadline(time.Time{})
					early = bytes.Clone(early)
				}
				return conn, a, early, captured, err
			}
		}
		if rerr != nil {
			captured, err := a.ended(rerr)
			return conn, a, nil, captured, err
		}
	}
}

// tlsConfig is the run's TLS configuration with the server name set, as
// a browser sets it: the host the request names (the URL's, or Host's).
func tlsConfig(cfg *Config) *tls.Config {
	c := cfg.TLS
	if c == nil {
		c = &tls.Config{}
	}
	if c.ServerName != "" {
		return c
	}
	c = c.Clone()
	host := cfg.URL.Host
	if cfg.Host != "" {
		host = cfg.Host
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	c.ServerName = strings.Trim(host, "[]")
	return c
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
// arrived on conn, in ns (ms resolution). On a busy machine a goroutine may
// get to the response tens or hundreds of milliseconds after it arrived;
// dating the upgrade by the kernel's clock keeps both the handshake latency
// and every drop's age true — a proxy starts its idle timer when it relays
// the 101, not when the harness notices it.
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
