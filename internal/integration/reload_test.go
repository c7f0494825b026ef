package integration

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wshold/wshold/internal/labtest"
	"github.com/wshold/wshold/internal/runner"
	"github.com/wshold/wshold/report"
)

// reloadLagMs is how much later than its nominal value a timer that a
// reload starts may fire: the proxy first re-reads its config and starts
// new workers.
const reloadLagMs = 300

// nginxReload is the --at command that reloads a lab nginx as an operator
// would: SIGHUP to the master named in its pid file.
func nginxReload(p *labtest.Proxy) string {
	return fmt.Sprintf("kill -HUP $(cat %s)", filepath.Join(p.Dir(), "nginx.pid"))
}

// waitReloaded waits (bounded) until nginx has started its second
// generation of workers, so that a test knows the reload was taken.
func waitReloaded(t *testing.T, p *labtest.Proxy) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for strings.Count(p.ErrorLog(), "start worker processes") < 2 {
		if time.Now().After(deadline) {
			t.Fatal("nginx did not log a reload within 15 s of the --at command; the test did not test a reload")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Without worker_shutdown_timeout a reload leaves every WebSocket alone:
// the old workers keep proxying them for as long as they live.
func TestNginxReloadWithoutWorkerShutdownTimeoutDropsNothing(t *testing.T) {
	t.Parallel()
	nginx := labtest.Nginx(t, "nginx-86400.conf", map[string]string{"UPSTREAM": backend(t)})
	res := runAt(t, scenarioFor(nginx.URL("/ws"), 200, 2000, 4*time.Second),
		runner.At{Offset: time.Second, Command: nginxReload(nginx)})
	theMark(t, res)
	waitReloaded(t, nginx)
	if res.Counts.Upgraded != 200 || res.Counts.Dropped != 0 || res.Verdict != "pass" {
		t.Fatalf("upgraded %d dropped %d verdict %s, want 200/0/pass; clusters %+v",
			res.Counts.Upgraded, res.Counts.Dropped, res.Verdict, res.Drops.Clusters)
	}
}

// With worker_shutdown_timeout 3s, the old workers close every WebSocket
// (a FIN, no close frame) about 3 s after the reload, and the verdict
// blames the reload rather than an idle timeout.
func TestNginxReloadWithWorkerShutdownTimeoutDropsEverythingThreeSecondsLater(t *testing.T) {
	t.Parallel()
	nginx := labtest.Nginx(t, "nginx-shutdown.conf", map[string]string{"UPSTREAM": backend(t), "TIMEOUT": "3"})
	res := runAt(t, scenarioFor(nginx.URL("/ws"), 200, 2000, 7*time.Second),
		runner.At{Offset: time.Second, Command: nginxReload(nginx)})
	mark := theMark(t, res)
	waitReloaded(t, nginx)

	if res.Counts.Upgraded != 200 || res.Counts.Dropped != 200 || res.Drops.ByKind["eof"] != 200 {
		t.Fatalf("upgraded %d dropped %d by kind %v, want 200 cut with eof", res.Counts.Upgraded, res.Counts.Dropped, res.Drops.ByKind)
	}
	// Nothing at the reload itself; everything when the old workers'
	// shutdown timer fires, whatever the connections' ages. Each of the two
	// workers has its own timer, so there may be two clusters. nginx starts
	// the timers once the master has re-read the config and started new
	// workers: ≈0.14 s after SIGHUP on an idle machine, more on a busy one.
	for _, c := range followedWithin(t, res, mark, 2000, 5000) {
		if d := c.AtMs - mark.AtMs; c.Clock != "wall" || d < 3000-clusterTolMs || d > 3000+clusterTolMs+reloadLagMs {
			t.Fatalf("cluster %+v is %.0f ms after the reload, want on the wall clock 3000 ms -%d/+%d after it",
				c, d, clusterTolMs, clusterTolMs+reloadLagMs)
		}
	}
	if line := report.VerdictLine(res); !strings.Contains(line, "event: --at 1s: kill -HUP") {
		t.Errorf("verdict %q does not attribute the drops to the reload", line)
	}
}
