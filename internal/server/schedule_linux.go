package server

import (
	"time"
)

// timerKind is what a scheduled entry does when it comes due.
type timerKind uint8

const (
	tPing   timerKind = iota + 1 // send a ping, schedule the next
	tAction                      // the connection's scripted action (mode.action)
	tFin                         // close TCP without a close frame
	tRst                         // reset TCP
	tGrace                       // the client had its chance to finish closing
	tPush                        // push a timestamped message, schedule the next
)

// timer is one entry of a loop's schedule. It points at its connection
// rather than naming an fd, so an entry for a connection that has since
// closed (and whose fd may be reused) is recognised and skipped.
type timer struct {
	at   int64 // due time, nanoseconds on the server's monotonic clock
	c    *conn
	kind timerKind
}

// schedule is a binary min-heap of timers: the one shared schedule of a loop
// that replaces a runtime timer per connection. container/heap would box
// every entry in an interface; this one pushes without allocating once the
// slice has grown.
type schedule []timer

func (s *schedule) push(t timer) {
	*s = append(*s, t)
	h := *s
	i := len(h) - 1
	for i > 0 {
		parent := (i - 1) / 2
		if h[parent].at <= h[i].at {
			break
		}
		h[parent], h[i] = h[i], h[parent]
		i = parent
	}
}

// popDue removes and returns the earliest timer if it is due at now.
func (s *schedule) popDue(now int64) (timer, bool) {
	h := *s
	if len(h) == 0 || h[0].at > now {
		return timer{}, false
	}
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h[last] = timer{} // drop the *conn so a closed connection can be collected
	h = h[:last]
	i := 0
	for {
		l, r, least := 2*i+1, 2*i+2, i
		if l < len(h) && h[l].at < h[least].at {
			least = l
		}
		if r < len(h) && h[r].at < h[least].at {
			least = r
		}
		if least == i {
			break
		}
		h[i], h[least] = h[least], h[i]
		i = least
	}
	*s = h
	return top, true
}

// waitMs is how long epoll_wait may sleep before the next timer is due:
// -1 (forever) with nothing scheduled, else at least 0 and rounded up so
// a wake-up never comes before its timer.
func (s schedule) waitMs(now int64) int {
	if len(s) == 0 {
		return -1
	}
	d := s[0].at - now
	if d <= 0 {
		return 0
	}
	ms := (d + 999_999) / 1_000_000
	if ms > 60_000 {
		ms = 60_000
	}
	return int(ms)
}

// runTimers fires every due entry of the schedule.
func (l *loop) runTimers() {
	now := l.now()
	for {
		t, ok := l.sched.popDue(now)
		if !ok {
			return
		}
		c := t.c
		if c.closed {
			continue
		}
		switch t.kind {
		case tPing:
			if c.midEcho() {
				c.pingDue = true
			} else {
				l.sendPing(c)
			}
			if !c.closed && !c.closeSent && !c.poisoned {
				l.sched.push(timer{at: now + int64(l.pingEvery(c)), c: c, kind: tPing})
			}
		case tPush:
			if c.midEcho() {
				c.pushDue = true
			} else {
				l.sendPush(c)
			}
			if !c.closed && !c.closeSent && !c.poisoned {
				l.sched.push(timer{at: now + int64(l.pushEvery(c)), c: c, kind: tPush})
			}
		case tAction:
			if c.midEcho() {
				// Frames cannot interleave: try again shortly.
				l.sched.push(timer{at: now + int64(10*time.Millisecond), c: c, kind: tAction})
				continue
			}
			l.act(c)
		case tFin:
			l.drop(c, dropFIN)
		case tRst:
			l.drop(c, dropReset)
		case tGrace:
			l.drop(c, dropPlain)
		}
	}
}

func (l *loop) sendPing(c *conn) {
	if c.closeSent || c.poisoned || len(c.out) >= outCap {
		return
	}
	l.send(c, framePing)
}

// act performs the connection's scripted action.
func (l *loop) act(c *conn) {
	if c.closeSent || c.poisoned {
		return
	}
	switch c.mode.action {
	case actClose:
		c.closeSent = true
		if l.send(c, closeFrame(c.mode.closeCode)) {
			l.sched.push(timer{at: l.now() + int64(closeGrace), c: c, kind: tGrace})
		}
	case actFlood:
		c.flooding = true
		l.updateInterest(c)
	case actBigFrame:
		if l.send(c, frameBig) {
			c.poisoned = true
		}
	case actBadOpcode:
		l.send(c, frameBadOpcode)
	case actRSV:
		l.send(c, frameRSV)
	case actMasked:
		l.send(c, frameMasked)
	}
}
