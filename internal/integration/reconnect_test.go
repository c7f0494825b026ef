package integration

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wshold/wshold/internal/labtest"
	"github.com/wshold/wshold/internal/runner"
	"github.com/wshold/wshold/report"
	"github.com/wshold/wshold/scenario"
)

// Reconnect storms through real proxies: the proxy (or its backend) cuts
// every connection at once, every client comes back after its backoff,
// and the result says how long until they were all back and what the
// proxy answered meanwhile.

// reconnecting is sc with reconnects on and expect as its expectations.
func reconnecting(sc scenario.Scenario, expect ...string) scenario.Scenario {
	sc.Reconnect = true
	sc.Expect = expect
	return sc
}

// theWave returns the recovery of the largest cluster, which must have
// one wave, and checks that the wave recovered.
func theWave(t *testing.T, res *report.Result, minDrops int64) report.Wave {
	t.Helper()
	c := largestCluster(t, res, minDrops)
	if c.Recovery == nil || len(c.Recovery.Waves) != 1 {
		t.Fatalf("largest cluster %+v has recovery %+v, want one wave", c, c.Recovery)
	}
	w := c.Recovery.Waves[0]
	if w.TimeToRecoverMs == nil || c.Recovery.TimeToRecoverMs == nil {
		t.Fatalf("wave %+v did not recover; reconnects %+v", w, res.Reconnects)
	}
	return w
}

// nginx with worker_shutdown_timeout 2s: the old workers close every
// WebSocket 2 s after the reload, and the clients come straight back to
// the new workers.
func TestNginxReloadWithWorkerShutdownTimeoutAndReconnects(t *testing.T) {
	t.Parallel()
	nginx := labtest.Nginx(t, "nginx-shutdown.conf", map[string]string{"UPSTREAM": backend(t), "TIMEOUT": "2"})
	res := runAt(t, reconnecting(scenarioFor(nginx.URL("/ws"), 200, 2000, 5*time.Second), "recover<2s"),
		runner.At{Offset: time.Second, Command: nginxReload(nginx)})
	mark := theMark(t, res)
	waitReloaded(t, nginx)

	if res.Counts.Upgraded != 200 || res.Counts.Dropped < 200 || res.Reconnects.Upgraded < 200 {
		t.Fatalf("upgraded %d, dropped %d, reconnects %+v: want the 200 cut and back", res.Counts.Upgraded, res.Counts.Dropped, res.Reconnects)
	}
	w := theWave(t, res, 100)
	if d := w.AtMs - mark.AtMs; d < 2000-clusterTolMs || d > 2000+clusterTolMs+reloadLagMs {
		t.Errorf("the wave began %.0f ms after the reload, want about 2000", d)
	}
	if w.AliveBefore != 200 || w.AliveMin >= 198 || len(w.Failures) != 0 {
		t.Errorf("wave %+v: want 200 alive before, a dip, no failed reconnect (the new workers take them)", w)
	}
	if res.Verdict != "pass" {
		t.Errorf("verdict %s: %+v", res.Verdict, res.Expectations)
	}
}

// Any caddy reload closes every WebSocket (close 1001, some 1002); the
// clients reconnect to the reloaded config at once.
func TestCaddyReloadWithReconnects(t *testing.T) {
	t.Parallel()
	caddy := labtest.Caddy(t, "Caddyfile", map[string]string{"UPSTREAM": backend(t)})
	reload := labtest.RequireBinary(t, "caddy") + " reload --adapter caddyfile --force --config " + caddy.ConfigPath()
	res := runAt(t, reconnecting(scenarioFor(caddy.URL("/ws"), 200, 2000, 5*time.Second), "recover<3s"),
		runner.At{Offset: 2 * time.Second, Command: reload})
	theMark(t, res)

	k := res.Drops.ByKind
	if res.Counts.Upgraded != 200 || k["close_1001"]+k["close_1002"] < 200 || res.Reconnects.Upgraded < 200 {
		t.Fatalf("upgraded %d, drops by kind %v, reconnects %+v: want the 200 closed and back", res.Counts.Upgraded, k, res.Reconnects)
	}
	w := theWave(t, res, 100)
	if w.AliveBefore != 200 || w.Drops < 100 {
		t.Errorf("wave %+v: want 200 alive before it, and most of them cut", w)
	}
	if res.Verdict != "pass" || !strings.Contains(report.VerdictLine(res), "reconnected") {
		t.Errorf("verdict %q: %+v", report.VerdictLine(res), res.Expectations)
	}
}

// HAProxy in front of a backend that crashes (SIGKILL) and is started
// again 5 s later on the same port. HAProxy holds a request while it
// retries the refused backend (three times, a second apart) and then
// answers 503: the reconnects of the first seconds get 503s, the later
// ones wait and get through once the backend is back, and the wave's
// account shows both.
func TestBackendRestartBehindHAProxyShows503sDuringTheWave(t *testing.T) {
	t.Parallel()
	addr, first := childBackendOn(t, "")
	haproxy := labtest.HAProxy(t, "haproxy-tunnel.cfg", map[string]string{"UPSTREAM": addr, "TIMEOUT": "60"})
	sc := reconnecting(scenarioFor(haproxy.URL("/ws"), 200, 2000, 9*time.Second), "recover<8s")
	sc.ReconnectMax = scenario.Duration(400 * time.Millisecond) // keep retrying often while it is down

	var once sync.Once
	restarted := make(chan struct{})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := runner.Run(ctx, resolved(t, sc), runner.Options{ProgressInterval: 50 * time.Millisecond, Progress: func(p runner.Progress) {
		if p.Phase != "holding" {
			return
		}
		once.Do(func() {
			go func() {
				defer close(restarted)
				time.Sleep(time.Second)
				_ = first.Process.Kill()
				_ = first.Wait()
				time.Sleep(5 * time.Second)
				childBackendOn(t, addr)
			}()
		})
	}})
	if err != nil {
		t.Fatal(err)
	}
	<-restarted
	checkInvariants(t, res)

	rc := res.Reconnects
	if res.Counts.Upgraded != 200 || res.Counts.Dropped < 200 || rc.Upgraded < 200 {
		t.Fatalf("upgraded %d, dropped %d, reconnects %+v: want the 200 cut and back", res.Counts.Upgraded, res.Counts.Dropped, rc)
	}
	w := theWave(t, res, 100)
	if len(w.Failures) == 0 || w.Failures[0].Cause != "http" || w.Failures[0].Status != 503 {
		t.Fatalf("wave failures %+v, want HAProxy's 503s first", w.Failures)
	}
	// Down for 5 s: nobody can be back sooner.
	if *w.TimeToRecoverMs < 4900 || w.AliveMin > 10 {
		t.Errorf("wave %+v recovered in %.0f ms: want at least the 5 s the backend was down, with (nearly) everyone gone meanwhile", w, *w.TimeToRecoverMs)
	}
	if res.Verdict != "pass" {
		t.Errorf("verdict %s: %+v", res.Verdict, res.Expectations)
	}
}
