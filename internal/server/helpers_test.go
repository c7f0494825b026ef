package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

// patience bounds every wait in these tests: generous, because the machine
// is shared, and still short enough that a hang fails instead of stalling.
const patience = 10 * time.Second

// startServer runs a server on a free loopback port for the test's life.
func startServer(t testing.TB, cfg Config) (*Server, string) {
	t.Helper()
	if cfg.Listen == nil {
		cfg.Listen = []string{"127.0.0.1:0"}
	}
	cfg.Logf = t.Logf
	s, err := Start(cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s, s.Addrs()[0].String()
}

// client is an upgraded connection from gobwas' dialer.
type client struct {
	t  testing.TB
	nc net.Conn
	r  io.Reader // the dialer's buffered reader if it returned one
}

func dial(t testing.TB, addr, pathQuery string) *client {
	t.Helper()
	c, err := tryDial(addr, pathQuery)
	if err != nil {
		t.Fatalf("dial ws://%s%s: %v", addr, pathQuery, err)
	}
	c.t = t
	t.Cleanup(func() { c.nc.Close() })
	return c
}

func tryDial(addr, pathQuery string) (*client, error) {
	d := ws.Dialer{Timeout: patience}
	nc, br, _, err := d.Dial(context.Background(), "ws://"+addr+pathQuery)
	if err != nil {
		return nil, err
	}
	c := &client{nc: nc, r: nc}
	if br != nil {
		c.r = br
	}
	return c, nil
}

// write sends raw bytes (frames the test built itself).
func (c *client) write(b []byte) {
	c.t.Helper()
	_ = c.nc.SetWriteDeadline(time.Now().Add(patience))
	if _, err := c.nc.Write(b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// send writes one masked client frame.
func (c *client) send(op ws.OpCode, fin bool, payload []byte) {
	c.t.Helper()
	f := ws.NewFrame(op, fin, append([]byte(nil), payload...))
	c.write(ws.MustCompileFrame(ws.MaskFrameInPlace(f)))
}

// frame reads the next frame as sent (still masked if the server masked).
func (c *client) frame() ws.Frame {
	c.t.Helper()
	f, err := c.tryFrame()
	if err != nil {
		c.t.Fatalf("read frame: %v", err)
	}
	return f
}

func (c *client) tryFrame() (ws.Frame, error) {
	_ = c.nc.SetReadDeadline(time.Now().Add(patience))
	return readFrame(c.r)
}

// readFrame reads one frame whole; the server never sends more than the
// 1 MiB it accepts (bigframe tests read only the header).
func readFrame(r io.Reader) (ws.Frame, error) {
	h, err := ws.ReadHeader(r)
	if err != nil {
		return ws.Frame{}, err
	}
	if h.Length > maxFrame {
		return ws.Frame{}, fmt.Errorf("frame of %d bytes: more than the tests expect", h.Length)
	}
	f := ws.Frame{Header: h, Payload: make([]byte, h.Length)}
	_, err = io.ReadFull(r, f.Payload)
	return f, err
}

// header reads only the next frame header.
func (c *client) header() ws.Header {
	c.t.Helper()
	_ = c.nc.SetReadDeadline(time.Now().Add(patience))
	h, err := ws.ReadHeader(c.r)
	if err != nil {
		c.t.Fatalf("read header: %v", err)
	}
	return h
}

// expectClose reads frames until a close frame and returns its code.
func (c *client) expectClose() ws.StatusCode {
	c.t.Helper()
	for range 1000 {
		f := c.frame()
		if f.Header.OpCode == ws.OpClose {
			code, _ := ws.ParseCloseFrameData(f.Payload)
			return code
		}
	}
	c.t.Fatal("no close frame in 1000 frames")
	return 0
}

// expectEnd reads until the connection ends and returns how it ended:
// io.EOF for FIN; failing the test on a frame or a timeout.
func (c *client) expectEnd() error {
	c.t.Helper()
	_ = c.nc.SetReadDeadline(time.Now().Add(patience))
	var b [64]byte
	n, err := c.r.Read(b[:])
	if n > 0 {
		c.t.Fatalf("want the connection to end, got %d more bytes: %q", n, b[:n])
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		c.t.Fatalf("connection still open after %v", patience)
	}
	return err
}

// rawExchange sends a raw request on a fresh TCP connection and reads the
// HTTP response, with body.
func rawExchange(t *testing.T, addr, request string) (*http.Response, string) {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, patience)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	_ = nc.SetDeadline(time.Now().Add(patience))
	if _, err := io.WriteString(nc, request); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp, string(body)
}

// upgradeRequest is a valid upgrade request for path, with extra header lines.
func upgradeRequest(path string, extra ...string) string {
	return "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
		strings.Join(extra, "") + "\r\n"
}

// waitFor polls cond until it holds or patience runs out.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
