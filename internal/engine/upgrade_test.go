package engine

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/wshold/wshold/internal/handshake"
)

// gobwasConn plays a server to gobwas's Dialer.Upgrade: it takes the
// request, then answers with answer, its ACCEPT replaced by the right one.
type gobwasConn struct {
	req    bytes.Buffer
	answer string
	r      io.Reader
}

func (c *gobwasConn) Write(p []byte) (int, error) { return c.req.Write(p) }

func (c *gobwasConn) Read(p []byte) (int, error) {
	if c.r == nil {
		key, _ := readRequest(bufio.NewReader(bytes.NewReader(c.req.Bytes())))
		c.r = strings.NewReader(strings.ReplaceAll(c.answer, "ACCEPT", handshake.Accept(key)))
	}
	return c.r.Read(p)
}

func TestUpgradeRequestIsGobwas(t *testing.T) {
	u, _ := url.Parse("ws://example.com:8080/ws?x=1")
	h := http.Header{"Origin": {"https://example.com"}, "X-Token": {"a", "b"}}
	cfg := Config{URL: u, Header: h, Subprotocols: []string{"chat", "superchat"}}
	c := &gobwasConn{answer: ""}
	d := ws.Dialer{Header: ws.HandshakeHeaderHTTP(h), Protocols: cfg.Subprotocols}
	_, _, _ = d.Upgrade(c, u)
	key, _ := readRequest(bufio.NewReader(bytes.NewReader(c.req.Bytes())))
	head, tail := upgradeRequest(&cfg)
	if got := head + key + tail; got != c.req.String() {
		t.Fatalf("request\n%q\ngobwas writes\n%q", got, c.req.String())
	}
}

// The examples a failure quotes are the same on both paths too, where they
// do not name an error's wording.
func TestFailuresAreTheSameOnBothPaths(t *testing.T) {
	answer := "HTTP/1.1 400 Bad Request\r\nServer: nginx/1.22.1\r\nContent-Length: 35\r\nConnection: close\r\n\r\nmissing \"Upgrade: websocket\" header"
	for _, split := range []bool{false, true} {
		srv := startServer(t, func(s *testServer, c net.Conn) {
			if _, err := readRequest(bufio.NewReader(c)); err != nil {
				return
			}
			if split {
				// The answer in pieces: the loop must wait for the body.
				for _, part := range []string{answer[:10], answer[10:60], answer[60:]} {
					_, _ = c.Write([]byte(part))
					time.Sleep(20 * time.Millisecond)
				}
			} else {
				_, _ = c.Write([]byte(answer))
			}
			_, _ = io.Copy(io.Discard, c)
		})
		var examples []string
		for _, blocking := range []bool{false, true} {
			s, _ := run(t, Config{URL: srv.url(), Conns: 2, Hold: 100 * time.Millisecond, HandshakeTimeout: 2 * time.Second, blocking: blocking})
			if len(s.failed) != 2 || s.failed[0].Cause != "http" || s.failed[0].Status != 400 {
				t.Fatalf("blocking=%v: failures %+v", blocking, s.failed)
			}
			examples = append(examples, s.failed[0].Example)
		}
		if examples[0] != examples[1] {
			t.Errorf("split=%v: example %q, blocking %q", split, examples[0], examples[1])
		}
	}
}

// Config.Host replaces the URL's host on both paths: one Host line, the
// user's, and the connection still goes to the URL's address (a
// name-routed proxy reached by address).
func TestHostHeaderReplacesTheURLsHost(t *testing.T) {
	hosts := make(chan []string, 4)
	srv := startServer(t, func(s *testServer, c net.Conn) {
		br := bufio.NewReader(c)
		var got []string
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimSpace(line)
			if line == "" {
				break
			}
			if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, "Host") {
				got = append(got, strings.TrimSpace(v))
			}
		}
		hosts <- got
		_, _ = c.Write([]byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"))
	})
	for _, blocking := range []bool{false, true} {
		h := http.Header{"X-Token": {"a"}}
		s, _ := run(t, Config{URL: srv.url(), Header: h, Host: "app.internal", Conns: 1, Hold: 100 * time.Millisecond, HandshakeTimeout: 2 * time.Second, blocking: blocking})
		if len(s.failed) != 1 || s.failed[0].Status != 400 {
			t.Fatalf("blocking=%v: failures %+v, want the one attempt answered 400", blocking, s.failed)
		}
		if got := <-hosts; len(got) != 1 || got[0] != "app.internal" {
			t.Errorf("blocking=%v: Host lines %q, want exactly [app.internal]", blocking, got)
		}
	}
}

// An interrupt ends handshakes that are waiting for an answer at once, as
// interrupted, and every attempt is counted once.
func TestInterruptEndsHandshakesInFlight(t *testing.T) {
	srv := startServer(t, func(s *testServer, c net.Conn) { _, _ = io.Copy(io.Discard, c) })
	s := &sink{}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	began := time.Now()
	out, err := Run(ctx, Config{URL: srv.url(), Conns: 500, MaxInFlight: 100, HandshakeTimeout: time.Minute, Hold: time.Minute}, time.Now(), s)
	if err != nil {
		t.Fatal(err)
	}
	if took := time.Since(began); !out.Interrupted || took > 3*time.Second {
		t.Fatalf("interrupted=%v after %v", out.Interrupted, took)
	}
	if len(s.failed) != 100 || len(s.upgraded) != 0 {
		t.Fatalf("failed %d upgraded %d, want the 100 in flight failed", len(s.failed), len(s.upgraded))
	}
	for _, f := range s.failed {
		if f.Cause != "interrupted" {
			t.Fatalf("failure %+v, want interrupted", f)
		}
	}
}

// Many more attempts than slots, a server that answers some with 101 and
// some with 503 and drops some: attempted = upgraded + failed, the slots
// come back, and the timeout ends the silent ones.
func TestCountsAddUpUnderMixedAnswers(t *testing.T) {
	var mu sync.Mutex
	n := 0
	srv := startServer(t, func(s *testServer, c net.Conn) {
		mu.Lock()
		n++
		k := n
		mu.Unlock()
		br := bufio.NewReader(c)
		key, err := readRequest(br)
		if err != nil {
			return
		}
		switch k % 4 {
		case 0:
			_, _ = c.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + handshake.Accept(key) + "\r\n\r\n"))
			serveFrames(s, c, true)
		case 1:
			_, _ = c.Write([]byte("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"))
		case 2:
			return
		case 3:
			_, _ = io.Copy(io.Discard, c)
		}
	})
	// The timeout tells the silent quarter from the rest only if the
	// others answer before it: this server runs in the test's process, and
	// a loaded machine under -race delayed its answers past 300 ms, so a
	// 503 or an EOF was counted as a timeout. 2 s is far beyond any
	// answer's delay and keeps the run short: 40 silent attempts over 32
	// slots time out in about two rounds.
	const conns = 160
	s, _ := run(t, Config{URL: srv.url(), Conns: conns, MaxInFlight: 32, HandshakeTimeout: 2 * time.Second, Hold: 100 * time.Millisecond})
	causes := map[string]int{}
	for _, f := range s.failed {
		causes[f.Cause]++
	}
	if len(s.upgraded)+len(s.failed) != conns || len(s.upgraded) != conns/4 || causes["http"] != conns/4 || causes["eof"] != conns/4 || causes["timeout"] != conns/4 {
		t.Fatalf("upgraded %d, failures by cause %v; want %d of each", len(s.upgraded), causes, conns/4)
	}
}

// A handshake that never hears from the server times out although no
// readiness ever wakes its loop for it (the request went out with the
// connect). A loop that had gone to sleep for good before the ramp began
// used to miss it; this only catches that when the loop's goroutine happens
// to run first, as it did on a loaded machine.
func TestSilentServerTimesOutWithoutAnyWakeUp(t *testing.T) {
	srv := startServer(t, func(s *testServer, c net.Conn) { _, _ = io.Copy(io.Discard, c) })
	began := time.Now()
	s, _ := run(t, Config{URL: srv.url(), Conns: 1, Rate: 2, HandshakeTimeout: 400 * time.Millisecond, Hold: 100 * time.Millisecond, Loops: 1})
	if len(s.failed) != 1 || s.failed[0].Cause != "timeout" {
		t.Fatalf("failures %+v, want one timeout", s.failed)
	}
	if took := time.Since(began); took > 2*time.Second {
		t.Fatalf("the run took %v for a 400 ms handshake timeout", took)
	}
}

// A name that does not resolve fails every attempt as "dns", as net.Dial
// did (the runner refuses it before the run; the engine alone does not).
func TestUnresolvableHostFailsEveryAttemptAsDNS(t *testing.T) {
	u, _ := url.Parse("ws://wshold-test.invalid/ws")
	s, _ := run(t, Config{URL: u, Conns: 3, Hold: 10 * time.Millisecond, HandshakeTimeout: 2 * time.Second})
	if len(s.failed) != 3 || s.failed[0].Cause != "dns" {
		t.Fatalf("failures %+v, want 3 dns", s.failed)
	}
}
