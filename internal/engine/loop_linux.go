package engine

import (
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wshold/wshold/internal/event"
	"github.com/wshold/wshold/internal/tlsrecord"
)

// connState is everything the engine keeps per held connection: a fixed
// record in a table indexed by descriptor, no buffers, no goroutine, no
// timer. Times are ns since run start.
type connState struct {
	upgradedAt int64
	lastFrame  int64 // last frame in either direction (the upgrade counts)
	quiet      int64 // longest silence lived through before lastFrame (see frame)
	pingSentAt int64 // oldest unanswered ping; 0 when none
	frames     frameState
	carry      int32 // 1 + index of a carry buffer holding a partial frame; 0 none
	pend       int32 // 1 + index of a pendBuf holding bytes the socket did not take; 0 none
	tls        int32 // wss://: 1 + index of its record protection in loop.tlss; 0 for ws://
	idx        int32 // the connection slot (try.i): what a reconnect reopens
	carryLen   uint8
	open       bool
	pinging    bool
	closing    bool   // our close frame was sent: the end is ours, not a drop
	lowat      uint8  // lowatNone, or what SO_RCVLOWAT was raised to wait for
	heldLen    uint16 // bytes of the partial record in held
	held       int32  // wss://: 1 + index of a loop.helds buffer holding a partial record; 0 none

	// Timed messages (messages_linux.go): the next sequence number to
	// send, the next expected back and how many came back; for the data
	// frame being read, whether its pattern is checked, its key and
	// whether the server sent it.
	txSeq, rxSeq, rxCount uint32
	rxKey                 uint8
	sending, rxCheck      bool
	rxPush                bool
}

// loop is one epoll set and the goroutine that waits on it. A connection
// belongs to loop fd % len(loops) for its whole life, so its table entry is
// only ever touched under that loop's mutex.
type loop struct {
	e    *engine
	id   int
	epfd int
	wake int // eventfd: wakes epoll_wait for stop and close requests

	mu      sync.Mutex
	buf     []byte // one read buffer for every connection of this loop
	out     []byte // scratch for outgoing control frames
	events  []unix.EpollEvent
	carries [][carryCap]byte
	free    []int32
	rng     uint64

	// pends hold what sockets did not take yet (wire_linux.go); a slot
	// is a connection's only while it waits.
	pends    []*pendBuf
	pendFree []int32

	// wss:// (tlsloop_linux.go): each held connection's record protection,
	// and the peek and seal buffers, made when the first one arrives.
	tlss    []*tlsrecord.State
	tlsFree []int32
	raw     []byte
	rec     []byte

	// partial records the kernel could not keep (tlsloop_linux.go); a
	// buffer is a connection's only until its record is whole.
	helds    []*[tlsrecord.MaxRecord]byte
	heldFree []int32

	// ping schedule: the table is walked in slices so that each pinging
	// connection is visited once per ping interval, by position. One walk,
	// shared by all connections, instead of a timer per connection.
	tick     time.Duration
	nextTick int64
	lastScan int64
	scanPos  int
	scanFrac int64 // remainder of table*elapsed/ping carried to the next scan

	open    atomic.Int64
	stopped atomic.Bool
	wg      sync.WaitGroup

	ti unix.TCPInfo // reused by arrival, so dating a drop allocates nothing

	msg msgState // the send schedule of timed messages

	// Handshakes in progress (plain ws://): few at a time and not the
	// steady state, so a map; hsNext is the earliest deadline among them,
	// 0 when there are none.
	pending map[int]*pending
	hsNext  int64

	// The epoll set in the runtime's poller (see pollable); rc is nil
	// when it is not. file, once set, owns epfd.
	file  *os.File
	rc    syscall.RawConn
	ready func(fd uintptr) bool
	n     int
	werr  error
}

func newLoop(e *engine, id int) (*loop, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	wake, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, err
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wake)}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wake, &ev); err != nil {
		unix.Close(epfd)
		unix.Close(wake)
		return nil, err
	}
	l := &loop{
		e: e, id: id, epfd: epfd, wake: wake,
		buf:     make([]byte, 64<<10),
		out:     make([]byte, 0, 2+4+maxControlPayload),
		events:  make([]unix.EpollEvent, 256),
		rng:     uint64(time.Now().UnixNano()) | 1,
		pending: map[int]*pending{},
	}
	if p := e.cfg.Ping; p > 0 {
		l.tick = min(max(p/20, 10*time.Millisecond), 500*time.Millisecond)
		l.lastScan = e.now()
		l.nextTick = l.lastScan + int64(l.tick)
	}
	l.initMessages()
	return l, nil
}

// add puts a freshly upgraded connection into the loop. early holds bytes
// the server sent right behind its 101.
func (l *loop) add(fd, i int, upgradedAt int64, early []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.attach(fd, i, upgradedAt, early, unix.EPOLL_CTL_ADD, 0)
}

// attach starts holding fd; op is EPOLL_CTL_MOD when the loop did the
// handshake and the descriptor is already in its set; tls is the
// connection's connState.tls.
func (l *loop) attach(fd, i int, upgradedAt int64, early []byte, op int, tls int32) {
	c := &l.e.conns[fd]
	*c = connState{upgradedAt: upgradedAt, lastFrame: upgradedAt, open: true, pinging: l.e.cfg.pings(i), tls: tls, idx: int32(i)}
	l.holdMessages(fd, i, c)
	l.open.Add(1)
	// Watched before anything is written: a write the socket does not
	// take whole waits for writability in this set.
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(fd)}
	if err := rawEpollCtl(l.epfd, op, fd, &ev); err != nil {
		l.end(fd, c, event.Reset, 0, l.e.now())
		return
	}
	if len(early) > 0 && !l.consume(fd, c, early, l.e.now()) {
		return
	}
	if l.e.closing.Load() {
		// The hold ended while this handshake was in flight.
		l.sendClose(fd, c, 1000)
	}
}

func (l *loop) run() {
	defer l.wg.Done()
	l.pollable()
	l.mu.Lock()
	timeout := l.timeout()
	l.mu.Unlock()
	for {
		n, err := l.wait(timeout)
		if err != nil && !errors.Is(err, unix.EINTR) {
			return
		}
		if l.stopped.Load() {
			return
		}
		l.mu.Lock()
		now := l.e.now()
		for i := 0; i < n; i++ {
			fd := int(l.events[i].Fd)
			if fd == l.wake {
				var b [8]byte
				_, _ = unix.Read(l.wake, b[:])
				continue
			}
			if len(l.pending) > 0 && !l.e.conns[fd].open {
				if p := l.pending[fd]; p != nil {
					l.handshake(fd, p, l.events[i].Events)
					continue
				}
			}
			l.act(fd, l.events[i].Events, now)
		}
		if l.tick > 0 && now >= l.nextTick {
			l.scan(now)
			l.nextTick = now + int64(l.tick)
		}
		l.sendDue(now)
		if l.hsNext != 0 {
			if now := l.e.now(); now >= l.hsNext {
				l.expire(now)
			}
		}
		timeout = l.timeout()
		l.mu.Unlock()
	}
}

// timeout is how long epoll_wait may sleep: until the next ping slice or
// the next handshake deadline, whichever comes first; forever with neither
// once the ramp is over.
func (l *loop) timeout() int {
	next := l.hsNext
	if next == 0 && l.e.ramping.Load() {
		// A handshake may be handed over while we sleep, without a wake-up:
		// waking within half a timeout still ends it on time.
		next = l.e.now() + int64(l.e.cfg.HandshakeTimeout)/2
	}
	if l.tick > 0 && (next == 0 || l.nextTick < next) {
		next = l.nextTick
	}
	next = l.msgTimeout(next)
	if next == 0 {
		return -1
	}
	return int(max(0, (next-l.e.now()+int64(time.Millisecond)-1)/int64(time.Millisecond)))
}

// end closes a connection and, unless the harness is closing it, records
// the drop. This is where a proxy's cut becomes a number.
func (l *loop) end(fd int, c *connState, kind event.DropKind, code uint16, now int64) {
	l.endWith(fd, c, kind, code, event.RuleNone, now)
}

// endBroken ends a connection whose server broke rule.
func (l *loop) endBroken(fd int, c *connState, rule event.Rule, now int64) {
	l.endWith(fd, c, event.ProtocolError, 0, rule, now)
}

func (l *loop) endWith(fd int, c *connState, kind event.DropKind, code uint16, rule event.Rule, now int64) {
	if !c.closing && !l.e.closing.Load() {
		switch kind {
		case event.EOF, event.CloseFrame, event.ProtocolError, event.CloseNotify, event.TLSAlert:
			now = max(c.lastFrame, l.arrival(fd, kind == event.EOF))
		}
		l.e.sink.Dropped(event.Dropped{
			AtNs:       now,
			AgeNs:      now - c.upgradedAt,
			IdleNs:     now - c.lastFrame,
			QuietNs:    c.quiet,
			PongWaitNs: c.pongWait(kind, now),
			Kind:       kind,
			CloseCode:  code,
			Rule:       rule,
			Pinging:    c.pinging,
		})
		l.e.dropped(int(c.idx))
	}
	if c.tls != 0 {
		l.endTLS(fd, c, kind)
	}
	l.endMessages(c, now)
	l.dropCarry(c)
	l.releasePend(c)
	*c = connState{}
	rawClose(fd) // also removes it from the epoll set: it has no duplicate
	l.open.Add(-1)
}

// arrival dates what ended a connection by the kernel's clock: when the
// last data segment (a close frame, a bad frame) or, for a bare FIN, the
// last segment carrying an ACK arrived. A busy machine can keep the loop
// from reading for hundreds of milliseconds; the proxy cut the connection
// when its FIN left, and the kernel knows when that was (to the
// millisecond). Falls back to now when the kernel cannot say.
func (l *loop) arrival(fd int, fin bool) int64 {
	err := rawTCPInfo(fd, &l.ti)
	now := l.e.now()
	if err != nil {
		return now
	}
	lag := l.ti.Last_data_recv
	if fin {
		lag = l.ti.Last_ack_recv
	}
	return now - int64(lag)*int64(time.Millisecond)
}

// scan visits the slice of the table due at this tick: it ends connections
// whose pong is overdue and pings the rest of the pinging group.
func (l *loop) scan(now int64) {
	table := l.e.conns
	n := len(l.e.loops)
	// This loop's slots are fds id, id+n, id+2n, ...: it walks only those.
	slots := (len(table) - l.id + n - 1) / n
	// How far to walk follows the time elapsed, not the number of ticks:
	// a loop that woke late (a busy ramp, a loaded machine) walks further,
	// so each connection is still visited once per ping interval.
	num := int64(slots)*(now-l.lastScan) + l.scanFrac
	per := min(int(num/int64(l.e.cfg.Ping)), slots)
	l.scanFrac = num % int64(l.e.cfg.Ping)
	l.lastScan = now
	for range per {
		fd := l.id + l.scanPos*n
		if l.scanPos++; l.scanPos >= slots {
			l.scanPos = 0
		}
		c := &table[fd]
		if !c.open || !c.pinging || c.closing {
			continue
		}
		if c.pingSentAt != 0 && now-c.pingSentAt > int64(l.e.cfg.PongTimeout) {
			l.end(fd, c, event.PongTimeout, 0, now)
			continue
		}
		l.ping(fd, c, now)
	}
}

// beginClose sends every open connection of this loop a close frame.
func (l *loop) beginClose() {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(l.e.loops)
	for fd := l.id; fd < len(l.e.conns); fd += n {
		if c := &l.e.conns[fd]; c.open && !c.closing {
			l.sendClose(fd, c, 1000)
		}
	}
}

// forceClose closes whatever is still open and returns how many.
func (l *loop) forceClose() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, forced := len(l.e.loops), 0
	for fd := l.id; fd < len(l.e.conns); fd += n {
		if c := &l.e.conns[fd]; c.open {
			c.closing = true
			l.end(fd, c, event.EOF, 0, 0)
			forced++
		}
	}
	return forced
}

func (l *loop) stop() {
	l.halt()
	if l.file != nil {
		l.file.Close() // owns epfd
	} else {
		unix.Close(l.epfd)
	}
	unix.Close(l.wake)
}

// halt ends the loop's goroutine and waits for it; its descriptors stay
// open.
func (l *loop) halt() {
	l.stopped.Store(true)
	var one [8]byte
	one[0] = 1
	_, _ = unix.Write(l.wake, one[:])
	l.wg.Wait()
}

// pollable hands the epoll set itself to the Go runtime's poller. A loop
// blocked in epoll_wait sits in a system call holding its P; once the loops
// did the handshakes and were woken for every one, that ate what they
// saved: at -r 2000 the client's CPU per connection hardly fell (user time
// halved, system time up), perf showing the difference in sysmon and thread
// wake-ups. Parked in the poller instead, the loops let it fall by a tenth
// to a fifth. If the runtime will not take the set, the loop blocks in
// epoll_wait as before.
func (l *loop) pollable() {
	if err := unix.SetNonblock(l.epfd, true); err != nil {
		return
	}
	// f owns epfd from here on, whatever happens next: left to the
	// garbage collector, its finalizer would close the descriptor.
	f := os.NewFile(uintptr(l.epfd), "epoll")
	l.file = f
	rc, err := f.SyscallConn()
	if err != nil || f.SetReadDeadline(time.Time{}) != nil {
		// Not in the poller: epoll_wait blocks.
		_ = unix.SetNonblock(l.epfd, false)
		return
	}
	l.rc = rc
	l.ready = func(fd uintptr) bool {
		l.n, l.werr = rawEpollPoll(int(fd), l.events)
		return l.n != 0 || (l.werr != nil && !errors.Is(l.werr, unix.EINTR))
	}
}

// wait is epoll_wait with a timeout in ms (-1: none), through the runtime's
// poller when the set is in it.
func (l *loop) wait(timeout int) (int, error) {
	if l.rc == nil {
		return unix.EpollWait(l.epfd, l.events, timeout)
	}
	// Busy loops find events at once and never touch the deadline.
	if l.ready(uintptr(l.epfd)) || timeout == 0 {
		return l.n, l.werr
	}
	var deadline time.Time
	if timeout > 0 {
		deadline = time.Now().Add(time.Duration(timeout) * time.Millisecond)
	}
	if err := l.file.SetReadDeadline(deadline); err != nil {
		return 0, err
	}
	if err := l.rc.Read(l.ready); err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return 0, nil
		}
		return 0, err
	}
	return l.n, l.werr
}
