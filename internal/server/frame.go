package server

import (
	"encoding/binary"

	"github.com/gobwas/ws"
)

// maxFrame bounds the payload of one client frame (1 MiB). A larger one is
// answered with close 1009: this server holds connections, it is not a
// file transfer, and the bound keeps a connection's echo backlog bounded.
const maxFrame = 1 << 20

// Close codes this server sends.
const (
	closeGoingAway     = 1001
	closeProtocol      = 1002
	closeInvalidData   = 1007
	closeMessageTooBig = 1009
)

// header is a parsed client frame header. Unlike ws.Header it is parsed
// from a byte slice in place, so reading it allocates nothing.
type header struct {
	fin    bool
	rsv    byte
	op     ws.OpCode
	masked bool
	length uint64
	mask   [4]byte
}

// parseHeader reads a client frame header from the start of p. It returns
// the header's length in bytes, or 0 if p does not hold all of it yet.
// For a frame a client may not send (unmasked, reserved bits or opcodes,
// fragmented or long control frames, oversized frames) it returns the
// close code to refuse it with, else 0. (A code rather than an error value:
// errors.As on the hot path would allocate.)
func parseHeader(p []byte) (h header, n int, refuse uint16) {
	if len(p) < 2 {
		return h, 0, 0
	}
	h.fin = p[0]&0x80 != 0
	h.rsv = (p[0] >> 4) & 0x7
	h.op = ws.OpCode(p[0] & 0x0f)
	h.masked = p[1]&0x80 != 0
	ext := 0 // bytes of extended payload length
	switch l := p[1] & 0x7f; l {
	case 126:
		ext = 2
	case 127:
		ext = 8
	default:
		h.length = uint64(l)
	}
	n = 2 + ext
	if h.masked {
		n += 4
	}
	if len(p) < n {
		return h, 0, 0
	}
	switch ext {
	case 2:
		h.length = uint64(binary.BigEndian.Uint16(p[2:]))
	case 8:
		h.length = binary.BigEndian.Uint64(p[2:])
	}
	if h.masked {
		copy(h.mask[:], p[n-4:n])
	}
	switch {
	case h.rsv != 0, !h.masked, h.op.IsReserved():
		return h, n, closeProtocol
	case h.op.IsControl() && (!h.fin || h.length > 125):
		return h, n, closeProtocol
	case h.length > maxFrame:
		return h, n, closeMessageTooBig
	}
	return h, n, 0
}

// serverHeaderLen is the length of an unmasked header for a payload of n
// bytes, its length in the fewest bytes (RFC 6455 §5.2).
func serverHeaderLen(n uint64) int {
	switch {
	case n <= 125:
		return 2
	case n <= 0xffff:
		return 4
	}
	return 10
}

// putServerHeaderBefore writes an unmasked frame header for a payload of
// length n into p, ending at end (where the payload starts), and returns
// where it begins.
//
// A client's header for the same payload is at least 4 bytes longer (the
// mask; more if it spent more bytes on the length than needed, which RFC
// 6455 forbids but this server accepts), so the loop writes the answer's
// header over the tail of the request's and sends header and payload with
// one write, without copying the payload.
func putServerHeaderBefore(p []byte, end int, fin bool, op ws.OpCode, n uint64) int {
	start := end - serverHeaderLen(n)
	putServerHeader(p[start:end], fin, op, n)
	return start
}

// putServerHeader writes an unmasked frame header for a payload of length
// n into b, which must be exactly serverHeaderLen(n) long.
func putServerHeader(b []byte, fin bool, op ws.OpCode, n uint64) {
	b[0] = byte(op)
	if fin {
		b[0] |= 0x80
	}
	switch {
	case n <= 125:
		b[1] = byte(n)
	case n <= 0xffff:
		b[1] = 126
		binary.BigEndian.PutUint16(b[2:], uint16(n))
	default:
		b[1] = 127
		binary.BigEndian.PutUint64(b[2:], n)
	}
}

// sendableCloseCode reports whether an endpoint may put code in a close
// frame (RFC 6455 7.4): 1004-1006 and 1015 are reserved, 1016-2999 are
// unassigned, below 1000 is unused.
func sendableCloseCode(code uint16) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1014:
		return true
	case code >= 3000 && code <= 4999:
		return true
	}
	return false
}

// closeFrame returns an unmasked close frame carrying code, with no reason.
func closeFrame(code uint16) []byte {
	return []byte{0x88, 2, byte(code >> 8), byte(code)}
}

// Frames this server sends on its own initiative, compiled once.
var (
	framePing       = []byte{0x89, 0}
	frameGoingAway  = closeFrame(closeGoingAway)
	frameProtoError = closeFrame(closeProtocol)
	frameTooBig     = closeFrame(closeMessageTooBig)
	frameBadData    = closeFrame(closeInvalidData)
	// A binary frame announcing 2^62 payload bytes that never come.
	frameBig = []byte{0x82, 127, 0x40, 0, 0, 0, 0, 0, 0, 0}
	// A final frame with the reserved opcode 0x3 and no payload.
	frameBadOpcode = []byte{0x83, 0}
	// A final text frame "rsv" with RSV1 set although no extension was agreed.
	frameRSV = []byte{0xc1, 3, 'r', 's', 'v'}
	// A final text frame "masked", masked as only clients may.
	frameMasked = ws.MustCompileFrame(ws.MaskFrameWith(ws.NewTextFrame([]byte("masked")), [4]byte{1, 2, 3, 4}))
	// The unit of ?flood=1: a final binary frame of 4 KiB.
	frameFlood = ws.MustCompileFrame(ws.NewBinaryFrame(make([]byte, 4096)))
)
