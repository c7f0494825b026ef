package server

import (
	"errors"
	"io"
	"net"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"golang.org/x/sys/unix"
)

// Held idle connections cost no goroutine: the server's goroutine count
// does not grow with them, and Close ends them all.
func TestHoldsIdleConnectionsWithoutAGoroutineEach(t *testing.T) {
	const n = 2000
	var lim unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &lim); err != nil || lim.Cur < 2*n+200 {
		t.Skipf("needs %d open files (client and server ends in one process); limit %d", 2*n+200, lim.Cur)
	}
	srv, addr := startServer(t, Config{Loops: 2})
	before := runtime.NumGoroutine()

	conns := make([]net.Conn, 0, n)
	t.Cleanup(func() {
		for _, nc := range conns {
			nc.Close()
		}
	})
	req := []byte(upgradeRequest("/"))
	for i := range n {
		nc, err := net.DialTimeout("tcp", addr, patience)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		conns = append(conns, nc)
		if _, err := nc.Write(req); err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
	}
	// Read each 101 only now, so that handshakes overlap.
	buf := make([]byte, 512)
	for i, nc := range conns {
		_ = nc.SetReadDeadline(time.Now().Add(patience))
		if m, err := nc.Read(buf); err != nil || string(buf[:12]) != "HTTP/1.1 101" {
			t.Fatalf("connection %d: %q %v", i, buf[:m], err)
		}
	}
	waitFor(t, "all connections in the loops", func() bool { return srv.Stats().Open == n })

	// Handshake goroutines have exited; what is left is the server's fixed
	// set (accept loop, event loops) and the test's own.
	waitFor(t, "handshake goroutines to exit", func() bool { return runtime.NumGoroutine() <= before+10 })
	if st := srv.Stats(); st.Upgraded != n || st.Open != n || st.Closed != 0 {
		t.Errorf("stats %v, want %d upgraded and open", st, n)
	}

	// One still answers while all are held.
	nc := conns[n/2]
	if _, err := nc.Write(ws.MustCompileFrame(ws.MaskFrame(ws.NewPingFrame([]byte("?"))))); err != nil {
		t.Fatal(err)
	}
	_ = nc.SetReadDeadline(time.Now().Add(patience))
	if f, err := readFrame(nc); err != nil || f.Header.OpCode != ws.OpPong {
		t.Fatalf("ping on a held connection: %v %v", f.Header.OpCode, err)
	}

	start := time.Now()
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close of %d connections took %v", n, d)
	}
	for i, nc := range conns {
		_ = nc.SetReadDeadline(time.Now().Add(patience))
		f, err := readFrame(nc)
		switch {
		case err == nil && f.Header.OpCode == ws.OpClose:
			if code, _ := ws.ParseCloseFrameData(f.Payload); code != ws.StatusGoingAway {
				t.Fatalf("connection %d: close %d, want 1001", i, code)
			}
		case errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET):
		default:
			t.Fatalf("connection %d after Close: %v %v, want close 1001 or EOF", i, f.Header.OpCode, err)
		}
	}
	if st := srv.Stats(); st.Open != 0 || st.Closed != n {
		t.Errorf("after Close: %v, want open 0, closed %d", st, n)
	}
}
