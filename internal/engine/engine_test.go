package engine

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/wshold/wshold/internal/event"
	"github.com/wshold/wshold/internal/handshake"
	"github.com/wshold/wshold/internal/handshake/handshaketest"
)

// sink collects events for assertions.
type sink struct {
	mu       sync.Mutex
	upgraded []event.Upgraded
	failed   []event.Failed
	dropped  []event.Dropped
	messages []event.Message
}

func (s *sink) Upgraded(e event.Upgraded) {
	s.mu.Lock()
	s.upgraded = append(s.upgraded, e)
	s.mu.Unlock()
}
func (s *sink) Failed(e event.Failed)   { s.mu.Lock(); s.failed = append(s.failed, e); s.mu.Unlock() }
func (s *sink) Dropped(e event.Dropped) { s.mu.Lock(); s.dropped = append(s.dropped, e); s.mu.Unlock() }
func (s *sink) Message(e event.Message) {
	s.mu.Lock()
	s.messages = append(s.messages, e)
	s.mu.Unlock()
}

// testServer upgrades every connection and hands it to behave, one
// goroutine per connection (fine for a test server; the harness is what is
// under test).
type testServer struct {
	ln       net.Listener
	wg       sync.WaitGroup
	mu       sync.Mutex
	conns    []net.Conn
	closes   int // close frames with code 1000 received from clients
	pings    int
	unmasked int // client frames that arrived unmasked (a client bug)
}

func startServer(t *testing.T, behave func(s *testServer, c net.Conn)) *testServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &testServer{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.mu.Lock()
			s.conns = append(s.conns, c)
			s.mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				behave(s, c)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.mu.Lock()
		for _, c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		s.wg.Wait()
	})
	return s
}

func (s *testServer) url() *url.URL { return s.urlScheme("ws") }

func (s *testServer) urlScheme(scheme string) *url.URL {
	u, _ := url.Parse(scheme + "://" + s.ln.Addr().String() + "/ws")
	return u
}

// startTLSServer is startServer over TLS, with a certificate for
// 127.0.0.1 that clientTLS trusts.
func startTLSServer(t *testing.T, behave func(s *testServer, c net.Conn)) (srv *testServer, clientTLS *tls.Config) {
	t.Helper()
	cert, ca, err := handshaketest.SelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	conf := &tls.Config{Certificates: []tls.Certificate{cert}}
	srv = startServer(t, func(s *testServer, c net.Conn) { behave(s, tls.Server(c, conf)) })
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	return srv, &tls.Config{RootCAs: pool}
}

// tcpOf is the TCP connection under c, TLS or not.
func tcpOf(c net.Conn) *net.TCPConn {
	if tc, ok := c.(*tls.Conn); ok {
		return tc.NetConn().(*net.TCPConn)
	}
	return c.(*net.TCPConn)
}

// echo is a well-behaved server: it answers pings and close frames and
// counts what the client sent.
func echo(s *testServer, c net.Conn) {
	if _, err := ws.Upgrade(c); err != nil {
		return
	}
	serveFrames(s, c, true)
}

func serveFrames(s *testServer, c net.Conn, pong bool) {
	for {
		f, err := readFrame(c)
		if err != nil {
			return
		}
		s.mu.Lock()
		if !f.Header.Masked {
			s.unmasked++
		}
		s.mu.Unlock()
		if f.Header.Masked {
			ws.Cipher(f.Payload, f.Header.Mask, 0)
		}
		switch f.Header.OpCode {
		case ws.OpPing:
			s.mu.Lock()
			s.pings++
			s.mu.Unlock()
			if pong {
				_ = ws.WriteFrame(c, ws.NewPongFrame(f.Payload))
			}
		case ws.OpClose:
			code, _ := ws.ParseCloseFrameData(f.Payload)
			s.mu.Lock()
			if code == 1000 {
				s.closes++
			}
			s.mu.Unlock()
			_ = ws.WriteFrame(c, ws.NewCloseFrame(f.Payload))
			return
		}
	}
}

// waitUpgraded waits until n upgrades were reported, or until timeout.
func (s *sink) waitUpgraded(n int, timeout time.Duration) {
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		s.mu.Lock()
		got := len(s.upgraded)
		s.mu.Unlock()
		if got >= n {
			return
		}
	}
}

func run(t *testing.T, cfg Config) (*sink, Outcome) {
	t.Helper()
	s := &sink{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := Run(ctx, cfg, time.Now(), s)
	if err != nil {
		t.Fatal(err)
	}
	return s, out
}

func TestHeldConnectionsAreClosedCleanlyAtTheEnd(t *testing.T) {
	srv := startServer(t, echo)
	s, out := run(t, Config{URL: srv.url(), Conns: 200, Hold: 300 * time.Millisecond})
	if len(s.upgraded) != 200 || len(s.failed) != 0 || len(s.dropped) != 0 {
		t.Fatalf("upgraded %d failed %d dropped %d; want 200/0/0 (failures: %v)", len(s.upgraded), len(s.failed), len(s.dropped), s.failed)
	}
	if out.HoldStart.IsZero() || out.Interrupted || out.ForcedClose != 0 {
		t.Fatalf("outcome %+v", out)
	}
	for _, u := range s.upgraded {
		if u.LatencyNs <= 0 || u.AtNs <= 0 {
			t.Fatalf("bad upgrade event %+v", u)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		srv.mu.Lock()
		closes, unmasked := srv.closes, srv.unmasked
		srv.mu.Unlock()
		if unmasked != 0 {
			t.Fatalf("%d client frames were unmasked", unmasked)
		}
		if closes == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server saw %d close(1000) frames, want 200", closes)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Every way a held connection can end is recorded with its kind (and for
// a protocol error, the rule broken), over ws:// in the loops and wss://
// on a goroutine alike: both read frames with nextFrame.
func TestDropsAreRecordedWithKindAndAge(t *testing.T) {
	cases := []struct {
		name     string
		behave   func(c net.Conn)
		wantKind event.DropKind
		wantCode uint16
		wantRule event.Rule
	}{
		{"close frame 1001", func(c net.Conn) {
			_ = ws.WriteFrame(c, ws.NewCloseFrame(ws.NewCloseFrameBody(1001, "going away")))
			_, _ = io.Copy(io.Discard, c)
		}, event.CloseFrame, 1001, 0},
		{"FIN without close frame", func(c net.Conn) {}, event.EOF, 0, 0},
		{"RST", func(c net.Conn) { _ = tcpOf(c).SetLinger(0) }, event.Reset, 0, 0},
		{"masked server frame", func(c net.Conn) {
			f := ws.MaskFrame(ws.NewTextFrame([]byte("hi")))
			_ = ws.WriteFrame(c, f)
			_, _ = io.Copy(io.Discard, c)
		}, event.ProtocolError, 0, event.RuleMaskedFrame},
		{"length with its top bit set", func(c net.Conn) {
			_, _ = c.Write([]byte{0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0})
			_, _ = io.Copy(io.Discard, c)
		}, event.ProtocolError, 0, event.RuleBadLength},
		{"reserved opcode", func(c net.Conn) {
			_, _ = c.Write([]byte{0x83, 0x00})
			_, _ = io.Copy(io.Discard, c)
		}, event.ProtocolError, 0, event.RuleBadOpcode},
		{"reserved bits", func(c net.Conn) {
			_, _ = c.Write([]byte{0xC1, 0x00})
			_, _ = io.Copy(io.Discard, c)
		}, event.ProtocolError, 0, event.RuleReservedBits},
		{"close with invalid code", func(c net.Conn) {
			_ = ws.WriteFrame(c, ws.NewCloseFrame(ws.NewCloseFrameBody(999, "")))
			_, _ = io.Copy(io.Discard, c)
		}, event.ProtocolError, 0, event.RuleBadCloseCode},
		{"close reason not UTF-8", func(c net.Conn) {
			_, _ = c.Write([]byte{0x88, 0x04, 0x03, 0xE8, 0xff, 0xfe})
			_, _ = io.Copy(io.Discard, c)
		}, event.ProtocolError, 0, event.RuleCloseReasonUTF8},
		{"fragmented ping", func(c net.Conn) {
			_, _ = c.Write([]byte{0x09, 0x00})
			_, _ = io.Copy(io.Discard, c)
		}, event.ProtocolError, 0, event.RuleFragmentedControl},
		{"ping over 125 bytes", func(c net.Conn) {
			_, _ = c.Write(append([]byte{0x89, 126, 0x00, 0x7E}, make([]byte, 126)...))
			_, _ = io.Copy(io.Discard, c)
		}, event.ProtocolError, 0, event.RuleControlTooLong},
		{"continuation with no message begun", func(c net.Conn) {
			_, _ = c.Write([]byte{0x80, 0x01, 'x'})
			_, _ = io.Copy(io.Discard, c)
		}, event.ProtocolError, 0, event.RuleOrphanContinuation},
		{"new message inside a fragmented one", func(c net.Conn) {
			_, _ = c.Write([]byte{0x01, 0x01, 'a', 0x81, 0x01, 'b'})
			_, _ = io.Copy(io.Discard, c)
		}, event.ProtocolError, 0, event.RuleUnfinishedMessage},
		{"fragmented message with a ping inside, then FIN", func(c net.Conn) {
			_, _ = c.Write([]byte{0x01, 0x01, 'a', 0x89, 0x00, 0x80, 0x01, 'b'})
			// The pong, read before closing (unread, it would turn the
			// FIN into a reset).
			_, _ = readFrame(c)
		}, event.EOF, 0, 0},
	}
	trafficFirst := map[string]bool{"new message inside a fragmented one": true, "fragmented message with a ping inside, then FIN": true}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// The server ends its side 200 ms after the client has taken
			// every 101 (the engine reported the upgrades), not 200 ms
			// after sending it: the kernel keeps the time of the last data
			// only, so a client that got to a 101 after the ending had
			// arrived too (a loaded machine) could only date both by the
			// ending, an age of nothing. The server notes when it ended,
			// on the run's clock.
			type side struct {
				s     sink
				start time.Time
				mu    sync.Mutex
				ended []int64
			}
			behave := func(sd *side) func(s *testServer, c net.Conn) {
				return func(s *testServer, c net.Conn) {
					if _, err := ws.Upgrade(c); err != nil {
						return
					}
					sd.s.waitUpgraded(5, 5*time.Second)
					time.Sleep(200 * time.Millisecond)
					sd.mu.Lock() // also orders start, set by the test goroutine
					sd.ended = append(sd.ended, time.Since(sd.start).Nanoseconds())
					sd.mu.Unlock()
					tc.behave(c)
				}
			}
			plainSide, secureSide := &side{}, &side{}
			plain := startServer(t, behave(plainSide))
			secure, clientTLS := startTLSServer(t, behave(secureSide))
			for _, tp := range []struct {
				cfg Config
				sd  *side
			}{{Config{URL: plain.url()}, plainSide}, {Config{URL: secure.urlScheme("wss"), TLS: clientTLS}, secureSide}} {
				cfg, sd, s := tp.cfg, tp.sd, &tp.sd.s
				cfg.Conns, cfg.Hold, cfg.EndWhenNoneAlive = 5, 6*time.Second, true
				sd.mu.Lock()
				sd.start = time.Now()
				start := sd.start
				sd.mu.Unlock()
				if _, err := Run(t.Context(), cfg, start, s); err != nil {
					t.Fatal(err)
				}
				if len(s.upgraded) != 5 || len(s.dropped) != 5 {
					t.Fatalf("%s: upgraded %d dropped %d; want 5/5 (failed %v)", cfg.URL.Scheme, len(s.upgraded), len(s.dropped), s.failed)
				}
				first := s.upgraded[0].AtNs
				for _, u := range s.upgraded {
					first = min(first, u.AtNs)
				}
				sd.mu.Lock()
				ended := slices.Clone(sd.ended)
				sd.mu.Unlock()
				if len(ended) != 5 {
					t.Fatalf("%s: the server ended %d connections, want 5", cfg.URL.Scheme, len(ended))
				}
				for _, d := range s.dropped {
					if d.Kind != tc.wantKind || d.CloseCode != tc.wantCode || d.Rule != tc.wantRule {
						t.Fatalf("%s: drop %s/%d rule %q, want %s rule %q", cfg.URL.Scheme, d.Kind.Name(d.CloseCode), d.CloseCode, d.Rule.Name(), tc.wantKind.Name(tc.wantCode), tc.wantRule.Name())
					}
					// The ages (the loops date by the kernel's clock, counted
					// in jiffies of up to 4 ms; a wss goroutine by when it got
					// round to reading, which a loaded machine under -race
					// delays by 100 ms and more): at least the 200 ms the
					// server waited, counted from the connection's own
					// upgrade, not from before the first; the drop dated when
					// the ending left the server, not before, nor long after.
					if age := time.Duration(d.AgeNs); cfg.URL.Scheme == "ws" &&
						(age < 150*time.Millisecond || d.AgeNs > d.AtNs-first ||
							d.AtNs < slices.Min(ended)-int64(10*time.Millisecond) || d.AtNs > slices.Max(ended)+int64(1500*time.Millisecond)) {
						t.Fatalf("%s: drop age %v at %v (first upgrade at %v, the server ended at %v); want at least 200 ms old, dated when the server ended",
							cfg.URL.Scheme, age, time.Duration(d.AtNs), time.Duration(first), ended)
					}
					// Silent until what ended it (the loops only: the wss
					// reader dates frames by when it read them; and not
					// where data came first): the ending is not traffic,
					// so idle time equals age.
					if cfg.URL.Scheme == "ws" && !trafficFirst[tc.name] && d.IdleNs != d.AgeNs {
						t.Fatalf("idle %d, want the age %d: nothing but the ending crossed the connection", d.IdleNs, d.AgeNs)
					}
				}
			}
		})
	}
}

// A data frame is discarded whatever its length (the format allows up to
// 2^63-1 bytes): 17 MiB of binary data, then a close frame, ends as that
// close, on both transports.
func TestDataFramesOfAnyLengthAreDiscarded(t *testing.T) {
	behave := func(s *testServer, c net.Conn) {
		if _, err := ws.Upgrade(c); err != nil {
			return
		}
		_ = ws.WriteHeader(c, ws.Header{Fin: true, OpCode: ws.OpBinary, Length: 17 << 20})
		chunk := make([]byte, 1<<20)
		for range 17 {
			if _, err := c.Write(chunk); err != nil {
				return
			}
		}
		_ = ws.WriteFrame(c, ws.NewCloseFrame(ws.NewCloseFrameBody(1001, "")))
		_, _ = io.Copy(io.Discard, c)
	}
	plain := startServer(t, behave)
	secure, clientTLS := startTLSServer(t, behave)
	for _, cfg := range []Config{{URL: plain.url()}, {URL: secure.urlScheme("wss"), TLS: clientTLS}} {
		cfg.Conns, cfg.Hold, cfg.EndWhenNoneAlive = 2, 10*time.Second, true
		s, _ := run(t, cfg)
		if len(s.dropped) != 2 {
			t.Fatalf("%s: upgraded %d dropped %d (failed %v), want 2 drops", cfg.URL.Scheme, len(s.upgraded), len(s.dropped), s.failed)
		}
		for _, d := range s.dropped {
			if d.Kind != event.CloseFrame || d.CloseCode != 1001 {
				t.Fatalf("%s: drop %s rule %q, want close_1001 after the 17 MiB frame", cfg.URL.Scheme, d.Kind.Name(d.CloseCode), d.Rule.Name())
			}
		}
	}
}

// A frame that breaks a rule is answered with a close frame carrying the
// code RFC 6455 names: 1007 for a close reason that is not UTF-8, 1002 for
// the others.
func TestProtocolErrorsAreAnsweredWithTheirCloseCode(t *testing.T) {
	for _, tc := range []struct {
		frame []byte
		code  uint16
	}{
		{[]byte{0x88, 0x04, 0x03, 0xE8, 0xff, 0xfe}, 1007},
		{[]byte{0x80, 0x01, 'x'}, 1002},
	} {
		got := make(chan uint16, 1)
		srv := startServer(t, func(s *testServer, c net.Conn) {
			if _, err := ws.Upgrade(c); err != nil {
				return
			}
			_, _ = c.Write(tc.frame)
			f, err := readFrame(c)
			if err != nil || f.Header.OpCode != ws.OpClose || len(f.Payload) < 2 {
				got <- 0
				return
			}
			ws.Cipher(f.Payload, f.Header.Mask, 0)
			got <- uint16(f.Payload[0])<<8 | uint16(f.Payload[1])
		})
		run(t, Config{URL: srv.url(), Conns: 1, Hold: time.Second, EndWhenNoneAlive: true})
		if code := <-got; code != tc.code {
			t.Errorf("frame % x answered with close %d, want %d", tc.frame, code, tc.code)
		}
	}
}

func TestServerPingsAreAnsweredWithMaskedPongs(t *testing.T) {
	pongs := make(chan ws.Header, 10)
	srv := startServer(t, func(s *testServer, c net.Conn) {
		if _, err := ws.Upgrade(c); err != nil {
			return
		}
		for i := 0; i < 3; i++ {
			_ = ws.WriteFrame(c, ws.NewPingFrame([]byte(fmt.Sprint("p", i))))
			f, err := readFrame(c)
			if err != nil {
				return
			}
			ws.Cipher(f.Payload, f.Header.Mask, 0)
			if string(f.Payload) != fmt.Sprint("p", i) {
				f.Header.OpCode = 0xF // mark wrong payload
			}
			pongs <- f.Header
		}
		serveFrames(s, c, true)
	})
	s, _ := run(t, Config{URL: srv.url(), Conns: 1, Hold: 300 * time.Millisecond})
	if len(s.dropped) != 0 {
		t.Fatalf("drops %v", s.dropped)
	}
	if len(pongs) != 3 {
		t.Fatalf("got %d pongs, want 3", len(pongs))
	}
	for i := 0; i < 3; i++ {
		h := <-pongs
		if h.OpCode != ws.OpPong || !h.Masked {
			t.Fatalf("pong %d: opcode %v masked %v; want a masked pong echoing the payload", i, h.OpCode, h.Masked)
		}
	}
}

func TestClientPingsAndPongTimeout(t *testing.T) {
	t.Run("answered pings keep connections and reach the server", func(t *testing.T) {
		srv := startServer(t, echo)
		s, _ := run(t, Config{URL: srv.url(), Conns: 10, Hold: 700 * time.Millisecond, Ping: 100 * time.Millisecond, PongTimeout: 300 * time.Millisecond})
		if len(s.dropped) != 0 {
			t.Fatalf("drops %v", s.dropped)
		}
		srv.mu.Lock()
		defer srv.mu.Unlock()
		if srv.pings < 30 || srv.unmasked != 0 {
			t.Fatalf("server saw %d pings (%d unmasked) in 0.7 s from 10 conns pinging every 0.1 s", srv.pings, srv.unmasked)
		}
	})
	t.Run("unanswered pings end as pong_timeout", func(t *testing.T) {
		srv := startServer(t, func(s *testServer, c net.Conn) {
			if _, err := ws.Upgrade(c); err != nil {
				return
			}
			serveFrames(s, c, false)
		})
		s, _ := run(t, Config{URL: srv.url(), Conns: 10, Hold: 3 * time.Second, Ping: 100 * time.Millisecond, PongTimeout: 300 * time.Millisecond, EndWhenNoneAlive: true})
		if len(s.dropped) != 10 {
			t.Fatalf("dropped %d, want 10", len(s.dropped))
		}
		for _, d := range s.dropped {
			if d.Kind != event.PongTimeout || !d.Pinging {
				t.Fatalf("drop %+v, want pong_timeout of a pinging conn", d)
			}
			// within pong timeout + one ping interval (+ scheduling slack)
			if age := time.Duration(d.AgeNs); age < 300*time.Millisecond || age > 1200*time.Millisecond {
				t.Fatalf("pong timeout after %v, want 300–400 ms", age)
			}
		}
	})
	t.Run("ping fraction splits into a pinging and a silent group", func(t *testing.T) {
		cfg := Config{Ping: time.Second, PingFraction: 0.5}
		n := 0
		for i := 0; i < 1000; i++ {
			if cfg.pings(i) {
				n++
			}
		}
		if n != 500 {
			t.Fatalf("%d of 1000 ping, want 500", n)
		}
	})
}

func TestEarlyFramesBehindThe101AreNotLost(t *testing.T) {
	srv := startServer(t, func(s *testServer, c net.Conn) {
		br := bufio.NewReader(c)
		req, err := readRequest(br)
		if err != nil {
			return
		}
		resp := "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + handshake.Accept(req) + "\r\n\r\n"
		close := []byte{0x88, 0x02, 0x03, 0xE9} // close 1001, in the same write as the 101
		_, _ = c.Write(append([]byte(resp), close...))
		_, _ = io.Copy(io.Discard, c)
	})
	s, _ := run(t, Config{URL: srv.url(), Conns: 3, Hold: 2 * time.Second, EndWhenNoneAlive: true})
	if len(s.dropped) != 3 {
		t.Fatalf("dropped %d, want 3 (upgraded %d failed %v)", len(s.dropped), len(s.upgraded), s.failed)
	}
	for _, d := range s.dropped {
		if d.Kind != event.CloseFrame || d.CloseCode != 1001 {
			t.Fatalf("drop %s, want close_1001", d.Kind.Name(d.CloseCode))
		}
	}
}

func TestFailedUpgradesAreClassified(t *testing.T) {
	raw := func(answer string) func(s *testServer, c net.Conn) {
		return func(s *testServer, c net.Conn) {
			br := bufio.NewReader(c)
			req, err := readRequest(br)
			if err != nil {
				return
			}
			_, _ = c.Write([]byte(strings.ReplaceAll(answer, "ACCEPT", handshake.Accept(req))))
			if strings.HasPrefix(answer, "HTTP/1.1 101") {
				_, _ = io.Copy(io.Discard, c)
			}
		}
	}
	cases := []struct {
		name        string
		behave      func(s *testServer, c net.Conn)
		cause       string
		status      int
		exampleHave string
	}{
		{"backend 400 relayed by nginx", raw("HTTP/1.1 400 Bad Request\r\nServer: nginx/1.22.1\r\nContent-Length: 35\r\nConnection: close\r\n\r\nmissing \"Upgrade: websocket\" header"), "http", 400, "Server: nginx/1.22.1; body: missing \"Upgrade: websocket\" header"},
		{"nginx 502 page", raw("HTTP/1.1 502 Bad Gateway\r\nServer: nginx\r\nContent-Length: 64\r\n\r\n<html><head><title>502 Bad Gateway</title></head></html>        "), "http", 502, "body: 502 Bad Gateway"},
		{"wrong accept", raw("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: d3Jvbmc=\r\n\r\n"), "bad_accept", 0, ""},
		{"101 without Upgrade", raw("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ACCEPT\r\n\r\n"), "bad_upgrade", 0, ""},
		{"lower-cased header names (HAProxy) are valid", raw("HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: ACCEPT\r\n\r\n"), "", 0, ""},
		{"garbage", raw("SSH-2.0-OpenSSH_9.2\r\n\r\n"), "bad_response", 0, ""},
		{"closed before answering", func(s *testServer, c net.Conn) { _, _ = readRequest(bufio.NewReader(c)) }, "eof", 0, ""},
		{"never answers", func(s *testServer, c net.Conn) { _, _ = io.Copy(io.Discard, c) }, "timeout", 0, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := startServer(t, tc.behave)
			s, _ := run(t, Config{URL: srv.url(), Conns: 2, Hold: 100 * time.Millisecond, HandshakeTimeout: 500 * time.Millisecond})
			if tc.cause == "" {
				if len(s.upgraded) != 2 {
					t.Fatalf("upgraded %d, want 2; failures %+v", len(s.upgraded), s.failed)
				}
				return
			}
			if len(s.failed) != 2 {
				t.Fatalf("failed %d, want 2", len(s.failed))
			}
			f := s.failed[0]
			if f.Cause != tc.cause || f.Status != tc.status || !strings.Contains(f.Example, tc.exampleHave) {
				t.Fatalf("failure %+v, want cause %s status %d example containing %q", f, tc.cause, tc.status, tc.exampleHave)
			}
		})
	}
	t.Run("refused", func(t *testing.T) {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := ln.Addr().String()
		ln.Close()
		u, _ := url.Parse("ws://" + addr + "/")
		s, _ := run(t, Config{URL: u, Conns: 3, Hold: time.Second})
		if len(s.failed) != 3 || s.failed[0].Cause != "refused" {
			t.Fatalf("failures %+v, want 3 refused", s.failed)
		}
	})
}

func TestInterruptStopsTheRampAndTheHold(t *testing.T) {
	srv := startServer(t, echo)
	s := &sink{}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	began := time.Now()
	out, err := Run(ctx, Config{URL: srv.url(), Conns: 100000, Rate: 100, Hold: time.Minute}, time.Now(), s)
	if err != nil {
		t.Fatal(err)
	}
	if !out.Interrupted || time.Since(began) > 5*time.Second {
		t.Fatalf("interrupted=%v after %v", out.Interrupted, time.Since(began))
	}
	if n := len(s.upgraded); n < 5 || n > 100 {
		t.Fatalf("%d upgraded in 0.3 s at 100/s", n)
	}
	if len(s.dropped) != 0 {
		t.Fatalf("closing after an interrupt counted %d drops", len(s.dropped))
	}
}

func TestRateIsHonoured(t *testing.T) {
	srv := startServer(t, echo)
	began := time.Now()
	s, out := run(t, Config{URL: srv.url(), Conns: 50, Rate: 100, Hold: 0})
	ramp := out.HoldStart.Sub(began)
	if len(s.upgraded) != 50 || ramp < 450*time.Millisecond || ramp > 5*time.Second {
		t.Fatalf("%d upgraded in %v; want 50 in about 0.5 s", len(s.upgraded), ramp)
	}
}

func readRequest(br *bufio.Reader) (key string, err error) {
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return "", err
		}
		line = strings.TrimSpace(line)
		if line == "" {
			return key, nil
		}
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, "Sec-WebSocket-Key") {
			key = strings.TrimSpace(v)
		}
	}
}

// readFrame reads one client frame, refusing payloads over 64 KiB.
func readFrame(r io.Reader) (ws.Frame, error) {
	h, err := ws.ReadHeader(r)
	if err != nil {
		return ws.Frame{}, err
	}
	if h.Length > 64<<10 {
		return ws.Frame{}, fmt.Errorf("frame of %d bytes", h.Length)
	}
	p := make([]byte, h.Length)
	_, err = io.ReadFull(r, p)
	return ws.Frame{Header: h, Payload: p}, err
}
