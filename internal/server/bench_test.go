package server

import (
	"io"
	"net"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

// rawClient is a client that allocates nothing per round trip, so that
// allocations counted process-wide are the server's.
type rawClient struct {
	nc  net.Conn
	buf []byte
}

func newRawClient(tb testing.TB, addr string) *rawClient {
	tb.Helper()
	nc, err := net.DialTimeout("tcp", addr, patience)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(time.Hour))
	if _, err := io.WriteString(nc, upgradeRequest("/")); err != nil {
		tb.Fatal(err)
	}
	c := &rawClient{nc: nc, buf: make([]byte, 1<<16)}
	// The 101 ends with an empty line; read up to it.
	var got []byte
	for len(got) < 4 || string(got[len(got)-4:]) != "\r\n\r\n" {
		if _, err := io.ReadFull(nc, c.buf[:1]); err != nil {
			tb.Fatalf("read 101: %v", err)
		}
		got = append(got, c.buf[0])
	}
	return c
}

// roundTrip sends frame and reads an answer of want bytes.
func (c *rawClient) roundTrip(tb testing.TB, frame []byte, want int) {
	if _, err := c.nc.Write(frame); err != nil {
		tb.Fatal(err)
	}
	if _, err := io.ReadFull(c.nc, c.buf[:want]); err != nil {
		tb.Fatal(err)
	}
}

// The steady state allocates nothing: ping → pong and echo go through the
// loop's one buffer, answered in place.
func TestSteadyStateAllocatesNothing(t *testing.T) {
	_, addr := startServer(t, Config{Loops: 1})
	c := newRawClient(t, addr)
	ping := ws.MustCompileFrame(ws.MaskFrame(ws.NewPingFrame([]byte("heartbeat"))))
	echo := ws.MustCompileFrame(ws.MaskFrame(ws.NewTextFrame(make([]byte, 1000))))
	for _, tc := range []struct {
		name  string
		frame []byte
		want  int
	}{
		{"ping", ping, len(ping) - 4},
		{"echo", echo, len(echo) - 4},
	} {
		c.roundTrip(t, tc.frame, tc.want) // warm up
		if a := testing.AllocsPerRun(200, func() { c.roundTrip(t, tc.frame, tc.want) }); a >= 0.5 {
			t.Errorf("%s: %.2f allocations per round trip, want 0", tc.name, a)
		}
	}
}

func BenchmarkServerPingPong(b *testing.B) {
	_, addr := startServer(b, Config{Loops: 1})
	c := newRawClient(b, addr)
	ping := ws.MustCompileFrame(ws.MaskFrame(ws.NewPingFrame([]byte("heartbeat"))))
	b.ReportAllocs()
	for b.Loop() {
		c.roundTrip(b, ping, len(ping)-4)
	}
}

func BenchmarkServerEcho1KiB(b *testing.B) {
	_, addr := startServer(b, Config{Loops: 1})
	c := newRawClient(b, addr)
	msg := ws.MustCompileFrame(ws.MaskFrame(ws.NewBinaryFrame(make([]byte, 1024))))
	b.ReportAllocs()
	b.SetBytes(1024)
	for b.Loop() {
		c.roundTrip(b, msg, len(msg)-4)
	}
}
