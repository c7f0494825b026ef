package report

import (
	"fmt"
	"slices"
	"strings"

	"github.com/wshold/wshold/internal/identify"
)

// Timer says what a proxy's timeout measures.
type Timer string

const (
	// TimesIdle: time since the last byte in either direction; any frame
	// re-arms it (a client ping, a server ping, its pong).
	TimesIdle Timer = "idle"
	// TimesClientIdle: time since the last byte from the client. The
	// client answers a server's pings with pongs, so to wshold it acts as
	// TimesIdle, but a backend that only pushes data does not re-arm it.
	TimesClientIdle Timer = "client_idle"
	// TimesLifetime: time since the upgrade, whatever the traffic.
	TimesLifetime Timer = "lifetime"
	// TimesNever: the setting does not end an open WebSocket (listed so
	// that nobody looks for it).
	TimesNever Timer = "never"
)

// Default is one row of the table of known defaults: a proxy's or load
// balancer's setting that ends WebSocket connections, with what it measures,
// what it puts on the wire, and where that was verified. Rows with
// Seconds 0 have no default (the setting must be configured) and match no
// cluster; they give the setting to raise for that product.
type Default struct {
	// Product is the identify name ("nginx", "lighttpd", "aws-elb"), and
	// Title how people write it.
	Product string
	Title   string
	// Setting is the name to look for in its configuration.
	Setting string
	// Seconds is the default value; 0 when there is none.
	Seconds float64
	Times   Timer
	// Wire are the drop kinds it produces ("eof" for a FIN without a close
	// frame, "reset"); nil when its documentation does not say, in which
	// case a FIN or an RST matches it and a close frame does not. WireText
	// says it in words.
	Wire     []string
	WireText string
	// GranularityMs is how coarse its timer is: 0 for one timer per
	// connection to the millisecond; 1000 for a check once a second on
	// whole-second timestamps, which cuts between Seconds and Seconds+2.
	GranularityMs float64
	// Source is where the row was verified: a document or source file
	// with its version, and "measured" when the lab confirmed it.
	Source string
	// Fix is what to change, or how to live with it.
	Fix string
}

// Name is the row's name in hints and verdicts: "nginx proxy_read_timeout
// default".
func (d Default) Name() string {
	if d.Seconds == 0 {
		return d.Title + " " + d.Setting
	}
	return d.Title + " " + d.Setting + " default"
}

// Defaults is the table of known defaults. Every row was read in the
// product's documentation or source at the version named, or measured in
// the lab (scripts/lab/); rows that could not be verified are left out
// (see the proxies page of the docs: Traefik's idleTimeout, which Go's
// net/http clears when the connection is hijacked for the upgrade, and
// Cloudflare's often-quoted 100 s, which its current documentation does
// not state for WebSockets).
var Defaults = []Default{
	{Product: identify.ProxyNginx, Title: "nginx", Setting: "proxy_read_timeout", Seconds: 60, Times: TimesIdle,
		Wire: []string{"eof"}, WireText: "FIN to the client and the backend, no close frame",
		Source: "nginx.org ngx_http_proxy_module (Default: 60s) and docs/http/websocket.html; measured with nginx 1.22.1: any frame either way re-arms it",
		Fix:    "raise proxy_read_timeout (e.g. 3600s) in the location that proxies the WebSocket, or send frames more often than it"},
	{Product: identify.ProxyNginx, Title: "ingress-nginx", Setting: "proxy-read-timeout", Seconds: 60, Times: TimesIdle,
		Wire: []string{"eof"}, WireText: "FIN, no close frame (it is nginx)",
		Source: "kubernetes.github.io/ingress-nginx user-guide/nginx-configuration/configmap (proxy-read-timeout \"60\")",
		Fix:    `set the nginx.ingress.kubernetes.io/proxy-read-timeout annotation (e.g. "3600"), or send frames more often`},
	{Product: identify.ProxyHAProxy, Title: "HAProxy", Setting: "timeout tunnel", Times: TimesIdle,
		Wire: []string{"eof"}, WireText: "FIN to the client, RST to the backend",
		Source: "measured with HAProxy 2.6.12 (no value without configuration; once set it replaces timeout client and timeout server for the upgraded connection)",
		Fix:    "set timeout tunnel (e.g. 1h) in the defaults or backend section"},
	{Product: identify.ProxyHAProxy, Title: "HAProxy", Setting: "timeout client / timeout server", Times: TimesIdle,
		Wire: []string{"eof"}, WireText: "FIN to the client (RST to the backend when server fires)",
		Source: "measured with HAProxy 2.6.12: without timeout tunnel an idle tunnel dies at the smaller of the two; neither has a value unless configured",
		Fix:    "set timeout tunnel (e.g. 1h): it replaces timeout client and timeout server for the upgraded connection"},
	{Product: identify.ProxyApache, Title: "Apache", Setting: "Timeout", Seconds: 60, Times: TimesIdle,
		Wire: []string{"eof"}, WireText: "FIN to the client and the backend",
		Source: "httpd.apache.org/docs/2.4/mod/core.html#timeout (Default: Timeout 60); measured with Apache 2.4.71: tunnels use the larger of Timeout and ProxyTimeout",
		Fix:    "raise Timeout or ProxyTimeout (a tunnel uses the larger of the two), or send frames more often"},
	{Product: identify.ProxyCaddy, Title: "Caddy", Setting: "reverse_proxy stream_timeout", Times: TimesLifetime,
		WireText: "close 1001 to the client when it fires (Caddy 2.7+); none in 2.6",
		Source:   "caddyserver.com/docs/caddyfile/directives/reverse_proxy (stream_timeout, 2.7+, no default); measured with Caddy 2.6.2: no idle timeout in 95 s, every WebSocket closed with 1001 on a config reload",
		Fix:      "leave stream_timeout unset; close_1001 at one moment is a config reload, not a timer"},
	{Product: identify.ProxyLighttpd, Title: "lighttpd", Setting: "server.max-read-idle", Seconds: 60, Times: TimesClientIdle,
		Wire: []string{"eof"}, WireText: "FIN, no close frame", GranularityMs: 1000,
		Source: "lighttpd1.4 at lighttpd-1.4.69: src/configfile.c (max_read_idle = 60), src/connections.c (connection_check_timeout, whole seconds), src/server.c (checked once a second); measured with 1.4.69: cuts between 60 and 62 s in batches one second apart",
		Fix:    `raise server.max-read-idle (e.g. server.max-read-idle = 3600, also inside the $HTTP["url"] block that proxies), or send frames more often than it`},
	{Product: identify.ProxyVarnish, Title: "Varnish", Setting: "pipe_timeout", Seconds: 60, Times: TimesIdle,
		Wire: []string{"eof"}, WireText: "FIN, no close frame",
		Source: "varnish-cache at varnish-7.1.1: include/tbl/params.h (pipe_timeout 60.000 s, \"nothing received in either direction\"), bin/varnishd/http1/cache_http1_pipe.c (poll on both sides); measured with 7.1.1",
		Fix:    "raise the pipe_timeout parameter (varnishd -p pipe_timeout=3600, or varnishadm param.set pipe_timeout 3600), or send frames more often"},
	{Product: identify.ProxyEnvoy, Title: "Envoy", Setting: "stream_idle_timeout", Seconds: 300, Times: TimesIdle,
		WireText: "the stream is reset and the connection closed (not measured here)",
		Source:   "envoyproxy.io docs v1.39 faq/configuration/timeouts (HTTP connection manager stream_idle_timeout, default 5 min; no activity in either direction)",
		Fix:      "raise stream_idle_timeout in the HTTP connection manager, or the route's idle_timeout; or send frames more often"},
	{Product: identify.ProxyEnvoy, Title: "Envoy", Setting: "common_http_protocol_options idle_timeout", Seconds: 3600, Times: TimesNever,
		WireText: "fires only on a connection with no active stream, so never on an open WebSocket",
		Source:   "envoyproxy.io docs v1.39 faq/configuration/timeouts (default 1 hour, only with no active streams)",
		Fix:      "not the cause of a drop on an open WebSocket; see stream_idle_timeout"},
	{Product: identify.ProxyAWSELB, Title: "AWS ALB", Setting: "idle_timeout.timeout_seconds", Seconds: 60, Times: TimesIdle,
		WireText: "not documented",
		Source:   "docs.aws.amazon.com elasticloadbalancing/latest/application, edit-load-balancer-attributes (connection idle timeout, default 60 s: no data sent or received)",
		Fix:      "raise the load balancer's idle_timeout.timeout_seconds (up to 4000), or send frames more often"},
	{Product: identify.ProxyAWSELB, Title: "AWS NLB", Setting: "tcp.idle_timeout.seconds", Seconds: 350, Times: TimesIdle,
		Wire: []string{"reset"}, WireText: "nothing when it fires: the flow is forgotten and the next packet either way gets an RST",
		Source: "docs.aws.amazon.com elasticloadbalancing/latest/network/update-idle-timeout (default 350 s; no data from either side)",
		Fix:    "raise the listener's tcp.idle_timeout.seconds (60–6000), or send frames more often than every 350 s"},
	{Product: identify.ProxyHeroku, Title: "Heroku router", Setting: "idle timeout", Seconds: 55, Times: TimesIdle,
		WireText: "not documented",
		Source:   "devcenter.heroku.com/articles/http-routing#timeouts and /articles/websockets (rolling 55 s window re-armed by any byte either way)",
		Fix:      "it cannot be changed: send a frame at least every 55 s (e.g. --ping 30s)"},
	{Product: identify.ProxyGCP, Title: "GCP load balancer", Setting: "backend service timeout", Seconds: 30, Times: TimesLifetime,
		WireText: "not documented",
		Source:   "cloud.google.com/load-balancing/docs/backend-service#timeout-setting (default 30 s; for WebSockets the longest a connection may stay open, idle or not)",
		Fix:      "raise the backend service timeout (timeoutSec, or a BackendConfig's timeoutSec on GKE); it caps a WebSocket's lifetime even with traffic, so pings do not help"},
	{Product: identify.ProxyAzure, Title: "Azure Front Door", Setting: "WebSocket idle timeout", Seconds: 300, Times: TimesIdle,
		WireText: "not documented",
		Source:   "learn.microsoft.com/azure/frontdoor/standard-premium/websocket (idle timeout 5 min: no data from origin or client)",
		Fix:      "it cannot be changed: send a frame at least every 5 minutes"},
	{Product: identify.ProxyAzure, Title: "Azure Front Door", Setting: "WebSocket maximum duration", Seconds: 4 * 3600, Times: TimesLifetime,
		WireText: "not documented",
		Source:   "learn.microsoft.com/azure/frontdoor/standard-premium/websocket (connections stay open at most 4 hours)",
		Fix:      "it cannot be changed: reconnect (the client must expect it)"},
}

// ConfiguredTimeout is a timeout read from a --proxy-config file.
type ConfiguredTimeout struct {
	// Product is the identify name of the config's kind ("nginx").
	Product string `json:"product"`
	// Setting is as written in the file ("proxy_read_timeout").
	Setting string `json:"setting"`
	// Seconds is its value.
	Seconds float64 `json:"seconds"`
	// Times is what it measures (idle, client_idle, lifetime).
	Times Timer `json:"times"`
	// File is the config's path.
	File string `json:"file"`
}

// match is a default or a configured timeout a cluster agrees with.
type match struct {
	name string // "nginx proxy_read_timeout default (60 s)"
	fix  string
	// rank: configured timeouts first, then the proxy in front's
	// defaults, then the rest in table order.
	rank int
}

// matchTolerance is how far a cluster may lie from a default and still
// match it: max(1 s, 2 %). Proxies fire their timers in batches, and the
// harness sees a drop a little late; a second covers both at 60 s.
func matchTolerance(seconds float64) float64 { return max(1000, 0.02*seconds*1000) }

// timesAgree says whether a timer of this kind can explain a cluster
// attributed to cause.
func timesAgree(t Timer, cause string) bool {
	switch cause {
	case "idle_timeout":
		return t == TimesIdle || t == TimesClientIdle
	case "max_lifetime":
		return t == TimesLifetime
	}
	return false
}

// wireAgrees says whether a drop kind is what a row puts on the wire: its
// listed kinds, or a FIN or RST when its documentation does not say. A
// close frame with a code comes from a WebSocket endpoint and never
// matches a proxy's timer. A row's FIN is close_notify then FIN when the
// proxy terminates TLS.
func wireAgrees(wire []string, kind string) bool {
	if kind == "tls_close_notify" {
		// Over TLS, the same cut: the terminator closes TLS in order
		// before its FIN, still without a close frame.
		kind = "eof"
	}
	if wire == nil {
		return kind == "eof" || kind == "reset"
	}
	return slices.Contains(wire, kind)
}

// valueAgrees says whether a cluster at atMs (with its lowest and highest
// drop) fits a timer of seconds with the given granularity: a coarse timer
// checked once a period P on whole periods cuts between its value and
// value + 2P.
func valueAgrees(atMs, seconds, granularityMs float64) bool {
	v := seconds * 1000
	tol := matchTolerance(seconds)
	return atMs >= v-tol && atMs <= v+2*granularityMs+tol
}

// matchesFor lists the known defaults and configured timeouts a cluster
// agrees with in value, clock (what the timer measures, as cause says) and
// wire kind, best first: configured timeouts, then the defaults of the
// proxy in front, then the others in table order.
func matchesFor(atMs float64, kind, cause string, ctx clusterContext) []match {
	var out []match
	for _, c := range ctx.configured {
		if c.Seconds > 0 && timesAgree(c.Times, cause) && valueAgrees(atMs, c.Seconds, 0) {
			out = append(out, match{
				name: fmt.Sprintf("the configured %s %s in %s", c.Setting, secondsText(c.Seconds), c.File),
				fix:  fixFor(c.Product, c.Setting),
				rank: 0,
			})
		}
	}
	for _, d := range Defaults {
		if d.Seconds == 0 || !timesAgree(d.Times, cause) || !wireAgrees(d.Wire, kind) ||
			!valueAgrees(atMs, d.Seconds, d.GranularityMs) {
			continue
		}
		rank := 2
		if ctx.proxy != "" && d.Product == ctx.proxy {
			rank = 1
		}
		out = append(out, match{name: fmt.Sprintf("%s (%s)", d.Name(), secondsText(d.Seconds)), fix: d.Fix, rank: rank})
	}
	slices.SortStableFunc(out, func(a, b match) int { return a.rank - b.rank })
	return out
}

// fixFor is the table's fix for a product's setting, or a generic one.
func fixFor(product, setting string) string {
	for _, d := range Defaults {
		if d.Product == product && strings.Contains(d.Setting, setting) {
			return d.Fix
		}
	}
	return "raise " + setting + ", or send frames more often than it"
}

// settingsOf lists a product's rows that end open WebSockets: for an idle
// timeout, the settings to raise for the proxy in front.
func settingsOf(product string, times ...Timer) []Default {
	var out []Default
	for _, d := range Defaults {
		if d.Product == product && slices.Contains(times, d.Times) {
			out = append(out, d)
		}
	}
	return out
}
