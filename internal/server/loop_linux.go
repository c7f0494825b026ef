package server

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"
)

// handoff carries a connection from its handshake goroutine to a loop.
type handoff struct {
	fd      int
	initial []byte // bytes the client sent after its request
	mode    *mode  // nil: plain echo/hold
	muted   bool   // ?noupgrade: no 101 was sent; read and discard
}

// conn is everything a loop keeps for one connection: a small record and no
// goroutine, no timer, no buffer while the connection is idle.
type conn struct {
	fd   int
	mode *mode

	closed    bool // the fd is closed; timers still pointing here are skipped
	muted     bool // ?noupgrade: discard input, never write
	closeSent bool // our close frame is out; waiting for the client's
	poisoned  bool // ?bigframe: the stream is mid-frame for ever; write nothing more
	flooding  bool // ?flood: keep the socket buffer full
	lingering bool // close once out has drained
	epollOut  bool // EPOLLOUT is in the interest set

	// The data frame being read: payload bytes still to come, its mask and
	// how far into it we are. echo says whether the frame (and its
	// message) is being echoed, decided at the message's first frame.
	remain  uint64
	mask    [4]byte
	maskPos int
	inMsg   bool // a fragmented message is open (non-final frame seen)
	echo    bool
	pingDue bool // a ping came due mid-echo; send it when the frame ends
	// A push or a broadcast came due mid-echo: sent when the frame ends.
	pushDue, bcastDue bool
	pushSeq           uint32 // sequence number of the next push

	partial []byte // an incomplete frame header or control frame (< 140 bytes)
	out     []byte // bytes the socket would not take yet, sent on EPOLLOUT
}

// midEcho reports whether an echoed frame is only partly sent, during which
// nothing else may be written to the stream.
func (c *conn) midEcho() bool { return c.echo && c.remain > 0 }

// loop is one epoll event loop. Level-triggered: a readable connection gets
// one read per wake-up and is reported again if bytes remain, which keeps
// loops fair among connections without per-connection bookkeeping; EPOLLOUT
// is in the interest set only while a connection has queued output or
// floods.
type loop struct {
	srv  *Server
	epfd int
	evfd int // eventfd that wakes the loop for handoffs and stop

	mu      sync.Mutex
	inbox   []handoff
	stopped bool // told to stop, or stopped on its own after an epoll failure
	exited  bool // evfd is closed: never write to it again (the fd number may be reused)

	bcasts []broadcast // broadcasts to write to every connection

	// Owned by the loop goroutine.
	conns  []*conn // indexed by fd
	sched  schedule
	buf    []byte // the one read buffer
	events []unix.EpollEvent
	spare  [][]byte // reusable out buffers
	done   chan struct{}
	// push and bcast hold the frame of the last push and broadcast: built
	// once into these buffers, written to each connection from there.
	push, bcast []byte

	open, closed atomic.Int64

	pushed, broadcasts, skipped atomic.Int64
}

func newLoop(s *Server) (*loop, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	evfd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, evfd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(evfd)}); err != nil {
		unix.Close(epfd)
		unix.Close(evfd)
		return nil, fmt.Errorf("epoll_ctl add eventfd: %w", err)
	}
	return &loop{
		srv:    s,
		epfd:   epfd,
		evfd:   evfd,
		buf:    make([]byte, readBufSize),
		events: make([]unix.EpollEvent, 256),
		done:   make(chan struct{}),
	}, nil
}

func (l *loop) now() int64 { return int64(time.Since(l.srv.epoch)) }

// enqueue passes a connection to the loop; false if the loop has stopped.
func (l *loop) enqueue(h handoff) bool {
	l.mu.Lock()
	if l.stopped {
		l.mu.Unlock()
		return false
	}
	l.inbox = append(l.inbox, h)
	l.wake()
	l.mu.Unlock()
	return true
}

// wake interrupts epoll_wait. Called with mu held, which keeps shutdown
// from closing evfd meanwhile.
func (l *loop) wake() {
	if l.exited {
		return
	}
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	_, _ = unix.Write(l.evfd, one[:])
}

// stop makes the loop close every connection and exit, and waits for it.
func (l *loop) stop() {
	l.mu.Lock()
	l.stopped = true
	l.wake()
	l.mu.Unlock()
	<-l.done
}

func (l *loop) run() {
	defer close(l.done)
	for {
		n, err := unix.EpollWait(l.epfd, l.events, l.sched.waitMs(l.now()))
		if err != nil && !errors.Is(err, unix.EINTR) {
			l.srv.cfg.Logf("epoll_wait: %v; closing this loop's connections", err)
			l.shutdown()
			return
		}
		for _, ev := range l.events[:max(n, 0)] {
			fd := int(ev.Fd)
			if fd == l.evfd {
				if l.drainInbox() {
					l.shutdown()
					return
				}
				l.sendBroadcasts()
				continue
			}
			c := l.lookup(fd)
			if c == nil {
				continue
			}
			if ev.Events&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
				l.readable(c)
			}
			if !c.closed && ev.Events&unix.EPOLLOUT != 0 {
				l.writable(c)
			}
		}
		l.runTimers()
	}
}

func (l *loop) lookup(fd int) *conn {
	if fd < 0 || fd >= len(l.conns) {
		return nil
	}
	return l.conns[fd]
}

// drainInbox installs handed-off connections; it reports whether the loop
// was told to stop.
func (l *loop) drainInbox() bool {
	var b [8]byte
	_, _ = unix.Read(l.evfd, b[:])
	l.mu.Lock()
	in, stopped := l.inbox, l.stopped
	l.inbox = nil
	l.mu.Unlock()
	for _, h := range in {
		if stopped {
			unix.Close(h.fd)
			continue
		}
		l.install(h)
	}
	return stopped
}

func (l *loop) install(h handoff) {
	c := &conn{fd: h.fd, mode: h.mode, muted: h.muted}
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, h.fd, &unix.EpollEvent{
		Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(h.fd),
	}); err != nil {
		l.srv.cfg.Logf("epoll_ctl add fd %d: %v; closing that connection", h.fd, err)
		unix.Close(h.fd)
		l.closed.Add(1)
		return
	}
	for h.fd >= len(l.conns) {
		l.conns = append(l.conns, make([]*conn, max(len(l.conns), 64))...)
	}
	l.conns[h.fd] = c
	l.open.Add(1)

	now := l.now()
	if m := c.mode; m != nil && !c.muted {
		if m.action != actNone {
			l.sched.push(timer{at: now + int64(m.after), c: c, kind: tAction})
		}
		if m.finAfter > 0 {
			l.sched.push(timer{at: now + int64(m.finAfter), c: c, kind: tFin})
		}
		if m.rstAfter > 0 {
			l.sched.push(timer{at: now + int64(m.rstAfter), c: c, kind: tRst})
		}
	}
	if every := l.pingEvery(c); every > 0 {
		l.sched.push(timer{at: now + int64(every), c: c, kind: tPing})
	}
	if every := l.pushEvery(c); every > 0 {
		l.sched.push(timer{at: now + int64(every), c: c, kind: tPush})
	}
	if len(h.initial) > 0 && !c.muted {
		n := copy(l.buf, h.initial)
		l.consume(c, l.buf[:n])
	}
}

func (l *loop) pingEvery(c *conn) time.Duration {
	if c.muted {
		return 0
	}
	if c.mode != nil && c.mode.ping > 0 {
		return c.mode.ping
	}
	return l.srv.cfg.Ping
}

// shutdown closes every connection on the way out: a close frame (1001,
// going away) where one fits in the socket now, then close(2).
func (l *loop) shutdown() {
	for _, c := range l.conns {
		if c == nil {
			continue
		}
		if !c.muted && !c.closeSent && !c.poisoned && !c.midEcho() && len(c.out) == 0 {
			_, _ = unix.Write(c.fd, frameGoingAway)
		}
		l.drop(c, dropPlain)
	}
	l.mu.Lock()
	in := l.inbox
	l.inbox = nil
	l.stopped, l.exited = true, true
	unix.Close(l.evfd)
	l.mu.Unlock()
	for _, h := range in {
		unix.Close(h.fd)
	}
	unix.Close(l.epfd)
	l.sched = nil
}
