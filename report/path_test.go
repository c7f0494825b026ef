package report

import (
	"strings"
	"testing"

	"github.com/wshold/wshold/internal/identify"
)

// The answers' shapes below are the 101s the black-box round recorded
// (issue 11): a product the answers name puts its defaults first; one that
// would have named itself and did not is left out; one that never names
// itself stays a candidate, never the headline.
const (
	nghttpx101   = "HTTP/1.1 101 Switching Protocols\r\nSec-Websocket-Accept: x=\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nServer: nghttpx\r\nVia: 1.1 nghttpx\r\n\r\n"
	h2o101       = "HTTP/1.1 101 Switching Protocols\r\nDate: x\r\nConnection: upgrade\r\nServer: h2o/2.2.5\r\nSec-WebSocket-Accept: x=\r\nupgrade: websocket\r\n\r\n"
	frontdoor101 = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: x=\r\nConnection: upgrade\r\nServer: frontdoor\r\n\r\n"
	python101    = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: x=\r\nServer: Python/3.11 websockets/10.4\r\n\r\n"
)

// pathResult is a run whose answers were all raw, with its drops
// clustered as the Recorder does.
func pathResult(raw string, events []DropEvent, edit func(*Result)) *Result {
	n := int64(len(events))
	res := &Result{Verdict: "fail", Counts: Counts{Attempted: n, Upgraded: n, Dropped: n}}
	res.Answers = []Answer{answerOf(identify.Parse([]byte(raw), nil), n)}
	res.Drops = Drops{Count: n, Events: events, ByKind: map[string]int64{}}
	for _, e := range events {
		res.Drops.ByKind[e.Kind]++
	}
	if edit != nil {
		edit(res)
	}
	DeriveProxy(res)
	Recluster(res)
	return res
}

// silent60 are 100 silent connections opened over a second and cut by a
// FIN 60 s after their upgrade, one timer per connection.
func silent60() []DropEvent {
	return dropGen{n: 100, openSpan: 1000, ageMs: 60_000, jitter: 15, kind: "eof", seed: 3}.events()
}

func only(t *testing.T, res *Result) Cluster {
	t.Helper()
	if len(res.Drops.Clusters) != 1 {
		t.Fatalf("clusters %+v: want one", res.Drops.Clusters)
	}
	return res.Drops.Clusters[0]
}

// nghttpx in front (N3): its own read timeouts are the match; nginx's
// default, whose Server header nghttpx would have replaced, is possible
// only behind it; the products that never name themselves are possible.
func TestIdentifiedProxyHeadlinesItsOwnDefault(t *testing.T) {
	res := pathResult(nghttpx101, silent60(), nil)
	c := only(t, res)
	if len(c.Matches) != 2 || c.Matches[0] != "nghttpx frontend-read-timeout default (60 s)" {
		t.Fatalf("matches %q: want nghttpx's two read timeouts, the frontend's first", c.Matches)
	}
	for _, want := range []string{"Apache Timeout default (60 s)", "Varnish pipe_timeout default (60 s)",
		"AWS ALB idle_timeout.timeout_seconds default (60 s)", "nginx proxy_read_timeout default (60 s)"} {
		if !strings.Contains(strings.Join(c.Possible, "|"), want) {
			t.Errorf("possible %q lacks %q", c.Possible, want)
		}
	}
	if !strings.HasPrefix(c.Hint, "matches nghttpx frontend-read-timeout default (60 s): raise frontend-read-timeout") ||
		!strings.Contains(c.Hint, "if one sits behind nghttpx") {
		t.Errorf("hint %q: want nghttpx's setting first, nginx only as behind it", c.Hint)
	}
	line := VerdictLine(res)
	if !strings.Contains(line, "matches nghttpx frontend-read-timeout default (60 s)") || strings.Contains(line, "matches nginx") ||
		!strings.Contains(line, "it may also be the defaults of Apache, Varnish, AWS ALB, nginx") || !strings.HasSuffix(line, ", if on the path") {
		t.Errorf("verdict %q: want nghttpx's default, the others only if on the path", line)
	}
}

// A product wshold has no row for (lighttpd renamed "frontdoor", or any
// other): the headline says it is in front and has no row — never
// another product's default.
func TestIdentifiedProxyWithoutRowsIsNamedNotReplaced(t *testing.T) {
	res := pathResult(frontdoor101, silent60(), nil)
	c := only(t, res)
	if len(c.Matches) != 0 {
		t.Errorf("matches %q: want none (nothing the answers name has a row)", c.Matches)
	}
	if !strings.HasPrefix(c.Hint, "frontdoor is in front, and wshold has no row for its timeouts: look for its idle or read timeout") {
		t.Errorf("hint %q: want frontdoor named, with no row", c.Hint)
	}
	line := VerdictLine(res)
	if !strings.Contains(line, "frontdoor is in front, and wshold has no defaults for it") || strings.Contains(line, "matches") {
		t.Errorf("verdict %q", line)
	}

	// 3 s: no default at all; the hint lists no other product's setting.
	res = pathResult(frontdoor101, dropGen{n: 50, openSpan: 1000, ageMs: 3000, jitter: 10, kind: "eof", seed: 4}.events(), nil)
	c = only(t, res)
	for _, not := range []string{"nginx", "HAProxy", "Apache", "Varnish"} {
		if strings.Contains(c.Hint, not) {
			t.Errorf("hint %q names %s, which is not on the path", c.Hint, not)
		}
	}
}

// h2o stated with --proxy (H7) and named by its Server: its 300 s default
// does not match 60 s, nginx's does not headline, and the setting to raise
// in h2o is named.
func TestStatedProxyWithNoMatchingDefaultNamesItsSetting(t *testing.T) {
	res := pathResult(h2o101, silent60(), func(r *Result) { r.Scenario.Proxy = "h2o" })
	c := only(t, res)
	if len(c.Matches) != 0 || !strings.HasPrefix(c.Hint, "no default of h2o matches an idle timeout of 60.00 s") ||
		!strings.Contains(c.Hint, "h2o is in front: the setting to raise there is proxy.websocket.timeout") {
		t.Errorf("matches %q, hint %q: want h2o's own setting, and no match", c.Matches, c.Hint)
	}
	if line := VerdictLine(res); strings.Contains(line, "matches nginx") || !strings.Contains(line, "no default of h2o, in front, matches; it may be") {
		t.Errorf("verdict %q", line)
	}
}

// Answers that name nothing (a direct backend, or a proxy that does not
// name itself): products that always name themselves are not on the
// path; the ones that never do stay possible; lighttpd, which names
// itself only when the backend does not, is possible once a Server header
// is there.
func TestAnswersThatNameNothingLeaveTheSilentProductsPossible(t *testing.T) {
	res := pathResult(plain101, silent60(), nil)
	c := only(t, res)
	possible := strings.Join(c.Possible, "|")
	if len(c.Matches) != 0 || !strings.Contains(possible, "Apache Timeout") || !strings.Contains(possible, "AWS ALB") ||
		strings.Contains(possible, "nginx") || strings.Contains(possible, "lighttpd") || strings.Contains(possible, "nghttpx") {
		t.Errorf("matches %q, possible %q: want Apache, Varnish, AWS ALB possible; nginx, lighttpd, nghttpx not", c.Matches, c.Possible)
	}
	if line := VerdictLine(res); !strings.HasSuffix(line, "the answers name no product whose default matches; it may be the defaults of Apache, Varnish, AWS ALB, if on the path") {
		t.Errorf("verdict %q", line)
	}
	res = pathResult(python101, silent60(), nil)
	if c := only(t, res); !strings.Contains(strings.Join(c.Possible, "|"), "lighttpd server.max-read-idle") {
		t.Errorf("possible %q: lighttpd passes a backend's Server on, so it may be in front", c.Possible)
	}
}

// A Node ws backend that terminates every connection at 30 s (B1), with
// nothing in front: a lifetime, and no GCP load balancer, which would
// have added Via: 1.1 google to the answers.
func TestLifetimeWithNoViaIsNoGCPLoadBalancer(t *testing.T) {
	silent := dropGen{n: 25, openSpan: 500, ageMs: 30_000, jitter: 4, kind: "eof", seed: 5}.events()
	pinging := dropGen{n: 25, openFrom: 10, openSpan: 500, ageMs: 30_000, idleMs: 1000, jitter: 4, kind: "eof", pinging: true, seed: 6}.events()
	res := pathResult(plain101, concat(silent, pinging), func(r *Result) {
		r.Scenario.Ping = 2_000_000_000
		r.Scenario.PingFraction = 0.5
	})
	c := only(t, res)
	if c.Cause != "max_lifetime" {
		t.Fatalf("cluster %+v: want a lifetime", c)
	}
	if strings.Contains(c.Hint, "GCP") || strings.Contains(VerdictLine(res), "GCP") || len(c.Matches) != 0 {
		t.Errorf("hint %q, matches %q: no GCP load balancer is on a path whose answers carry no Via", c.Hint, c.Matches)
	}
	// The same drops behind a GCP load balancer that says so.
	res = pathResult(strings.Replace(plain101, "\r\n\r\n", "\r\nVia: 1.1 google\r\n\r\n", 1), concat(silent, pinging), func(r *Result) {
		r.Scenario.Ping = 2_000_000_000
		r.Scenario.PingFraction = 0.5
	})
	if c := only(t, res); len(c.Matches) == 0 || !strings.HasPrefix(c.Matches[0], "GCP load balancer backend service timeout") {
		t.Errorf("matches %q: with Via: 1.1 google, want the GCP row", c.Matches)
	}
}

// Lower-case header names (Node's http-proxy, or HAProxy) name no proxy:
// HAProxy is among the places to look, never "in front".
func TestLowerCaseNamesLeaveHAProxyACandidate(t *testing.T) {
	res := pathResult(node101, dropGen{n: 50, openSpan: 1000, ageMs: 3000, jitter: 5, kind: "eof", seed: 8}.events(), nil)
	c := only(t, res)
	if res.Proxy != nil || strings.Contains(c.Hint, "HAProxy is in front") || !strings.Contains(c.Hint, "HAProxy timeout tunnel") {
		t.Errorf("proxy %+v, hint %q: want HAProxy among the settings to look for, not in front", res.Proxy, c.Hint)
	}
	if strings.Contains(c.Hint, "nginx") {
		t.Errorf("hint %q names nginx, which would have named itself", c.Hint)
	}
}

// A wall-clock cluster read as a timer reports the timer's value on its
// own clock, not the moment into the run (A2: silent connections cut at
// 4.67 s into the run had been idle 3.70–3.78 s).
func TestWallClusterReadAsATimerKeepsItsOwnClock(t *testing.T) {
	ev := dropGen{n: 21, openFrom: 890, openSpan: 80, wallMs: 4666, jitter: 1, kind: "eof", seed: 9}.events()
	c := newCandidate(ev, clockWall, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20})
	a := attribution{cause: causeIdle}
	e := timerOnItsClock(ev, c, &a)
	if a.timerAtMs < 3690 || a.timerAtMs > 3790 || !strings.Contains(e, "3.74 s") && !strings.Contains(e, "3.73 s") && !strings.Contains(e, "3.75 s") {
		t.Fatalf("timer %v ms, evidence %q: want the idle times' median, about 3.74 s", a.timerAtMs, e)
	}
	cl := Cluster{Clock: "wall", AtMs: c.at, Kind: "eof", Cause: causeIdle}
	h := hintFor(cl, a, clusterContext{})
	if strings.Contains(h.text, "4.67 s") || !strings.Contains(h.text, "an idle timeout of 3.7") {
		t.Errorf("hint %q: want the idle value, not seconds into the run", h.text)
	}
	// An event keeps its moment.
	a = attribution{cause: causeEvent}
	if timerOnItsClock(ev, c, &a); a.timerAtMs != 0 {
		t.Errorf("an event got a timer value %v", a.timerAtMs)
	}
}

// Caddy's reload sentence follows a close 1001 only when Caddy may be on
// the path.
func TestCaddyReloadSentenceOnlyWhereCaddyMayBe(t *testing.T) {
	nghttpx := clusterContext{proxy: identify.ProxyNghttpx, path: pathEvidence{known: true, named: []string{identify.ProxyNghttpx},
		answered: []string{identify.ProxyNghttpx}, server: true}}
	if k := kindHint("close_1001", nghttpx); strings.Contains(k, "Caddy") || !strings.Contains(k, "going away") {
		t.Errorf("behind nghttpx: %q", k)
	}
	caddy := clusterContext{proxy: identify.ProxyCaddy, path: pathEvidence{known: true, named: []string{identify.ProxyCaddy}}}
	if k := kindHint("close_1001", caddy); !strings.Contains(k, "Caddy closes every WebSocket with 1001") {
		t.Errorf("behind Caddy: %q", k)
	}
	if k := kindHint("close_1002", clusterContext{}); !strings.Contains(k, "Caddy") {
		t.Errorf("with nothing known of the answers: %q", k)
	}
	if k := kindHint("close_1002", nghttpx); strings.Contains(k, "Caddy") {
		t.Errorf("behind nghttpx: %q", k)
	}
}

// The same proxy with a coarse timer (lighttpd as "frontdoor", 3 s,
// whole seconds, checked once a second): the drops' lower edge lies up to
// a check period above the setting, and the hint says how far to look
// below it.
func TestIdentifiedProxyWithoutRowsCheckedInSweepsAllowsAPeriod(t *testing.T) {
	res := pathResult(frontdoor101, lighttpdDrops(30, 3000, 3, 300, 1), nil)
	c := only(t, res)
	if c.PeriodMs == 0 || !strings.Contains(c.Hint, "frontdoor is in front, and wshold has no row for its timeouts") ||
		!strings.Contains(c.Hint, "or up to one check period ("+msText(c.PeriodMs)+") less") {
		t.Errorf("period %v, hint %q: want the setting looked for up to one check period below the drops", c.PeriodMs, c.Hint)
	}
}
