package engine

import (
	"time"

	"github.com/wshold/wshold/internal/event"
	"github.com/wshold/wshold/internal/stamp"
)

// Timed messages on held connections (Config.SendEvery), built on the
// shared frame path (frames_linux.go): a message goes out through
// sendFrame like a ping, and what comes back is read in consume, which
// hands the stamp behind every data frame's header to timedFrame. So both ws:// and wss://
// connections in the loops carry them, and nothing here knows the
// transport.
//
// A message is one binary frame: a 16-byte stamp (internal/stamp) with a
// sequence number and the send time on the run's clock, then a pattern.
// Its echo is matched by its stamp alone — a connection keeps the next
// sequence number to send, the next one it expects back, and how many
// came back — and the pattern is checked as the frame streams past with
// one key byte and the frame's remaining length, which the frame reader
// keeps anyway. A partly read message costs no buffer.
//
// Sends follow a schedule like the pings' (scan): each loop walks its
// part of the table with a cursor, one walk for all, no timer per
// connection. Each slice of the interval sends as many messages as its
// share of the loop's sending connections — counted, not found by
// position: descriptors are not spread evenly over the table (other
// sockets, a server in the same process, ends and reopenings), and a walk
// by position would send in bursts wherever they bunch. The cursor goes
// on where it stopped, so each connection is visited once per interval.
// The walk covers the descriptors up to the highest one the loop has
// held, not the whole table sized for the open-files limit.

// msgState is the per-loop send schedule.
type msgState struct {
	buf   []byte // one message's payload, rebuilt for each send
	tick  time.Duration
	next  int64 // when the next slice is due (ns since start)
	last  int64 // when the last slice was walked
	pos   int
	frac  int64 // remainder of count*elapsed/interval carried over
	hi    int   // highest descriptor this loop has held
	count int64 // open connections of the sending group
}

// sends reports whether attempt i belongs to the sending group, spread
// evenly over the attempts like the pinging group.
func (c *Config) sends(i int) bool {
	if c.SendEvery <= 0 {
		return false
	}
	f := c.SendFraction
	return int(float64(i+1)*f) > int(float64(i)*f)
}

// initMessages prepares a loop's send schedule.
func (l *loop) initMessages() {
	every := l.e.cfg.SendEvery
	if every <= 0 {
		return
	}
	m := &l.msg
	m.buf = make([]byte, l.e.cfg.MessageSize)
	// Slices of about a hundredth of the interval: a loop wakes a hundred
	// times per interval at most, and each slice's sends are a hundredth
	// of the connections.
	m.tick = min(max(every/100, 5*time.Millisecond), 250*time.Millisecond)
	m.last = l.e.now()
	m.next = m.last + int64(m.tick)
}

// holdMessages notes a newly held connection of slot i.
func (l *loop) holdMessages(fd, i int, c *connState) {
	c.sending = l.e.cfg.sends(i)
	l.msg.hi = max(l.msg.hi, fd)
	if c.sending {
		l.msg.count++
	}
}

// msgTimeout brings next forward to the next send slice, if sooner.
func (l *loop) msgTimeout(next int64) int64 {
	if l.msg.tick > 0 && (next == 0 || l.msg.next < next) {
		return l.msg.next
	}
	return next
}

// sendDue walks the send slice due at now, if one is.
func (l *loop) sendDue(now int64) {
	m := &l.msg
	if m.tick == 0 || now < m.next {
		return
	}
	m.next = now + int64(m.tick)
	n := len(l.e.loops)
	// This loop's descriptors are id, id+n, ...: those up to hi.
	slots := (m.hi-l.id)/n + 1
	if m.hi < l.id {
		m.last = now
		return
	}
	// This slice's share of the interval's sends: the time elapsed, not
	// the number of ticks, so a loop that woke late sends more.
	every := int64(l.e.cfg.SendEvery)
	num := m.count*(now-m.last) + m.frac
	quota := min(num/every, m.count)
	m.frac = num % every
	m.last = now
	table := l.e.conns
	for walked := 0; quota > 0 && walked < slots; walked++ {
		if m.pos >= slots {
			m.pos = 0
		}
		fd := l.id + m.pos*n
		m.pos++
		c := &table[fd]
		if !c.open || !c.sending || c.closing {
			continue
		}
		quota--
		l.sendMessage(fd, c)
	}
}

// sendMessage sends connection fd its next message. The stamp's time is
// read just before the write, so the round trip starts when the bytes
// leave.
func (l *loop) sendMessage(fd int, c *connState) bool {
	p := l.msg.buf
	now := l.e.now()
	stamp.Put(p, stamp.Echo, c.txSeq, now)
	stamp.Fill(p[stamp.Size:], stamp.Key(c.txSeq))
	if !l.sendFrame(fd, c, opBinary, p) {
		return l.blocked(fd, c, now)
	}
	c.txSeq++
	c.lastFrame = now
	l.e.sink.Message(event.Message{Kind: event.Sent, AtNs: now})
	return true
}

// timedAhead looks at what consume is about to read: timed is true when
// it is the header of a message that may be timed (a new binary frame
// long enough for a stamp, which nextFrame will take as data), split when
// p ends before its stamp does, so it must wait for the next read whole.
func (l *loop) timedAhead(c *connState, p []byte) (timed, split bool) {
	if c.frames.skip > 0 || c.frames.inMsg {
		return false, false
	}
	h, hl, ok, err := parseHeader(p)
	if err != nil || !ok || h.op != opBinary || h.masked || h.rsv != 0 || h.length < stamp.Size {
		return false, false
	}
	return true, len(p) < hl+stamp.Size
}

// timedFrame reads the stamp at the front of p, the payload of a frame
// timedAhead found, and returns how many bytes it took: the stamp's, whose
// frame it was or not (a message wshold did not send is data to skip).
func (l *loop) timedFrame(c *connState, p []byte) int {
	c.frames.skip -= stamp.Size
	k, seq, at, ok := stamp.Parse(p[:stamp.Size])
	if !ok {
		return stamp.Size
	}
	now := l.e.now()
	switch k {
	case stamp.Echo:
		// Only a message this connection sent can come back on it.
		if seq >= c.txSeq || at > now || at < c.upgradedAt {
			l.e.sink.Message(event.Message{Kind: event.EchoCorrupt, AtNs: now})
			return stamp.Size
		}
		ooo := seq != c.rxSeq
		c.rxSeq = max(c.rxSeq, seq+1)
		c.rxCount++
		l.e.sink.Message(event.Message{Kind: event.Echoed, AtNs: now, DelayNs: now - at, OutOfOrder: ooo})
	case stamp.Push, stamp.Broadcast:
		kind := event.Pushed
		if k == stamp.Broadcast {
			kind = event.Broadcast
		}
		// The server stamped its wall clock: compare with ours.
		l.e.sink.Message(event.Message{Kind: kind, AtNs: now, DelayNs: time.Now().UnixNano() - at})
	}
	// The pattern is checked as the rest streams past (checkTimed), for a
	// whole message in one frame.
	c.rxCheck, c.rxKey, c.rxPush = !c.frames.inMsg, stamp.Key(seq), k != stamp.Echo
	return stamp.Size
}

// checkTimed checks the next chunk of a timed message's pattern;
// remaining is the count of the frame's bytes to come, chunk's included.
// A damaged message is reported once.
func (l *loop) checkTimed(c *connState, chunk []byte, remaining int64) {
	if stamp.Check(chunk, remaining, c.rxKey) {
		return
	}
	c.rxCheck = false
	kind := event.EchoCorrupt
	if c.rxPush {
		kind = event.PushCorrupt
	}
	l.e.sink.Message(event.Message{Kind: kind, AtNs: l.e.now()})
}

// endMessages accounts for a connection's end: its messages not echoed
// by now never will be.
func (l *loop) endMessages(c *connState, now int64) {
	if c.sending {
		l.msg.count--
	}
	if c.txSeq > c.rxCount {
		l.e.sink.Message(event.Message{Kind: event.Lost, AtNs: now, N: int64(c.txSeq - c.rxCount)})
	}
}
