package integration

import (
	"math"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wshold/wshold/internal/check"
	"github.com/wshold/wshold/internal/labtest"
	"github.com/wshold/wshold/report"
)

// longEnv opts in to the default-length cases (lighttpd's and Varnish's
// 60 s defaults), which hold connections for over a minute each.
const longEnv = "WSHOLD_LONG_TESTS"

func requireLong(t *testing.T) {
	t.Helper()
	if os.Getenv(longEnv) == "" {
		t.Skipf("a default-length run of over a minute; set %s=1 to run it", longEnv)
	}
}

// noEvent fails t when any cluster is attributed to an event.
func noEvent(t *testing.T, res *report.Result) {
	t.Helper()
	for _, c := range res.Drops.Clusters {
		if c.Cause == "event" {
			t.Errorf("cluster %+v is called an event; all clusters %+v", c, res.Drops.Clusters)
		}
	}
}

// lighttpd checks idle connections once a second on whole seconds: with
// server.max-read-idle 3 it cuts them between 3 and 5 s, in batches one
// second apart. That is one idle timer, not a series of events; the result
// names lighttpd (its Server header) and its setting.
func TestLighttpdIdleTimerCutsInWholeSecondBatches(t *testing.T) {
	t.Parallel()
	l := labtest.Lighttpd(t, "lighttpd-timeout.conf", map[string]string{"UPSTREAM": backend(t), "TIMEOUT": "3"})
	res := run(t, scenarioFor(l.URL("/ws"), 200, 200, 8*time.Second))
	if res.Counts.Upgraded != 200 || res.Counts.Dropped != 200 || res.Drops.ByKind["eof"] != 200 {
		t.Fatalf("counts %+v, by kind %v: want 200 upgraded and cut with eof", res.Counts, res.Drops.ByKind)
	}
	noEvent(t, res)
	c := largestCluster(t, res, 150)
	if c.Cause != "idle_timeout" || c.Clock == "wall" || c.AtMs < 3000 || c.AtMs > 5000 {
		t.Fatalf("largest cluster %+v: want an idle timeout between 3 and 5 s", c)
	}
	// Opened over one second, the connections fall into one, two or three
	// of lighttpd's checks: two sweeps are one timer, but no period.
	// lighttpd's checks, or (when the ramp fell within one of its seconds)
	// one sweep read through lighttpd's known granularity.
	if c.Sweeps < 1 || c.PeriodMs != 0 && (c.PeriodMs < 900 || c.PeriodMs > 1100) {
		t.Errorf("cluster %+v: want it read from its sweeps, and a period only of 1 s (evidence %q)", c, c.Evidence)
	}
	if p := res.Proxy; p == nil || p.Name != "lighttpd" || !strings.HasPrefix(strings.Join(p.Evidence, " "), "Server: lighttpd/") {
		t.Errorf("proxy %+v: want lighttpd, named by its Server header", p)
	}
	if !strings.Contains(c.Hint, "server.max-read-idle") {
		t.Errorf("hint %q does not name lighttpd's server.max-read-idle", c.Hint)
	}
}

// A coarse idle timer from a product wshold cannot name: lighttpd calling
// itself "frontdoor" (lighttpd-anon-timeout, server.max-read-idle 3),
// checking its connections once a second. At -c 30 -r 10 the ramp outlasts
// three checks, so the drops come in three or more batches a second apart,
// each cut within a millisecond — the shape that was read as three reloads.
// From the drops alone (no name, no row in the table) they are one idle
// timeout, its value the lower edge of the drops (near 3 s: lighttpd
// counts whole seconds), and no event; with a control group the
// pinging half lives and nothing else is doubted.
func TestUnnamedCoarseTimerAtASlowRampIsOneIdleTimeout(t *testing.T) {
	t.Parallel()
	for _, control := range []bool{false, true} {
		name := "silent"
		if control {
			name = "with a control group"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			l := labtest.Lighttpd(t, "lighttpd-anon-timeout.conf", map[string]string{"UPSTREAM": backend(t), "TIMEOUT": "3"})
			sc := scenarioFor(l.URL("/ws"), 30, 10, 8*time.Second)
			want := int64(30)
			if control {
				sc.Ping = 1_000_000_000
				sc.PingFraction = 0.5
				want = 15
			}
			res := run(t, sc)
			if res.Counts.Upgraded != 30 || res.Counts.Dropped != want || res.Drops.ByKind["eof"] != want {
				t.Fatalf("counts %+v, by kind %v: want 30 upgraded and %d cut with eof", res.Counts, res.Drops.ByKind, want)
			}
			if p := res.Proxy; p != nil && p.Name == "lighttpd" {
				t.Fatalf("proxy %+v: the anonymous lighttpd must not be known by name, or the test tests nothing", p)
			}
			noEvent(t, res)
			if len(res.Drops.Clusters) != 1 {
				t.Fatalf("clusters %+v: want one", res.Drops.Clusters)
			}
			c := res.Drops.Clusters[0]
			if c.Count != want || c.Cause != "idle_timeout" || c.Clock == "wall" || c.Alternative == "event" {
				t.Fatalf("cluster %+v: want all %d drops as one idle timeout, no event", c, want)
			}
			// The timer's value is the lower edge of the drops, and the
			// cluster reaches up from it — on the idle clock, not the
			// moment of a sweep. lighttpd counts whole seconds from a
			// clock it refreshes as its loop runs, so the edge lies near
			// the 3 s set: up to two seconds above, and a stale stamp can
			// put it a little below.
			least := math.Inf(1)
			for _, e := range res.Drops.Events {
				v := e.IdleMs
				if c.Clock == "age" {
					v = e.AgeMs
				}
				least = min(least, v)
			}
			if math.Abs(c.AtMs-least) > 0.01 || c.AtMs < 2500 || c.AtMs > 5000 || c.ToMs < c.AtMs+500 {
				t.Errorf("cluster at %.0f to %.0f ms: want its value the lower edge of the drops' idle times (%.0f ms), near 3 s", c.AtMs, c.ToMs, least)
			}
			if c.Sweeps < 2 {
				t.Errorf("cluster %+v: want it read from its sweeps", c)
			}
			if c.PeriodMs != 0 && (c.PeriodMs < 950 || c.PeriodMs > 1050) {
				t.Errorf("period %.0f ms, want none or lighttpd's 1 s", c.PeriodMs)
			}
			if control && (c.Alternative != "" || !hasControlEvidence(c)) {
				t.Errorf("cluster %+v: with the control group, an idle timeout and nothing else", c)
			}
			line := report.VerdictLine(res)
			if !strings.Contains(line, "idle timeout of ") || strings.Contains(line, "event") {
				t.Errorf("verdict %q: want the idle timeout's value and no event", line)
			}
			t.Logf("%s", line)
		})
	}
}

// lighttpd by name, its 3 s timer at the slow ramp, with a control group
// (--ping 1s --ping-fraction 0.5): the silent half is cut in sweeps a
// second apart, the pinging half lives. The split refutes an event, so no
// cluster is one or offers one as its alternative: every cluster is an
// idle timeout, its value the lower edge of its drops (near 3 s: whole
// seconds). Most runs give one cluster; a run whose ramp falls on
// lighttpd's second boundaries can give sweeps that no single threshold
// explains (one spared a connection older than another cut), which stay
// apart — as idle timeouts, never events.
func TestLighttpdSweepsWithAControlGroupAreNoEvent(t *testing.T) {
	t.Parallel()
	l := labtest.Lighttpd(t, "lighttpd-timeout.conf", map[string]string{"UPSTREAM": backend(t), "TIMEOUT": "3"})
	sc := scenarioFor(l.URL("/ws"), 30, 10, 8*time.Second)
	sc.Ping = 1_000_000_000
	sc.PingFraction = 0.5
	res := run(t, sc)
	if res.Counts.Upgraded != 30 || res.Counts.Dropped != 15 || res.Drops.ByKind["eof"] != 15 {
		t.Fatalf("counts %+v, by kind %v: want 30 upgraded and the 15 silent ones cut with eof", res.Counts, res.Drops.ByKind)
	}
	clustered := int64(0)
	for _, c := range res.Drops.Clusters {
		if c.Cause != "idle_timeout" || c.Alternative == "event" || c.Clock == "wall" {
			t.Errorf("cluster %+v: want an idle timeout, no event, which the control group refutes", c)
		}
		if c.AtMs < 2500 || c.AtMs > 5000 {
			t.Errorf("idle timeout at %.0f ms: want its value, the lower edge, near 3 s (see above)", c.AtMs)
		}
		clustered += c.Count
	}
	if clustered < 10 {
		t.Errorf("%d of the 15 drops clustered: %+v", clustered, res.Drops.Clusters)
	}
	if p := res.Proxy; p == nil || p.Name != "lighttpd" {
		t.Errorf("proxy %+v: want lighttpd", p)
	}
	t.Logf("%s", report.VerdictLine(res))
}

func hasControlEvidence(c report.Cluster) bool {
	for _, e := range c.Evidence {
		if strings.Contains(e, "control group") {
			return true
		}
	}
	return false
}

// mod_proxy without proxy.header "upgrade": lighttpd forwards a plain GET,
// the backend refuses it, and both run's hint and check give lighttpd's
// fix first, naming lighttpd (never "no proxy named itself").
func TestLighttpdWithoutUpgradeHeaderGivesLighttpdsFix(t *testing.T) {
	t.Parallel()
	l := labtest.Lighttpd(t, "lighttpd-broken.conf", map[string]string{"UPSTREAM": backend(t)})
	res := run(t, scenarioFor(l.URL("/ws"), 50, 500, time.Second))
	if res.Counts.Failed != 50 || len(res.Failures) != 1 || res.Failures[0].Status != 400 {
		t.Fatalf("failures %+v, want all 50 refused with 400", res.Failures)
	}
	if h := res.Failures[0].Hint; !strings.Contains(h, `proxy.header = ("upgrade" => "enable")`) || strings.Contains(h, "proxy_http_version") {
		t.Errorf("hint %q: want lighttpd's fix alone", h)
	}
	if res.Proxy == nil || res.Proxy.Name != "lighttpd" {
		t.Errorf("proxy %+v, want lighttpd", res.Proxy)
	}
	rep, text := checkText(t, l.URL("/ws"))
	if rep.OK || rep.Proxy != check.ProxyLighttpd || len(rep.Fixes) == 0 || rep.Fixes[0].For != check.ProxyLighttpd {
		t.Fatalf("check: ok %v proxy %q first fix %+v; want lighttpd and its fix first:\n%s", rep.OK, rep.Proxy, rep.Fixes, text)
	}
	if strings.Contains(text, "no proxy named itself") {
		t.Errorf("check says no proxy named itself, though lighttpd did:\n%s", text)
	}
}

// Varnish piping upgrades with pipe_timeout 3: nothing in the piped 101
// names Varnish, so the scenario says it (--proxy varnish) and hands the
// VCL (whose varnishd-params line sets pipe_timeout): the configured value
// is the first match, and the proxy is Varnish as stated.
func TestVarnishPipeTimeoutWithTheProxyStated(t *testing.T) {
	t.Parallel()
	v := labtest.Varnish(t, "varnish-pipe.vcl", map[string]string{"UPSTREAM": backend(t), "TIMEOUT": "3"})
	sc := scenarioFor(v.URL("/ws"), 200, 1000, 6*time.Second)
	sc.Proxy = "varnish"
	sc.ProxyConfigs = []string{v.ConfigPath()}
	res := run(t, sc)
	c := idleCut(t, res, 200, 3000)
	if len(c.Matches) == 0 || !strings.HasPrefix(c.Matches[0], "the configured pipe_timeout 3 s in ") {
		t.Errorf("matches %q: want the configured pipe_timeout first", c.Matches)
	}
	if p := res.Proxy; p == nil || p.Name != "varnish" || p.Evidence[0] != "stated with --proxy varnish" {
		t.Errorf("proxy %+v: want Varnish, as stated", p)
	}
}

// Without the pipe rule Varnish forwards a plain GET; its Via names it, and
// run's hint and check give Varnish's fix first.
func TestVarnishWithoutThePipeRuleGivesVarnishsFix(t *testing.T) {
	t.Parallel()
	v := labtest.Varnish(t, "varnish-broken.vcl", map[string]string{"UPSTREAM": backend(t)})
	res := run(t, scenarioFor(v.URL("/ws"), 50, 500, time.Second))
	if res.Counts.Failed != 50 || len(res.Failures) != 1 || res.Failures[0].Status != 400 {
		t.Fatalf("failures %+v, want all 50 refused with 400", res.Failures)
	}
	if h := res.Failures[0].Hint; !strings.Contains(h, "return (pipe)") || strings.Contains(h, "proxy_http_version") {
		t.Errorf("hint %q: want Varnish's fix alone", h)
	}
	if res.Proxy == nil || res.Proxy.Name != "varnish" || !strings.Contains(strings.Join(res.Proxy.Evidence, " "), "Via: 1.1 varnish") {
		t.Errorf("proxy %+v, want Varnish named by Via", res.Proxy)
	}
	rep, text := checkText(t, v.URL("/ws"))
	if rep.OK || rep.Proxy != check.ProxyVarnish || len(rep.Fixes) == 0 || rep.Fixes[0].For != check.ProxyVarnish {
		t.Fatalf("check: ok %v proxy %q first fix %+v; want Varnish and its fix first:\n%s", rep.OK, rep.Proxy, rep.Fixes, text)
	}
}

// nginx proxy_read_timeout 2s, half the connections pinging every 3 s:
// the pings are too sparse, so both halves die 2 s after their last frame.
// An idle timeout, not a lifetime.
func TestPingsSparserThanNginxsTimeoutAreAnIdleTimeout(t *testing.T) {
	t.Parallel()
	nginx := labtest.Nginx(t, "nginx-timeout.conf", map[string]string{"UPSTREAM": backend(t), "TIMEOUT": "2"})
	// Opened over a second, so that a batch of timers nginx fires late is
	// not taken for an event (see the burst cases for that).
	sc := scenarioFor(nginx.URL("/ws"), 200, 200, 7*time.Second)
	sc.Ping = 3_000_000_000
	sc.PingFraction = 0.5
	res := run(t, sc)
	if res.Counts.Dropped != 200 {
		t.Fatalf("counts %+v: want all 200 cut", res.Counts)
	}
	c := largestCluster(t, res, 150)
	if c.Cause != "idle_timeout" || !near(c.AtMs, 2000, clusterTolMs) {
		t.Fatalf("largest cluster %+v: want an idle timeout at 2 s; all %+v", c, res.Drops.Clusters)
	}
	for _, c := range res.Drops.Clusters {
		if c.Cause == "max_lifetime" {
			t.Errorf("cluster %+v called a lifetime", c)
		}
	}
}

// The backend killed 6 s into the hold, after 50 connections opened in a
// burst: the ages are as tight as the moment, so the verdict names an
// event and an idle timeout of 6 s alike, and claims no known default.
func TestBackendKillAfterABurstIsAnEventOrATimerNeverADefault(t *testing.T) {
	t.Parallel()
	addr, pid := childBackend(t)
	sc := scenarioFor("ws://"+addr+"/ws", 50, 0, 9*time.Second)
	killed := time.AfterFunc(6*time.Second, func() { _ = syscall.Kill(pid, syscall.SIGKILL) })
	defer killed.Stop()
	res := run(t, sc)
	if res.Counts.Upgraded != 50 || res.Counts.Dropped != 50 {
		t.Fatalf("counts %+v: want 50 upgraded and dropped", res.Counts)
	}
	c := largestCluster(t, res, 40)
	if c.Cause != "event" && c.Alternative != "event" {
		t.Errorf("cluster %+v: want an event, or an event as the close alternative", c)
	}
	line := report.VerdictLine(res)
	if strings.Contains(line, "matches") || !strings.Contains(line, "event") {
		t.Errorf("verdict %q: want the event named and no default claimed", line)
	}
}

// A server that stops answering (SIGSTOP) with --ping 2s --pong-timeout
// 5s: the pong timeouts cluster on the time since the unanswered ping,
// not on the 2 s idle time the client's own pings leave.
func TestStoppedServerPongTimeoutsAreNotAtTheirIdleTime(t *testing.T) {
	t.Parallel()
	addr, pid := childBackend(t)
	sc := scenarioFor("ws://"+addr+"/ws", 50, 500, 16*time.Second)
	sc.Ping = 2_000_000_000
	sc.PongTimeout = 5_000_000_000
	// Stopped once every connection is up and the hold has begun, however
	// long a loaded machine takes to get there.
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGCONT) })
	h := startHeldRun(t, sc)
	h.waitHolding(t)
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatalf("stopping the backend: %v", err)
	}
	res := h.result(t)
	if res.Drops.ByKind["pong_timeout"] < 40 {
		t.Fatalf("by kind %v: want the connections ended as pong_timeout", res.Drops.ByKind)
	}
	// Each loop checks its connections once per ping interval at its own
	// phase, so the loops' pong timeouts may form a cluster each (seen
	// under load: 26 at 5.92 s and 24 at 6.01 s): every cluster must be
	// on the pong clock, 5 to 7.5 s after the ping, and together hold
	// nearly all.
	var clustered int64
	for _, c := range res.Drops.Clusters {
		if c.Clock != "pong" || c.AtMs < 5000 || c.AtMs > 7500 {
			t.Errorf("cluster %+v: want it on the pong clock, 5 to 7.5 s after the ping", c)
		}
		clustered += c.Count
	}
	if clustered < 40 {
		t.Errorf("clusters %+v hold %d drops, want at least 40 of 50", res.Drops.Clusters, clustered)
	}
	if line := report.VerdictLine(res); strings.Contains(line, "at 2.0 s") {
		t.Errorf("verdict %q reports the pong timeouts at their idle time", line)
	}
}

// lighttpd's default, 60 s, checked once a second: 200 connections opened
// over a second are cut between 60 and 62 s in batches, one idle timeout
// whose first match is lighttpd's server.max-read-idle.
func TestLighttpdDefaultIdleTimer(t *testing.T) {
	requireLong(t)
	t.Parallel()
	l := labtest.Lighttpd(t, "lighttpd-default.conf", map[string]string{"UPSTREAM": backend(t)})
	res := run(t, scenarioFor(l.URL("/ws"), 200, 200, 75*time.Second))
	noEvent(t, res)
	c := largestCluster(t, res, 150)
	if c.Cause != "idle_timeout" || len(c.Matches) == 0 || !strings.HasPrefix(c.Matches[0], "lighttpd server.max-read-idle default") {
		t.Fatalf("largest cluster %+v: want an idle timeout matching lighttpd's server.max-read-idle first", c)
	}
	if res.Proxy == nil || res.Proxy.Name != "lighttpd" {
		t.Errorf("proxy %+v, want lighttpd", res.Proxy)
	}
}

// Varnish's default pipe_timeout, 60 s: with the proxy stated, Varnish's
// pipe_timeout is the first match.
func TestVarnishDefaultPipeTimeout(t *testing.T) {
	requireLong(t)
	t.Parallel()
	v := labtest.Varnish(t, "varnish-default.vcl", map[string]string{"UPSTREAM": backend(t)})
	sc := scenarioFor(v.URL("/ws"), 200, 1000, 65*time.Second)
	sc.Proxy = "varnish"
	res := run(t, sc)
	c := idleCut(t, res, 200, 60_000)
	if len(c.Matches) == 0 || c.Matches[0] != "Varnish pipe_timeout default (60 s)" {
		t.Errorf("matches %q: want Varnish's pipe_timeout first", c.Matches)
	}
}
