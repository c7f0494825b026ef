package check

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wshold/wshold/internal/handshake"
)

// ioLimit bounds every read and write of a scripted server, so a test that
// goes wrong fails instead of hanging.
const ioLimit = 5 * time.Second

// mode is how a scripted server behaves after accepting a connection.
type mode int

const (
	answerThenClose mode = iota // read the request, write the answer, close
	answerAndHold               // read the request, write the answer, keep the connection open
	closeAtOnce                 // read the request, close without answering (FIN)
	resetAtOnce                 // read the request, close with RST
	neverAnswer                 // read the request, then wait for the client to go away
)

// scripted starts a one-connection TCP server on loopback that answers an
// upgrade request with reply(request), and returns its ws:// URL with the
// given path. The request it received is sent on the returned channel.
func scripted(t *testing.T, m mode, path string, reply func(*http.Request) string) (string, <-chan *http.Request) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf(
			"listen on loopback: %v",
			err)
	}
	got := make(chan *http.Request, 1)
	done := make(chan struct{})
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(ioLimit))
		req, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			return
		}
		got <- req
		switch m {
		case closeAtOnce:
			return
		case resetAtOnce:
			_ = c.(*net.TCPConn).SetLinger(0)
			return
		case neverAnswer:
			// Returns when the client closes or ioLimit passes.
			_, _ = c.Read(make([]byte, 1))
			return
		}
		if _, err := c.Write([]byte(reply(req))); err != nil {
			return
		}
		if m == answerAndHold {
			_, _ = c.Read(make([]byte, 64))
		}
	}()
	return "ws://" + ln.Addr().String() + path, got
}

// fixed returns a reply that ignores the request.
func fixed(s string) func(*http.Request) string {
	return func(*http.Request) string { return s }
}

// upgrade101 returns a valid 101 built from header lines in which
// "{accept}" stands for the correct accept value.
func upgrade101(lines ...string) func(*http.Request) string {
	return func(req *http.Request) string {
		key := req.Header.Get("Sec-WebSocket-Key")
		var b strings.Builder
		b.WriteString("HTTP/1.1 101 Switching Protocols\r\n")
		for _, l := range lines {
			b.WriteString(strings.ReplaceAll(l, "{accept}", handshake.Accept(key)) + "\r\n")
		}
		b.WriteString("\r\n")
		return b.String()
	}
}

// closedPort returns a loopback address where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf(
			"listen on loopback: %v",
			err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
