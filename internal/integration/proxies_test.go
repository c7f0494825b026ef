package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wshold/wshold/internal/check"
	"github.com/wshold/wshold/internal/labtest"
	"github.com/wshold/wshold/internal/runner"
	"github.com/wshold/wshold/report"
)

// Tolerances for where a cluster lies, as the product promises them: a
// proxy's timer fires within milliseconds, and the rest is a loaded 2-core
// machine reading the FINs late.
const (
	clusterTolMs = 300
	sixtyTolMs   = 500
	// reloadTookMs bounds how long after a reload command starts the
	// proxy acts on it.
	reloadTookMs = 2000
)

// idleCut asserts that every one of n connections was upgraded and then
// cut with a bare FIN, and that the largest cluster, holding at least half
// of them, lies at wantMs ± clusterTolMs and is an idle timeout. (On a
// loaded machine a proxy fires some timers late, in a batch, and the
// harness reads some FINs late: those then form small clusters of their
// own.)
func idleCut(t *testing.T, res *report.Result, n int64, wantMs float64) report.Cluster {
	t.Helper()
	if res.Counts.Upgraded != n || res.Counts.Dropped != n || res.Drops.ByKind["eof"] != n {
		t.Fatalf("upgraded %d dropped %d by kind %v, want %d upgraded and cut with eof; failures %+v",
			res.Counts.Upgraded, res.Counts.Dropped, res.Drops.ByKind, n, res.Failures)
	}
	c := largestCluster(t, res, n/2)
	if !near(c.AtMs, wantMs, clusterTolMs) || c.Kind != "eof" || c.Clock == "wall" || c.Cause != "idle_timeout" {
		t.Fatalf("largest cluster %+v, want eof at %.0f ms ± %d on the age or idle clock, an idle timeout; all %+v",
			c, wantMs, clusterTolMs, res.Drops.Clusters)
	}
	return c
}

// checkText runs wshold check against url and returns the report and its
// text.
func checkText(t *testing.T, url string) (*check.Report, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rep, err := check.Run(ctx, url, check.Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("check %s: %v", url, err)
	}
	var b strings.Builder
	if err := rep.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	return rep, b.String()
}

// Without "timeout tunnel", HAProxy cuts an idle tunnel at the smaller of
// timeout client and timeout server, whichever side that is.
func TestHAProxyWithoutTunnelTimeoutCutsAtTheSmallerOfClientAndServer(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ client, server string }{{"5", "3"}, {"3", "5"}} {
		t.Run("client "+tc.client+"s server "+tc.server+"s", func(t *testing.T) {
			t.Parallel()
			hap := labtest.HAProxy(t, "haproxy-client-server.cfg", map[string]string{
				"UPSTREAM": backend(t), "CLIENT": tc.client, "SERVER": tc.server})
			res := run(t, scenarioFor(hap.URL("/ws"), 200, 2000, 6*time.Second))
			idleCut(t, res, 200, 3000)
		})
	}
}

// With "timeout tunnel 4s" (client and server at 2 s), the tunnel timeout
// replaces both once the connection is upgraded. HAProxy writes every
// header name in lower case ("upgrade: websocket"); the 101 is still valid,
// for the run and for check.
func TestHAProxyTunnelTimeoutReplacesClientAndServer(t *testing.T) {
	t.Parallel()
	hap := labtest.HAProxy(t, "haproxy-tunnel.cfg", map[string]string{"UPSTREAM": backend(t), "TIMEOUT": "4"})
	res := run(t, scenarioFor(hap.URL("/ws"), 200, 2000, 6*time.Second))
	c := idleCut(t, res, 200, 4000)
	if !strings.Contains(c.Hint, "HAProxy timeout tunnel") {
		t.Errorf("hint %q does not name HAProxy's timeout tunnel among the candidates", c.Hint)
	}

	rep, text := checkText(t, hap.URL("/ws"))
	if !rep.OK || rep.Response == nil || rep.Response.Status != 101 {
		t.Fatalf("check rejected HAProxy's 101:\n%s", text)
	}
	if !strings.Contains(text, "upgrade: websocket") {
		t.Errorf("check output does not show HAProxy's lower-cased header names:\n%s", text)
	}
}

// Apache cuts an idle tunnel at max(Timeout, ProxyTimeout): lowering either
// one alone leaves the other in force.
func TestApacheCutsAtTheLargerOfTimeoutAndProxyTimeout(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ server, proxy string }{{"2", "4"}, {"4", "2"}} {
		t.Run(fmt.Sprintf("Timeout %s ProxyTimeout %s", tc.server, tc.proxy), func(t *testing.T) {
			t.Parallel()
			apache := labtest.Apache(t, "apache-max.conf", map[string]string{
				"UPSTREAM": backend(t), "SERVER_TIMEOUT": tc.server, "PROXY_TIMEOUT": tc.proxy})
			res := run(t, scenarioFor(apache.URL("/ws"), 200, 1000, 6*time.Second))
			idleCut(t, res, 200, 4000)
		})
	}
}

// ProxyPass without upgrade=websocket: Apache drops Upgrade, the backend
// refuses the plain GET, every attempt fails alike, and check names Apache
// and the missing parameter.
func TestApacheWithoutUpgradeWebsocketFailsEveryUpgradeAndCheckNamesTheFix(t *testing.T) {
	t.Parallel()
	apache := labtest.Apache(t, "apache-noupgrade.conf", map[string]string{"UPSTREAM": backend(t)})
	res := run(t, scenarioFor(apache.URL("/ws"), 100, 1000, time.Second))
	if res.Counts.Failed != 100 || len(res.Failures) != 1 {
		t.Fatalf("failed %d in groups %+v, want 100 in one group", res.Counts.Failed, res.Failures)
	}
	if f := res.Failures[0]; f.Cause != "http" || f.Status != 400 || !strings.Contains(f.Hint, "upgrade=websocket") {
		t.Fatalf("failure %+v: want HTTP 400 with a hint naming upgrade=websocket", f)
	}

	rep, text := checkText(t, apache.URL("/ws"))
	if rep.OK || rep.Proxy != check.ProxyApache {
		t.Fatalf("check: ok %v, proxy %q; want a failure answered through Apache:\n%s", rep.OK, rep.Proxy, text)
	}
	if i, j := strings.Index(text, "Apache"), strings.Index(text, "upgrade=websocket"); i < 0 || j < 0 {
		t.Fatalf("check output does not name Apache and upgrade=websocket:\n%s", text)
	}
	// The detected proxy's fix comes first.
	if i, j := strings.Index(text, "upgrade=websocket"), strings.Index(text, "proxy_http_version"); j >= 0 && j < i {
		t.Errorf("check lists nginx's fix before Apache's:\n%s", text)
	}
}

// Caddy never times out an idle WebSocket.
func TestCaddyKeepsIdleConnections(t *testing.T) {
	t.Parallel()
	caddy := labtest.Caddy(t, "Caddyfile", map[string]string{"UPSTREAM": backend(t)})
	res := run(t, scenarioFor(caddy.URL("/ws"), 200, 2000, 6*time.Second))
	if res.Counts.Upgraded != 200 || res.Counts.Dropped != 0 || res.Verdict != "pass" {
		t.Fatalf("upgraded %d dropped %d verdict %s, want 200/0/pass; clusters %+v", res.Counts.Upgraded, res.Counts.Dropped, res.Verdict, res.Drops.Clusters)
	}
}

// Any "caddy reload" closes every WebSocket at once, with a close frame
// 1001, and the verdict blames the --at command that did it.
//
// Caddy 2.6 also sends the backend an unmasked close frame, which a strict
// backend (wshold serve, Node's ws) answers with close 1002; Caddy relays
// that, and for some connections (a few in a hundred; more on a busy
// machine) it arrives before Caddy's own 1001. So every connection ends
// with a close frame at the reload, most of them 1001, the rest 1002.
func TestCaddyReloadClosesEveryConnectionWith1001AndTheVerdictNamesIt(t *testing.T) {
	t.Parallel()
	caddy := labtest.Caddy(t, "Caddyfile", map[string]string{"UPSTREAM": backend(t)})
	reload := labtest.RequireBinary(t, "caddy") + " reload --adapter caddyfile --force --config " + caddy.ConfigPath()
	res := runAt(t, scenarioFor(caddy.URL("/ws"), 200, 2000, 6*time.Second), runner.At{Offset: 2 * time.Second, Command: reload})

	mark := theMark(t, res)
	k := res.Drops.ByKind
	if res.Counts.Upgraded != 200 || res.Counts.Dropped != 200 || k["close_1001"]+k["close_1002"] != 200 || k["close_1001"] <= 100 {
		t.Fatalf("upgraded %d dropped %d by kind %v, want 200 closed by close frames, most of them 1001",
			res.Counts.Upgraded, res.Counts.Dropped, k)
	}
	twoSecondsIn := float64(res.HoldStart.Sub(res.Start)/time.Microsecond)/1000 + 2000
	if !near(mark.AtMs, twoSecondsIn, clusterTolMs) {
		t.Fatalf("the --at command ran at %.1f ms into the run, want 2 s into the hold (%.0f ms)", mark.AtMs, twoSecondsIn)
	}
	// The mark is when "caddy reload" started; Caddy closes the old
	// connections once it runs the new config, ≈0.1 s later on an idle
	// machine (the command is a 40 MB binary that takes 0.3 s to start
	// on a busy one).
	followedWithin(t, res, mark, 0, reloadTookMs)
	c := largestCluster(t, res, 100)
	if c.Kind != "close_1001" || !strings.Contains(c.Hint, "follows --at 2s: ") || !strings.Contains(c.Hint, "Caddy") {
		t.Fatalf("largest cluster %+v: want close_1001 and a hint naming the --at command and Caddy's reload", c)
	}
	if line := report.VerdictLine(res); !strings.Contains(line, "close frame 1001") || !strings.Contains(line, "event: --at 2s: ") {
		t.Errorf("verdict %q: want the 1001 closes attributed to the --at event", line)
	}
}

// A control group tells an idle timeout from a lifetime limit: through a
// 3 s proxy_read_timeout, the silent half drops at 3 s and the half that
// pings every second survives.
func TestNginxPingingControlGroupSurvivesAnIdleTimeout(t *testing.T) {
	t.Parallel()
	nginx := labtest.Nginx(t, "nginx-timeout.conf", map[string]string{"UPSTREAM": backend(t), "TIMEOUT": "3"})
	sc := scenarioFor(nginx.URL("/ws"), 200, 2000, 6*time.Second)
	sc.Ping = 1_000_000_000
	sc.PingFraction = 0.5
	res := run(t, sc)

	if res.Counts.Upgraded != 200 || res.Counts.Dropped != 100 || res.Counts.Held != 100 || res.Drops.ByKind["eof"] != 100 {
		t.Fatalf("counts %+v, by kind %v: want 200 upgraded, 100 cut with eof, 100 held", res.Counts, res.Drops.ByKind)
	}
	for _, e := range res.Drops.Events {
		if e.Pinging {
			t.Fatalf("a pinging connection dropped: %+v", e)
		}
	}
	c := largestCluster(t, res, 50)
	if c.Kind != "eof" || c.Cause != "idle_timeout" || !near(c.AtMs, 3000, clusterTolMs) {
		t.Fatalf("largest cluster %+v: want eof at 3000 ms ± %d, an idle timeout", c, clusterTolMs)
	}
	if strings.Contains(c.Hint, "looks the same without a pinging control group") {
		t.Errorf("hint %q still doubts what the control group settled", c.Hint)
	}
	if line := report.VerdictLine(res); !strings.Contains(line, "idle timeout") {
		t.Errorf("verdict %q does not say idle timeout", line)
	}
}

// The real thing once: nginx's default proxy_read_timeout, 60 s, with a
// few hundred idle connections. This runs for about 70 s, in parallel with
// the rest.
func TestNginxDefaultCutsIdleConnectionsAtSixtySeconds(t *testing.T) {
	t.Parallel()
	nginx := labtest.Nginx(t, "nginx-default.conf", map[string]string{"UPSTREAM": backend(t)})
	res := run(t, scenarioFor(nginx.URL("/ws"), 300, 1000, 65*time.Second))
	if res.Counts.Upgraded != 300 || res.Counts.Dropped != 300 {
		t.Fatalf("upgraded %d dropped %d, want 300/300; failures %+v", res.Counts.Upgraded, res.Counts.Dropped, res.Failures)
	}
	c := largestCluster(t, res, 150)
	if c.Kind != "eof" || c.Clock == "wall" || !near(c.AtMs, 60_000, sixtyTolMs) || res.Drops.ByKind["eof"] != 300 {
		t.Fatalf("largest cluster %+v, by kind %v: want eof at 60000 ms ± %d; all %+v", c, res.Drops.ByKind, sixtyTolMs, res.Drops.Clusters)
	}
	if !strings.Contains(c.Hint, "nginx proxy_read_timeout") {
		t.Errorf("hint %q does not name nginx's proxy_read_timeout", c.Hint)
	}
	if line := report.VerdictLine(res); !strings.Contains(line, "matches nginx proxy_read_timeout default (60 s)") {
		t.Errorf("verdict %q does not name nginx's default", line)
	}
}

// Out of worker_connections, nginx closes new connections before reading
// them: no status line at all. That is its own cause, not an HTTP failure
// and not "error", and its hint names the limit.
func TestNginxOutOfWorkerConnectionsAnswersNothing(t *testing.T) {
	t.Parallel()
	nginx := labtest.Nginx(t, "nginx-tinyconns.conf", map[string]string{"UPSTREAM": backend(t), "CONNS": "32"})
	sc := scenarioFor(nginx.URL("/ws"), 100, 500, time.Second)
	sc.HandshakeTimeout = 10_000_000_000
	res := run(t, sc)

	// 32 worker connections, two per proxied WebSocket.
	if res.Counts.Upgraded < 1 || res.Counts.Upgraded > 16 {
		t.Fatalf("upgraded %d, want 1..16 of 100 through 32 worker_connections; failures %+v", res.Counts.Upgraded, res.Failures)
	}
	var noAnswer int64
	for _, f := range res.Failures {
		if f.Cause != "reset" && f.Cause != "eof" {
			t.Errorf("failure %+v: want only resets or EOFs before any status line", f)
			continue
		}
		noAnswer += f.Count
		if f.Status != 0 || !strings.Contains(f.Hint, "worker_connections") {
			t.Errorf("failure %+v: want status 0 and a hint naming worker_connections", f)
		}
	}
	if noAnswer != 100-res.Counts.Upgraded {
		t.Fatalf("%d failed without an answer, want %d; failures %+v", noAnswer, 100-res.Counts.Upgraded, res.Failures)
	}
	if line := report.VerdictLine(res); !strings.Contains(line, "proxy closed before answering") {
		t.Errorf("verdict %q does not say the proxy closed before answering", line)
	}
	if log := nginx.ErrorLog(); !strings.Contains(log, "worker_connections are not enough") {
		t.Errorf("nginx did not log running out of worker_connections; the test did not test that")
	}
}
