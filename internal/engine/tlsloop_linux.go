package engine

import (
	"errors"
	"math"

	"golang.org/x/sys/unix"

	"github.com/wshold/wshold/internal/event"
	"github.com/wshold/wshold/internal/tlsrecord"
)

// A held wss:// connection on the loops: its descriptor in the epoll set
// like a ws:// one, plus the record protection crypto/tls agreed during the
// handshake (a tlsrecord.State, a few hundred bytes of keys). Records are
// opened into the loop's buffer and their content goes to the same frame
// path as a plain socket's bytes (frames_linux.go); frames going out are
// sealed here and written by push (wire_linux.go).
//
// A record can only be opened whole, and holding a partial one would cost
// up to 18 KiB per connection. So records stay in the kernel until they
// are whole: the loop peeks at what has arrived, opens and acts on every
// whole record, discards exactly those bytes (MSG_TRUNC, no copy), and
// leaves a partial record where it is, with SO_RCVLOWAT raised to its
// length so that epoll does not report the socket again before the rest is
// in. A connection normally holds no record bytes in user space.
//
// The exception is a kernel that cannot wait. Receive memory is charged by
// whole segments (their truesize), not by the bytes still unread in them:
// discarding the whole records in front of a partial one frees nothing of
// a segment the partial one still sits in, and on loopback a segment can
// carry 64 KiB. So a partial record of a few KiB can hold most of the
// buffer (seen under load: Recv-Q 14,964 bytes, skmem r311104 of
// rb350535); once the free space is under one segment the kernel
// advertises a zero window, the rest of the record cannot come, and the
// connection stalls for good while the server probes the window. The
// kernel says so: it reports the socket readable below the low-water mark
// when receive memory is past 7/8 of the buffer or the window is under one
// segment (tcp_epollin_ready), and, epoll being level-triggered, keeps
// reporting it. Woken that way for the same partial record, the loop takes
// it out of the kernel into a buffer of its own (pooled per loop, given
// back as soon as the record is whole) and reads the rest as it comes.

// tlsBufLen is the loop's peek buffer: several whole records of the largest
// size a peer may send.
const tlsBufLen = 64 << 10

// addTLS puts a freshly upgraded wss:// connection into the loop; st
// protects its records from here on, and early holds the content the server
// sent right behind its 101.
func (l *loop) addTLS(fd, i int, upgradedAt int64, early []byte, st *tlsrecord.State) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.raw == nil {
		l.raw = make([]byte, tlsBufLen)
		l.rec = make([]byte, 0, 4<<10)
	}
	var idx int32
	if k := len(l.tlsFree); k > 0 {
		idx = l.tlsFree[k-1]
		l.tlsFree = l.tlsFree[:k-1]
		l.tlss[idx] = st
	} else {
		l.tlss = append(l.tlss, st)
		idx = int32(len(l.tlss) - 1)
	}
	l.attach(fd, i, upgradedAt, early, unix.EPOLL_CTL_ADD, idx+1)
}

// readRecords reads what whole records a wss:// connection has and acts on
// their content.
func (l *loop) readRecords(fd int, c *connState, ev uint32, now int64) {
	st := l.tlss[c.tls-1]
	if c.held != 0 && !l.fillHeld(fd, c, st, now) {
		return
	}
	n, err := rawRecv(fd, l.raw, 0, unix.MSG_PEEK)
	switch {
	case errors.Is(err, unix.EAGAIN), errors.Is(err, unix.EINTR):
		return
	case err != nil:
		l.end(fd, c, event.Reset, 0, now)
		return
	case n == 0:
		// A FIN at a record boundary without close_notify: a bare close.
		l.end(fd, c, event.EOF, 0, now)
		return
	}
	off := 0
	for {
		_, length, ok := tlsrecord.Header(l.raw[off:n])
		if ok && length > tlsrecord.MaxRecord-tlsrecord.HeaderLen {
			l.tlsFailed(fd, c, tlsrecord.AlertRecordOverflow, event.RuleTLSRecordOverflow, now)
			return
		}
		if !ok || off+tlsrecord.HeaderLen+length > n {
			break
		}
		rec := l.raw[off : off+tlsrecord.HeaderLen+length]
		off += len(rec)
		if !l.openRecord(fd, c, st, rec, now) {
			return
		}
	}
	if off > 0 {
		_, _ = rawRecv(fd, nil, off, unix.MSG_TRUNC)
	}
	if off == n || n == len(l.raw) {
		// All read, or the peek window was full: what it cut off may be
		// whole in the kernel (and a FIN behind it no sign of a torn
		// record), and epoll, level-triggered, reports the socket again.
		if c.lowat != lowatNone {
			_ = rawSetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVLOWAT, 1)
			c.lowat = lowatNone
		}
		return
	}
	// A partial record stays in the kernel.
	if ev&(unix.EPOLLRDHUP|unix.EPOLLHUP) != 0 {
		// The peer is gone and the record will never be whole: a FIN
		// (or RST) in the middle of a record, not an orderly TLS close.
		l.end(fd, c, event.EOF, 0, now)
		return
	}
	need, mark := tlsrecord.HeaderLen, uint8(lowatHeader)
	if _, length, ok := tlsrecord.Header(l.raw[off:n]); ok {
		need, mark = need+length, lowatRecord
	}
	if off == 0 && c.lowat == mark && ev&unix.EPOLLIN != 0 {
		// Reported readable below the mark, and the partial record at
		// the front is still the one the mark waits for: the kernel
		// can take no more while it holds it (see the top of this
		// file).
		l.hold(fd, c, n)
		return
	}
	_ = rawSetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVLOWAT, need)
	c.lowat = mark
}

// What SO_RCVLOWAT waits for (connState.lowat).
const (
	lowatNone   = iota // 1, the default: any byte
	lowatHeader        // a record header
	lowatRecord        // the whole record whose header is at the front
)

// hold takes the n bytes of a partial record out of the kernel into a
// buffer of the loop's, and lets the socket report every byte again.
func (l *loop) hold(fd int, c *connState, n int) {
	var idx int32
	if k := len(l.heldFree); k > 0 {
		idx = l.heldFree[k-1]
		l.heldFree = l.heldFree[:k-1]
	} else {
		l.helds = append(l.helds, new([tlsrecord.MaxRecord]byte))
		idx = int32(len(l.helds) - 1)
	}
	m, err := rawRecv(fd, l.helds[idx][:n], 0, 0)
	if err != nil || m == 0 {
		// The peeked bytes are there to read; if they were not, the
		// record stays in the kernel as before.
		l.heldFree = append(l.heldFree, idx)
		return
	}
	c.held, c.heldLen = idx+1, uint16(m)
	_ = rawSetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVLOWAT, 1)
	c.lowat = lowatNone
}

// fillHeld reads what is missing of the connection's held partial record
// and, once it is whole, gives its buffer back and acts on it. It returns
// true when the record was whole and the connection is still open: more
// records may follow in the kernel.
func (l *loop) fillHeld(fd int, c *connState, st *tlsrecord.State, now int64) bool {
	buf := l.helds[c.held-1]
	for {
		need := tlsrecord.HeaderLen
		if _, length, ok := tlsrecord.Header(buf[:c.heldLen]); ok {
			if length > tlsrecord.MaxRecord-tlsrecord.HeaderLen {
				return l.tlsFailed(fd, c, tlsrecord.AlertRecordOverflow, event.RuleTLSRecordOverflow, now)
			}
			need += length
			if int(c.heldLen) == need {
				break
			}
		}
		k, err := rawRecv(fd, buf[c.heldLen:need], 0, 0)
		switch {
		case errors.Is(err, unix.EAGAIN), errors.Is(err, unix.EINTR):
			return false
		case err != nil:
			l.end(fd, c, event.Reset, 0, now)
			return false
		case k == 0:
			// A FIN in the middle of a record.
			l.end(fd, c, event.EOF, 0, now)
			return false
		}
		c.heldLen += uint16(k)
	}
	need := int(c.heldLen)
	idx := c.held
	c.held, c.heldLen = 0, 0
	open := l.openRecord(fd, c, st, buf[:need], now)
	l.heldFree = append(l.heldFree, idx-1)
	return open
}

// openRecord opens one whole record and acts on its content. It returns
// false if the connection ended.
func (l *loop) openRecord(fd int, c *connState, st *tlsrecord.State, rec []byte, now int64) bool {
	carry := l.carried(c)
	typ, plain, err := st.Open(l.buf[:carry], rec)
	switch {
	case errors.Is(err, tlsrecord.ErrOverflow):
		return l.tlsFailed(fd, c, tlsrecord.AlertRecordOverflow, event.RuleTLSRecordOverflow, now)
	case errors.Is(err, tlsrecord.ErrUnexpected):
		return l.tlsFailed(fd, c, tlsrecord.AlertUnexpectedMessage, event.RuleTLSUnexpected, now)
	case err != nil:
		return l.tlsFailed(fd, c, tlsrecord.AlertBadRecordMAC, event.RuleTLSBadRecord, now)
	}
	switch typ {
	case tlsrecord.TypeApplicationData:
		l.dropCarry(c)
		return l.consume(fd, c, plain, now)
	case tlsrecord.TypeAlert:
		desc, end, ok := st.Alert(plain[carry:])
		switch {
		case !ok:
			return l.tlsFailed(fd, c, tlsrecord.AlertDecodeError, event.RuleTLSBadAlert, now)
		case !end:
			return true
		case desc == tlsrecord.AlertCloseNotify:
			l.end(fd, c, event.CloseNotify, 0, now)
		default:
			l.end(fd, c, event.TLSAlert, uint16(desc), now)
		}
		return false
	case tlsrecord.TypeHandshake:
		if err := st.Handshake(plain[carry:]); err != nil {
			return l.tlsFailed(fd, c, tlsrecord.AlertUnexpectedMessage, event.RuleTLSUnexpected, now)
		}
		if st.UpdateWanted() {
			out, err := st.AppendKeyUpdate(l.rec[:0], false)
			if err != nil || !l.push(fd, c, out) {
				return l.blocked(fd, c, now)
			}
		}
		return true
	}
	return l.tlsFailed(fd, c, tlsrecord.AlertUnexpectedMessage, event.RuleTLSUnexpected, now)
}

// tlsFailed ends a connection whose server broke rule, a rule of TLS,
// telling it why with a fatal alert desc. What the server sent and the
// client has not read is discarded before the socket is closed: a socket
// closed with unread bytes resets the connection, and the reset can
// overtake the alert.
func (l *loop) tlsFailed(fd int, c *connState, desc byte, rule event.Rule, now int64) bool {
	st := l.tlss[c.tls-1]
	if c.pend == 0 {
		_, _ = rawWrite(fd, st.AppendAlert(l.rec[:0], desc))
	}
	_, _ = rawRecv(fd, nil, math.MaxInt32, unix.MSG_TRUNC)
	l.endBroken(fd, c, rule, now)
	return false
}

// seal puts b in TLS records, in the loop's scratch buffer.
func (l *loop) seal(c *connState, b []byte) []byte {
	st := l.tlss[c.tls-1]
	l.rec = l.rec[:0]
	for {
		k := min(len(b), tlsrecord.MaxPlaintext)
		l.rec = st.Seal(l.rec, tlsrecord.TypeApplicationData, b[:k])
		if b = b[k:]; len(b) == 0 {
			return l.rec
		}
	}
}

// endTLS is the TLS part of ending a connection: a close_notify when the
// end is orderly — the closing handshake done, the server's own
// close_notify answered, a server that stopped answering pings let go —
// (best effort, and never behind bytes still waiting, which would tear
// them); then the protection is given back. A connection that is already
// gone, or that broke the protocol, gets none.
func (l *loop) endTLS(fd int, c *connState, kind event.DropKind) {
	st := l.tlss[c.tls-1]
	switch kind {
	case event.CloseFrame, event.CloseNotify, event.PongTimeout:
		if c.pend == 0 {
			_, _ = rawWrite(fd, st.AppendAlert(l.rec[:0], tlsrecord.AlertCloseNotify))
		}
	}
	if c.held != 0 {
		l.heldFree = append(l.heldFree, c.held-1)
		c.held, c.heldLen = 0, 0
	}
	st.Clear()
	l.tlss[c.tls-1] = nil
	l.tlsFree = append(l.tlsFree, c.tls-1)
}
