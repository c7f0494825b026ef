package integration

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/wshold/wshold/internal/labcert"
	"github.com/wshold/wshold/report"
)

// tlsBehaviour is a wss server written for one test: crypto/tls and a
// goroutine per connection, upgraded by gobwas/ws, then behave.
func tlsBehaviour(t *testing.T, behave func(c *tls.Conn)) (addr, caFile string) {
	t.Helper()
	ca, err := labcert.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	files, err := ca.Sign(labcert.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(files.CertPEM, files.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	caFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, ca.PEM, 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(30 * time.Second))
				if _, err := ws.Upgrade(c); err != nil {
					return
				}
				behave(c.(*tls.Conn))
			}()
		}
	}()
	return ln.Addr().String(), caFile
}

// readResult reads a result file written by wshold run -o.
func readResult(t *testing.T, path string) *report.Result {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var res report.Result
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	return &res
}

// The slow-payload server of issue 12, over wss with --ping 1s: it sends a
// data frame's header and its payload 2.5 s later, then its own close. The
// ping schedule covers "no pong", never a slow frame: nothing ends at a
// ping deadline, and every connection ends with the server's close.
func TestWSSSlowPayloadWithPingsEndsWithTheServersClose(t *testing.T) {
	t.Parallel()
	bin := buildWsholdForTest(t)
	addr, ca := tlsBehaviour(t, func(c *tls.Conn) {
		frame := append([]byte{0x82, 126, 0, 200}, bytes.Repeat([]byte{'d'}, 200)...)
		_, _ = c.Write(frame[:4])
		time.Sleep(2500 * time.Millisecond)
		_, _ = c.Write(frame[4:])
		_ = ws.WriteFrame(c, ws.NewCloseFrame(ws.NewCloseFrameBody(1000, "done")))
		_, _ = io.Copy(io.Discard, c)
	})
	out := filepath.Join(t.TempDir(), "r.json")
	got := runCLI(t, bin, time.Minute, "run", "-c", "20", "-r", "100", "--hold", "8s", "--ping", "1s",
		"--ca", ca, "--progress", "never", "-o", out, "wss://"+addr+"/ws")
	res := readResult(t, out)
	if res.Counts.Upgraded != 20 || res.Drops.ByKind["close_1000"] != 20 || len(res.Drops.ByKind) != 1 {
		t.Fatalf("exit %d, drops %v counts %+v: want all 20 ended by the server's close 1000\n%s", got.Code, res.Drops.ByKind, res.Counts, got.Stdout)
	}
	for _, e := range res.Drops.Events {
		if e.AgeMs < 2400 {
			t.Fatalf("a drop at %.0f ms of age, before the slow frame was even whole", e.AgeMs)
		}
	}
	line, _, _ := strings.Cut(got.Stdout, "\n")
	t.Logf("wshold run --ping 1s: %s", line)
}

// At the end of the hold every wss connection sends exactly one close
// frame, and none after the server's echo.
func TestWSSSendsOneCloseFramePerConnection(t *testing.T) {
	t.Parallel()
	bin := buildWsholdForTest(t)
	var mu sync.Mutex
	closes := map[net.Addr]int{}
	addr, ca := tlsBehaviour(t, func(c *tls.Conn) {
		n := 0
		defer func() {
			mu.Lock()
			closes[c.RemoteAddr()] = n
			mu.Unlock()
		}()
		for {
			h, err := ws.ReadHeader(c)
			if err != nil {
				return
			}
			payload := make([]byte, min(h.Length, 125))
			if _, err := io.ReadFull(c, payload); err != nil {
				return
			}
			ws.Cipher(payload, h.Mask, 0)
			switch h.OpCode {
			case ws.OpPing:
				_ = ws.WriteFrame(c, ws.NewPongFrame(payload))
			case ws.OpClose:
				if n++; n == 1 {
					_ = ws.WriteFrame(c, ws.NewCloseFrame(payload))
				}
			}
		}
	})
	out := filepath.Join(t.TempDir(), "r.json")
	got := runCLI(t, bin, time.Minute, "run", "-c", "50", "-r", "200", "--hold", "1s", "--ping", "300ms",
		"--ca", ca, "--progress", "never", "-o", out, "wss://"+addr+"/ws")
	if got.Code != 0 {
		t.Fatalf("exit %d\n%s%s", got.Code, got.Stdout, got.Stderr)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(closes)
		mu.Unlock()
		if n == 50 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(closes) != 50 {
		t.Fatalf("%d connections ended at the server, want 50", len(closes))
	}
	for a, n := range closes {
		if n != 1 {
			t.Fatalf("%v sent %d close frames, want exactly 1", a, n)
		}
	}
}
