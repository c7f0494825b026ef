package engine

import (
	"encoding/binary"
	"errors"
	"unicode/utf8"

	"github.com/wshold/wshold/internal/event"
)

// WebSocket opcodes (RFC 6455 §5.2).
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

// maxControlPayload is the RFC limit for control frames; it also bounds how
// much of a partial frame a connection ever has to carry between reads.
const maxControlPayload = 125

// maxServerHeader is the longest frame header a server may send: 2 bytes,
// 8 bytes of extended length, and a mask key (which is itself an error for a
// server frame, but we must parse it to say so).
const maxServerHeader = 14

// carryCap is the most bytes a connection can leave unparsed between two
// reads: an incomplete header, or an incomplete control frame.
const carryCap = maxServerHeader + maxControlPayload

var (
	errLengthOverflow = errors.New("frame length has its most significant bit set")
)

type frameHeader struct {
	fin    bool
	rsv    byte
	op     byte
	masked bool
	length int64
}

// parseHeader reads a frame header from the front of p. ok is false when p
// holds only part of a header. It never allocates.
func parseHeader(p []byte) (h frameHeader, n int, ok bool, err error) {
	if len(p) < 2 {
		return h, 0, false, nil
	}
	b0, b1 := p[0], p[1]
	h.fin = b0&0x80 != 0
	h.rsv = (b0 >> 4) & 0x7
	h.op = b0 & 0x0f
	h.masked = b1&0x80 != 0
	n = 2
	switch l7 := b1 & 0x7f; l7 {
	case 126:
		if len(p) < 4 {
			return h, 0, false, nil
		}
		h.length = int64(binary.BigEndian.Uint16(p[2:4]))
		n = 4
	case 127:
		if len(p) < 10 {
			return h, 0, false, nil
		}
		u := binary.BigEndian.Uint64(p[2:10])
		if u>>63 != 0 {
			return h, 0, false, errLengthOverflow
		}
		h.length = int64(u)
		n = 10
	default:
		h.length = int64(l7)
	}
	if h.masked {
		n += 4
		if len(p) < n {
			return h, 0, false, nil
		}
	}
	return h, n, true, nil
}

// appendClientFrame appends one final, masked frame: what a client sends.
// Clients must mask every frame (RFC 6455 §5.3); gobwas' precompiled frames
// are server frames and unmasked, which is why this exists. The length is
// encoded in the fewest bytes that hold it (§5.2), so pings, pongs and
// closes take 6 bytes of header and data frames of any size can follow the
// same path.
func appendClientFrame(dst []byte, op byte, payload []byte, mask uint32) []byte {
	switch n := len(payload); {
	case n <= 125:
		dst = append(dst, 0x80|op, 0x80|byte(n))
	case n <= 0xffff:
		dst = append(dst, 0x80|op, 0x80|126, byte(n>>8), byte(n))
	default:
		dst = append(dst, 0x80|op, 0x80|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	var key [4]byte
	binary.BigEndian.PutUint32(key[:], mask)
	dst = append(dst, key[:]...)
	start := len(dst)
	dst = append(dst, payload...)
	for i := range payload {
		dst[start+i] ^= key[i&3]
	}
	return dst
}

// validCloseCode reports whether a received close code may appear on the
// wire (RFC 6455 §7.4).
func validCloseCode(code uint16) bool {
	switch {
	case code >= 1000 && code <= 1003:
		return true
	case code >= 1007 && code <= 1014:
		return true
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}

// frameState is where a connection stands in the server's stream of
// frames between two reads: in the loops' table entry, or on a wss
// reader's stack.
type frameState struct {
	skip  int64 // payload bytes of the current data frame still to discard
	inMsg bool  // a fragmented data message has begun and not ended
}

// What nextFrame found at the front of the bytes.
const (
	frameMore  = iota // only part of a header or of a control frame: keep it for the next read
	frameSkip         // data payload, discarded
	frameData         // a data frame's header: traffic
	framePing         // payload: the ping's
	framePong         //
	frameClose        // code: its close code (1005 for none); payload: code and reason
	frameBad          // a rule broken: rule, and code to fail the connection with
)

// frame is one thing nextFrame found. payload aliases the bytes read.
type frame struct {
	kind    uint8
	rule    event.Rule
	code    uint16
	payload []byte
}

// nextFrame reads the next thing at the front of p, a server's frames as
// they arrived, and returns it with the number of bytes it took (0 for
// frameMore and frameBad). It is the one frame consumer of the client: the
// loops' plain sockets and the wss readers both feed it, so both apply
// the same rules of RFC 6455 §5, and it never allocates. Data is
// discarded as it arrives, whatever the frame's length (up to the 2^63-1
// the format allows): memory stays flat however much a server sends. Text
// payloads are not read, so not checked for UTF-8.
func nextFrame(s *frameState, p []byte) (f frame, n int) {
	if s.skip > 0 {
		k := min(s.skip, int64(len(p)))
		s.skip -= k
		return frame{kind: frameSkip}, int(k)
	}
	h, hl, ok, err := parseHeader(p)
	switch {
	case err != nil:
		return bad(event.RuleBadLength, 1002), 0
	case !ok:
		return frame{kind: frameMore}, 0
	case h.masked:
		return bad(event.RuleMaskedFrame, 1002), 0
	case h.rsv != 0:
		return bad(event.RuleReservedBits, 1002), 0
	}
	switch h.op {
	case opContinuation, opText, opBinary:
		if h.op == opContinuation && !s.inMsg {
			return bad(event.RuleOrphanContinuation, 1002), 0
		}
		if h.op != opContinuation && s.inMsg {
			return bad(event.RuleUnfinishedMessage, 1002), 0
		}
		s.inMsg = !h.fin
		s.skip = h.length
		return frame{kind: frameData}, hl
	case opPing, opPong, opClose:
	default:
		return bad(event.RuleBadOpcode, 1002), 0
	}
	switch {
	case !h.fin:
		return bad(event.RuleFragmentedControl, 1002), 0
	case h.length > maxControlPayload:
		return bad(event.RuleControlTooLong, 1002), 0
	case int64(len(p)) < int64(hl)+h.length:
		return frame{kind: frameMore}, 0
	}
	n = hl + int(h.length)
	payload := p[hl:n]
	switch h.op {
	case opPing:
		return frame{kind: framePing, payload: payload}, n
	case opPong:
		return frame{kind: framePong, payload: payload}, n
	}
	code := uint16(1005) // no status code present
	switch {
	case len(payload) == 1:
		return bad(event.RuleCloseOneByte, 1002), 0
	case len(payload) >= 2:
		code = binary.BigEndian.Uint16(payload)
		if !validCloseCode(code) {
			return bad(event.RuleBadCloseCode, 1002), 0
		}
		if !utf8.Valid(payload[2:]) {
			return bad(event.RuleCloseReasonUTF8, 1007), 0
		}
	}
	return frame{kind: frameClose, code: code, payload: payload}, n
}

func bad(rule event.Rule, code uint16) frame {
	return frame{kind: frameBad, rule: rule, code: code}
}
