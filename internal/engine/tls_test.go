package engine

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"net/url"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/wshold/wshold/internal/event"
)

// wss:// is held on the loops like ws://: the same frame path, the same
// kinds of ends, the same dating; these tests run a crypto/tls server with
// a goroutine per connection (the harness is what is under test).

var (
	testCertOnce sync.Once
	testCert     tls.Certificate
)

// loopbackCert is a self-signed certificate for 127.0.0.1, made once.
func loopbackCert(t testing.TB) tls.Certificate {
	t.Helper()
	testCertOnce.Do(func() {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(1),
			Subject:      pkix.Name{CommonName: "127.0.0.1"},
			NotBefore:    time.Now().Add(-time.Hour),
			NotAfter:     time.Now().Add(24 * time.Hour),
			IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
		if err != nil {
			panic(err)
		}
		testCert = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: k}
	})
	return testCert
}

// startWSSServer is startServer behind TLS: behave gets the *tls.Conn,
// after its handshake. cfg may be nil.
func startWSSServer(t *testing.T, cfg *tls.Config, behave func(s *testServer, c *tls.Conn)) *testServer {
	t.Helper()
	if cfg == nil {
		cfg = &tls.Config{}
	}
	cfg.Certificates = []tls.Certificate{loopbackCert(t)}
	return startServer(t, func(s *testServer, c net.Conn) {
		tc := tls.Server(c, cfg)
		_ = tc.SetDeadline(time.Now().Add(10 * time.Second))
		if err := tc.Handshake(); err != nil {
			return
		}
		_ = tc.SetDeadline(time.Time{})
		behave(s, tc)
	})
}

func wssURL(s *testServer) *url.URL {
	u := s.url()
	u.Scheme = "wss"
	return u
}

// insecure trusts the test server's certificate (verification has its own
// tests, through the runner).
func insecure() *tls.Config { return &tls.Config{InsecureSkipVerify: true} }

// engineGoroutines counts goroutines running the engine's own code (its
// loops, openers, hold), not the test server's.
func engineGoroutines(t *testing.T) int {
	var b bytes.Buffer
	_ = pprof.Lookup("goroutine").WriteTo(&b, 2)
	n := 0
	for _, g := range strings.Split(b.String(), "\n\n") {
		if strings.Contains(g, "engine.(*engine)") || strings.Contains(g, "engine.(*loop)") {
			n++
		}
	}
	return n
}

// closeCounter is a server that upgrades, answers pings and close frames,
// and keeps reading after its close echo until the client closes TCP,
// counting every close frame the client sent.
func closeCounter(mu *sync.Mutex, closes *[]int) func(s *testServer, c *tls.Conn) {
	return func(s *testServer, c *tls.Conn) {
		if _, err := ws.Upgrade(c); err != nil {
			return
		}
		n := 0
		defer func() {
			mu.Lock()
			*closes = append(*closes, n)
			mu.Unlock()
		}()
		for {
			f, err := readFrame(c)
			if err != nil {
				return
			}
			ws.Cipher(f.Payload, f.Header.Mask, 0)
			switch f.Header.OpCode {
			case ws.OpPing:
				_ = ws.WriteFrame(c, ws.NewPongFrame(f.Payload))
			case ws.OpClose:
				n++
				if n == 1 {
					_ = ws.WriteFrame(c, ws.NewCloseFrame(f.Payload))
				}
			}
		}
	}
}

// Held wss:// connections cost no goroutine: once the ramp is over, only the
// engine's loops and its hold run. At the end each connection sends exactly
// one close frame, even after the server's echo.
func TestWSSIsHeldOnTheLoopsAndClosedOnce(t *testing.T) {
	var mu sync.Mutex
	var closes []int
	srv := startWSSServer(t, nil, closeCounter(&mu, &closes))
	var during int
	cfg := Config{URL: wssURL(srv), Conns: 100, Rate: 1000, Hold: time.Second, TLS: insecure(), Loops: 2,
		OnHoldStart: func(time.Time) {
			go func() {
				time.Sleep(300 * time.Millisecond)
				mu.Lock()
				during = engineGoroutines(t)
				mu.Unlock()
			}()
		}}
	s, out := run(t, cfg)
	if len(s.upgraded) != 100 || len(s.failed) != 0 || len(s.dropped) != 0 || out.ForcedClose != 0 {
		t.Fatalf("upgraded %d failed %v dropped %v forced %d; want 100 held and closed", len(s.upgraded), s.failed, s.dropped, out.ForcedClose)
	}
	mu.Lock()
	if during > 4 {
		t.Errorf("%d engine goroutines while holding 100 wss connections, want the 2 loops and the hold", during)
	}
	mu.Unlock()
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(closes)
		mu.Unlock()
		if n == 100 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	for i, n := range closes {
		if n != 1 {
			t.Fatalf("connection %d sent %d close frames, want exactly 1", i, n)
		}
	}
	if len(closes) != 100 {
		t.Fatalf("%d connections ended at the server, want 100", len(closes))
	}
}

// The handshake of a wss:// connection is measured in its three phases.
// They are timed by the harness as it sees each end, the latency by the
// kernel's clock from the attempt's slot: the connect and the TLS handshake
// are over before the 101 arrives, and the kernel's coarse clock (jiffies,
// up to 4 ms) must not date the 101 before the request that asked for it.
func TestWSSHandshakePhases(t *testing.T) {
	srv := startWSSServer(t, nil, func(s *testServer, c *tls.Conn) { echo(s, c) })
	s, _ := run(t, Config{URL: wssURL(srv), Conns: 20, Hold: 100 * time.Millisecond, TLS: insecure()})
	if len(s.upgraded) != 20 {
		t.Fatalf("upgraded %d, failures %v", len(s.upgraded), s.failed)
	}
	for _, u := range s.upgraded {
		if u.ConnectNs <= 0 || u.TLSNs <= 0 || u.UpgradeNs <= 0 || u.ConnectNs+u.TLSNs > u.LatencyNs {
			t.Fatalf("phases %+v: want each positive, connect and TLS within the latency", u)
		}
	}
}

func TestWSSPingsPongsAndPongTimeout(t *testing.T) {
	t.Run("server pings are answered with masked pongs", func(t *testing.T) {
		pongs := make(chan bool, 10)
		srv := startWSSServer(t, nil, func(s *testServer, c *tls.Conn) {
			if _, err := ws.Upgrade(c); err != nil {
				return
			}
			for i := 0; i < 3; i++ {
				_ = ws.WriteFrame(c, ws.NewPingFrame([]byte{'p', byte('0' + i)}))
				f, err := readFrame(c)
				if err != nil {
					return
				}
				ws.Cipher(f.Payload, f.Header.Mask, 0)
				pongs <- f.Header.OpCode == ws.OpPong && f.Header.Masked && string(f.Payload) == string([]byte{'p', byte('0' + i)})
			}
			serveFrames(s, c, true)
		})
		s, _ := run(t, Config{URL: wssURL(srv), Conns: 1, Hold: 300 * time.Millisecond, TLS: insecure()})
		if len(s.dropped) != 0 || len(pongs) != 3 {
			t.Fatalf("drops %v, %d pongs; want none and 3", s.dropped, len(pongs))
		}
		for range 3 {
			if !<-pongs {
				t.Fatal("a pong was not a masked pong echoing its ping")
			}
		}
	})
	t.Run("client pings reach the server", func(t *testing.T) {
		srv := startWSSServer(t, nil, func(s *testServer, c *tls.Conn) { echo(s, c) })
		s, _ := run(t, Config{URL: wssURL(srv), Conns: 10, Hold: 700 * time.Millisecond, Ping: 100 * time.Millisecond, PongTimeout: 300 * time.Millisecond, TLS: insecure()})
		srv.mu.Lock()
		defer srv.mu.Unlock()
		if len(s.dropped) != 0 || srv.pings < 30 || srv.unmasked != 0 {
			t.Fatalf("drops %v; server saw %d pings (%d unmasked)", s.dropped, srv.pings, srv.unmasked)
		}
	})
	t.Run("unanswered pings end as pong_timeout", func(t *testing.T) {
		srv := startWSSServer(t, nil, func(s *testServer, c *tls.Conn) {
			if _, err := ws.Upgrade(c); err != nil {
				return
			}
			serveFrames(s, c, false)
		})
		s, _ := run(t, Config{URL: wssURL(srv), Conns: 5, Hold: 3 * time.Second, Ping: 100 * time.Millisecond, PongTimeout: 300 * time.Millisecond, EndWhenNoneAlive: true, TLS: insecure()})
		if len(s.dropped) != 5 {
			t.Fatalf("dropped %d, want 5", len(s.dropped))
		}
		for _, d := range s.dropped {
			if age := time.Duration(d.AgeNs); d.Kind != event.PongTimeout || age < 300*time.Millisecond || age > 1200*time.Millisecond {
				t.Fatalf("drop %s at %v, want pong_timeout at 300-400 ms", d.Kind.Name(d.CloseCode), age)
			}
		}
	})
}

// A server that sends a frame's header and its payload 2.5 s later, with
// the client pinging every second: the ping schedule covers "no pong",
// never a slow frame, so nothing ends until the server's own close.
func TestWSSSlowFrameIsNotADrop(t *testing.T) {
	for _, split := range []struct {
		name string
		at   int // where the frame is cut
	}{{"payload late", 4}, {"header cut", 1}} {
		t.Run(split.name, func(t *testing.T) {
			srv := startWSSServer(t, nil, func(s *testServer, c *tls.Conn) {
				if _, err := ws.Upgrade(c); err != nil {
					return
				}
				frame := append([]byte{0x82, 126, 0, 200}, bytes.Repeat([]byte{'d'}, 200)...)
				_, _ = c.Write(frame[:split.at])
				time.Sleep(2500 * time.Millisecond)
				_, _ = c.Write(frame[split.at:])
				_ = ws.WriteFrame(c, ws.NewCloseFrame(ws.NewCloseFrameBody(1000, "done")))
				_, _ = io.Copy(io.Discard, c)
			})
			s, _ := run(t, Config{URL: wssURL(srv), Conns: 2, Hold: 6 * time.Second, Ping: time.Second, EndWhenNoneAlive: true, TLS: insecure()})
			if len(s.dropped) != 2 {
				t.Fatalf("dropped %v, want 2 ended by the server's close", s.dropped)
			}
			for _, d := range s.dropped {
				if d.Kind != event.CloseFrame || d.CloseCode != 1000 || time.Duration(d.AgeNs) < 2400*time.Millisecond {
					t.Fatalf("drop %s at %v, want close_1000 after 2.5 s", d.Kind.Name(d.CloseCode), time.Duration(d.AgeNs))
				}
			}
		})
	}
}

// How a wss:// connection ended is told apart as for ws://, plus an end
// only TLS has: close_notify without a close frame (a terminator closing in
// order). Other alerts: TestWSSAlertsAndKeyUpdates.
func TestWSSDropKinds(t *testing.T) {
	cases := []struct {
		name     string
		behave   func(c *tls.Conn)
		wantKind event.DropKind
		wantCode uint16
	}{
		{"close frame 1001", func(c *tls.Conn) {
			_ = ws.WriteFrame(c, ws.NewCloseFrame(ws.NewCloseFrameBody(1001, "going away")))
			_, _ = io.Copy(io.Discard, c)
		}, event.CloseFrame, 1001},
		{"close_notify without a close frame", func(c *tls.Conn) {
			_ = c.CloseWrite()
			_, _ = io.Copy(io.Discard, c)
		}, event.CloseNotify, 0},
		{"FIN without close_notify", func(c *tls.Conn) { _ = c.NetConn().Close() }, event.EOF, 0},
		{"RST", func(c *tls.Conn) {
			_ = c.NetConn().(*net.TCPConn).SetLinger(0)
			_ = c.NetConn().Close()
		}, event.Reset, 0},
		{"FIN in the middle of a record", func(c *tls.Conn) {
			_, _ = c.NetConn().Write([]byte{23, 3, 3, 0, 100, 1, 2, 3})
			_ = c.NetConn().Close()
		}, event.EOF, 0},
		{"a record that does not authenticate", func(c *tls.Conn) {
			_, _ = c.NetConn().Write([]byte{23, 3, 3, 0, 20, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20})
			_, _ = io.Copy(io.Discard, c)
		}, event.ProtocolError, 0},
		{"masked server frame", func(c *tls.Conn) {
			_ = ws.WriteFrame(c, ws.MaskFrame(ws.NewTextFrame([]byte("hi"))))
			_, _ = io.Copy(io.Discard, c)
		}, event.ProtocolError, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := startWSSServer(t, nil, func(s *testServer, c *tls.Conn) {
				if _, err := ws.Upgrade(c); err != nil {
					return
				}
				time.Sleep(200 * time.Millisecond)
				tc.behave(c)
			})
			s, _ := run(t, Config{URL: wssURL(srv), Conns: 3, Hold: 2 * time.Second, EndWhenNoneAlive: true, TLS: insecure()})
			if len(s.upgraded) != 3 || len(s.dropped) != 3 {
				t.Fatalf("upgraded %d dropped %d; want 3/3 (failed %v)", len(s.upgraded), len(s.dropped), s.failed)
			}
			for _, d := range s.dropped {
				if d.Kind != tc.wantKind || d.CloseCode != tc.wantCode {
					t.Fatalf("drop %s, want %s", d.Kind.Name(d.CloseCode), tc.wantKind.Name(tc.wantCode))
				}
				if age := time.Duration(d.AgeNs); age < 150*time.Millisecond || age > 1500*time.Millisecond {
					t.Fatalf("drop age %v, want about 200ms", age)
				}
			}
		})
	}
}

// splitWriter sends every write in two pieces, apart, once on: the client
// sees records cut across reads.
type splitWriter struct {
	net.Conn
	gap time.Duration
	on  atomic.Bool
}

func (w *splitWriter) Write(p []byte) (int, error) {
	if !w.on.Load() || len(p) < 2 {
		return w.Conn.Write(p)
	}
	n, err := w.Conn.Write(p[:len(p)/2])
	if err != nil {
		return n, err
	}
	time.Sleep(w.gap)
	m, err := w.Conn.Write(p[len(p)/2:])
	return n + m, err
}

// Records cut across reads wait in the kernel until they are whole: pings
// split in two are answered, a large data frame over many records is
// skipped, and the connection is then closed by the server's close frame.
func TestWSSRecordsCutAcrossReads(t *testing.T) {
	pongs := make(chan bool, 4)
	srv := startServer(t, func(s *testServer, c net.Conn) {
		sw := &splitWriter{Conn: c, gap: 150 * time.Millisecond}
		tc := tls.Server(sw, &tls.Config{Certificates: []tls.Certificate{loopbackCert(t)}})
		if tc.Handshake() != nil {
			return
		}
		if _, err := ws.Upgrade(tc); err != nil {
			return
		}
		sw.on.Store(true)
		for i := range 2 {
			_ = ws.WriteFrame(tc, ws.NewPingFrame([]byte{byte('a' + i)}))
			f, err := readFrame(tc)
			if err != nil {
				return
			}
			pongs <- f.Header.OpCode == ws.OpPong
		}
		_ = ws.WriteFrame(tc, ws.NewBinaryFrame(bytes.Repeat([]byte{'x'}, 100<<10)))
		_ = ws.WriteFrame(tc, ws.NewCloseFrame(ws.NewCloseFrameBody(1000, "")))
		_, _ = io.Copy(io.Discard, tc)
	})
	s, _ := run(t, Config{URL: wssURL(srv), Conns: 1, Hold: 5 * time.Second, EndWhenNoneAlive: true, TLS: insecure()})
	if len(pongs) != 2 || !<-pongs || !<-pongs {
		t.Fatal("the split pings were not both answered")
	}
	if len(s.dropped) != 1 || s.dropped[0].Kind != event.CloseFrame || s.dropped[0].CloseCode != 1000 {
		t.Fatalf("drops %+v, want one close_1000 after the big frame", s.dropped)
	}
}
