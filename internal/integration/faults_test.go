package integration

import (
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wshold/wshold/internal/labtest"
	"github.com/wshold/wshold/internal/relay"
	"github.com/wshold/wshold/report"
)

// Faults on the path are told apart from proxy timeouts: each test breaks
// something at a known moment of the hold and checks that wshold reports
// what happened, when, and how — and does not blame an idle timeout.

// assertEventAt checks that every drop happened at wantMs (no sooner, and
// at most tolMs later), that the drops' clusters are events on the wall
// clock and cover nearly all of them, and that no cluster is put down to an
// idle timeout or names a proxy's default. (One fault may make more than one
// cluster: nginx's two workers die a few ms apart, on a loaded machine
// hundreds.)
func assertEventAt(t *testing.T, res *report.Result, wantMs, tolMs float64) {
	t.Helper()
	if int64(len(res.Drops.Events)) != res.Drops.Count || res.Drops.Count == 0 {
		t.Fatalf("%d drop events for %d drops, want them all and some", len(res.Drops.Events), res.Drops.Count)
	}
	for _, e := range res.Drops.Events {
		// 20 ms: the test's clock and the run's are read apart.
		if e.AtMs < wantMs-20 || e.AtMs > wantMs+tolMs {
			t.Fatalf("a drop at %.0f ms, want every drop within %.0f ms after the fault at %.0f ms", e.AtMs, tolMs, wantMs)
		}
	}
	var clustered int64
	for _, c := range res.Drops.Clusters {
		clustered += c.Count
		if c.Clock != "wall" || c.Cause != "event" || strings.Contains(c.Hint, "proxy_read_timeout") || strings.Contains(c.Hint, "matches") {
			t.Errorf("cluster %+v, want an event on the wall clock with a hint that blames no timeout", c)
		}
	}
	if clustered*10 < res.Drops.Count*9 {
		t.Errorf("clusters %+v hold %d of %d drops, want at least 90%%", res.Drops.Clusters, clustered, res.Drops.Count)
	}
}

// A proxy that dies (SIGKILL of nginx's master and workers) or is stopped
// for a restart (SIGTERM: nginx's fast shutdown) during the hold ends every
// connection at that moment. wshold puts the drops on the wall clock at
// the moment it happened, as an event, with a FIN or RST — not at a
// proxy timeout, though nginx here would cut idle connections only after a
// day.
func TestFaultProxyKilledOrStoppedDropsEveryConnectionAtThatMoment(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		act  func(*labtest.Proxy) error
	}{
		{"SIGKILL", func(p *labtest.Proxy) error { p.Kill(); return nil }},
		{"SIGTERM", func(p *labtest.Proxy) error { return p.Stop() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			nginx := labtest.Nginx(t, "nginx-86400.conf", map[string]string{"UPSTREAM": backend(t)})
			// 400 over 2 s: the connections' ages at the fault spread over
			// 2 s, so only the wall clock can explain the drops.
			h := startHeldRun(t, scenarioFor(nginx.URL("/ws"), 400, 200, time.Minute))
			h.waitHolding(t)
			time.Sleep(time.Second)
			at := time.Now()
			if err := tc.act(nginx); err != nil {
				t.Fatal(err)
			}
			res := h.result(t) // the run ends once nothing is left alive
			if res.Counts.Upgraded != 400 || res.Counts.Dropped != 400 {
				t.Fatalf("counts %+v, want 400 upgraded and all 400 dropped", res.Counts)
			}
			if n := res.Drops.ByKind["eof"] + res.Drops.ByKind["reset"]; n != 400 {
				t.Fatalf("by kind %v, want every drop eof or reset (the kernel closes a dead proxy's sockets)", res.Drops.ByKind)
			}
			assertEventAt(t, res, sinceStartMs(res, at), 2000)
			if res.Verdict != "fail" {
				t.Fatalf("verdict %q, want fail", res.Verdict)
			}
		})
	}
}

// An RST from the path (a middlebox aborting connections) is recorded as
// kind reset, for exactly the connections it hit, at that moment.
func TestFaultRSTFromThePathIsReset(t *testing.T) {
	t.Parallel()
	nginx := labtest.Nginx(t, "nginx-86400.conf", map[string]string{"UPSTREAM": backend(t)})
	path, err := relay.Start(nginx.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { path.Close() })

	h := startHeldRun(t, scenarioFor("ws://"+path.Addr()+"/ws", 200, 400, 4*time.Second))
	h.waitHolding(t)
	time.Sleep(500 * time.Millisecond)
	at := time.Now()
	if n := path.Reset(50); n != 50 {
		t.Fatalf("relay reset %d connections, want 50", n)
	}
	res := h.result(t)
	if res.Counts.Upgraded != 200 || res.Counts.Dropped != 50 || res.Counts.Held != 150 {
		t.Fatalf("counts %+v, want 200 upgraded, 50 dropped, 150 held", res.Counts)
	}
	if res.Drops.ByKind["reset"] != 50 {
		t.Fatalf("by kind %v, want 50 reset", res.Drops.ByKind)
	}
	assertEventAt(t, res, sinceStartMs(res, at), 2000)
}

// A path that silently stops forwarding (packets dropped, nothing closed)
// cannot be seen by an idle client: every connection still counts as held.
// Only the closing handshake at the end notices, and the result says so.
func TestFaultHalfOpenPathIsInvisibleWithoutHeartbeats(t *testing.T) {
	t.Parallel()
	nginx := labtest.Nginx(t, "nginx-86400.conf", map[string]string{"UPSTREAM": backend(t)})
	path, err := relay.Start(nginx.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { path.Close() })

	h := startHeldRun(t, scenarioFor("ws://"+path.Addr()+"/ws", 100, 500, 3*time.Second))
	h.waitHolding(t)
	if n := path.Silence(100); n != 100 {
		t.Fatalf("relay silenced %d connections, want 100", n)
	}
	res := h.result(t)
	if res.Counts.Upgraded != 100 || res.Counts.Held != 100 || res.Counts.Dropped != 0 || res.Verdict != "pass" {
		t.Fatalf("counts %+v verdict %s, want all 100 held and a pass: without heartbeats a dead path looks alive", res.Counts, res.Verdict)
	}
	found := false
	for _, w := range res.Warnings {
		found = found || strings.Contains(w, "100 connections did not finish the closing handshake")
	}
	if !found {
		t.Fatalf("warnings %q, want one saying the 100 closing handshakes got no answer", res.Warnings)
	}
}

// With --ping and --pong-timeout the same dead path is found: every
// silenced connection ends as pong_timeout, no sooner than the timeout
// allows and no later than its first unanswered ping (within one ping
// interval) plus the timeout plus one interval (the schedule checks each
// connection once per interval). The others are held.
func TestFaultHalfOpenPathIsFoundByPongTimeout(t *testing.T) {
	t.Parallel()
	const ping, timeout = 500 * time.Millisecond, time.Second
	nginx := labtest.Nginx(t, "nginx-86400.conf", map[string]string{"UPSTREAM": backend(t)})
	path, err := relay.Start(nginx.Addr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { path.Close() })

	sc := scenarioFor("ws://"+path.Addr()+"/ws", 200, 500, 6*time.Second)
	sc.Ping, sc.PongTimeout = scenarioDuration(ping), scenarioDuration(timeout)
	h := startHeldRun(t, sc)
	h.waitHolding(t)
	time.Sleep(time.Second) // pings and pongs flow through the path
	at := time.Now()
	if n := path.Silence(100); n != 100 {
		t.Fatalf("relay silenced %d connections, want 100", n)
	}
	res := h.result(t)
	if res.Counts.Upgraded != 200 || res.Counts.Dropped != 100 || res.Counts.Held != 100 {
		t.Fatalf("counts %+v, want 200 upgraded, 100 dropped, 100 held", res.Counts)
	}
	if res.Drops.ByKind["pong_timeout"] != 100 {
		t.Fatalf("by kind %v, want 100 pong_timeout", res.Drops.ByKind)
	}
	silencedMs := sinceStartMs(res, at)
	// The early bound: a ping sent up to one interval before the silence
	// may go unanswered, and on a loaded machine its pong may still have
	// been on its way through nginx when the relay went silent (seen: a
	// drop 128 ms before silence+timeout-ping under a load of 10), so up
	// to one more interval. With timeout = 2*ping that still says no
	// connection ended before the path went silent.
	lo := silencedMs + float64(timeout-2*ping)/1e6
	hi := silencedMs + float64(2*ping+timeout)/1e6 + 1500
	for _, e := range res.Drops.Events {
		if e.AtMs < lo || e.AtMs > hi {
			t.Fatalf("a pong_timeout drop at %.0f ms; the path went silent at %.0f ms, want drops within [%.0f, %.0f] ms", e.AtMs, silencedMs, lo, hi)
		}
	}
}

// A target that is down at the start: every attempt fails as refused, the
// run ends at once instead of holding nothing for --hold, and the report
// says what to do. Exit status 1: it ran, and the expectations failed.
func TestFaultTargetDownAtStartFailsEveryAttemptAsRefused(t *testing.T) {
	t.Parallel()
	bin := buildWsholdForTest(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now

	out := filepath.Join(t.TempDir(), "r.json")
	got := runCLI(t, bin, time.Minute, "run", "-c", "50", "-r", "500", "--hold", "5m", "--progress", "never", "-o", out, "ws://"+addr+"/ws")
	if got.Code != 1 {
		t.Fatalf("exit %d, want 1\nstdout:\n%s\nstderr:\n%s", got.Code, got.Stdout, got.Stderr)
	}
	if got.Elapsed > 30*time.Second {
		t.Fatalf("took %v with nothing to hold; want it to end once every attempt failed", got.Elapsed)
	}
	for _, want := range []string{"refused", "nothing is listening"} {
		if !strings.Contains(got.Stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, got.Stdout)
		}
	}
	res := mustReadResult(t, out)
	if len(res.Failures) != 1 || res.Failures[0].Cause != "refused" || res.Failures[0].Count != 50 || res.Counts.Upgraded != 0 {
		t.Fatalf("failures %+v counts %+v, want all 50 attempts refused", res.Failures, res.Counts)
	}
}

// A host name that does not resolve is a run that cannot start: exit 2,
// before any attempt, with a message naming the host and the fix.
func TestFaultUnresolvableHostIsAUsageError(t *testing.T) {
	t.Parallel()
	bin := buildWsholdForTest(t)
	// .invalid never resolves (RFC 2606), on any network.
	got := runCLI(t, bin, time.Minute, "run", "-c", "5", "--hold", "1s", "--progress", "never", "ws://no-such-host.invalid/ws")
	if got.Code != 2 {
		t.Fatalf("exit %d, want 2\nstdout:\n%s\nstderr:\n%s", got.Code, got.Stdout, got.Stderr)
	}
	for _, want := range []string{"no-such-host.invalid", "does not resolve", "check the URL"} {
		if !strings.Contains(got.Stderr, want) {
			t.Errorf("message lacks %q:\n%s", want, got.Stderr)
		}
	}
}
