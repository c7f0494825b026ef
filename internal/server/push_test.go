package server

import (
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/wshold/wshold/internal/stamp"
)

// timed reads the next frame and checks that it is a whole timestamped
// message of the given kind and size, whose pattern is intact; it returns
// the stamp's sequence number and time.
func (c *client) timed(k stamp.Kind, size int) (uint32, int64) {
	c.t.Helper()
	f := c.frame()
	if f.Header.OpCode != ws.OpBinary || !f.Header.Fin || f.Header.Masked {
		c.t.Fatalf("frame %+v, want a final unmasked binary frame", f.Header)
	}
	if len(f.Payload) != size {
		c.t.Fatalf("payload of %d bytes, want %d", len(f.Payload), size)
	}
	gk, seq, at, ok := stamp.Parse(f.Payload)
	if !ok || gk != k {
		c.t.Fatalf("stamp %q (kind %c, ok %v), want kind %c", f.Payload[:min(len(f.Payload), stamp.Size)], gk, ok, k)
	}
	rest := f.Payload[stamp.Size:]
	if !stamp.Check(rest, int64(len(rest)), stamp.Key(seq)) {
		c.t.Fatalf("message %d: the pattern after the stamp is corrupt", seq)
	}
	return seq, at
}

// ?push= pushes one connection timestamped messages on its own schedule,
// numbered from 0 and stamped with the server's wall clock when written.
func TestPushStampsEachMessage(t *testing.T) {
	t.Parallel()
	srv, addr := startServer(t, Config{})
	c := dial(t, addr, "/?push=20ms")
	for want := range uint32(3) {
		before := time.Now().UnixNano()
		seq, at := c.timed(stamp.Push, defaultPushSize)
		if seq != want {
			t.Errorf("push %d has sequence number %d", want, seq)
		}
		// Written at most one interval before this read began, and not
		// after it ended.
		if now := time.Now().UnixNano(); at > now || at < before-int64(patience) {
			t.Errorf("push %d stamped %v, read between %v and %v", seq, time.Unix(0, at), time.Unix(0, before), time.Unix(0, now))
		}
	}
	// Counted once written: the count may trail the reads a moment.
	waitFor(t, "3 pushes counted", func() bool { return srv.Stats().Pushed >= 3 })
	if st := srv.Stats().String(); !strings.Contains(st, "pushed") {
		t.Errorf("stats %q do not mention pushes", st)
	}
	// A connection without ?push gets none.
	quiet := dial(t, addr, "/")
	quiet.send(ws.OpPing, true, []byte("x"))
	if f := quiet.frame(); f.Header.OpCode != ws.OpPong {
		t.Errorf("got %v before the pong, want nothing pushed", f.Header.OpCode)
	}
}

func TestPushEveryAppliesToEveryConnectionWithItsSize(t *testing.T) {
	t.Parallel()
	_, addr := startServer(t, Config{PushEvery: 20 * time.Millisecond, PushSize: 300})
	a, b := dial(t, addr, "/"), dial(t, addr, "/")
	for range 2 {
		a.timed(stamp.Push, 300)
		b.timed(stamp.Push, 300)
	}
}

// Frames cannot interleave: a push that comes due while an echoed frame is
// half sent waits until the frame is whole.
func TestPushWaitsForAnEchoToEnd(t *testing.T) {
	t.Parallel()
	_, addr := startServer(t, Config{})
	c := dial(t, addr, "/?push=10ms")
	c.timed(stamp.Push, defaultPushSize) // the schedule runs
	payload := make([]byte, 1000)
	for i := range payload {
		payload[i] = byte(i)
	}
	frame := ws.MustCompileFrame(ws.MaskFrameInPlace(ws.NewBinaryFrame(append([]byte(nil), payload...))))
	c.write(frame[:500])
	time.Sleep(50 * time.Millisecond) // several pushes come due meanwhile
	c.write(frame[500:])
	for range 10 {
		f := c.frame()
		if f.Header.Length == 1000 {
			if string(f.Payload) != string(payload) {
				t.Fatal("the echo came back changed")
			}
			c.timed(stamp.Push, defaultPushSize) // the delayed push follows
			return
		}
		if _, _, _, ok := stamp.Parse(f.Payload); !ok {
			t.Fatalf("frame of %d bytes is neither the echo nor a push", f.Header.Length)
		}
	}
	t.Fatal("no echo in 10 frames")
}

// A broadcast goes to every connection with one stamp: the moment it began,
// so each client's delay is the fan-out to it.
func TestBroadcastReachesEveryConnectionWithOneStamp(t *testing.T) {
	t.Parallel()
	srv, addr := startServer(t, Config{BroadcastEvery: 30 * time.Millisecond, Loops: 2})
	cs := []*client{dial(t, addr, "/"), dial(t, addr, "/"), dial(t, addr, "/")}
	waitFor(t, "every connection in a loop", func() bool { return srv.Stats().Open == 3 })
	// Broadcasts that began before all three were held reached only some:
	// read each up to the first one that all three got.
	var seqs [3]uint32
	var ats [3]int64
	for i, c := range cs {
		seqs[i], ats[i] = c.timed(stamp.Broadcast, defaultPushSize)
	}
	last := max(seqs[0], seqs[1], seqs[2])
	for i, c := range cs {
		for seqs[i] < last {
			seqs[i], ats[i] = c.timed(stamp.Broadcast, defaultPushSize)
		}
	}
	if seqs[0] != seqs[1] || seqs[1] != seqs[2] || ats[0] != ats[1] || ats[1] != ats[2] {
		t.Errorf("copies of one broadcast differ: sequence numbers %v, stamps %v", seqs, ats)
	}
	waitFor(t, "3 broadcast copies counted", func() bool { return srv.Stats().Broadcast >= 3 })
}

func TestPushSettingsAreChecked(t *testing.T) {
	t.Parallel()
	for _, cfg := range []Config{
		{PushSize: stamp.Size - 1},
		{PushSize: stamp.MaxMessage + 1},
		{PushEvery: -time.Second},
		{BroadcastEvery: -time.Second},
	} {
		cfg.Listen = []string{"127.0.0.1:0"}
		if s, err := Start(cfg); err == nil {
			s.Close()
			t.Errorf("%+v started", cfg)
		}
	}
}
