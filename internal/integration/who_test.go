package integration

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wshold/wshold/internal/check"
	"github.com/wshold/wshold/internal/labtest"
	"github.com/wshold/wshold/report"
)

// The products of the black-box round (issue 11) that the lab runs: the
// verdict names the proxy the answers name, with its own setting and fix,
// and never another product's (nginx's default at 60 s, HAProxy's from
// lower-case header names).

// noOtherProduct fails t when the verdict or a cluster's hint names one of
// products, none of which is on the path.
func noOtherProduct(t *testing.T, res *report.Result, products ...string) {
	t.Helper()
	texts := []string{report.VerdictLine(res)}
	for _, c := range res.Drops.Clusters {
		texts = append(texts, c.Hint)
	}
	for _, f := range res.Failures {
		texts = append(texts, f.Hint)
	}
	for _, s := range texts {
		for _, p := range products {
			if strings.Contains(s, p) {
				t.Errorf("%q names %s, which is not on the path", s, p)
			}
		}
	}
}

// nghttpx with 3 s read timeouts: the result names nghttpx (its Server
// header) and the setting to raise there, and no other product; given its
// configuration, the configured value is the match.
func TestNghttpxIdleTimeoutNamesNghttpxAndItsSetting(t *testing.T) {
	t.Parallel()
	n := labtest.Start(t, labtest.KindNghttpx, "nghttpx-timeout.conf", map[string]string{"UPSTREAM": backend(t), "TIMEOUT": "3"})
	sc := scenarioFor(n.URL("/ws"), 50, 50, 6*time.Second)
	res := run(t, sc)
	c := idleCut(t, res, 50, 3000)
	if p := res.Proxy; p == nil || p.Name != "nghttpx" || !p.Known {
		t.Fatalf("proxy %+v: want nghttpx, with its defaults known", p)
	}
	if !strings.Contains(c.Hint, "nghttpx is in front: the setting to raise there is frontend-read-timeout or backend-read-timeout") {
		t.Errorf("hint %q: want nghttpx's read timeouts", c.Hint)
	}
	noOtherProduct(t, res, "nginx", "HAProxy", "Apache", "lighttpd", "Varnish", "Caddy")
	// nghttpx fires one timer per connection, as far apart as the ramp
	// opened them (20 ms): no period. (A loaded machine may starve it into
	// firing a few late together; that is no period either.)
	if c.PeriodMs != 0 || slices.ContainsFunc(c.Evidence, func(e string) bool { return strings.Contains(e, "timer period") }) {
		t.Errorf("cluster %+v: a period claimed for per-connection timers", c)
	}

	sc.ProxyConfigs = []string{n.ConfigPath()}
	res = run(t, sc)
	if len(res.ProxyConfigs) != 1 || res.ProxyConfigs[0].Product != "nghttpx" {
		t.Fatalf("proxy configs %+v: want the file read as nghttpx's", res.ProxyConfigs)
	}
	c = idleCut(t, res, 50, 3000)
	if len(c.Matches) == 0 || !strings.HasPrefix(c.Matches[0], "the configured frontend-read-timeout 3 s in ") {
		t.Errorf("matches %q: want the configured frontend-read-timeout first", c.Matches)
	}
	noOtherProduct(t, res, "nginx", "HAProxy")
}

// nghttpx at its default read timeouts (1 min): at 60 s, where nginx,
// Apache, lighttpd, Varnish and an AWS ALB default too, the product in
// front is the headline match, and the others are offered only as "if on
// the path". Opt-in (WSHOLD_LONG_TESTS=1): it holds 65 s.
func TestNghttpxDefaultIsTheHeadlineAt60s(t *testing.T) {
	requireLong(t)
	t.Parallel()
	n := labtest.Start(t, labtest.KindNghttpx, "nghttpx-default.conf", map[string]string{"UPSTREAM": backend(t)})
	res := run(t, scenarioFor(n.URL("/ws"), 50, 50, 65*time.Second))
	c := idleCut(t, res, 50, 60_000)
	if p := res.Proxy; p == nil || p.Name != "nghttpx" {
		t.Fatalf("proxy %+v: want nghttpx", p)
	}
	if len(c.Matches) == 0 || !strings.HasPrefix(c.Matches[0], "nghttpx ") {
		t.Errorf("matches %q: want nghttpx's default first", c.Matches)
	}
	line := report.VerdictLine(res)
	if !strings.Contains(line, "matches nghttpx") || strings.Contains(line, "matches nginx") {
		t.Errorf("verdict %q: want nghttpx's default as the match, nginx's only as a possibility", line)
	}
}

// h2o with proxy.websocket.timeout 3000 ms and a control group: the silent
// half is cut by an idle timeout at 3 s, the pinging half lives, and the
// hint names h2o's setting, no one else's.
func TestH2OIdleTimeoutNamesH2OAndItsSetting(t *testing.T) {
	t.Parallel()
	h := labtest.Start(t, labtest.KindH2O, "h2o-timeout.conf", map[string]string{"UPSTREAM": backend(t), "TIMEOUT_MS": "3000"})
	sc := scenarioFor(h.URL("/ws"), 50, 50, 6*time.Second)
	sc.Ping = 1_500_000_000
	sc.PingFraction = 0.5
	res := run(t, sc)
	if res.Counts.Dropped != 25 || res.Counts.Held != 25 {
		t.Fatalf("counts %+v: want the 25 silent ones cut and the 25 pinging ones held", res.Counts)
	}
	c := largestCluster(t, res, 20)
	if c.Cause != "idle_timeout" || !near(c.AtMs, 3000, clusterTolMs) {
		t.Fatalf("largest cluster %+v: want an idle timeout at 3 s; all %+v", c, res.Drops.Clusters)
	}
	if p := res.Proxy; p == nil || p.Name != "h2o" {
		t.Fatalf("proxy %+v: want h2o", p)
	}
	if !strings.Contains(c.Hint, "h2o is in front: the setting to raise there is proxy.websocket.timeout") {
		t.Errorf("hint %q: want h2o's proxy.websocket.timeout", c.Hint)
	}
	noOtherProduct(t, res, "nginx", "HAProxy", "Apache", "lighttpd", "Varnish", "Caddy")
}

// h2o without proxy.websocket: ON forwards a plain GET and relays the
// backend's 400. check gives h2o's switch first (H4), run's hint gives it
// alone (H5).
func TestH2OWithoutWebsocketGivesH2OsFixFirst(t *testing.T) {
	t.Parallel()
	h := labtest.Start(t, labtest.KindH2O, "h2o-broken.conf", map[string]string{"UPSTREAM": backend(t)})
	rep, text := checkText(t, h.URL("/ws"))
	if rep.OK || rep.Cause != check.HTTPCause(400) || rep.Proxy != "h2o" {
		t.Fatalf("check: ok %v cause %q proxy %q; want h2o relaying a 400:\n%s", rep.OK, rep.Cause, rep.Proxy, text)
	}
	if len(rep.Fixes) == 0 || rep.Fixes[0].For != "h2o" || !strings.Contains(rep.Fixes[0].Config, "proxy.websocket: ON") {
		t.Fatalf("first fix %+v: want h2o's proxy.websocket: ON:\n%s", rep.Fixes, text)
	}
	res := run(t, scenarioFor(h.URL("/ws"), 20, 200, time.Second))
	if res.Counts.Failed != 20 || len(res.Failures) != 1 || res.Failures[0].Status != 400 {
		t.Fatalf("failures %+v, want all 20 refused with 400", res.Failures)
	}
	if h := res.Failures[0].Hint; !strings.Contains(h, "for h2o set proxy.websocket: ON") || strings.Contains(h, "nginx") {
		t.Errorf("hint %q: want h2o's fix alone", h)
	}
}

// upgradeRelay starts scripts/node/upgrade-relay.js in front of upstream
// and returns its loopback host:port: a proxy on Node's http module that
// writes every header name in lower case, as Node's http-proxy does, and
// names itself nowhere.
func upgradeRelay(t *testing.T, upstream string, idleMs string) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node not found in PATH; %s", depsInstall)
	}
	return startNodeScript(t, node, "upgrade-relay.js", []string{"IDLE_MS=" + idleMs}, upstream, "127.0.0.1", "0")
}

// A Node proxy that lower-cases every header name (J1, J2) is not HAProxy:
// check and run keep the lower-case names as a clue with its
// alternatives, and name no proxy in front.
func TestLowerCaseHeaderNamesDoNotMakeHAProxy(t *testing.T) {
	t.Parallel()
	addr := upgradeRelay(t, backend(t), "3000")
	url := "ws://" + addr + "/ws"
	rep, text := checkText(t, url)
	if !rep.OK || rep.Proxy != "" || strings.Contains(text, "through HAProxy") || !strings.Contains(text, "upgrade: websocket") {
		t.Fatalf("check: ok %v proxy %q; want a valid 101 through no named proxy:\n%s", rep.OK, rep.Proxy, text)
	}
	if !strings.Contains(strings.Join(rep.Notes, " "), "not enough to name one") {
		t.Errorf("notes %q: want the lower-case names as a clue", rep.Notes)
	}
	res := run(t, scenarioFor(url, 30, 30, 5*time.Second))
	c := idleCut(t, res, 30, 3000)
	if res.Proxy != nil || len(res.ProxyClues) == 0 || !strings.Contains(res.ProxyClues[0], "lower-case") {
		t.Fatalf("proxy %+v, clues %q: want no proxy named, and the clue kept", res.Proxy, res.ProxyClues)
	}
	if strings.Contains(c.Hint, "HAProxy is in front") || strings.Contains(report.VerdictLine(res), "HAProxy") {
		t.Errorf("hint %q: HAProxy is not in front", c.Hint)
	}
	noOtherProduct(t, res, "nginx", "lighttpd", "Caddy")
}
