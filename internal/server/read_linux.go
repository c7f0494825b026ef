package server

import (
	"encoding/binary"
	"errors"
	"unicode/utf8"

	"github.com/gobwas/ws"
	"golang.org/x/sys/unix"
)

// readable does one read; an incomplete frame kept from the last read goes
// in front of the new bytes so the parser always sees whole headers.
func (l *loop) readable(c *conn) {
	n := copy(l.buf, c.partial)
	c.partial = c.partial[:0]
	r, err := unix.Read(c.fd, l.buf[n:])
	switch {
	case errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR):
		c.partial = append(c.partial, l.buf[:n]...)
		return
	case err != nil: // ECONNRESET and the like: the connection is gone already
		l.drop(c, dropPlain)
		return
	case r == 0:
		l.drop(c, dropPlain) // the client's FIN
		return
	}
	if c.muted {
		return
	}
	l.consume(c, l.buf[:n+r])
	if !c.closed {
		l.updateInterest(c)
	}
}

// consume parses and answers the client frames in p, which it may modify:
// payloads are unmasked in place, and answers' headers are written over
// the tail of the requests' headers.
func (l *loop) consume(c *conn, p []byte) {
	for len(p) > 0 && !c.closed {
		if c.remain > 0 {
			n := int(min(uint64(len(p)), c.remain))
			if c.echo {
				ws.Cipher(p[:n], c.mask, c.maskPos)
				if !l.send(c, p[:n]) {
					return
				}
			}
			c.maskPos += n
			c.remain -= uint64(n)
			p = p[n:]
			if c.remain == 0 {
				l.frameDone(c)
			}
			continue
		}

		h, hlen, code := parseHeader(p)
		if code != 0 {
			l.fail(c, code)
			return
		}
		if hlen == 0 {
			c.partial = append(c.partial, p...)
			return
		}
		if h.op.IsControl() {
			total := hlen + int(h.length)
			if len(p) < total {
				c.partial = append(c.partial, p...)
				return
			}
			ws.Cipher(p[hlen:total], h.mask, 0)
			l.control(c, h, p[:total], hlen)
			p = p[total:]
			continue
		}

		// A data frame. Continuations must continue a message, and a new
		// message must not start inside one.
		if (h.op == ws.OpContinuation) != c.inMsg {
			l.fail(c, closeProtocol)
			return
		}
		if h.op != ws.OpContinuation {
			c.echo = !c.closeSent && !c.poisoned && len(c.out) < outCap
		}
		c.inMsg = !h.fin
		c.remain, c.mask, c.maskPos = h.length, h.mask, 0
		if !c.echo {
			p = p[hlen:]
		} else {
			// The answer's header is shorter (no mask): it takes the place
			// of the request header's tail, right before the payload, and
			// both go out in one write.
			start := putServerHeaderBefore(p, hlen, h.fin, h.op, h.length)
			n := int(min(uint64(len(p)-hlen), c.remain))
			ws.Cipher(p[hlen:hlen+n], c.mask, 0)
			if !l.send(c, p[start:hlen+n]) {
				return
			}
			c.maskPos = n
			c.remain -= uint64(n)
			p = p[hlen+n:]
		}
		if c.remain == 0 {
			l.frameDone(c)
		}
	}
}

// frameDone runs when a data frame has been read completely: whatever had
// to wait for the echo to finish may go now.
func (l *loop) frameDone(c *conn) {
	if c.pingDue {
		c.pingDue = false
		l.sendPing(c)
	}
	if c.pushDue {
		c.pushDue = false
		l.sendPush(c)
	}
	if c.bcastDue {
		c.bcastDue = false
		l.sendBroadcast(c)
	}
}

// control answers a complete, unmasked control frame f whose header is
// hlen bytes long.
func (l *loop) control(c *conn, h header, f []byte, hlen int) {
	payload := f[hlen:]
	switch h.op {
	case ws.OpPing:
		if c.closeSent || c.poisoned || len(c.out) >= outCap {
			return // a client that does not read gets no pongs
		}
		l.send(c, f[putServerHeaderBefore(f, hlen, true, ws.OpPong, h.length):])
	case ws.OpClose:
		if c.closeSent || c.poisoned {
			l.drop(c, dropFIN) // the answer to ours: the handshake is over
			return
		}
		if code, ok := closePayloadValid(payload); !ok {
			l.fail(c, code)
			return
		}
		// Echo the client's code (and reason), then close TCP: the server
		// closes first, as RFC 6455 7.1.1 asks.
		c.closeSent = true
		if l.send(c, f[putServerHeaderBefore(f, hlen, true, ws.OpClose, h.length):]) {
			l.closeWhenFlushed(c)
		}
	}
}

// closePayloadValid checks a close frame's body; if it is invalid, it
// returns the code to fail the connection with.
func closePayloadValid(p []byte) (uint16, bool) {
	switch {
	case len(p) == 0:
		return 0, true
	case len(p) == 1:
		return closeProtocol, false
	case !sendableCloseCode(binary.BigEndian.Uint16(p)):
		return closeProtocol, false
	case !utf8.Valid(p[2:]):
		return closeInvalidData, false
	}
	return 0, true
}

// fail refuses a client that broke the protocol: close frame with code,
// then TCP close once it is out (or after closeGrace).
func (l *loop) fail(c *conn, code uint16) {
	if c.closeSent || c.poisoned || c.midEcho() {
		l.drop(c, dropFIN)
		return
	}
	c.closeSent = true
	c.remain, c.echo = 0, false
	f := frameProtoError
	switch code {
	case closeMessageTooBig:
		f = frameTooBig
	case closeInvalidData:
		f = frameBadData
	}
	if l.send(c, f) {
		l.closeWhenFlushed(c)
	}
}
