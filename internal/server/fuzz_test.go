package server

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

// FuzzFramesAreAnsweredExactly sends a client a fuzzer-chosen sequence of
// frames — data, fragments, pings, pongs, lengths encoded in more bytes
// than needed — then a close, and holds the server to the exact bytes RFC
// 6455 asks of it: each data frame echoed as sent, each ping answered with
// a pong of its payload, every length in the fewest bytes, unmasked; and
// at the first frame out of order (a continuation with no message begun,
// a new message inside a fragmented one) a close 1002 and the end.
func FuzzFramesAreAnsweredExactly(f *testing.F) {
	f.Add([]byte{0x11, 5, 0x21, 3})              // text, then binary with a 16-bit length
	f.Add([]byte{0x08, 2, 0x30, 4, 0x40, 1})     // fragment, ping inside, continuation
	f.Add([]byte{0x30, 3})                       // continuation with no message begun
	f.Add([]byte{0x09, 2, 0x19, 2})              // a new message inside a fragmented one
	f.Add([]byte{0x2a, 200, 0x5a, 125, 0x60, 9}) // 64-bit lengths, pong
	_, addr := startServer(f, Config{Loops: 1})
	f.Fuzz(func(t *testing.T, spec []byte) {
		sent, want := clientFrames(spec)
		c := dial(t, addr, "/")
		c.write(sent)
		got, err := readUntilEnd(c, len(want)+64)
		if err != nil {
			t.Fatalf("reading the answers: %v", err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("spec % x: the server answered\n% x\nwant\n% x", spec, got, want)
		}
	})
}

// clientFrames turns spec, two bytes a frame, into masked client frames
// followed by a close 1000, and the server's exact answer. The first byte
// of a pair picks the opcode (high nibble: text, binary, continuation,
// ping, pong), FIN (bit 3) and how many bytes carry the length (low bits:
// the fewest, 2 or 8); the second the payload length.
func clientFrames(spec []byte) (sent, want []byte) {
	ops := []ws.OpCode{ws.OpText, ws.OpBinary, ws.OpContinuation, ws.OpPing, ws.OpPong}
	inMsg, failed := false, false
	for i := 0; i+1 < len(spec) && i < 32; i += 2 {
		op := ops[int(spec[i]>>4)%len(ops)]
		fin := spec[i]&0x08 != 0
		n := int(spec[i+1])
		if op.IsControl() {
			fin, n = true, n%126
		}
		payload := bytes.Repeat([]byte{byte('a' + i/2%26)}, n)
		sent = append(sent, clientFrame(op, fin, payload, int(spec[i]&0x03))...)
		switch {
		case failed:
		case op == ws.OpContinuation && !inMsg, !op.IsControl() && op != ws.OpContinuation && inMsg:
			want = append(want, 0x88, 2, 0x03, 0xEA) // close 1002, then the end
			failed = true
		case op == ws.OpPing:
			want = append(want, serverFrame(ws.OpPong, true, payload)...)
		case op == ws.OpPong:
		default:
			inMsg = !fin
			want = append(want, serverFrame(op, fin, payload)...)
		}
	}
	closing := ws.NewCloseFrameBody(1000, "bye")
	sent = append(sent, clientFrame(ws.OpClose, true, closing, 2)...)
	if !failed {
		want = append(want, serverFrame(ws.OpClose, true, closing)...)
	}
	return sent, want
}

// clientFrame is a masked frame whose length takes ext: 0 the fewest
// bytes, 1 or 2 two bytes, 3 eight bytes (when the fewest would be fewer).
func clientFrame(op ws.OpCode, fin bool, payload []byte, ext int) []byte {
	b := []byte{byte(op)}
	if fin {
		b[0] |= 0x80
	}
	n := len(payload)
	switch {
	case ext == 3 || n > 0xffff:
		b = append(b, 0x80|127, 0, 0, 0, 0, 0, 0, 0, 0)
		binary.BigEndian.PutUint64(b[2:], uint64(n))
	case ext > 0 || n > 125:
		b = append(b, 0x80|126, byte(n>>8), byte(n))
	default:
		b = append(b, 0x80|byte(n))
	}
	key := [4]byte{0x37, 0xfa, 0x21, 0x3d}
	b = append(b, key[:]...)
	start := len(b)
	b = append(b, payload...)
	ws.Cipher(b[start:], key, 0)
	return b
}

// serverFrame is an unmasked frame with its length in the fewest bytes.
func serverFrame(op ws.OpCode, fin bool, payload []byte) []byte {
	b := make([]byte, serverHeaderLen(uint64(len(payload))))
	putServerHeader(b, fin, op, uint64(len(payload)))
	return append(b, payload...)
}

// readUntilEnd reads what the server sends until it closes the connection,
// at most limit bytes and patience long.
func readUntilEnd(c *client, limit int) ([]byte, error) {
	_ = c.nc.SetReadDeadline(time.Now().Add(patience))
	got, err := io.ReadAll(io.LimitReader(c.r, int64(limit)))
	return got, err
}
