package relay

import (
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"
)

// echoServer echoes every connection until the client closes it, and
// returns its address.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

func start(t *testing.T, target string) *Relay {
	t.Helper()
	r, err := Start(target)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func dial(t *testing.T, r *Relay) *net.TCPConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", r.Addr(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

// waitLen waits (bounded) until the relay holds n connections.
func waitLen(t *testing.T, r *Relay, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for r.Len() != n {
		if time.Now().After(deadline) {
			t.Fatalf("relay holds %d connections, want %d", r.Len(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func roundTrip(t *testing.T, c net.Conn, msg string) {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != msg {
		t.Fatalf("echo through the relay: got %q, %v; want %q", got, err, msg)
	}
}

func TestRelayForwardsBothWaysAndPassesFINOn(t *testing.T) {
	r := start(t, echoServer(t))
	c := dial(t, r)
	roundTrip(t, c, "hello")
	roundTrip(t, c, strings.Repeat("x", 100<<10))

	// Our FIN reaches the echo server, which closes; its FIN comes back.
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := c.Read(make([]byte, 1)); n != 0 || !errors.Is(err, io.EOF) {
		t.Fatalf("after our FIN: read %d, %v; want EOF", n, err)
	}
	waitLen(t, r, 0)
}

func TestRelayResetSendsRSTToTheOldestConnections(t *testing.T) {
	r := start(t, echoServer(t))
	var conns []*net.TCPConn
	for i := 0; i < 3; i++ {
		c := dial(t, r)
		roundTrip(t, c, "up") // accepted, in accept order
		conns = append(conns, c)
	}
	if got := r.Reset(2); got != 2 {
		t.Fatalf("Reset(2) = %d, want 2", got)
	}
	for i, c := range conns[:2] {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, err := c.Read(make([]byte, 1))
		if !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("connection %d after Reset: %v, want ECONNRESET", i, err)
		}
	}
	roundTrip(t, conns[2], "still here")
	if got := r.Reset(5); got != 1 {
		t.Fatalf("Reset(5) with one left = %d, want 1", got)
	}
}

func TestRelaySilenceDropsEverythingWithoutClosing(t *testing.T) {
	r := start(t, echoServer(t))
	quiet, loud := dial(t, r), dial(t, r)
	roundTrip(t, quiet, "a")
	roundTrip(t, loud, "b")
	if got := r.Silence(1); got != 1 {
		t.Fatalf("Silence(1) = %d, want 1", got)
	}
	if _, err := quiet.Write([]byte("lost")); err != nil {
		t.Fatalf("write into the black hole: %v (the socket must stay open)", err)
	}
	// Not even our FIN may pass: the path is dead, not closed.
	_ = quiet.CloseWrite()
	_ = quiet.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	buf := make([]byte, 8)
	n, err := quiet.Read(buf)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("read on a silenced connection: %d bytes %q, %v; want a timeout (no data, no FIN, no RST)", n, buf[:n], err)
	}
	roundTrip(t, loud, "others unaffected")
	if r.Len() != 2 {
		t.Fatalf("Len = %d, want 2: a silenced connection is still held", r.Len())
	}
	if got := r.Silence(5); got != 1 {
		t.Fatalf("Silence(5) = %d, want 1 (one not yet silent)", got)
	}
}

func TestRelayCloseEndsEveryConnection(t *testing.T) {
	r := start(t, echoServer(t))
	c := dial(t, r)
	roundTrip(t, c, "x")
	r.Silence(1)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("connection still open after Close")
	}
	if r.Len() != 0 {
		t.Fatalf("Len = %d after Close", r.Len())
	}
}

func TestRelayRefusesTargetsOffLoopback(t *testing.T) {
	for _, target := range []string{"192.0.2.1:80", "example.com:80", "127.0.0.1", ""} {
		if r, err := Start(target); err == nil {
			r.Close()
			t.Errorf("Start(%q) succeeded; only loopback host:port targets are allowed", target)
		}
	}
}

func TestRelayClosesClientWhenTargetIsDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	r := start(t, addr)
	c := dial(t, r)
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	n, err := c.Read(make([]byte, 1))
	var ne net.Error
	if n != 0 || err == nil || (errors.As(err, &ne) && ne.Timeout()) {
		t.Fatalf("read from a relay whose target is down: %d, %v; want the connection closed", n, err)
	}
}
