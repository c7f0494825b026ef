package engine

import (
	"bufio"
	"io"
	"math/rand/v2"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gobwas/ws"

	"github.com/wshold/wshold/internal/handshake"
)

// The k-th attempt in a row waits between lo and min(2^k lo, hi), spread
// over the whole range (full jitter), never outside it.
func TestBackoffIsExponentialWithFullJitter(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	lo, hi := 100*time.Millisecond, 30*time.Second
	for _, tc := range []struct {
		k    int
		ceil time.Duration
	}{{1, 200 * time.Millisecond}, {2, 400 * time.Millisecond}, {5, 3200 * time.Millisecond}, {9, hi}, {63, hi}, {1000, hi}} {
		least, most := time.Duration(1<<62), time.Duration(0)
		for range 5000 {
			d := backoff(tc.k, lo, hi, rng)
			least, most = min(least, d), max(most, d)
		}
		if least < lo || most > tc.ceil {
			t.Errorf("attempt %d waited %v..%v, want within %v..%v", tc.k, least, most, lo, tc.ceil)
		}
		// Full jitter: the draws reach both ends of the range.
		if span := tc.ceil - lo; least > lo+span/20 || most < tc.ceil-span/20 {
			t.Errorf("attempt %d waited %v..%v: not spread over %v..%v", tc.k, least, most, lo, tc.ceil)
		}
	}
	if d := backoff(3, time.Second, time.Second, rng); d != time.Second {
		t.Errorf("with min = max the wait is %v, want exactly 1s", d)
	}
}

// lifetimeServer upgrades every connection and closes it (FIN, no close
// frame) after life; while refuse says so it answers 503 instead.
func lifetimeServer(t *testing.T, life time.Duration, refuse func() bool) *testServer {
	return startServer(t, func(s *testServer, c net.Conn) {
		br := bufio.NewReader(c)
		key, err := readRequest(br)
		if err != nil {
			return
		}
		if refuse != nil && refuse() {
			_, _ = c.Write([]byte("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"))
			return
		}
		_, _ = c.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " + handshake.Accept(key) + "\r\n\r\n"))
		done := make(chan struct{})
		go func() {
			defer close(done)
			_, _ = io.Copy(io.Discard, c)
		}()
		select {
		case <-time.After(life):
		case <-done:
		}
	})
}

// Every connection the server cuts comes back after its backoff, again
// and again until the hold ends: reopenings are reported as reconnects,
// each drop once, and the first wave's count stays the first wave's.
func TestDroppedConnectionsAreReopened(t *testing.T) {
	for _, gobwas := range []bool{false, true} {
		name := "loops"
		if gobwas {
			name = "gobwas"
		}
		t.Run(name, func(t *testing.T) {
			srv := lifetimeServer(t, 150*time.Millisecond, nil)
			const conns = 20
			s, out := run(t, Config{URL: srv.url(), Conns: conns, Hold: 700 * time.Millisecond, EndWhenNoneAlive: true,
				Reconnect: true, ReconnectMin: 10 * time.Millisecond, ReconnectMax: 20 * time.Millisecond, blocking: gobwas})
			first, again := 0, 0
			for _, u := range s.upgraded {
				if u.Reconnect {
					again++
				} else {
					first++
				}
			}
			if first != conns || len(s.failed) != 0 {
				t.Fatalf("first wave: %d upgraded, failures %v; want %d, none", first, s.failed, conns)
			}
			// Each connection lives 150 ms and comes back 10–20 ms later:
			// three or four reopenings each within the hold.
			if again < 2*conns {
				t.Errorf("%d reopenings upgraded, want at least %d", again, 2*conns)
			}
			// Every connection alive at the end was not dropped: what
			// upgraded minus what dropped is what the hold ended with.
			if alive := first + again - len(s.dropped); alive < 0 || alive > conns {
				t.Errorf("%d upgraded, %d dropped: %d alive, want 0..%d", first+again, len(s.dropped), alive, conns)
			}
			if out.HoldEnd.Sub(out.HoldStart) < 650*time.Millisecond {
				t.Errorf("the hold ended after %v although reopenings were due", out.HoldEnd.Sub(out.HoldStart))
			}
		})
	}
}

// A reopening the server refuses is reported as a failed reconnect and
// tried again, later each time, until it gets through.
func TestFailedReopeningsAreRetried(t *testing.T) {
	var refusing atomic.Bool
	var refusals atomic.Int32
	srv := lifetimeServer(t, time.Hour, func() bool {
		if refusing.Load() {
			refusals.Add(1)
			return true
		}
		return false
	})
	// Once the first wave is in, the server refuses while a scripted cut
	// ends every connection, until it has refused 30 reopenings: with
	// backoffs of 20 to 80 ms, every connection was refused before the
	// others could be refused that often. Waited for, not slept: on a
	// loaded machine the ramp and the client's reopenings each take
	// longer than a fixed 200 ms and 300 ms, and a reopening that came
	// after the refusals were over was never refused.
	s := &sink{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.waitUpgraded(10, 5*time.Second)
		refusing.Store(true)
		srv.mu.Lock()
		for _, c := range srv.conns {
			c.Close()
		}
		srv.mu.Unlock()
		for deadline := time.Now().Add(5 * time.Second); refusals.Load() < 30 && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
		}
		refusing.Store(false)
	}()
	// The hold only bounds the test: the reopenings get through within
	// one backoff of the refusals' end.
	runInto(t, s, Config{URL: srv.url(), Conns: 10, Hold: 3 * time.Second, CloseTimeout: 100 * time.Millisecond,
		Reconnect: true, ReconnectMin: 20 * time.Millisecond, ReconnectMax: 80 * time.Millisecond})
	<-done
	upgrades := 0
	for _, u := range s.upgraded {
		if u.Reconnect {
			upgrades++
		}
	}
	refused := 0
	for _, f := range s.failed {
		if !f.Reconnect || f.Cause != "http" || f.Status != 503 {
			t.Fatalf("failure %+v, want only reconnects refused with 503", f)
		}
		refused++
	}
	if len(s.dropped) != 10 || refused < 30 || upgrades != 10 {
		t.Fatalf("%d dropped, %d reopenings refused, %d upgraded; want 10 dropped, at least 30 refused, 10 back", len(s.dropped), refused, upgrades)
	}
}

func runInto(t *testing.T, s *sink, cfg Config) Outcome {
	t.Helper()
	out, err := Run(t.Context(), cfg, time.Now(), s)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// At the end of the hold reopenings stop: none is started, and one still
// in its handshake is abandoned without being reported as a failure.
func TestReopeningsStopWithTheHold(t *testing.T) {
	// A server that cuts at once and then never answers the reopening.
	var n atomic.Int32
	srv := startServer(t, func(s *testServer, c net.Conn) {
		if n.Add(1) > 1 {
			_, _ = io.Copy(io.Discard, c) // a reopening: silence
			return
		}
		if _, err := ws.Upgrade(c); err != nil {
			return
		}
	})
	s := &sink{}
	began := time.Now()
	runInto(t, s, Config{URL: srv.url(), Conns: 1, Hold: 300 * time.Millisecond, HandshakeTimeout: time.Minute,
		Reconnect: true, ReconnectMin: 10 * time.Millisecond, ReconnectMax: 10 * time.Millisecond})
	if took := time.Since(began); took > 5*time.Second {
		t.Fatalf("the run took %v: it waited for a reopening in flight", took)
	}
	if len(s.dropped) != 1 || len(s.failed) != 0 || len(s.upgraded) != 1 {
		t.Fatalf("dropped %d, failed %v, upgraded %d; want the one drop, no failure, the first upgrade", len(s.dropped), s.failed, len(s.upgraded))
	}
	if n.Load() < 2 {
		t.Fatalf("the server saw %d connections: no reopening was tried", n.Load())
	}
}
