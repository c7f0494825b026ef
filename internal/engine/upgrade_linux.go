package engine

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wshold/wshold/internal/event"
	"github.com/wshold/wshold/internal/handshake"
	"github.com/wshold/wshold/internal/identify"
)

// A plain ws:// upgrade is a few hundred bytes each way. Doing it in the
// epoll loops that will hold the connection, as a small state machine per
// socket, costs a few system calls; doing it with net.Dial and gobwas/ws
// cost a goroutine, the runtime's netpoller, a context watcher, buffers and
// then detaching the descriptor from the runtime — most of the client's CPU
// per connection. wss:// keeps the gobwas path: its TLS state lives in
// crypto/tls.

// dest is where plain ws:// attempts connect, worked out once per run.
type dest struct {
	addr    net.Addr // for error messages, as net.Dial would word them
	err     error    // the target could not be resolved: every attempt fails with it
	reqHead string   // the request around its key (every path sends it)
	reqTail string

	// The target and the source addresses in the kernel's form, which
	// connect and bind only read: every opener shares them.
	rawTo   *rawAddr
	rawFrom []*rawAddr
}

// openers is how many goroutines start plain ws:// attempts side by side
// (see startAttempts): one per scheduler thread. A connect() from one
// source address searches its port range for a free port, and once much of
// the range is taken (15,000 connections, TIME_WAIT left by earlier runs)
// that search can cost more than the schedule allows at 2000/s; with
// several threads it runs on each of them.
func openers() int { return max(1, runtime.GOMAXPROCS(0)) }

// pending is one handshake in a loop, from connect to the 101.
type pending struct {
	i        int
	intended int64 // ns since start: the attempt's slot in the schedule
	began    int64
	connect  int64 // when the connect was seen to complete
	deadline int64
	state    uint8
	req      []byte // what is left to send of the request
	answer          // the answer so far, and its judging
	slots    *slots
}

const (
	connecting = iota
	sending
	receiving
)

// slots is the ramp's bound on attempts in flight: a handshake gives its
// slot back when it ends, in whichever loop that is.
type slots struct {
	sem chan struct{}
	wg  sync.WaitGroup
}

func (s *slots) release() {
	<-s.sem
	s.wg.Done()
}

// prepareRaw resolves the target once: every attempt goes to the same
// address, and a lookup per attempt would put the resolver in the
// measurement. The runner has already refused a name that does not resolve;
// here one that stops resolving fails every attempt as "dns", as net.Dial
// would have.
func (e *engine) prepareRaw(ctx context.Context) {
	d := &e.dst
	u := e.cfg.URL
	host, portStr := u.Hostname(), u.Port()
	if portStr == "" {
		portStr = "80"
	}
	port, err := strconv.ParseUint(portStr, 10, 16)
	if err != nil {
		d.err = &net.OpError{Op: "dial", Net: "tcp", Err: &net.AddrError{Err: "invalid port", Addr: u.Host}}
		return
	}
	var ips []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		ips = []netip.Addr{ip}
	} else {
		lctx, cancel := context.WithTimeout(ctx, e.cfg.HandshakeTimeout)
		ips, err = net.DefaultResolver.LookupNetIP(lctx, "ip", host)
		cancel()
		if err != nil {
			d.err = &net.OpError{Op: "dial", Net: "tcp", Err: err}
			return
		}
	}
	// net.Dial with a source address only tries targets of its family; without
	// one it starts with the resolver's first choice. It would fall back to
	// the next address when one fails; one address per run is what a load
	// test of one target wants anyway.
	var ip netip.Addr
	for _, c := range ips {
		c = c.Unmap()
		if len(e.cfg.SourceIPs) == 0 || c.Is4() == e.cfg.SourceIPs[0].Unmap().Is4() {
			ip = c
			break
		}
	}
	if !ip.IsValid() {
		d.err = &net.OpError{Op: "dial", Net: "tcp", Err: &net.AddrError{Err: "no suitable address found", Addr: host}}
		return
	}
	to := netip.AddrPortFrom(ip, uint16(port))
	d.rawTo = newRawAddr(to)
	d.addr = net.TCPAddrFromAddrPort(to)
	for _, s := range e.cfg.SourceIPs {
		d.rawFrom = append(d.rawFrom, newRawAddr(netip.AddrPortFrom(s.Unmap(), 0)))
	}
}

// open starts attempt i: a non-blocking connect, then the handshake belongs
// to the descriptor's loop.
func (e *engine) open(i int, intended time.Time, s *slots) {
	began := e.now()
	fail := func(err error) {
		e.fail(err, "")
		s.release()
	}
	d := &e.dst
	if d.err != nil {
		fail(d.err)
		return
	}
	if e.ctx.Err() != nil {
		// Queued for an opener before the interrupt.
		fail(context.Canceled)
		return
	}
	fd, err := rawSocket(d.rawTo.family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err != nil {
		fail(e.dialErr(os.NewSyscallError("socket", err)))
		return
	}
	if fd >= len(e.conns) {
		// The open-files limit was raised after the table was sized.
		rawClose(fd)
		e.sink.Failed(event.Failed{AtNs: e.now(), Cause: "emfile", Example: "descriptor beyond the open-files limit seen at start"})
		s.release()
		return
	}
	// What net.Dial sets on every TCP connection, so that held connections
	// behave as they did on the gobwas path: no Nagle delay on control
	// frames, and keep-alive probes after 15 s of silence (a peer that
	// vanished ends as a reset, not never).
	_ = rawSetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	_ = rawSetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1)
	_ = rawSetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, 15)
	_ = rawSetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_KEEPINTVL, 15)
	_ = rawSetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_KEEPCNT, 9)
	if len(d.rawFrom) > 0 {
		// See netDial: the port is chosen at connect time, per destination.
		_ = rawSetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_BIND_ADDRESS_NO_PORT, 1)
		if err := rawBind(fd, d.rawFrom[i%len(d.rawFrom)]); err != nil {
			rawClose(fd)
			fail(e.dialErr(os.NewSyscallError("bind", err)))
			return
		}
	}
	if err := rawConnect(fd, d.rawTo); err != nil && !errors.Is(err, unix.EINPROGRESS) {
		rawClose(fd)
		fail(e.dialErr(os.NewSyscallError("connect", err)))
		return
	}
	var nonce [16]byte
	_, _ = rand.Read(nonce[:])
	key := base64.StdEncoding.EncodeToString(nonce[:])
	p := &pending{
		i:        i,
		intended: intended.Sub(e.start).Nanoseconds(),
		began:    began,
		deadline: began + int64(e.cfg.HandshakeTimeout),
		req:      []byte(d.reqHead + key + d.reqTail),
		answer:   answer{offer: handshake.Offer{Key: key, Protocols: e.cfg.Subprotocols}},
		slots:    s,
	}
	// Near targets (loopback, the same rack) have often answered the SYN
	// before connect returns: sending the request now saves the loop a
	// wake-up and the handshake its latency. Not connected yet, the write
	// says EAGAIN and the loop waits for the connect as usual.
	if n, err := rawWrite(fd, p.req); err == nil {
		p.connect = e.now()
		p.req = p.req[n:]
		p.state = sending
		if len(p.req) == 0 {
			p.req, p.state = nil, receiving
		}
	} else if !errors.Is(err, unix.EAGAIN) && !errors.Is(err, unix.EINTR) {
		// The connect failed already; the write reports its error.
		rawClose(fd)
		fail(e.dialErr(os.NewSyscallError("connect", err)))
		return
	}
	e.loopFor(fd).begin(fd, p)
}

func (e *engine) dialErr(err error) error {
	return &net.OpError{Op: "dial", Net: "tcp", Addr: e.dst.addr, Err: err}
}

// fail reports a failed attempt; captured describes the server's answer
// when there was one.
func (e *engine) fail(err error, captured string) {
	e.failAnswer(err, captured, nil)
}

// failAnswer is fail with the identity of the server's answer.
func (e *engine) failAnswer(err error, captured string, answer *identify.Answer) {
	cause, status := classify(err)
	example := captured
	if example == "" {
		example = err.Error()
	}
	if e.cfg.Scrub != nil {
		example = e.cfg.Scrub(example)
	}
	e.sink.Failed(event.Failed{AtNs: e.now(), Cause: cause, Status: status, Example: example, Answer: answer})
}

// interruptHandshakes ends every handshake in flight as interrupted: after
// an interrupt nobody waits for a slow server's answer.
func (e *engine) interruptHandshakes() {
	for _, l := range e.loops {
		l.mu.Lock()
		for fd, p := range l.pending {
			l.handshakeFailed(fd, p, context.Canceled)
		}
		l.hsNext = 0
		l.mu.Unlock()
	}
}

// begin takes over a connecting socket. Edge-triggered readiness for the
// handshake: one registration serves the connect, the request and the
// answer, and the switch to holding is one EPOLL_CTL_MOD.
func (l *loop) begin(fd int, p *pending) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.e.ctx.Err() != nil {
		// The interrupt may already have swept this loop.
		rawClose(fd)
		l.e.fail(context.Canceled, "")
		p.slots.release()
		return
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP | unix.EPOLLET, Fd: int32(fd)}
	if p.state != receiving {
		ev.Events |= unix.EPOLLOUT
	}
	if err := rawEpollCtl(l.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		rawClose(fd)
		l.e.fail(os.NewSyscallError("epoll_ctl", err), "")
		p.slots.release()
		return
	}
	l.pending[fd] = p
	// The loop may be asleep past this deadline; it wakes within half a
	// timeout while the ramp runs (see timeout) and then counts it exactly.
	// Waking it here instead cost a wake-up per connection at low rates.
	if l.hsNext == 0 || p.deadline < l.hsNext {
		l.hsNext = p.deadline
	}
}

// handshake advances one handshake on readiness. Edge-triggered: every
// step goes as far as the socket allows, or the readiness is lost.
func (l *loop) handshake(fd int, p *pending, events uint32) {
	if p.state == connecting {
		if events&(unix.EPOLLERR|unix.EPOLLHUP) != 0 {
			if errno, err := rawGetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_ERROR); err == nil && errno != 0 {
				l.handshakeFailed(fd, p, l.e.dialErr(os.NewSyscallError("connect", unix.Errno(errno))))
				return
			}
		} else if events&unix.EPOLLOUT == 0 {
			return
		}
		p.state = sending
		p.connect = l.e.now()
	}
	if p.state == sending {
		for len(p.req) > 0 {
			n, err := rawWrite(fd, p.req)
			switch {
			case errors.Is(err, unix.EINTR):
				continue
			case errors.Is(err, unix.EAGAIN):
				return
			case err != nil:
				l.handshakeFailed(fd, p, l.ioErr("write", os.NewSyscallError("write", err)))
				return
			}
			p.req = p.req[n:]
		}
		p.req = nil
		p.state = receiving
	}
	for {
		n, err := rawRead(fd, l.buf)
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EAGAIN):
			return
		case err != nil:
			l.handshakeEnded(fd, p, l.ioErr("read", os.NewSyscallError("read", err)))
			return
		case n == 0:
			l.handshakeEnded(fd, p, io.EOF)
			return
		}
		if done, early, captured, err := p.add(l.buf[:n]); done {
			if err != nil {
				l.handshakeFailedAnswer(fd, p, err, captured)
			} else {
				l.upgraded(fd, p, early)
			}
			return
		}
	}
}

// handshakeEnded ends a handshake whose answer stopped coming (EOF, an
// error, the timeout): a refusal whose status line is in is still the
// refusal; otherwise the end is the cause.
func (l *loop) handshakeEnded(fd int, p *pending, err error) {
	captured, err := p.ended(err)
	l.handshakeFailedAnswer(fd, p, err, captured)
}

func (l *loop) handshakeFailed(fd int, p *pending, err error) {
	l.handshakeFailedAnswer(fd, p, err, "")
}

func (l *loop) handshakeFailedAnswer(fd int, p *pending, err error, captured string) {
	delete(l.pending, fd)
	if len(l.pending) == 0 {
		l.hsNext = 0
	}
	rawClose(fd)
	if l.e.ctx.Err() != nil && !errors.Is(err, context.Canceled) {
		err = fmt.Errorf("%w: %w", context.Canceled, err)
	}
	var id *identify.Answer
	if p.status != 0 {
		id = l.e.answers.of(p.buf, l.e.cfg.Scrub)
	}
	l.e.failAnswer(err, captured, id)
	p.slots.release()
}

// upgraded turns a finished handshake into a held connection, dated like
// the gobwas path's: by when the kernel got the 101, not when the loop got
// round to it.
func (l *loop) upgraded(fd int, p *pending, early []byte) {
	delete(l.pending, fd)
	if len(l.pending) == 0 {
		l.hsNext = 0
	}
	upgradedAt := max(p.connect, l.arrival(fd, false))
	id := l.e.answers.of(p.buf[:len(p.buf)-len(early)], l.e.cfg.Scrub)
	l.e.sink.Upgraded(event.Upgraded{AtNs: upgradedAt, LatencyNs: upgradedAt - p.intended,
		ConnectNs: p.connect - p.began, UpgradeNs: l.e.now() - p.connect, Answer: id})
	l.attach(fd, upgradedAt, l.e.cfg.pings(p.i), early, unix.EPOLL_CTL_MOD, 0)
	p.slots.release()
}

// expire ends the handshakes past their deadline and finds the next one.
func (l *loop) expire(now int64) {
	var next int64
	for fd, p := range l.pending {
		if p.deadline <= now {
			op := "read"
			if p.state == connecting {
				op = "dial"
			}
			l.handshakeEnded(fd, p, l.ioErr(op, os.ErrDeadlineExceeded))
			continue
		}
		if next == 0 || p.deadline < next {
			next = p.deadline
		}
	}
	l.hsNext = next
}

func (l *loop) ioErr(op string, err error) error {
	return &net.OpError{Op: op, Net: "tcp", Addr: l.e.dst.addr, Err: err}
}
