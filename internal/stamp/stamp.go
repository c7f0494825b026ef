// Package stamp is the layout of the messages wshold times: the client's
// echoed messages (`run --send-every`) and the server's pushes and
// broadcasts (`serve --push-every`, `--broadcast-every`). Both ends share
// it, as they share internal/handshake.
//
// A message is one binary frame whose payload starts with a 16-byte stamp
// — a marker, what kind of message it is, a sequence number and a time —
// and continues with a pattern that both ends compute from the sequence
// number and the distance to the payload's end. The receiver matches a
// message by its stamp alone (no table of messages in flight) and checks
// the pattern as the bytes stream past, keeping one key byte and the
// frame's remaining length: a corrupted or truncated message is found
// without buffering it.
package stamp

import "encoding/binary"

// Size is the stamp's length, and so the smallest message.
const Size = 16

// MaxMessage bounds a timed message's size: what `wshold serve` accepts
// in one frame (1 MiB).
const MaxMessage = 1 << 20

// Kind says who sent a message and what its time means.
type Kind byte

const (
	// Echo is a client's message, to come back from an echo server; its
	// time is the sender's own clock (ns since its run started), so the
	// round trip needs no shared clock.
	Echo Kind = 'e'
	// Push is a server's message to one connection; its time is the
	// server's wall clock (Unix ns) when it was written.
	Push Kind = 'p'
	// Broadcast is a server's message to every connection at once; its
	// time is when the broadcast began (Unix ns), the same on every copy.
	Broadcast Kind = 'b'
)

// marker opens every stamp: 'w', 'h', a version.
var marker = [3]byte{'w', 'h', 1}

// Put writes a stamp into p[:Size].
func Put(p []byte, k Kind, seq uint32, t int64) {
	_ = p[Size-1]
	p[0], p[1], p[2], p[3] = marker[0], marker[1], marker[2], byte(k)
	binary.BigEndian.PutUint32(p[4:8], seq)
	binary.BigEndian.PutUint64(p[8:16], uint64(t))
}

// Parse reads the stamp at the start of p. ok is false when p is shorter
// than a stamp or does not start with one (a message wshold did not send).
func Parse(p []byte) (k Kind, seq uint32, t int64, ok bool) {
	if len(p) < Size || p[0] != marker[0] || p[1] != marker[1] || p[2] != marker[2] {
		return 0, 0, 0, false
	}
	k = Kind(p[3])
	if k != Echo && k != Push && k != Broadcast {
		return 0, 0, 0, false
	}
	return k, binary.BigEndian.Uint32(p[4:8]), int64(binary.BigEndian.Uint64(p[8:16])), true
}

// Key is the pattern key of message seq.
func Key(seq uint32) byte { return byte(seq) ^ byte(seq>>8) ^ 0x5a }

// Fill writes the pattern of a message with key into p, the payload after
// the stamp: byte i is the key mixed with how many bytes remain from it to
// the payload's end. Counting from the end lets a receiver check any chunk
// knowing only how much of the frame is still to come.
func Fill(p []byte, key byte) {
	n := len(p)
	for i := range p {
		p[i] = byte(n-i) ^ key
	}
}

// Check reports whether chunk continues a pattern with key, remaining being
// the payload bytes still to come before chunk's first byte (chunk's own
// length included).
func Check(chunk []byte, remaining int64, key byte) bool {
	for i, b := range chunk {
		if b != byte(remaining-int64(i))^key {
			return false
		}
	}
	return true
}
