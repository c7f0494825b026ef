package engine

import (
	"errors"

	"golang.org/x/sys/unix"

	"github.com/wshold/wshold/internal/event"
)

// Bytes between a held connection and its socket: reading (here for a
// plain ws:// socket; wss:// records are read and sealed in
// tlsloop_linux.go) and writing, for both.
//
// A write the socket does not take whole — its send buffer is full because
// the server is not reading — must not tear a frame or a TLS record: the
// rest of it would be lost and every later frame misread by the server.
// So the unwritten tail is kept, in order, in a small slot of a per-loop
// area, the descriptor is watched for writability, and the tail goes out
// when the socket has room; frames sent meanwhile queue behind it. A server
// that lets the slot fill has stopped reading for good, and the
// connection ends as send_blocked. Slots are taken from a free list and
// only exist while a connection waits, so holding costs nothing.

// pendCap is how much one connection may have waiting for its socket
// beyond what the kernel's send buffer holds: many pongs, pings and a
// close frame, each under 160 bytes with a TLS record around it.
const pendCap = 1 << 10

// pendBuf is one connection's unwritten bytes, oldest first.
type pendBuf struct {
	n int
	b [pendCap]byte
}

// act acts on one descriptor's readiness.
func (l *loop) act(fd int, ev uint32, now int64) {
	c := &l.e.conns[fd]
	if !c.open {
		return
	}
	if ev&unix.EPOLLOUT != 0 && c.pend != 0 {
		l.flush(fd, c)
	}
	if ev&^unix.EPOLLOUT != 0 {
		l.readable(fd, ev, now)
	}
}

// readable reads what one connection has and acts on every complete frame.
// ev is the readiness epoll reported (EPOLLRDHUP: the peer sent FIN).
func (l *loop) readable(fd int, ev uint32, now int64) {
	c := &l.e.conns[fd]
	if !c.open {
		return
	}
	if c.tls != 0 {
		l.readRecords(fd, c, ev, now)
		return
	}
	off := l.carried(c)
	n, err := rawRead(fd, l.buf[off:])
	switch {
	case errors.Is(err, unix.EAGAIN), errors.Is(err, unix.EINTR):
		return
	case err != nil:
		l.end(fd, c, event.Reset, 0, now)
		return
	case n == 0:
		l.end(fd, c, event.EOF, 0, now)
		return
	}
	l.dropCarry(c)
	l.consume(fd, c, l.buf[:off+n], now)
}

// transmit sends b, one or more whole frames, over the connection's
// transport: as they are on a plain socket, sealed in TLS records over
// wss://. It returns false when they could not be kept for later (see
// push): the caller then ends the connection, since over TLS a record
// lost would also break every later one.
func (l *loop) transmit(fd int, c *connState, b []byte) bool {
	if c.tls != 0 {
		b = l.seal(c, b)
	}
	return l.push(fd, c, b)
}

// push writes b, whole, after whatever the connection still has waiting;
// what the socket does not take now is kept for flush. It returns false
// when that does not fit; the bytes already queued stay queued, so nothing
// is torn either way. Write errors other than a full buffer are left to
// the read side, which sees the connection's end (RST, FIN) and records it.
func (l *loop) push(fd int, c *connState, b []byte) bool {
	if c.pend != 0 {
		p := l.pends[c.pend-1]
		if p.n+len(b) > pendCap {
			return false
		}
		p.n += copy(p.b[p.n:], b)
		return true
	}
	n, err := rawWrite(fd, b)
	for errors.Is(err, unix.EINTR) {
		n, err = rawWrite(fd, b)
	}
	switch {
	case err == nil && n == len(b):
		return true
	case err != nil && !errors.Is(err, unix.EAGAIN):
		return true
	case err != nil:
		n = 0
	}
	rest := b[n:]
	if len(rest) > pendCap {
		return false
	}
	var idx int32
	if k := len(l.pendFree); k > 0 {
		idx = l.pendFree[k-1]
		l.pendFree = l.pendFree[:k-1]
	} else {
		l.pends = append(l.pends, &pendBuf{})
		idx = int32(len(l.pends) - 1)
	}
	p := l.pends[idx]
	p.n = copy(p.b[:], rest)
	c.pend = idx + 1
	l.watch(fd, true)
	return true
}

// flush writes what the connection has waiting, now that its socket has
// room; once all is out, the descriptor is no longer watched for room.
func (l *loop) flush(fd int, c *connState) {
	p := l.pends[c.pend-1]
	for p.n > 0 {
		n, err := rawWrite(fd, p.b[:p.n])
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EAGAIN):
			return
		case err != nil:
			// The read side will see the end; nothing queued can go out.
			n = p.n
		}
		p.n = copy(p.b[:], p.b[n:p.n])
	}
	l.releasePend(c)
	l.watch(fd, false)
}

func (l *loop) releasePend(c *connState) {
	if c.pend != 0 {
		l.pends[c.pend-1].n = 0
		l.pendFree = append(l.pendFree, c.pend-1)
		c.pend = 0
	}
}

// watch sets what epoll reports for a held connection: readability and
// FIN always (level-triggered), room to write while something waits.
func (l *loop) watch(fd int, out bool) {
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(fd)}
	if out {
		ev.Events |= unix.EPOLLOUT
	}
	_ = rawEpollCtl(l.epfd, unix.EPOLL_CTL_MOD, fd, &ev)
}
