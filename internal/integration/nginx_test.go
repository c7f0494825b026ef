package integration

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wshold/wshold/internal/check"
	"github.com/wshold/wshold/internal/labtest"
)

// The seed's story, through real nginx: the fixed config with a short
// proxy_read_timeout cuts every idle connection at that timeout with a bare
// FIN, and wshold says so.
// Not parallel: it runs before the package's parallel tests, so nginx's
// timers are not fired late by a machine busy with them.
func TestNginxIdleTimeoutDropsEveryIdleConnectionAtTheTimeout(t *testing.T) {
	nginx := labtest.Nginx(t, "nginx-timeout.conf", map[string]string{"UPSTREAM": backend(t), "TIMEOUT": "3"})
	res := run(t, scenarioFor(nginx.URL("/ws"), 1000, 2000, 6*time.Second))

	if res.Counts.Upgraded != 1000 || res.Counts.Dropped != 1000 {
		t.Fatalf("upgraded %d dropped %d, want 1000/1000; failures %+v", res.Counts.Upgraded, res.Counts.Dropped, res.Failures)
	}
	// The first cluster is the largest. Nearly every drop lands in it,
	// within a few ms of 3 s. A busy nginx cuts some connections early (it
	// dates timers by a clock refreshed once per event-loop pass) or late,
	// in batches (a starved worker fires what fell due meanwhile at once):
	// those still belong to the timeout, never to an event of their own.
	c := res.Drops.Clusters[0]
	if c.AtMs < 2700 || c.AtMs > 3300 || c.Kind != "eof" || c.Count < 900 {
		t.Fatalf("cluster %+v, want (nearly) 1000 eof at 3000 ms ± 300; all: %+v", c, res.Drops.Clusters)
	}
	for _, other := range res.Drops.Clusters[1:] {
		if other.AtMs < 2700 || other.AtMs > 3300 || other.Clock == "wall" {
			t.Fatalf("a second cluster %+v away from the 3 s idle timeout", other)
		}
	}
	if res.Drops.ByKind["eof"] != 1000 {
		t.Fatalf("by kind %v, want 1000 eof (nginx sends FIN without a close frame)", res.Drops.ByKind)
	}
	if res.Verdict != "fail" {
		t.Fatalf("verdict %q, want fail: the default expectation is no drops", res.Verdict)
	}
}

// Any frame re-arms nginx's idle timer: a client pinging every second keeps
// every connection through a 3 s proxy_read_timeout.
func TestNginxPingsKeepConnectionsAlive(t *testing.T) {
	t.Parallel()
	nginx := labtest.Nginx(t, "nginx-timeout.conf", map[string]string{"UPSTREAM": backend(t), "TIMEOUT": "3"})
	sc := scenarioFor(nginx.URL("/ws"), 1000, 2000, 6*time.Second)
	sc.Ping = 1_000_000_000
	res := run(t, sc)
	if res.Counts.Upgraded != 1000 || res.Counts.Dropped != 0 || res.Verdict != "pass" {
		t.Fatalf("upgraded %d dropped %d verdict %s, want 1000/0/pass; drops %+v", res.Counts.Upgraded, res.Counts.Dropped, res.Verdict, res.Drops.Clusters)
	}
}

// The seed's broken config (plain proxy_pass: HTTP/1.0, Upgrade stripped):
// the backend refuses with 400, nginx relays it, wshold groups every attempt
// under that status and check explains the fix.
func TestNginxBrokenConfigFailsEveryUpgradeWith400(t *testing.T) {
	t.Parallel()
	nginx := labtest.Nginx(t, "nginx-broken.conf", map[string]string{"UPSTREAM": backend(t)})
	res := run(t, scenarioFor(nginx.URL("/ws"), 200, 1000, time.Second))
	if res.Counts.Failed != 200 || len(res.Failures) != 1 {
		t.Fatalf("failed %d in groups %+v, want 200 in one group", res.Counts.Failed, res.Failures)
	}
	f := res.Failures[0]
	if f.Cause != "http" || f.Status != 400 || f.Count != 200 || !strings.Contains(f.Example, "nginx") {
		t.Fatalf("failure %+v, want cause http, status 400, an example naming nginx", f)
	}
	if res.Verdict != "fail" {
		t.Fatalf("verdict %q, want fail", res.Verdict)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	rep, err := check.Run(ctx, nginx.URL("/ws"), check.Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	if err := rep.WriteText(&out); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	if rep.OK {
		t.Fatalf("check passed a failed upgrade:\n%s", text)
	}
	for _, want := range []string{"400", "Upgrade", "Connection", "proxy_http_version 1.1", "proxy_set_header Upgrade $http_upgrade", "$connection_upgrade"} {
		if !strings.Contains(text, want) {
			t.Errorf("check output lacks %q:\n%s", want, text)
		}
	}
}

// Both forms of the seed's fix upgrade, and check accepts them.
func TestNginxSeedFixesUpgrade(t *testing.T) {
	t.Parallel()
	for _, conf := range []string{"nginx-fix-literal.conf", "nginx-fix-map.conf"} {
		nginx := labtest.Nginx(t, conf, map[string]string{"UPSTREAM": backend(t)})
		res := run(t, scenarioFor(nginx.URL("/ws"), 100, 1000, 500*time.Millisecond))
		if res.Counts.Upgraded != 100 || res.Verdict != "pass" {
			t.Fatalf("%s: upgraded %d verdict %s; failures %+v", conf, res.Counts.Upgraded, res.Verdict, res.Failures)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		rep, err := check.Run(ctx, nginx.URL("/ws"), check.Options{Timeout: 5 * time.Second})
		cancel()
		if err != nil || !rep.OK {
			t.Fatalf("%s: check: %v %+v", conf, err, rep)
		}
	}
}

// The embedded default: no URL, the built-in target in-process.
func TestEmbeddedDefaultHolds2000(t *testing.T) {
	t.Parallel()
	res := run(t, scenarioFor("", 2000, 2000, 3*time.Second))
	if res.Counts.Upgraded != 2000 || res.Counts.Dropped != 0 || res.Verdict != "pass" {
		t.Fatalf("counts %+v verdict %s", res.Counts, res.Verdict)
	}
	if p99 := res.Handshake.P99Ms; p99 <= 0 || p99 > 5000 {
		t.Fatalf("handshake p99 %.3f ms is implausible", p99)
	}
	if res.Handshake.Count != 2000 {
		t.Fatalf("handshake histogram holds %d values, want 2000", res.Handshake.Count)
	}
}
