package engine

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"github.com/gobwas/ws"
	"net"
	"net/url"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wshold/wshold/internal/event"
	"github.com/wshold/wshold/internal/tlsrecord"
	"github.com/wshold/wshold/report"
)

// tlsHeld is one loop holding one wss:// connection over loopback TCP,
// handshaken by crypto/tls on both ends, whose server end the test then
// plays itself on the raw socket (peer) with the connection's peer
// protection (st): so that it can send what crypto/tls servers never do,
// and so that benchmarks see the client's work alone.
type tlsHeld struct {
	l    *loop
	fd   int
	c    *connState
	peer int
	st   *tlsrecord.State
	sink *sink
	buf  []byte // the peer's read buffer
	rec  []byte // the peer's seal buffer
	out  []byte // the peer's open buffer
}

func newTLSHeld(tb testing.TB, cfg Config, vers uint16) *tlsHeld {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	served := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			served <- nil
			return
		}
		tc := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{loopbackCert(tb)}, MaxVersion: vers})
		if tc.Handshake() != nil {
			c.Close()
			served <- nil
			return
		}
		served <- c
	}()
	client, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		tb.Fatal(err)
	}
	tap := tlsrecord.NewTap(client)
	tc := tls.Client(tap, tap.Config(&tls.Config{InsecureSkipVerify: true}, nil))
	if err := tc.Handshake(); err != nil {
		tb.Fatal(err)
	}
	tap.HandshakeDone(tc.ConnectionState())
	st, err := tap.State()
	if err != nil {
		tb.Fatal(err)
	}
	server := <-served
	if server == nil {
		tb.Fatal("server handshake failed")
	}
	fd, err := detach(client)
	if err != nil {
		tb.Fatal(err)
	}
	peer, err := detach(server)
	if err != nil {
		tb.Fatal(err)
	}
	s := &sink{}
	if cfg.URL == nil {
		cfg.URL, _ = url.Parse("wss://127.0.0.1/")
	}
	if err := cfg.withDefaults(); err != nil {
		tb.Fatal(err)
	}
	e := &engine{cfg: cfg, start: time.Now(), sink: s, conns: make([]connState, max(fd, peer)+1)}
	l, err := newLoop(e, 0)
	if err != nil {
		tb.Fatal(err)
	}
	e.loops = []*loop{l}
	tb.Cleanup(func() {
		if e.conns[fd].open {
			rawClose(fd)
		}
		unix.Close(peer)
		unix.Close(l.epfd)
		unix.Close(l.wake)
	})
	l.addTLS(fd, 0, e.now(), nil, st)
	h := &tlsHeld{l: l, fd: fd, c: &e.conns[fd], peer: peer, st: st.Peer(), sink: s,
		buf: make([]byte, 64<<10), rec: make([]byte, 0, 4<<10), out: make([]byte, 0, 64<<10)}
	// TLS 1.3 session tickets the server sent are the client's to read
	// before the test starts.
	h.l.readable(fd, unix.EPOLLIN, e.now())
	return h
}

// send seals content of type typ and writes it from the server end.
func (h *tlsHeld) send(tb testing.TB, typ byte, p []byte) {
	h.rec = h.st.Seal(h.rec[:0], typ, p)
	if _, err := unix.Write(h.peer, h.rec); err != nil {
		tb.Fatal(err)
	}
}

// receive reads one record the client sent and opens it.
func (h *tlsHeld) receive(tb testing.TB) (byte, []byte) {
	n, err := unix.Read(h.peer, h.buf[:tlsrecord.HeaderLen])
	if err != nil || n != tlsrecord.HeaderLen {
		tb.Fatalf("reading a record header: %d %v", n, err)
	}
	_, length, _ := tlsrecord.Header(h.buf)
	if m, err := unix.Read(h.peer, h.buf[n:n+length]); err != nil || m != length {
		tb.Fatalf("reading a record: %d %v", m, err)
	}
	typ, out, err := h.st.Open(h.out[:0], h.buf[:n+length])
	if err != nil {
		tb.Fatal(err)
	}
	return typ, out
}

func (h *tlsHeld) readable() { h.l.readable(h.fd, unix.EPOLLIN, h.l.e.now()) }

var (
	wssPing = []byte{0x89, 0x04, 'p', 'i', 'n', 'g'}
	wssPong = []byte{0x8A, 0x00}
	wssData = append([]byte{0x82, 126, 0x03, 0xE8}, make([]byte, 1000)...)
)

func BenchmarkSteadyStateWSSAnswerPing(b *testing.B) {
	h := newTLSHeld(b, Config{}, tls.VersionTLS13)
	b.ReportAllocs()
	for b.Loop() {
		h.send(b, tlsrecord.TypeApplicationData, wssPing)
		h.readable()
		if typ, p := h.receive(b); typ != tlsrecord.TypeApplicationData || len(p) != 2+4+4 || p[0] != 0x8A || p[1]&0x80 == 0 {
			b.Fatalf("type %d % x, want a masked pong", typ, p)
		}
	}
}

func BenchmarkSteadyStateWSSPingAndPong(b *testing.B) {
	h := newTLSHeld(b, Config{Ping: time.Second}, tls.VersionTLS13)
	b.ReportAllocs()
	for b.Loop() {
		h.l.ping(h.fd, h.c, h.l.e.now())
		if typ, p := h.receive(b); typ != tlsrecord.TypeApplicationData || p[0] != 0x89 {
			b.Fatalf("type %d % x, want a ping", typ, p)
		}
		h.send(b, tlsrecord.TypeApplicationData, wssPong)
		h.readable()
		if h.c.pingSentAt != 0 {
			b.Fatal("pong did not clear the outstanding ping")
		}
	}
}

func BenchmarkSteadyStateWSSDiscardData(b *testing.B) {
	h := newTLSHeld(b, Config{}, tls.VersionTLS13)
	b.ReportAllocs()
	b.SetBytes(int64(len(wssData)))
	for b.Loop() {
		h.send(b, tlsrecord.TypeApplicationData, wssData)
		h.readable()
	}
	if !h.c.open || h.c.frames.skip != 0 {
		b.Fatal("data frames were not consumed whole")
	}
}

func TestWSSSteadyStateAllocatesNothing(t *testing.T) {
	for _, vers := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		h := newTLSHeld(t, Config{Ping: time.Second, PongTimeout: time.Hour}, vers)
		allocs := testing.AllocsPerRun(200, func() {
			h.send(t, tlsrecord.TypeApplicationData, wssPing)
			h.send(t, tlsrecord.TypeApplicationData, wssData)
			h.readable()
			h.receive(t) // the pong
			h.l.ping(h.fd, h.c, h.l.e.now())
			h.receive(t)
			h.send(t, tlsrecord.TypeApplicationData, wssPong)
			h.readable()
		})
		if allocs != 0 || !h.c.open {
			t.Fatalf("%s: %.1f allocations per ping, data frame and pong round (open %v), want 0", tls.VersionName(vers), allocs, h.c.open)
		}
	}
}

// A TLS alert other than close_notify ends the connection as tls_alert_N;
// a KeyUpdate that asks for ours is answered, and both directions go on
// under the new keys.
func TestWSSAlertsAndKeyUpdates(t *testing.T) {
	t.Run("fatal alert", func(t *testing.T) {
		h := newTLSHeld(t, Config{}, tls.VersionTLS13)
		h.rec = h.st.AppendAlert(h.rec[:0], 80)
		if _, err := unix.Write(h.peer, h.rec); err != nil {
			t.Fatal(err)
		}
		h.readable()
		if h.c.open || len(h.sink.dropped) != 1 || h.sink.dropped[0].Kind != event.TLSAlert || h.sink.dropped[0].CloseCode != 80 {
			t.Fatalf("open %v drops %+v, want one tls_alert_80", h.c.open, h.sink.dropped)
		}
	})
	t.Run("key update", func(t *testing.T) {
		h := newTLSHeld(t, Config{}, tls.VersionTLS13)
		var err error
		if h.rec, err = h.st.AppendKeyUpdate(h.rec[:0], true); err != nil {
			t.Fatal(err)
		}
		if _, err := unix.Write(h.peer, h.rec); err != nil {
			t.Fatal(err)
		}
		h.readable()
		typ, p := h.receive(t)
		if typ != tlsrecord.TypeHandshake || !bytes.Equal(p, []byte{24, 0, 0, 1, 0}) {
			t.Fatalf("answer %d % x, want our KeyUpdate", typ, p)
		}
		if err := h.st.Handshake(p); err != nil {
			t.Fatal(err)
		}
		h.send(t, tlsrecord.TypeApplicationData, wssPing)
		h.readable()
		if typ, p := h.receive(t); typ != tlsrecord.TypeApplicationData || p[0] != 0x8A {
			t.Fatalf("after the update: %d % x, want a pong under the new keys", typ, p)
		}
	})
}

// Alerts that do not end a connection are passed over, as crypto/tls and
// OpenSSL do: a TLS 1.2 warning, a TLS 1.3 user_canceled. What follows
// them says how the connection ended.
func TestWSSAlertsPassedOver(t *testing.T) {
	for _, tc := range []struct {
		vers     uint16
		alert    []byte
		then     func(h *tlsHeld)
		wantKind event.DropKind
	}{
		{tls.VersionTLS12, []byte{1, tlsrecord.AlertUserCanceled}, func(h *tlsHeld) {
			h.send(t, tlsrecord.TypeApplicationData, []byte{0x88, 0x02, 0x03, 0xe8})
		}, event.CloseFrame},
		{tls.VersionTLS12, []byte{1, tlsrecord.AlertNoRenegotiation}, func(h *tlsHeld) {
			h.send(t, tlsrecord.TypeAlert, []byte{1, tlsrecord.AlertCloseNotify})
		}, event.CloseNotify},
		{tls.VersionTLS13, []byte{1, tlsrecord.AlertUserCanceled}, func(h *tlsHeld) {
			h.send(t, tlsrecord.TypeAlert, []byte{1, tlsrecord.AlertCloseNotify})
		}, event.CloseNotify},
	} {
		h := newTLSHeld(t, Config{}, tc.vers)
		h.send(t, tlsrecord.TypeAlert, tc.alert)
		h.readable()
		if !h.c.open {
			t.Fatalf("%s: alert % x ended the connection (%+v)", tls.VersionName(tc.vers), tc.alert, h.sink.dropped)
		}
		tc.then(h)
		h.readable()
		if h.c.open || len(h.sink.dropped) != 1 || h.sink.dropped[0].Kind != tc.wantKind {
			t.Fatalf("%s: after alert % x: open %v drops %+v, want one %v", tls.VersionName(tc.vers), tc.alert, h.c.open, h.sink.dropped, tc.wantKind)
		}
	}
}

// A record that does not authenticate ends the connection with a fatal
// bad_record_mac, and the server gets it: what it sent behind the bad
// record is discarded before the socket is closed, so that the close is a
// FIN behind the alert, not a reset that can overtake it.
func TestWSSBadRecordAlertReachesTheServer(t *testing.T) {
	h := newTLSHeld(t, Config{}, tls.VersionTLS13)
	bad := append([]byte{tlsrecord.TypeApplicationData, 3, 3, 0, 20}, make([]byte, 20)...)
	wire := h.st.Seal(bad, tlsrecord.TypeApplicationData, wssPing)
	if _, err := unix.Write(h.peer, wire); err != nil {
		t.Fatal(err)
	}
	h.readable()
	if h.c.open || len(h.sink.dropped) != 1 || h.sink.dropped[0].Rule != event.RuleTLSBadRecord {
		t.Fatalf("open %v drops %+v, want one tls_bad_record", h.c.open, h.sink.dropped)
	}
	if typ, p := h.receive(t); typ != tlsrecord.TypeAlert || !bytes.Equal(p, []byte{2, tlsrecord.AlertBadRecordMAC}) {
		t.Fatalf("type %d % x, want a fatal bad_record_mac", typ, p)
	}
	if n, err := unix.Read(h.peer, h.buf); n != 0 || err != nil {
		t.Fatalf("after the alert: %d bytes, %v; want the FIN", n, err)
	}
}

// A record that does not authenticate while a frame header cut by the
// record before it is carried ends the connection like any bad record. It
// once took the whole harness down: the AEADs return nil when a record
// fails, and the carried bytes were cut from that.
func TestWSSBadRecordAfterAPartialFrame(t *testing.T) {
	for _, vers := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		h := newTLSHeld(t, Config{}, vers)
		h.send(t, tlsrecord.TypeApplicationData, []byte{0x82, 0x7e, 0x01}) // a header cut in its length
		h.readable()
		if !h.c.open {
			t.Fatalf("%s: a partial frame ended the connection (%+v)", tls.VersionName(vers), h.sink.dropped)
		}
		bad := h.st.Seal(nil, tlsrecord.TypeApplicationData, []byte("rt!"))
		bad[len(bad)-1] ^= 1
		if _, err := unix.Write(h.peer, bad); err != nil {
			t.Fatal(err)
		}
		h.readable()
		if h.c.open || len(h.sink.dropped) != 1 || h.sink.dropped[0].Rule != event.RuleTLSBadRecord {
			t.Fatalf("%s: open %v drops %+v, want one tls_bad_record", tls.VersionName(vers), h.c.open, h.sink.dropped)
		}
	}
}

// A burst longer than the loop's peek window, then the server's close
// frame and its FIN, all in the kernel before the loop reads: the record
// the window cuts off is whole in the kernel and read on the next round,
// not taken for one cut by the FIN, and the end is the close frame.
func TestWSSBurstBeyondThePeekWindow(t *testing.T) {
	h := newTLSHeld(t, Config{}, tls.VersionTLS13)
	const size = 80000
	frame := binary.BigEndian.AppendUint64([]byte{0x82, 127}, size)
	frame = append(frame, make([]byte, size)...)
	var wire []byte
	for p := frame; len(p) > 0; {
		k := min(len(p), tlsrecord.MaxPlaintext)
		wire = h.st.Seal(wire, tlsrecord.TypeApplicationData, p[:k])
		p = p[k:]
	}
	wire = h.st.Seal(wire, tlsrecord.TypeApplicationData, []byte{0x88, 0x02, 0x03, 0xe8})
	if len(wire) <= tlsBufLen {
		t.Fatalf("%d bytes fit the peek window of %d", len(wire), tlsBufLen)
	}
	deadline := time.Now().Add(5 * time.Second)
	for p := wire; len(p) > 0; {
		n, err := unix.Write(h.peer, p)
		if err != nil && err != unix.EAGAIN || time.Now().After(deadline) {
			t.Fatalf("writing the burst: %v", err)
		}
		p = p[max(n, 0):]
		if err == unix.EAGAIN {
			time.Sleep(time.Millisecond)
		}
	}
	_ = unix.Shutdown(h.peer, unix.SHUT_WR)
	for {
		if n, err := unix.IoctlGetInt(h.fd, unix.SIOCINQ); err == nil && n == len(wire) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the burst did not all arrive")
		}
		time.Sleep(time.Millisecond)
	}
	for i := 0; i < 10 && h.c.open; i++ {
		h.l.readable(h.fd, unix.EPOLLIN|unix.EPOLLRDHUP, h.l.e.now())
	}
	if h.c.open || len(h.sink.dropped) != 1 || h.sink.dropped[0].Kind != event.CloseFrame || h.sink.dropped[0].CloseCode != 1000 {
		t.Fatalf("open %v drops %+v, want one close_1000", h.c.open, h.sink.dropped)
	}
}

// A wss:// connection that sends: sending a message, reading its echo and
// recording the round trip allocate nothing either.
func BenchmarkSteadyStateWSSSendEchoRTT(b *testing.B) {
	h := newTLSHeld(b, Config{SendEvery: time.Second}, tls.VersionTLS13)
	rec := report.NewRecorder(time.Now(), 1)
	h.l.e.sink = rec
	echo := make([]byte, 0, 256)
	roundTrip := func() {
		if !h.l.sendMessage(h.fd, h.c) {
			b.Fatal("the send failed")
		}
		typ, p := h.receive(b)
		if typ != tlsrecord.TypeApplicationData || len(p) != 2+4+64 {
			b.Fatalf("type %d, %d bytes: want one masked 64-byte message", typ, len(p))
		}
		var key [4]byte
		copy(key[:], p[2:6])
		echo = append(echo[:0], 0x82, 64)
		echo = append(echo, p[6:]...)
		ws.Cipher(echo[2:], key, 0)
		h.send(b, tlsrecord.TypeApplicationData, echo)
		h.readable()
	}
	roundTrip()
	b.ReportAllocs()
	for b.Loop() {
		roundTrip()
	}
	if live := rec.Live(); live.MessagesReceived != live.MessagesSent || live.MessagesSent < 2 {
		b.Fatalf("sent %d, received %d", live.MessagesSent, live.MessagesReceived)
	}
}
