package server

import (
	"errors"

	"golang.org/x/sys/unix"
)

// closeWhenFlushed closes the connection once its queued output is out,
// giving it closeGrace to drain.
func (l *loop) closeWhenFlushed(c *conn) {
	if len(c.out) == 0 {
		l.drop(c, dropFIN)
		return
	}
	c.lingering = true
	l.sched.push(timer{at: l.now() + int64(closeGrace), c: c, kind: tGrace})
	l.updateInterest(c)
}

// send writes b, queueing what the socket does not take. It returns false
// if the connection broke and was dropped.
func (l *loop) send(c *conn, b []byte) bool {
	if len(c.out) == 0 {
		n, broken := writeNow(c.fd, b)
		if broken {
			l.drop(c, dropPlain)
			return false
		}
		if b = b[n:]; len(b) == 0 {
			return true
		}
	}
	if c.out == nil {
		c.out = l.takeSpare()
	}
	c.out = append(c.out, b...)
	l.updateInterest(c)
	return true
}

// writable flushes queued output and keeps a flood going.
func (l *loop) writable(c *conn) {
	n, broken := writeNow(c.fd, c.out)
	if broken {
		l.drop(c, dropPlain)
		return
	}
	c.out = c.out[:copy(c.out, c.out[n:])]
	if len(c.out) == 0 {
		if c.lingering {
			l.drop(c, dropFIN)
			return
		}
		l.giveSpare(c)
		if c.flooding && !c.closeSent && !c.midEcho() {
			// A bounded batch per wake-up, so one flood cannot starve the
			// loop's other connections; level-triggered EPOLLOUT brings
			// us back.
			for range 16 {
				if !l.send(c, frameFlood) || len(c.out) > 0 {
					break
				}
			}
		}
	}
	if !c.closed {
		l.updateInterest(c)
	}
}

func (l *loop) updateInterest(c *conn) {
	// A flood waits while an echo is half out (frames cannot interleave);
	// asking for EPOLLOUT then would only spin the loop.
	want := len(c.out) > 0 || (c.flooding && !c.closeSent && !c.midEcho())
	if want == c.epollOut || c.closed {
		return
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLRDHUP, Fd: int32(c.fd)}
	if want {
		ev.Events |= unix.EPOLLOUT
	}
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_MOD, c.fd, &ev); err != nil {
		l.drop(c, dropPlain)
		return
	}
	c.epollOut = want
}

func (l *loop) takeSpare() []byte {
	if n := len(l.spare); n > 0 {
		b := l.spare[n-1]
		l.spare = l.spare[:n-1]
		return b
	}
	return make([]byte, 0, 4096)
}

// giveSpare returns an idle connection's empty out buffer to the loop, so
// that idle connections hold no buffer and busy ones reuse a few.
func (l *loop) giveSpare(c *conn) {
	if c.out == nil {
		return
	}
	if cap(c.out) <= 2*outCap && len(l.spare) < 64 {
		l.spare = append(l.spare, c.out[:0])
	}
	c.out = nil
}

type dropHow uint8

const (
	dropPlain dropHow = iota // close(2)
	dropFIN                  // shutdown(SHUT_WR) first, so the client sees FIN after our last bytes
	dropReset                // SO_LINGER 0: RST
)

// drop closes the connection and forgets it.
func (l *loop) drop(c *conn, how dropHow) {
	if c.closed {
		return
	}
	c.closed = true
	_ = unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, c.fd, nil)
	switch how {
	case dropFIN:
		_ = unix.Shutdown(c.fd, unix.SHUT_WR)
	case dropReset:
		_ = unix.SetsockoptLinger(c.fd, unix.SOL_SOCKET, unix.SO_LINGER, &unix.Linger{Onoff: 1, Linger: 0})
	}
	unix.Close(c.fd)
	l.conns[c.fd] = nil
	if c.out != nil {
		c.out = c.out[:0]
		l.giveSpare(c)
	}
	c.partial = nil
	l.open.Add(-1)
	l.closed.Add(1)
}

// writeNow writes as much of b as the socket takes without blocking and
// returns how much that was; broken means the connection failed.
func writeNow(fd int, b []byte) (n int, broken bool) {
	for n < len(b) {
		k, err := unix.Write(fd, b[n:])
		switch {
		case errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.EAGAIN):
			return n, false
		case err != nil:
			return n, true
		}
		n += k
	}
	return n, false
}
