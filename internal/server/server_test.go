package server

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

func TestEchoesTextAndBinaryMessages(t *testing.T) {
	t.Parallel()
	_, addr := startServer(t, Config{})
	c := dial(t, addr, "/any/path?token=abc")

	big := bytes.Repeat([]byte("0123456789abcdef"), 20000) // 320 KB: many reads, past the loop buffer
	for _, tc := range []struct {
		op      ws.OpCode
		payload []byte
	}{
		{ws.OpText, []byte("hello")},
		{ws.OpBinary, []byte{0, 1, 2, 255}},
		{ws.OpText, nil},
		{ws.OpBinary, bytes.Repeat([]byte{7}, 200)}, // 16-bit length
		{ws.OpBinary, big},                          // 64-bit length
	} {
		if err := wsutil.WriteClientMessage(c.nc, tc.op, tc.payload); err != nil {
			t.Fatal(err)
		}
		got, op, err := wsutil.ReadServerData(struct {
			io.Reader
			io.Writer
		}{c.r, c.nc})
		if err != nil {
			t.Fatalf("read echo of %d bytes: %v", len(tc.payload), err)
		}
		if op != tc.op || !bytes.Equal(got, tc.payload) {
			t.Errorf("echo of %v %d bytes: got %v %d bytes", tc.op, len(tc.payload), op, len(got))
		}
	}
}

func TestEchoesFragmentsFrameByFrame(t *testing.T) {
	t.Parallel()
	_, addr := startServer(t, Config{})
	c := dial(t, addr, "/")
	c.send(ws.OpText, false, []byte("hel"))
	c.send(ws.OpPing, true, []byte("between")) // control frames may interleave
	c.send(ws.OpContinuation, false, []byte("lo "))
	c.send(ws.OpContinuation, true, []byte("world"))

	want := []struct {
		op  ws.OpCode
		fin bool
		p   string
	}{
		{ws.OpText, false, "hel"}, {ws.OpPong, true, "between"},
		{ws.OpContinuation, false, "lo "}, {ws.OpContinuation, true, "world"},
	}
	for i, w := range want {
		f := c.frame()
		if f.Header.OpCode != w.op || f.Header.Fin != w.fin || string(f.Payload) != w.p || f.Header.Masked {
			t.Errorf("frame %d: got op %v fin %v masked %v %q, want op %v fin %v %q",
				i, f.Header.OpCode, f.Header.Fin, f.Header.Masked, f.Payload, w.op, w.fin, w.p)
		}
	}
}

func TestAnswersPingWithPong(t *testing.T) {
	t.Parallel()
	_, addr := startServer(t, Config{})
	c := dial(t, addr, "/")
	for _, p := range []string{"", "x", strings.Repeat("p", 125)} {
		c.send(ws.OpPing, true, []byte(p))
		f := c.frame()
		if f.Header.OpCode != ws.OpPong || string(f.Payload) != p {
			t.Errorf("ping %q: got %v %q, want a pong with the same payload", p, f.Header.OpCode, f.Payload)
		}
	}
	// A pong from the client is not answered: the next frame is the echo.
	c.send(ws.OpPong, true, []byte("unsolicited"))
	c.send(ws.OpText, true, []byte("after"))
	if f := c.frame(); f.Header.OpCode != ws.OpText || string(f.Payload) != "after" {
		t.Errorf("after a client pong: got %v %q, want the echo of %q", f.Header.OpCode, f.Payload, "after")
	}
}

func TestCloseHandshake(t *testing.T) {
	t.Parallel()
	srv, addr := startServer(t, Config{})
	c := dial(t, addr, "/")
	c.send(ws.OpClose, true, ws.NewCloseFrameBody(ws.StatusNormalClosure, "bye"))
	f := c.frame()
	code, reason := ws.ParseCloseFrameData(f.Payload)
	if f.Header.OpCode != ws.OpClose || code != ws.StatusNormalClosure || reason != "bye" {
		t.Errorf("got %v %d %q, want close 1000 %q", f.Header.OpCode, code, reason, "bye")
	}
	if err := c.expectEnd(); err != io.EOF {
		t.Errorf("after the close handshake: got %v, want EOF (the server closes TCP)", err)
	}
	waitFor(t, "the server to count the close", func() bool { return srv.Stats().Closed == 1 })
}

// Bytes sent right behind the upgrade request land in the handshake's
// buffer; they must still reach the loop.
func TestFramesSentWithTheRequestAreNotLost(t *testing.T) {
	t.Parallel()
	_, addr := startServer(t, Config{})
	nc, err := net.DialTimeout("tcp", addr, patience)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(patience))
	frame := ws.MustCompileFrame(ws.MaskFrame(ws.NewTextFrame([]byte("early"))))
	ping := ws.MustCompileFrame(ws.MaskFrame(ws.NewPingFrame([]byte("p"))))
	if _, err := io.WriteString(nc, upgradeRequest("/")+string(frame)+string(ping)); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("got %v %v, want 101", resp, err)
	}
	for _, want := range []struct {
		op ws.OpCode
		p  string
	}{{ws.OpText, "early"}, {ws.OpPong, "p"}} {
		f, err := readFrame(br)
		if err != nil || f.Header.OpCode != want.op || string(f.Payload) != want.p {
			t.Fatalf("got %v %q %v, want %v %q", f.Header.OpCode, f.Payload, err, want.op, want.p)
		}
	}
}

// A frame dribbled in one byte at a time exercises every partial-header
// and partial-payload path.
func TestFramesSplitAcrossReads(t *testing.T) {
	t.Parallel()
	_, addr := startServer(t, Config{})
	c := dial(t, addr, "/")
	for _, f := range []ws.Frame{
		ws.NewTextFrame([]byte("dribbled")),
		ws.NewPingFrame([]byte("slow ping")),
		ws.NewBinaryFrame(bytes.Repeat([]byte{9}, 300)),
	} {
		raw := ws.MustCompileFrame(ws.MaskFrame(f))
		for i := range raw {
			c.write(raw[i : i+1])
			if i%50 == 0 {
				time.Sleep(time.Millisecond) // let the server see a short read
			}
		}
		got := c.frame()
		wantOp := f.Header.OpCode
		if wantOp == ws.OpPing {
			wantOp = ws.OpPong
		}
		if got.Header.OpCode != wantOp || !bytes.Equal(got.Payload, f.Payload) {
			t.Errorf("%v frame: got %v %d bytes, want %v %d bytes", f.Header.OpCode, got.Header.OpCode, len(got.Payload), wantOp, len(f.Payload))
		}
	}
}

// A client may spend more bytes on a frame's length than it needs (RFC
// 6455 says it must not; this server is lenient): the echo, the pong and
// the close reply are still whole frames, with the length in the fewest
// bytes, never the request header's leftovers.
func TestAnswersFramesWithNonMinimalLengths(t *testing.T) {
	t.Parallel()
	_, addr := startServer(t, Config{})
	key := [4]byte{9, 8, 7, 6}
	// frame builds a masked frame whose length uses ext bytes (0, 2 or 8).
	frame := func(op ws.OpCode, payload []byte, ext int) []byte {
		b := []byte{0x80 | byte(op)}
		switch ext {
		case 0:
			b = append(b, 0x80|byte(len(payload)))
		case 2:
			b = append(b, 0x80|126, byte(len(payload)>>8), byte(len(payload)))
		case 8:
			b = append(b, 0x80|127, 0, 0, 0, 0, 0, 0, byte(len(payload)>>8), byte(len(payload)))
		}
		b = append(b, key[:]...)
		masked := append([]byte(nil), payload...)
		ws.Cipher(masked, key, 0)
		return append(b, masked...)
	}
	c := dial(t, addr, "/")
	for _, tc := range []struct {
		op      ws.OpCode
		payload []byte
		ext     int
	}{
		{ws.OpText, []byte("hello"), 2},
		{ws.OpBinary, []byte("world"), 8},
		{ws.OpBinary, bytes.Repeat([]byte{5}, 300), 8},
		{ws.OpPing, []byte("p"), 2},
		{ws.OpPing, []byte("q"), 8},
	} {
		c.write(frame(tc.op, tc.payload, tc.ext))
		want := tc.op
		if tc.op == ws.OpPing {
			want = ws.OpPong
		}
		f := c.frame()
		if f.Header.OpCode != want || !f.Header.Fin || f.Header.Masked || !bytes.Equal(f.Payload, tc.payload) {
			t.Fatalf("%v of %d bytes, length in %d extra bytes: answered %+v %q", tc.op, len(tc.payload), tc.ext, f.Header, f.Payload)
		}
	}
	c.write(frame(ws.OpClose, ws.NewCloseFrameBody(1000, "bye"), 8))
	f := c.frame()
	if code, reason := ws.ParseCloseFrameData(f.Payload); f.Header.OpCode != ws.OpClose || code != 1000 || reason != "bye" {
		t.Fatalf("close with its length in 8 bytes: answered %+v %q", f.Header, f.Payload)
	}
}

func TestRefusesFramesAClientMayNotSend(t *testing.T) {
	t.Parallel()
	_, addr := startServer(t, Config{})
	masked := func(f ws.Frame) []byte { return ws.MustCompileFrame(ws.MaskFrame(f)) }
	withRsv := ws.NewTextFrame([]byte("x"))
	withRsv.Header.Rsv = ws.Rsv(true, false, false)
	tooLong := ws.Header{Fin: true, OpCode: ws.OpBinary, Length: maxFrame + 1, Masked: true, Mask: [4]byte{1, 2, 3, 4}}
	var tooLongHdr bytes.Buffer
	_ = ws.WriteHeader(&tooLongHdr, tooLong)

	for _, tc := range []struct {
		name  string
		bytes []byte
		want  ws.StatusCode
	}{
		{"unmasked frame", ws.MustCompileFrame(ws.NewTextFrame([]byte("x"))), 1002},
		{"reserved bits", masked(withRsv), 1002},
		{"reserved opcode", masked(ws.NewFrame(ws.OpCode(0x3), true, nil)), 1002},
		{"ping over 125 bytes", masked(ws.NewPingFrame(make([]byte, 126))), 1002},
		{"fragmented ping", masked(ws.NewFrame(ws.OpPing, false, nil)), 1002},
		{"continuation without a message", masked(ws.NewFrame(ws.OpContinuation, true, []byte("x"))), 1002},
		{"new message inside a fragmented one", append(masked(ws.NewFrame(ws.OpText, false, []byte("a"))), masked(ws.NewTextFrame([]byte("b")))...), 1002},
		{"close with a 1-byte body", masked(ws.NewCloseFrame([]byte{3})), 1002},
		{"close with code 999", masked(ws.NewCloseFrame(ws.NewCloseFrameBody(999, ""))), 1002},
		{"close with reserved code 1005", masked(ws.NewCloseFrame(ws.NewCloseFrameBody(1005, ""))), 1002},
		{"close reason not UTF-8", masked(ws.NewCloseFrame(append(ws.NewCloseFrameBody(1000, ""), 0xff))), 1007},
		{"frame over 1 MiB", tooLongHdr.Bytes(), 1009},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := dial(t, addr, "/")
			c.write(tc.bytes)
			if got := c.expectClose(); got != tc.want {
				t.Errorf("close code %d, want %d", got, tc.want)
			}
			if err := c.expectEnd(); err != io.EOF && !errors.Is(err, syscall.ECONNRESET) {
				t.Errorf("after the close frame: %v, want the connection to end", err)
			}
		})
	}
}

func TestServerPingsEveryConnection(t *testing.T) {
	t.Parallel()
	_, addr := startServer(t, Config{Ping: 20 * time.Millisecond})
	c := dial(t, addr, "/")
	for i := range 3 {
		if f := c.frame(); f.Header.OpCode != ws.OpPing || f.Header.Masked {
			t.Fatalf("frame %d: got %v (masked %v), want an unmasked ping", i, f.Header.OpCode, f.Header.Masked)
		}
	}
}

func TestStatsCountWhatHappened(t *testing.T) {
	t.Parallel()
	srv, addr := startServer(t, Config{})
	a := dial(t, addr, "/")
	dial(t, addr, "/")
	rawExchange(t, addr, "GET / HTTP/1.1\r\nHost: x\r\n\r\n") // rejected
	nc, err := net.Dial("tcp", addr)                          // aborted: closes before a request
	if err != nil {
		t.Fatal(err)
	}
	nc.Close()
	a.nc.Close()

	want := Stats{Accepted: 4, Upgraded: 2, Rejected: 1, Aborted: 1, Open: 1, Closed: 1}
	waitFor(t, "stats "+want.String(), func() bool { return srv.Stats() == want })
}

func TestCloseEndsEveryConnectionAndIsBounded(t *testing.T) {
	t.Parallel()
	srv, addr := startServer(t, Config{Loops: 2})
	var cs []*client
	for range 20 {
		cs = append(cs, dial(t, addr, "/"))
	}
	// A connection still in its handshake, and one the server never answers.
	half, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer half.Close()
	io.WriteString(half, "GET / HTTP/1.1\r\n")
	mute, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer mute.Close()
	io.WriteString(mute, upgradeRequest("/?noupgrade=1"))
	waitFor(t, "22 connections held", func() bool { return srv.Stats().Open == 21 && srv.Stats().Accepted == 22 })

	start := time.Now()
	if err := srv.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close took %v; it must not wait for clients", d)
	}
	for i, c := range cs {
		if code := c.expectClose(); code != ws.StatusGoingAway {
			t.Errorf("client %d: close code %d, want 1001", i, code)
		}
		c.expectEnd()
	}
	for _, nc := range []net.Conn{half, mute} {
		_ = nc.SetReadDeadline(time.Now().Add(patience))
		if n, err := nc.Read(make([]byte, 1)); n != 0 || err == nil {
			t.Errorf("a connection not upgraded: read %d bytes, %v; want it closed", n, err)
		}
	}
	if st := srv.Stats(); st.Open != 0 {
		t.Errorf("after Close: %v, want open 0", st)
	}
	if _, err := tryDial(addr, "/"); err == nil {
		t.Error("dial after Close succeeded; want the listener closed")
	}
	if err := srv.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestStartFailsOnBadListenAddresses(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	for _, tc := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"port taken", Config{Listen: []string{"127.0.0.1:0", taken.Addr().String()}}, "address already in use"},
		{"no port", Config{Listen: []string{"127.0.0.1"}}, "missing port"},
		{"negative ping", Config{Ping: -time.Second}, "negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Start(tc.cfg)
			if err == nil {
				s.Close()
				t.Fatal("Start succeeded")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
		})
	}
}

func TestReusePortLetsTwoServersShareAPort(t *testing.T) {
	t.Parallel()
	a, addr := startServer(t, Config{ReusePort: true})
	b, err := Start(Config{Listen: []string{addr}, ReusePort: true})
	if err != nil {
		t.Fatalf("second server on %s: %v", addr, err)
	}
	defer b.Close()
	for range 40 {
		c := dial(t, addr, "/")
		c.nc.Close()
	}
	// A server counts an upgrade once its 101 is written, so the client can
	// read the answer a moment before the count moves: wait for it, briefly.
	for i := 0; i < 200 && a.Stats().Upgraded+b.Stats().Upgraded < 40; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	if a.Stats().Upgraded+b.Stats().Upgraded != 40 {
		t.Errorf("upgrades %d + %d, want 40 in all", a.Stats().Upgraded, b.Stats().Upgraded)
	}
}

func TestListensOnIPv6Loopback(t *testing.T) {
	t.Parallel()
	s, err := Start(Config{Listen: []string{"[::1]:0"}})
	if err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	defer s.Close()
	c := dial(t, s.Addrs()[0].String(), "/")
	c.send(ws.OpText, true, []byte("v6"))
	if f := c.frame(); string(f.Payload) != "v6" {
		t.Errorf("got %q", f.Payload)
	}
}

// A client that sends but never reads must not make the server buffer
// without bound: echoes stop at outCap and the connection stays usable.
func TestBoundsOutputForAClientThatDoesNotRead(t *testing.T) {
	t.Parallel()
	_, addr := startServer(t, Config{})
	c := dial(t, addr, "/")
	msg := ws.MustCompileFrame(ws.MaskFrame(ws.NewBinaryFrame(make([]byte, 64<<10))))
	// 64 MiB sent without reading: far more than the socket buffers and
	// outCap together, so most echoes must be discarded, not queued.
	for range 1024 {
		c.write(msg)
	}
	c.send(ws.OpClose, true, ws.NewCloseFrameBody(ws.StatusNormalClosure, ""))
	echoed := 0
	for range 2000 {
		f := c.frame()
		if f.Header.OpCode == ws.OpClose {
			break
		}
		echoed++
	}
	if echoed == 0 || echoed >= 1024 {
		t.Errorf("%d of 1024 messages echoed; want some, not all", echoed)
	}
}
