package engine

import (
	"crypto/tls"
	"encoding/binary"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"golang.org/x/sys/unix"

	"github.com/wshold/wshold/internal/event"
	"github.com/wshold/wshold/internal/stamp"
	"github.com/wshold/wshold/report"
)

// echoServer upgrades and echoes every data frame as it came (unmasked),
// after passing its payload through alter (nil: unchanged); alter sees the
// message's index on its connection and may hold messages back by
// returning nil, then send them with later ones.
func echoServer(t *testing.T, alter func(n int, p []byte) [][]byte) *testServer {
	return startServer(t, func(s *testServer, c net.Conn) { echoFrames(c, alter) })
}

// echoFrames is echoServer's side of one connection, over any stream.
func echoFrames(c net.Conn, alter func(n int, p []byte) [][]byte) {
	if _, err := ws.Upgrade(c); err != nil {
		return
	}
	n := 0
	for {
		f, err := readFrame(c)
		if err != nil {
			return
		}
		ws.Cipher(f.Payload, f.Header.Mask, 0)
		switch f.Header.OpCode {
		case ws.OpClose:
			_ = ws.WriteFrame(c, ws.NewCloseFrame(f.Payload))
			return
		case ws.OpBinary, ws.OpText:
			out := [][]byte{f.Payload}
			if alter != nil {
				out = alter(n, f.Payload)
			}
			n++
			for _, p := range out {
				_ = ws.WriteFrame(c, ws.NewBinaryFrame(p))
			}
		}
	}
}

// messages counts a sink's message events by kind, and returns the
// echoes' round trips.
func (s *sink) messageCounts() (map[event.MessageKind]int64, []int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := map[event.MessageKind]int64{}
	var rtts []int64
	for _, m := range s.messages {
		if m.Kind == event.Lost {
			n[m.Kind] += m.N
			continue
		}
		n[m.Kind]++
		if m.Kind == event.Echoed {
			rtts = append(rtts, m.DelayNs)
		}
	}
	return n, rtts
}

// Every connection sends on schedule; an echo server returns each message
// whole, so each is received once, in order, intact, and none is lost.
func TestMessagesAreEchoedAndTimed(t *testing.T) {
	srv := echoServer(t, nil)
	s, _ := run(t, Config{URL: srv.url(), Conns: 20, Hold: 600 * time.Millisecond, SendEvery: 100 * time.Millisecond, MessageSize: 300})
	n, rtts := s.messageCounts()
	// 20 connections × 6 intervals of the hold: about 120 (fewer when a
	// loaded machine wakes the loop late: it catches up, to a point).
	if n[event.Sent] < 60 || n[event.Echoed] != n[event.Sent] || n[event.Lost] != 0 {
		t.Fatalf("sent %d, echoed %d, lost %d: want at least 60 sent, each echoed", n[event.Sent], n[event.Echoed], n[event.Lost])
	}
	if n[event.EchoCorrupt] != 0 {
		t.Errorf("%d echoes reported corrupt from an honest echo server", n[event.EchoCorrupt])
	}
	for _, m := range s.messages {
		if m.OutOfOrder {
			t.Fatalf("echo %+v out of order from an in-order server", m)
		}
	}
	for _, d := range rtts {
		if d <= 0 || d > int64(time.Second) {
			t.Fatalf("round trip %v: want between 0 and 1s on loopback", time.Duration(d))
		}
	}
}

// A control group: with a send fraction of one half, half the
// connections send, the others stay silent.
func TestSendFractionKeepsASilentGroup(t *testing.T) {
	var mu sync.Mutex
	senders := map[net.Conn]bool{}
	srv := startServer(t, func(s *testServer, c net.Conn) {
		if _, err := ws.Upgrade(c); err != nil {
			return
		}
		for {
			f, err := readFrame(c)
			if err != nil {
				return
			}
			if f.Header.OpCode == ws.OpBinary {
				mu.Lock()
				senders[c] = true
				mu.Unlock()
			}
			if f.Header.OpCode == ws.OpClose {
				ws.Cipher(f.Payload, f.Header.Mask, 0)
				_ = ws.WriteFrame(c, ws.NewCloseFrame(f.Payload))
				return
			}
		}
	})
	s, _ := run(t, Config{URL: srv.url(), Conns: 40, Hold: 400 * time.Millisecond, SendEvery: 50 * time.Millisecond, SendFraction: 0.5})
	mu.Lock()
	got := len(senders)
	mu.Unlock()
	if got != 20 {
		t.Fatalf("%d connections sent, want 20 of 40", got)
	}
	// The server echoed nothing: every message sent is lost when its
	// connection closes.
	if n, _ := s.messageCounts(); n[event.Lost] != n[event.Sent] || n[event.Sent] == 0 {
		t.Errorf("sent %d, lost %d: want every one lost", n[event.Sent], n[event.Lost])
	}
}

// Sends are spread over the interval across connections: no slice of the
// interval carries much more than its share, or much less, beyond what the
// loop's own lateness explains.
func TestSendsAreSpreadOverTheInterval(t *testing.T) {
	srv := echoServer(t, nil)
	// The test server runs in this process: the client's descriptors
	// are interleaved with the server's, unevenly. One loop, so that its
	// lateness shows in its sends as a silence.
	const conns, every = 400, time.Second
	s, _ := run(t, Config{URL: srv.url(), Conns: conns, Rate: 0, Hold: 2 * time.Second, SendEvery: every, Loops: 1})
	var times []int64
	for _, m := range s.messages {
		if m.Kind == event.Sent {
			times = append(times, m.AtNs)
		}
	}
	slices.Sort(times)
	if len(times) < 600 {
		t.Fatalf("%d sends, want about 800 (400 connections, 2 intervals)", len(times))
	}
	// A second in the middle. A loop that wakes late (a loaded machine
	// starves it for a few hundred ms) sends what the time it slept owes,
	// at once: its silence before and its catch-up after are the design,
	// not a burst. So the longest silence in the second, g, sets the
	// tolerance: a bin of 200 ms carries its share of 80, give or take
	// half of it and what g owes (400/s × g). A loop that sent every
	// connection at one moment of the interval would be silent for most
	// of it.
	from := times[len(times)/2] - int64(500*time.Millisecond)
	to := from + int64(time.Second)
	var g int64
	for i := 1; i < len(times); i++ {
		if times[i] > from && times[i-1] < to {
			g = max(g, min(times[i], to)-max(times[i-1], from))
		}
	}
	if g > int64(every/2) {
		t.Fatalf("no send for %v of the middle second: sends come in bursts, not spread over the interval", time.Duration(g))
	}
	var bins [5]int
	for _, at := range times {
		if b := (at - from) / int64(200*time.Millisecond); at >= from && b < 5 {
			bins[b]++
		}
	}
	share := conns / 5
	slack := share/2 + int(int64(conns)*g/int64(every))
	for i, n := range bins {
		if n < share-slack || n > share+slack {
			t.Fatalf("200 ms bins of sends %v: bin %d has %d, want %d ± %d (the loop's longest silence was %v)", bins, i, n, share, slack, time.Duration(g))
		}
	}
}

// Echoes that come back out of order are counted as such, corrupted ones
// as corrupted, and one never sent at all is refused.
func TestOutOfOrderAndCorruptEchoes(t *testing.T) {
	var held []byte
	srv := echoServer(t, func(n int, p []byte) [][]byte {
		switch n {
		case 0: // held back, sent after the next one
			held = append([]byte(nil), p...)
			return nil
		case 1:
			return [][]byte{p, held}
		case 2: // a byte of the pattern flipped
			p[len(p)-1] ^= 0xff
			return [][]byte{p}
		case 3: // a stamp no sender wrote: a sequence number not sent yet
			binary.BigEndian.PutUint32(p[4:8], 1<<30)
			return [][]byte{p}
		}
		return nil // the rest vanish
	})
	s, _ := run(t, Config{URL: srv.url(), Conns: 1, Hold: time.Second, SendEvery: 50 * time.Millisecond})
	n, _ := s.messageCounts()
	var ooo int
	for _, m := range s.messages {
		if m.OutOfOrder {
			ooo++
		}
	}
	// Messages 0..2 came back (1 first, then 0: out of order; 2 damaged),
	// 3 came back with an impossible stamp, the others never.
	if n[event.Echoed] != 3 || ooo != 2 || n[event.EchoCorrupt] != 2 {
		t.Fatalf("echoed %d (%d out of order), corrupt %d; want 3 echoed, 2 out of order (1 before 0), 2 corrupt", n[event.Echoed], ooo, n[event.EchoCorrupt])
	}
	if n[event.Lost] != n[event.Sent]-3 {
		t.Errorf("sent %d, lost %d: want all but the 3 echoed lost", n[event.Sent], n[event.Lost])
	}
}

// pushFrame is a server frame carrying a timed message of size bytes.
func pushFrame(k stamp.Kind, seq uint32, at int64, size int) []byte {
	p := make([]byte, size)
	stamp.Put(p, k, seq, at)
	stamp.Fill(p[stamp.Size:], stamp.Key(seq))
	return ws.MustCompileFrame(ws.NewBinaryFrame(p))
}

// Pushes and broadcasts are timed against the client's wall clock, also
// when a frame arrives in pieces, the stamp itself split between reads.
func TestPushedMessagesAreTimedAcrossReads(t *testing.T) {
	l, fd, peer := pair(t, Config{})
	s := &sink{}
	l.e.sink = s
	at := time.Now().Add(-3 * time.Millisecond).UnixNano()
	f := pushFrame(stamp.Push, 0, at, 300)
	for _, part := range [][]byte{f[:3], f[3:12], f[12:100], f[100:]} { // header 4 bytes, stamp 16
		if _, err := unix.Write(peer, part); err != nil {
			t.Fatal(err)
		}
		l.readable(fd, unix.EPOLLIN, l.e.now())
	}
	b := pushFrame(stamp.Broadcast, 7, at, 64)
	b[len(b)-1] ^= 1 // damaged
	_, _ = unix.Write(peer, b)
	l.readable(fd, unix.EPOLLIN, l.e.now())
	n, _ := s.messageCounts()
	if n[event.Pushed] != 1 || n[event.Broadcast] != 1 || n[event.PushCorrupt] != 1 {
		t.Fatalf("events %v: want one push, one broadcast, the broadcast corrupt", n)
	}
	for _, m := range s.messages {
		if (m.Kind == event.Pushed || m.Kind == event.Broadcast) && (m.DelayNs < int64(3*time.Millisecond) || m.DelayNs > int64(time.Second)) {
			t.Errorf("%+v: want a delay of 3 ms or a little more", m)
		}
	}
	if !l.e.conns[fd].open {
		t.Fatal("a timed message ended the connection")
	}
}

// wss:// connections carry timed messages as ws:// ones do: the same
// frame path, through their records.
func TestMessagesOverWSS(t *testing.T) {
	srv := startWSSServer(t, nil, func(s *testServer, c *tls.Conn) { echoFrames(c, nil) })
	s, _ := run(t, Config{URL: wssURL(srv), TLS: insecure(), Conns: 10, Hold: 600 * time.Millisecond,
		SendEvery: 100 * time.Millisecond, MessageSize: 2000})
	n, _ := s.messageCounts()
	if n[event.Sent] < 30 || n[event.Echoed] != n[event.Sent] || n[event.Lost] != 0 || n[event.EchoCorrupt] != 0 {
		t.Fatalf("events %v: want at least 30 sent over wss, each echoed whole", n)
	}
}

// The steady state of a sending connection allocates nothing: sending a
// message, reading its echo and recording the round trip in the report's
// recorder.
func BenchmarkSteadyStateSendEchoRTT(b *testing.B) {
	l, fd, peer := pair(b, Config{SendEvery: time.Second})
	rec := report.NewRecorder(time.Now(), 1)
	l.e.sink = rec
	c := &l.e.conns[fd]
	in := make([]byte, 256)
	echo := make([]byte, 0, 256)
	// The first message makes the histogram; the steady state follows.
	roundTrip := func() {
		if !l.sendMessage(fd, c) {
			b.Fatal("the send failed")
		}
		n, err := unix.Read(peer, in)
		if err != nil || n != 2+4+64 {
			b.Fatalf("read %d %v, want one masked 64-byte message", n, err)
		}
		// Echo it as a server would: unmasked, the same payload.
		var key [4]byte
		copy(key[:], in[2:6])
		echo = append(echo[:0], 0x82, 64)
		echo = append(echo, in[6:n]...)
		ws.Cipher(echo[2:], key, 0)
		if _, err := unix.Write(peer, echo); err != nil {
			b.Fatal(err)
		}
		l.readable(fd, unix.EPOLLIN, l.e.now())
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

// Reading a pushed message and recording its delay allocates nothing.
func BenchmarkSteadyStatePushedMessage(b *testing.B) {
	l, fd, peer := pair(b, Config{})
	rec := report.NewRecorder(time.Now(), 1)
	l.e.sink = rec
	f := pushFrame(stamp.Push, 3, time.Now().UnixNano(), 64)
	read := func() {
		if _, err := unix.Write(peer, f); err != nil {
			b.Fatal(err)
		}
		l.readable(fd, unix.EPOLLIN, l.e.now())
	}
	read()
	b.ReportAllocs()
	for b.Loop() {
		read()
	}
	if res := rec.Result(report.Meta{}); res.Push == nil || res.Push.Received < 2 || res.Push.Corrupted != 0 {
		b.Fatalf("push = %+v", res.Push)
	}
}

// The same as a test, so that the suite (not only -bench) holds it.
func TestSendEchoAndPushAllocateNothing(t *testing.T) {
	for name, bench := range map[string]func(*testing.B){
		"send, echo, RTT": BenchmarkSteadyStateSendEchoRTT,
		"pushed message":  BenchmarkSteadyStatePushedMessage,
		"wss send, echo":  BenchmarkSteadyStateWSSSendEchoRTT,
	} {
		r := testing.Benchmark(bench)
		if r.N == 0 {
			t.Fatalf("%s: the benchmark failed", name)
		}
		if a := r.AllocsPerOp(); a != 0 {
			t.Errorf("%s: %d allocations per message, want 0", name, a)
		}
	}
}
