package engine

import (
	"bytes"
	"net"
	"net/url"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"golang.org/x/sys/unix"

	"github.com/wshold/wshold/internal/event"
)

// tcpHeld is one loop holding one connection over loopback TCP, whose
// server end (peer) the test reads and writes itself. The client's send
// receive buffer is made small so that a server that stops reading fills
// the client's send buffer sooner.
type tcpHeld struct {
	l    *loop
	fd   int
	c    *connState
	peer net.Conn
	sink *sink
}

func newTCPHeld(t *testing.T, cfg Config) *tcpHeld {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	peer, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { peer.Close() })
	fd, err := detach(client)
	if err != nil {
		t.Fatal(err)
	}
	s := &sink{}
	if cfg.URL == nil {
		cfg.URL, _ = url.Parse("ws://127.0.0.1/")
	}
	if err := cfg.withDefaults(); err != nil {
		t.Fatal(err)
	}
	e := &engine{cfg: cfg, start: time.Now(), sink: s, conns: make([]connState, fd+1)}
	l, err := newLoop(e, 0)
	if err != nil {
		t.Fatal(err)
	}
	e.loops = []*loop{l}
	t.Cleanup(func() {
		if e.conns[fd].open {
			rawClose(fd)
		}
		unix.Close(l.epfd)
		unix.Close(l.wake)
	})
	l.add(fd, e.now(), false, nil)
	return &tcpHeld{l: l, fd: fd, c: &e.conns[fd], peer: peer, sink: s}
}

// readFrames reads whole client frames from the peer until want have come
// or nothing more comes for a while, flushing the client's waiting bytes
// as its loop would when the socket has room.
func (h *tcpHeld) readFrames(t *testing.T, want int) []ws.Frame {
	t.Helper()
	var got []ws.Frame
	var stream bytes.Buffer
	buf := make([]byte, 64<<10)
	deadline := time.Now().Add(5 * time.Second)
	for len(got) < want && time.Now().Before(deadline) {
		if h.c.open && h.c.pend != 0 {
			h.l.act(h.fd, unix.EPOLLOUT, h.l.e.now())
		}
		_ = h.peer.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		n, err := h.peer.Read(buf)
		stream.Write(buf[:n])
		if err != nil && !isTimeout(err) {
			t.Fatalf("peer read: %v", err)
		}
		for {
			f, ok := nextClientFrame(t, &stream)
			if !ok {
				break
			}
			got = append(got, f)
		}
	}
	return got
}

// nextClientFrame takes one whole frame off the front of b, unmasked; ok is false
// while b holds only part of one. A frame that is not a valid client frame
// fails the test: that is a torn or misaligned write.
func nextClientFrame(t *testing.T, b *bytes.Buffer) (ws.Frame, bool) {
	t.Helper()
	p := b.Bytes()
	if len(p) < 2 {
		return ws.Frame{}, false
	}
	h, err := ws.ReadHeader(bytes.NewReader(p))
	if err != nil {
		return ws.Frame{}, false
	}
	hl := 2 + 4
	switch {
	case h.Length > 0xffff:
		hl += 8
	case h.Length > 125:
		hl += 2
	}
	if !h.Fin || !h.Masked || h.Rsv != 0 || !h.OpCode.IsControl() && !h.OpCode.IsData() {
		t.Fatalf("not a whole client frame at this point of the stream: % x", p[:min(len(p), 16)])
	}
	if len(p) < hl+int(h.Length) {
		return ws.Frame{}, false
	}
	payload := append([]byte(nil), p[hl:hl+int(h.Length)]...)
	ws.Cipher(payload, h.Mask, 0)
	b.Next(hl + int(h.Length))
	return ws.Frame{Header: h, Payload: payload}, true
}

// A server that stops reading fills the client's socket buffer; a frame the
// socket takes only in part must not be torn. The rest waits and goes out
// when there is room, with the frames sent meanwhile behind it, and the
// server then reads every frame whole and in order.
func TestFramesAreNeverTornByAFullSocketBuffer(t *testing.T) {
	// Whether the socket takes part of a frame or none of it depends on
	// where the frame falls in the kernel's buffers: frame sizes are tried
	// until one is torn (on Linux 6 the first one is).
	for size := 125; size > 100; size-- {
		if tornWriteKeptWhole(t, size) {
			return
		}
	}
	t.Fatal("no frame size made the socket take part of a frame: the test proves nothing")
}

// tornWriteKeptWhole sends pings of size bytes to a server that does not
// read until one is not taken whole, then three pongs, then lets the server
// read: every frame must arrive whole and in order. It reports whether the
// socket took part of a frame.
func tornWriteKeptWhole(t *testing.T, size int) (torn bool) {
	h := newTCPHeld(t, Config{})
	payload := bytes.Repeat([]byte("0123456789abcdef"), 8)[:size]
	sent := 0
	h.l.mu.Lock()
	for i := 0; i < 1000000 && h.c.pend == 0; i++ {
		if !h.l.sendFrame(h.fd, h.c, opPing, payload) {
			t.Fatal("the first frame the socket did not take was not kept")
		}
		sent++
	}
	if h.c.pend == 0 {
		h.l.mu.Unlock()
		t.Fatalf("%d frames written and the socket never filled", sent)
	}
	torn = h.l.pends[h.c.pend-1].n < 2+4+size
	// Frames sent while the tail waits queue behind it.
	for range 3 {
		if !h.l.sendFrame(h.fd, h.c, opPong, payload[:7]) {
			t.Fatal("a frame sent while the socket was full was not kept")
		}
	}
	h.l.mu.Unlock()

	got := h.readFrames(t, sent+3)
	if len(got) != sent+3 {
		t.Fatalf("server read %d whole frames, want %d", len(got), sent+3)
	}
	for i, f := range got {
		wantOp, wantPayload := ws.OpPing, payload
		if i >= sent {
			wantOp, wantPayload = ws.OpPong, payload[:7]
		}
		if f.Header.OpCode != wantOp || !bytes.Equal(f.Payload, wantPayload) {
			t.Fatalf("frame %d is %v %q, want %v %q", i, f.Header.OpCode, f.Payload, wantOp, wantPayload)
		}
	}
	if h.c.pend != 0 || !h.c.open {
		t.Fatalf("after the flush: pend %d open %v, want nothing waiting and the connection held", h.c.pend, h.c.open)
	}
	return torn
}

// A server that pings but never reads: the client answers every ping until
// its waiting pongs no longer fit, then ends the connection as
// send_blocked — not a torn pong, not a silent loss.
func TestAServerThatNeverReadsEndsAsSendBlocked(t *testing.T) {
	h := newTCPHeld(t, Config{})
	ping := []byte{0x89, 0x7d}
	ping = append(ping, bytes.Repeat([]byte{'p'}, 125)...)
	h.l.mu.Lock()
	defer h.l.mu.Unlock()
	// The pings are handed to the frame path as a read would: a server
	// that does not read cannot be relied on to keep writing either.
	for i := 0; i < 1000000 && h.c.open; i++ {
		h.l.consume(h.fd, h.c, ping, h.l.e.now())
	}
	if h.c.open {
		t.Fatal("the connection is still held after 1000000 unread pongs")
	}
	if len(h.sink.dropped) != 1 || h.sink.dropped[0].Kind != event.SendBlocked {
		t.Fatalf("drops %+v, want one send_blocked", h.sink.dropped)
	}
}
