package integration

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wshold/wshold/internal/labtest"
	"github.com/wshold/wshold/internal/runner"
	"github.com/wshold/wshold/report"
)

// The backend behind each proxy dies mid-hold (SIGKILL, as a crash or an
// OOM kill would): every proxied connection drops at that moment, which the
// verdict attributes to the kill and not to a timeout; new attempts then
// get the proxy's own answer for a dead backend, all in one group.
func TestBackendKilledBehindEachProxy(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		start func(t *testing.T, upstream string) *labtest.Proxy
		// status is what the proxy answers while its backend is down.
		status int
	}{
		{"nginx", func(t *testing.T, up string) *labtest.Proxy {
			return labtest.Nginx(t, "nginx-fix-literal.conf", map[string]string{"UPSTREAM": up})
		}, 502},
		{"haproxy", func(t *testing.T, up string) *labtest.Proxy {
			return labtest.HAProxy(t, "haproxy-tunnel.cfg", map[string]string{"UPSTREAM": up, "TIMEOUT": "60"})
		}, 503},
		{"caddy", func(t *testing.T, up string) *labtest.Proxy {
			return labtest.Caddy(t, "Caddyfile", map[string]string{"UPSTREAM": up})
		}, 502},
		{"apache", func(t *testing.T, up string) *labtest.Proxy {
			return labtest.Apache(t, "apache-timeout.conf", map[string]string{"UPSTREAM": up, "TIMEOUT": "60"})
		}, 503},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			addr, pid := childBackend(t)
			proxy := tc.start(t, addr)
			kill := fmt.Sprintf("kill -KILL %d", pid)
			res := runAt(t, scenarioFor(proxy.URL("/ws"), 200, 2000, 5*time.Second), runner.At{Offset: time.Second, Command: kill})
			mark := theMark(t, res)

			if res.Counts.Upgraded != 200 || res.Counts.Dropped != 200 {
				t.Fatalf("upgraded %d dropped %d, want 200/200; by kind %v", res.Counts.Upgraded, res.Counts.Dropped, res.Drops.ByKind)
			}
			// The kernel sends the backend's FINs once the process is torn
			// down, and every proxy relays them within milliseconds.
			followedWithin(t, res, mark, 0, reloadTookMs)
			for _, c := range res.Drops.Clusters {
				if strings.Contains(c.Hint, "matches") || strings.Contains(c.Hint, "proxy_read_timeout") {
					t.Errorf("cluster %+v: the hint blames a timeout", c)
				}
			}
			if line := report.VerdictLine(res); !strings.Contains(line, "event: --at 1s: kill -KILL") {
				t.Errorf("verdict %q does not attribute the drops to the kill", line)
			}

			after := run(t, scenarioFor(proxy.URL("/ws"), 50, 500, time.Second))
			if after.Counts.Failed != 50 || len(after.Failures) != 1 {
				t.Fatalf("after the kill: failed %d in groups %+v, want all 50 in one group", after.Counts.Failed, after.Failures)
			}
			if f := after.Failures[0]; f.Cause != "http" || f.Status != tc.status || !strings.Contains(f.Hint, "backend") {
				t.Fatalf("after the kill: failure %+v, want HTTP %d with a hint about the backend", f, tc.status)
			}
		})
	}
}
