package engine

import (
	"encoding/binary"

	"github.com/wshold/wshold/internal/event"
)

// The frame path of a held connection, one for ws:// and wss:// alike.
//
// A transport (wire_linux.go for a plain socket, tlsloop_linux.go for TLS
// records) hands consume the bytes a server sent, as plain WebSocket
// frames, with the connection's carried partial frame in front; every
// frame the client sends goes out through sendFrame, which gives it to the
// same transport. What the client does with frames — answer pings, time
// pongs, skip data, take a close, reject a broken frame — is decided here
// and nowhere else, so a feature built on holding (sending messages,
// reading them) is written once for both schemes.

// consume acts on the frames in p, as nextFrame (frame.go), the client's
// one frame consumer, finds them. It returns false if the connection ended.
func (l *loop) consume(fd int, c *connState, p []byte, now int64) bool {
	for len(p) > 0 {
		f, n := nextFrame(&c.frames, p)
		switch f.kind {
		case frameMore:
			l.keep(c, p)
			return true
		case frameBad:
			return l.protocolError(fd, c, f.code, f.rule, now)
		case frameData:
			c.frame(now)
		case framePing:
			c.frame(now)
			if !l.sendFrame(fd, c, opPong, f.payload) {
				return l.blocked(fd, c, now)
			}
		case framePong:
			c.frame(now)
			c.pingSentAt = 0
		case frameClose:
			// The close frame is the drop, not traffic before it: the
			// drop's idle time is the silence that preceded it.
			return l.closeReceived(fd, c, f, now)
		}
		p = p[n:]
	}
	return true
}

// closeReceived handles a valid close frame: the reply is sent (RFC 6455
// §5.5.1) and the socket closed; unless we started the closing, it is a
// drop.
func (l *loop) closeReceived(fd int, c *connState, f frame, now int64) bool {
	if !c.closing {
		// The connection ends here whether or not the socket takes it.
		l.sendFrame(fd, c, opClose, f.payload[:min(len(f.payload), 2)])
	}
	l.end(fd, c, event.CloseFrame, f.code, now)
	return false
}

// protocolError ends a connection whose server broke rule, telling the
// server why with a close frame carrying code.
func (l *loop) protocolError(fd int, c *connState, code uint16, rule event.Rule, now int64) bool {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], code)
	l.sendFrame(fd, c, opClose, b[:])
	l.endBroken(fd, c, rule, now)
	return false
}

// blocked ends a connection whose server has stopped reading: what the
// client had to send no longer fits beside what its socket still holds.
func (l *loop) blocked(fd int, c *connState, now int64) bool {
	l.end(fd, c, event.SendBlocked, 0, now)
	return false
}

// keep saves an incomplete frame (at most a header and a control payload)
// until the next read completes it.
func (l *loop) keep(c *connState, p []byte) {
	var idx int32
	if n := len(l.free); n > 0 {
		idx = l.free[n-1]
		l.free = l.free[:n-1]
	} else {
		l.carries = append(l.carries, [carryCap]byte{})
		idx = int32(len(l.carries) - 1)
	}
	c.carryLen = uint8(copy(l.carries[idx][:], p))
	c.carry = idx + 1
}

// carried puts the connection's saved partial frame at the front of the
// loop's buffer and returns its length: the transport appends what it
// receives behind it. The saved copy stays the connection's until
// dropCarry, so a read that brings nothing loses nothing.
func (l *loop) carried(c *connState) int {
	if c.carry == 0 {
		return 0
	}
	return copy(l.buf, l.carries[c.carry-1][:c.carryLen])
}

// dropCarry gives the saved partial frame back once it is in the buffer
// with new bytes behind it.
func (l *loop) dropCarry(c *connState) {
	if c.carry != 0 {
		l.free = append(l.free, c.carry-1)
		c.carry, c.carryLen = 0, 0
	}
}

// sendFrame masks one frame and hands it to the connection's transport. It
// returns false when the frame could not be kept for later (see transmit);
// the caller decides whether that ends the connection.
func (l *loop) sendFrame(fd int, c *connState, op byte, payload []byte) bool {
	l.rng ^= l.rng << 13
	l.rng ^= l.rng >> 7
	l.rng ^= l.rng << 17
	l.out = appendClientFrame(l.out[:0], op, payload, uint32(l.rng))
	return l.transmit(fd, c, l.out)
}

// ping sends a scheduled ping and starts its pong's clock (the oldest
// unanswered ping's, when one is already out).
func (l *loop) ping(fd int, c *connState, now int64) bool {
	if !l.sendFrame(fd, c, opPing, nil) {
		return l.blocked(fd, c, now)
	}
	if c.pingSentAt == 0 {
		c.pingSentAt = now
	}
	c.frame(now)
	return true
}

// sendClose starts the closing handshake: from here on the connection's
// end is ours, not a drop. A server that has stopped reading does not get
// to finish it.
func (l *loop) sendClose(fd int, c *connState, code uint16) {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], code)
	c.closing = true
	if !l.sendFrame(fd, c, opClose, b[:]) {
		l.end(fd, c, event.SendBlocked, 0, l.e.now())
	}
}
