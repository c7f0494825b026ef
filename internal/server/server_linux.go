package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Server is a running `wshold serve`. Its methods are safe for concurrent
// use.
type Server struct {
	cfg   Config
	epoch time.Time // origin of the loops' monotonic clock
	lns   []net.Listener
	loops []*loop

	// With Config.TLS, public are the listen addresses, where front
	// terminates TLS and relays to lns, one loopback listener (tls.go).
	public []net.Listener
	front  *front
	next   atomic.Uint32 // round-robin loop choice

	accepted, upgraded, rejected, aborted atomic.Int64

	mu        sync.Mutex
	closed    bool
	inflight  map[net.Conn]struct{} // connections still in their handshake
	acceptWG  sync.WaitGroup
	hsWG      sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// Start listens on every cfg.Listen address and serves until Close. It
// fails, having released everything, if any address cannot be listened on.
func Start(cfg Config) (*Server, error) {
	if len(cfg.Listen) == 0 {
		cfg.Listen = []string{defaultListen}
	}
	if cfg.Loops <= 0 {
		cfg.Loops = runtime.GOMAXPROCS(0)
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = defaultHandshakeTimeout
	}
	if cfg.Ping < 0 {
		return nil, fmt.Errorf("server ping interval %v is negative: use 0 for no pings", cfg.Ping)
	}
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	s := &Server{cfg: cfg, epoch: time.Now(), inflight: make(map[net.Conn]struct{})}

	lc := net.ListenConfig{}
	if cfg.ReusePort {
		lc.Control = func(_, _ string, rc syscall.RawConn) error {
			var serr error
			err := rc.Control(func(fd uintptr) {
				serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
			})
			return errors.Join(err, serr)
		}
	}
	for _, addr := range cfg.Listen {
		ln, err := lc.Listen(context.Background(), "tcp", addr)
		if err != nil {
			s.closeListeners()
			return nil, fmt.Errorf("listen on %q: %w; %s", addr, err, listenAdvice(addr, err))
		}
		s.lns = append(s.lns, ln)
	}
	if cfg.TLS != nil {
		inner, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			s.closeListeners()
			return nil, fmt.Errorf("listen on the TLS front's loopback backend: %w", err)
		}
		s.public, s.lns = s.lns, []net.Listener{inner}
		s.front = newFront(cfg, inner.Addr().String())
	}
	for range cfg.Loops {
		l, err := newLoop(s)
		if err != nil {
			s.closeListeners()
			for _, l := range s.loops {
				l.stop()
			}
			return nil, fmt.Errorf("start event loop: %w", err)
		}
		s.loops = append(s.loops, l)
		go l.run()
	}
	for _, ln := range s.lns {
		s.acceptWG.Add(1)
		go s.acceptLoop(ln)
	}
	for _, ln := range s.public {
		s.front.serve(ln)
	}
	return s, nil
}

// listenAdvice says what to do about a failed listen on addr, for the
// cause at hand: a taken port, an address this machine does not have, a
// privileged port, a host that does not resolve, or an address that is
// not HOST:PORT at all.
func listenAdvice(addr string, err error) string {
	const form = "give HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080 (port 0 for a free one)"
	host, port, splitErr := net.SplitHostPort(addr)
	var dnsErr *net.DNSError
	var addrErr *net.AddrError
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		return "the port is taken: stop what listens there, choose another port, or use port 0 for a free one"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return fmt.Sprintf("%s is not an address of this machine: listen on one it has (see 'ip addr'), e.g. 127.0.0.1, or 0.0.0.0 for all", host)
	case errors.Is(err, syscall.EACCES):
		return fmt.Sprintf("port %s is privileged: use a port from 1024 up (or port 0 for a free one), or give wshold CAP_NET_BIND_SERVICE", port)
	case splitErr != nil:
		return form
	case errors.As(err, &dnsErr) && strings.HasPrefix(dnsErr.Name, "tcp/"):
		return fmt.Sprintf("port %q is not a number or a known service name; %s", port, form)
	case errors.As(err, &dnsErr):
		return fmt.Sprintf("host %q does not resolve: use an IP address of this machine, e.g. 127.0.0.1, or a name that resolves to one", host)
	case errors.As(err, &addrErr) && addrErr.Err == "invalid port":
		return fmt.Sprintf("port %s is out of range: give 1 to 65535, or 0 for a free one", port)
	case errors.As(err, &addrErr):
		return form
	default:
		return "check the address, " + form
	}
}

// Addrs returns the listeners' addresses, in Config.Listen order, with the
// ports that port 0 picked.
func (s *Server) Addrs() []net.Addr {
	lns := s.lns
	if s.public != nil {
		lns = s.public
	}
	as := make([]net.Addr, len(lns))
	for i, ln := range lns {
		as[i] = ln.Addr()
	}
	return as
}

// Stats returns the current counters.
func (s *Server) Stats() Stats {
	st := Stats{
		Accepted: s.accepted.Load(),
		Upgraded: s.upgraded.Load(),
		Rejected: s.rejected.Load(),
		Aborted:  s.aborted.Load(),
	}
	for _, l := range s.loops {
		st.Open += l.open.Load()
		st.Closed += l.closed.Load()
	}
	return st
}

// Close stops accepting, ends handshakes in progress, sends every upgraded
// connection a close frame (1001, going away) where its socket has room,
// closes them all, and returns once every loop has exited. It does not wait
// for clients to answer, so it is bounded by the number of connections, not
// by the network. Calling it again returns the first result.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		for c := range s.inflight {
			c.Close()
		}
		s.mu.Unlock()
		if s.front != nil {
			// Its accept loops end with the public listeners.
			for _, ln := range s.public {
				ln.Close()
			}
			s.front.close()
		}
		s.closeErr = s.closeListeners()
		s.acceptWG.Wait()
		s.hsWG.Wait()
		for _, l := range s.loops {
			l.stop()
		}
	})
	return s.closeErr
}

func (s *Server) closeListeners() error {
	var errs []error
	for _, ln := range append(s.public, s.lns...) {
		if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// acceptLoop hands each connection to a short-lived handshake goroutine.
// Running out of file descriptors is survivable (clients close, fds come
// back), so it backs off and retries as net/http does.
func (s *Server) acceptLoop(ln net.Listener) {
	defer s.acceptWG.Done()
	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if errors.Is(err, unix.EMFILE) || errors.Is(err, unix.ENFILE) || errors.Is(err, unix.ECONNABORTED) || errors.Is(err, unix.ENOBUFS) || errors.Is(err, unix.ENOMEM) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.cfg.Logf("accept on %s: %v; retrying in %v (raise the open-files limit or hold fewer connections per process)", ln.Addr(), err, backoff)
				time.Sleep(backoff)
				continue
			}
			s.cfg.Logf("accept on %s: %v; this listener stops", ln.Addr(), err)
			return
		}
		backoff = 0
		s.accepted.Add(1)
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			nc.Close()
			s.aborted.Add(1)
			continue
		}
		s.inflight[nc] = struct{}{}
		s.hsWG.Add(1)
		s.mu.Unlock()
		go s.handshake(nc)
	}
}

// handshake reads the upgrade request and answers it. A connection that
// stays (upgraded, or ?noupgrade) leaves as a bare fd for an event loop;
// no goroutine outlives its handshake.
func (s *Server) handshake(nc net.Conn) {
	defer s.hsWG.Done()
	keep := false
	defer func() {
		s.mu.Lock()
		delete(s.inflight, nc)
		s.mu.Unlock()
		if !keep {
			nc.Close()
		}
	}()
	_ = nc.SetDeadline(time.Now().Add(s.cfg.HandshakeTimeout))

	// Our own bufio.Reader, so that bytes the client sent right after its
	// request (its first frames) are not lost with a pooled buffer: they
	// go to the loop with the fd.
	lr := &io.LimitedReader{R: nc, N: maxRequestBytes}
	br := bufio.NewReaderSize(lr, 4096)
	req, err := http.ReadRequest(br)
	if err != nil {
		if lr.N == 0 {
			s.reject(nc, http.StatusRequestHeaderFieldsTooLarge, fmt.Sprintf("request line and headers exceed %d bytes", maxRequestBytes), "")
			return
		}
		var ne net.Error
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) || (errors.As(err, &ne) && ne.Timeout()) || errors.Is(err, unix.ECONNRESET) {
			s.aborted.Add(1)
			return
		}
		s.reject(nc, http.StatusBadRequest, "malformed HTTP request: "+oneLine(err.Error()), "")
		return
	}
	m, err := parseMode(req.URL.Query())
	if err != nil {
		s.reject(nc, http.StatusBadRequest, err.Error(), "")
		return
	}
	how := ansUpgrade
	if m != nil {
		how = m.answer
	}
	switch how {
	case ansStatus:
		s.reject(nc, m.status, fmt.Sprintf("wshold serve: status %d as asked by ?status=", m.status), "")
		return
	case ansGarbage:
		s.rejected.Add(1)
		_, _ = nc.Write(garbage)
		lingerClose(nc)
		return
	case ansNoUpgrade:
		keep = s.handoff(nc, br, m, true)
		return
	}
	if ps := requestProblems(req); len(ps) > 0 {
		extra := ""
		if strings.Contains(strings.Join(ps, ""), problemVersion) {
			extra = "Sec-WebSocket-Version: 13\r\n"
		}
		s.reject(nc, http.StatusBadRequest, strings.Join(ps, "; "), extra)
		return
	}
	if err := writeUpgrade(nc, req, how); err != nil {
		s.aborted.Add(1)
		return
	}
	s.upgraded.Add(1)
	keep = s.handoff(nc, br, m, false)
}

// reject answers with an error status and closes.
func (s *Server) reject(nc net.Conn, status int, body, extra string) {
	s.rejected.Add(1)
	if writeError(nc, status, body, extra) == nil {
		lingerClose(nc)
	}
}

// lingerClose sends FIN and reads what the client still sends for a
// moment before closing: closing with unread bytes would make the kernel
// send RST, and an RST can destroy the answer before the client reads it.
func lingerClose(nc net.Conn) {
	if tc, ok := nc.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
	_ = nc.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
	_, _ = io.Copy(io.Discard, io.LimitReader(nc, 64<<10))
}

// handoff moves the connection to an event loop as a bare fd, with the
// bytes already read past the request. It reports whether the loop took
// it; if it did, the net.Conn is already closed and must not be used.
func (s *Server) handoff(nc net.Conn, br *bufio.Reader, m *mode, muted bool) bool {
	var initial []byte
	if n := br.Buffered(); n > 0 {
		b, _ := br.Peek(n)
		initial = append([]byte(nil), b...)
	}
	fd, err := detach(nc)
	if err != nil {
		s.cfg.Logf("hand a connection to an event loop: %v", err)
		return false
	}
	l := s.loops[int(s.next.Add(1))%len(s.loops)]
	if !l.enqueue(handoff{fd: fd, initial: initial, mode: m, muted: muted}) {
		unix.Close(fd)
		s.aborted.Add(1)
	}
	return true
}

// detach turns nc into a non-blocking fd that nothing in the Go runtime
// watches, leaving exactly one descriptor for the connection: it
// duplicates the socket's fd, then closes nc (the duplicate keeps the
// socket open, so no FIN is sent).
func detach(nc net.Conn) (int, error) {
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return -1, fmt.Errorf("connection type %T has no file descriptor", nc)
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return -1, fmt.Errorf("get the connection's fd: %w", err)
	}
	fd, dupErr := -1, error(nil)
	if err := rc.Control(func(s uintptr) {
		fd, dupErr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0)
	}); err != nil {
		return -1, fmt.Errorf("get the connection's fd: %w", err)
	}
	if dupErr != nil {
		return -1, fmt.Errorf("duplicate the connection's fd: %w", dupErr)
	}
	nc.Close()
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("make the connection's fd non-blocking: %w", err)
	}
	return fd, nil
}

func oneLine(s string) string {
	return strings.NewReplacer("\r", " ", "\n", " ").Replace(s)
}
