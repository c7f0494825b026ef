package engine

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wshold/wshold/internal/event"
	"github.com/wshold/wshold/internal/stamp"
	"github.com/wshold/wshold/internal/tlsrecord"
)

// Whatever a server (or anything on the path) sends after the 101, the
// engine never panics, never grows a connection's carried state past its
// bound, and either keeps the connection open or ends it with a drop of a
// known kind. How the bytes are split over reads changes nothing.

// dropLog records drops, and counts timed messages by kind, for the fuzz
// targets.
type dropLog struct {
	mu       sync.Mutex
	drops    []event.Dropped
	messages [8]int
}

func (*dropLog) Upgraded(event.Upgraded) {}
func (*dropLog) Failed(event.Failed)     {}
func (d *dropLog) Message(e event.Message) {
	d.mu.Lock()
	d.messages[int(e.Kind)%len(d.messages)]++
	d.mu.Unlock()
}
func (d *dropLog) Dropped(e event.Dropped) {
	d.mu.Lock()
	d.drops = append(d.drops, e)
	d.mu.Unlock()
}

// fuzzConn is one loop holding one connection over a socketpair, as pair
// in steady_test.go, but closed by its own close method: the engine closes
// fd itself when it ends the connection, and closing that number again
// later could hit a descriptor reused in between.
type fuzzConn struct {
	l        *loop
	fd, peer int
	sink     *dropLog
}

func newFuzzConn(t *testing.T) *fuzzConn {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{}
	cfg.URL, _ = url.Parse("ws://127.0.0.1/")
	if err := cfg.withDefaults(); err != nil {
		t.Fatal(err)
	}
	cfg.Loops = 1
	sink := &dropLog{}
	// A table just large enough for fd: the engine's is sized by the
	// open-files limit, which would make each fuzz input slow.
	e := &engine{cfg: cfg, start: time.Now(), sink: sink, conns: make([]connState, fds[0]+1)}
	l, err := newLoop(e, 0)
	if err != nil {
		t.Fatal(err)
	}
	e.loops = []*loop{l}
	l.add(fds[0], 0, e.now(), nil)
	return &fuzzConn{l: l, fd: fds[0], peer: fds[1], sink: sink}
}

func (c *fuzzConn) open() bool { return c.l.e.conns[c.fd].open }

func (c *fuzzConn) close() {
	if c.open() {
		unix.Close(c.fd)
	}
	unix.Close(c.peer)
	unix.Close(c.l.epfd)
	unix.Close(c.l.wake)
}

// outcome is how a connection stands after the input: open, or ended with
// one drop of a known kind; and the timed messages it read, by kind.
type outcome struct {
	open     bool
	kind     event.DropKind
	code     uint16
	rule     event.Rule
	messages [8]int
}

func (c *fuzzConn) outcome(t *testing.T) outcome {
	t.Helper()
	st := c.l.e.conns[c.fd]
	if st.open {
		if len(c.sink.drops) != 0 {
			t.Fatalf("connection open but %d drops recorded", len(c.sink.drops))
		}
		if st.carry != 0 && int(st.carryLen) > carryCap || st.frames.skip < 0 {
			t.Fatalf("connection state out of bounds: %+v", st)
		}
		return outcome{open: true, messages: c.sink.messages}
	}
	if len(c.sink.drops) != 1 {
		t.Fatalf("connection ended with %d drops recorded, want exactly 1", len(c.sink.drops))
	}
	d := c.sink.drops[0]
	switch d.Kind {
	case event.CloseFrame, event.ProtocolError, event.EOF, event.Reset:
	default:
		t.Fatalf("drop of kind %d (%s), not one the frame reader may produce", d.Kind, d.Kind.Name(d.CloseCode))
	}
	if d.Kind == event.CloseFrame && d.CloseCode != 1005 && !validCloseCode(d.CloseCode) {
		t.Fatalf("close frame with invalid code %d recorded as a close, want protocol_error", d.CloseCode)
	}
	if (d.Kind == event.ProtocolError) != (d.Rule != event.RuleNone) || d.Rule.Name() == "unknown" {
		t.Fatalf("drop %s with rule %d (%q): every protocol error, and only those, names a known rule", d.Kind.Name(d.CloseCode), d.Rule, d.Rule.Name())
	}
	return outcome{kind: d.Kind, code: d.CloseCode, rule: d.Rule, messages: c.sink.messages}
}

// drainPeer reads what the engine wrote back (pongs, close frames), so that
// its buffer never fills and every frame written is a whole masked frame.
func drainPeer(t *testing.T, peer int) {
	t.Helper()
	buf := make([]byte, 64<<10)
	var all []byte
	for i := 0; i < 1<<12; i++ {
		n, err := unix.Read(peer, buf)
		if n <= 0 || err != nil {
			break
		}
		all = append(all, buf[:n]...)
	}
	for len(all) > 0 {
		h, n, ok, err := parseHeader(all)
		if err != nil || !ok || !h.masked || !h.fin || h.length > maxControlPayload || int64(len(all)-n) < h.length {
			t.Fatalf("the engine wrote a frame that is not a whole masked control frame: % x", all[:min(len(all), 32)])
		}
		all = all[n+int(h.length):]
	}
}

func FuzzConsume(f *testing.F) {
	for _, seed := range fuzzFrameSeeds() {
		f.Add(seed, uint8(1))
		f.Add(seed, uint8(7))
	}
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8) {
		// All at once, as one read.
		whole := newFuzzConn(t)
		defer whole.close()
		if len(data) > 0 {
			whole.l.mu.Lock()
			whole.l.consume(whole.fd, &whole.l.e.conns[whole.fd], data, whole.l.e.now())
			whole.l.mu.Unlock()
		}
		drainPeer(t, whole.peer)
		a := whole.outcome(t)

		// The same bytes over the socket in chunks of 1..256 bytes: the
		// carried partial frames must make the same decisions.
		split := newFuzzConn(t)
		defer split.close()
		size := int(chunk) + 1
		for p := data; len(p) > 0 && split.open(); {
			k := min(size, len(p))
			if _, err := unix.Write(split.peer, p[:k]); err != nil {
				t.Fatalf("writing to the socketpair: %v", err)
			}
			p = p[k:]
			split.l.mu.Lock()
			split.l.readable(split.fd, unix.EPOLLIN, split.l.e.now())
			split.l.mu.Unlock()
			drainPeer(t, split.peer)
		}
		b := split.outcome(t)
		if a != b {
			t.Fatalf("read whole: %+v; read in chunks of %d: %+v", a, size, b)
		}

		// Over wss://, the same bytes cut into TLS records of chunk bytes:
		// the records are opened on the loop and go to the same frame
		// path, so it decides the same.
		if c := wssOutcome(t, data, size); c != a {
			t.Fatalf("ws://: %+v; wss:// in records of %d: %+v", a, size, c)
		}
	})
}

var (
	fuzzTLSOnce          sync.Once
	fuzzClient, fuzzPeer tlsrecord.State
)

// wssOutcome holds one wss:// connection on a loop, over loopback TCP, and
// has its server end send data sealed in records of size bytes. The
// record protection is one handshake's, copied for each call: a Peer's
// Peer has the same keys and secrets of its own, which the loop wipes when
// the connection ends (a copy by value would share them).
func wssOutcome(t *testing.T, data []byte, size int) outcome {
	t.Helper()
	fuzzTLSOnce.Do(func() {
		h := newTLSHeld(t, Config{}, tls.VersionTLS13)
		fuzzClient, fuzzPeer = *h.l.tlss[h.c.tls-1], *h.st
	})
	client, peer := fuzzClient.Peer().Peer(), fuzzPeer.Peer().Peer()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	accepted, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	server, err := detach(accepted)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(server)
	fd, err := detach(conn)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{}
	cfg.URL, _ = url.Parse("wss://127.0.0.1/")
	_ = cfg.withDefaults()
	sink := &dropLog{}
	e := &engine{cfg: cfg, start: time.Now(), sink: sink, conns: make([]connState, max(fd, server)+1)}
	l, err := newLoop(e, 0)
	if err != nil {
		t.Fatal(err)
	}
	e.loops = []*loop{l}
	defer func() {
		if e.conns[fd].open {
			rawClose(fd)
		}
		unix.Close(l.epfd)
		unix.Close(l.wake)
	}()
	l.addTLS(fd, 0, e.now(), nil, client)
	c := &fuzzConn{l: l, fd: fd, sink: sink}
	drain := make([]byte, 64<<10)
	for p := data; len(p) > 0 && c.open(); {
		k := min(size, len(p))
		if _, err := unix.Write(server, peer.Seal(nil, tlsrecord.TypeApplicationData, p[:k])); err != nil {
			t.Fatal(err)
		}
		p = p[k:]
		l.mu.Lock()
		l.readable(fd, unix.EPOLLIN, e.now())
		l.mu.Unlock()
		// What the client sent back (pongs, a close) is not looked at.
		_, _ = unix.Read(server, drain)
	}
	return c.outcome(t)
}

func FuzzParseHeader(f *testing.F) {
	for _, seed := range fuzzFrameSeeds() {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		h, n, ok, err := parseHeader(p)
		switch {
		case err != nil:
			if ok || len(p) < 10 || p[1]&0x7f != 127 || p[2]&0x80 == 0 {
				t.Fatalf("error %v for % x; only a 64-bit length with its top bit set is an error", err, p[:min(len(p), 10)])
			}
			return
		case !ok:
			if len(p) >= maxServerHeader {
				t.Fatalf("%d bytes, still an incomplete header", len(p))
			}
			return
		}
		if n < 2 || n > maxServerHeader || n > len(p) || h.length < 0 {
			t.Fatalf("header of %d bytes, length %d, from %d bytes", n, h.length, len(p))
		}
		if h.masked != (p[1]&0x80 != 0) || h.op != p[0]&0x0f || h.rsv != (p[0]>>4)&7 || h.fin != (p[0]&0x80 != 0) {
			t.Fatalf("header %+v does not match the bits of % x", h, p[:2])
		}
		// The header alone parses the same; one byte less is incomplete.
		h2, n2, ok2, err2 := parseHeader(p[:n])
		if h2 != h || n2 != n || !ok2 || err2 != nil {
			t.Fatalf("the header's own %d bytes parse as %+v %d %v %v, want %+v", n, h2, n2, ok2, err2, h)
		}
		if _, _, ok3, err3 := parseHeader(p[:n-1]); ok3 || err3 != nil {
			t.Fatalf("%d of a %d-byte header parse as complete (err %v)", n-1, n, err3)
		}
	})
}

// fuzzFrameSeeds are frames the hostile-server tests send, and some that
// only a fuzzer would.
func fuzzFrameSeeds() [][]byte {
	ext64 := func(b0 byte, n uint64) []byte {
		p := []byte{b0, 127, 0, 0, 0, 0, 0, 0, 0, 0}
		binary.BigEndian.PutUint64(p[2:], n)
		return p
	}
	closeFrame := func(code uint16, reason string) []byte {
		p := []byte{0x88, byte(2 + len(reason)), byte(code >> 8), byte(code)}
		return append(p, reason...)
	}
	return [][]byte{
		{0x89, 0x04, 'p', 'i', 'n', 'g'}, // ping
		{0x8A, 0x00},                     // unsolicited pong
		{0x81, 0x03, 'a', 'b', 'c'},      // text
		append([]byte{0x82, 126, 0x01, 0x00}, make([]byte, 256)...), // binary, 16-bit length
		ext64(0x82, 1<<62),            // 2^62-byte frame
		ext64(0x82, 1<<63),            // length with the top bit set
		{0x83, 0x00},                  // reserved opcode
		{0xC1, 0x01, 'x'},             // RSV1 without an extension
		{0x81, 0x81, 1, 2, 3, 4, 'x'}, // masked server frame
		closeFrame(1000, "bye"),       // normal close
		closeFrame(999, ""),           // invalid close code
		closeFrame(1006, ""),          // code that must not be sent
		{0x88, 0x01, 0x03},            // one-byte close payload
		{0x88, 0x00},                  // close without code
		{0x09, 0x00},                  // fragmented ping
		append([]byte{0x89, 126, 0x00, 0x7E}, make([]byte, 126)...),                                // ping over 125 bytes
		append(bytes.Repeat([]byte{0x82, 0x02, 0, 0}, 8), 0x89, 0x01, 'z', 0x88, 0x02, 0x03, 0xE8), // data, ping, close
		{0x80, 0x01, 'x'},                                          // continuation with no message begun
		{0x01, 0x01, 'a', 0x81, 0x01, 'b'},                         // a new message inside a fragmented one
		{0x01, 0x01, 'a', 0x89, 0x00, 0x80, 0x01, 'b', 0x88, 0x00}, // fragments around a ping, then close
		{0x88, 0x04, 0x03, 0xE8, 0xff, 0xfe},                       // close reason not UTF-8
		append(ext64(0x82, 17<<20), 0xAA),                          // 17 MiB frame, begun
		// timed messages: a push, a broadcast with a 16-bit length, a
		// damaged push, an echo never sent, then a ping
		append(append(append(append(pushFrame(stamp.Push, 1, 5, 64), pushFrame(stamp.Broadcast, 2, 5, 300)...),
			damaged(pushFrame(stamp.Push, 3, 5, 40))...), pushFrame(stamp.Echo, 9, 5, 16)...), 0x89, 0x00),
	}
}

// damaged is a frame with its last byte changed.
func damaged(f []byte) []byte {
	f[len(f)-1] ^= 0x40
	return f
}
