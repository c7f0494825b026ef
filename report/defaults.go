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

// Presence is how a product shows itself in the answers it relays when it
// is on the path: what lets a hint say "not on this path" of a product the
// answers do not name.
type Presence int

const (
	// Unseen: nothing in a 101 it relays reliably names it (Apache passes
	// the backend's headers on, a load balancer adds none, a piping Varnish
	// relays the backend's bytes), or that was not verified. Its rows stay
	// candidates when the answers name nothing or something else.
	Unseen Presence = iota
	// Announced: it writes its own Server or Via into every answer it
	// relays, replacing or joining the backend's. Not named by the answers,
	// it is not in front; it may still sit behind a proxy that replaces
	// the Server header.
	Announced
	// AnnouncedWithoutBackendServer: its own Server only when the backend
	// sent none (lighttpd); the backend's otherwise.
	AnnouncedWithoutBackendServer
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
	// Presence is how the product shows itself in the answers when it is
	// on the path, Shows what it leaves there, and ShowsSource where that
	// was verified.
	Presence    Presence
	Shows       string
	ShowsSource string
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
		Source:   "nginx.org ngx_http_proxy_module (Default: 60s) and docs/http/websocket.html; measured with nginx 1.22.1: any frame either way re-arms it",
		Fix:      "raise proxy_read_timeout (e.g. 3600s) in the location that proxies the WebSocket, or send frames more often than it",
		Presence: Announced, Shows: "Server: nginx/VERSION, replacing the backend's",
		ShowsSource: "measured with nginx 1.22.1 (ngx_http_proxy_module: the upstream's Server is not passed by default)"},
	{Product: identify.ProxyNginx, Title: "ingress-nginx", Setting: "proxy-read-timeout", Seconds: 60, Times: TimesIdle,
		Wire: []string{"eof"}, WireText: "FIN, no close frame (it is nginx)",
		Source:   "kubernetes.github.io/ingress-nginx user-guide/nginx-configuration/configmap (proxy-read-timeout \"60\")",
		Fix:      `set the nginx.ingress.kubernetes.io/proxy-read-timeout annotation (e.g. "3600"), or send frames more often`,
		Presence: Announced, Shows: "Server: nginx, replacing the backend's", ShowsSource: "it is nginx (measured with nginx 1.22.1)"},
	{Product: identify.ProxyHAProxy, Title: "HAProxy", Setting: "timeout tunnel", Times: TimesIdle,
		Wire: []string{"eof"}, WireText: "FIN to the client, RST to the backend",
		Source:   "measured with HAProxy 2.6.12 (no value without configuration; once set it replaces timeout client and timeout server for the upgraded connection)",
		Fix:      "set timeout tunnel (e.g. 1h) in the defaults or backend section",
		Presence: Unseen, Shows: "no Server or Via of its own; every header name lower-case (a clue other proxies share)",
		ShowsSource: "measured with HAProxy 2.6.12: the backend's Server is passed on"},
	{Product: identify.ProxyHAProxy, Title: "HAProxy", Setting: "timeout client / timeout server", Times: TimesIdle,
		Wire: []string{"eof"}, WireText: "FIN to the client (RST to the backend when server fires)",
		Source:   "measured with HAProxy 2.6.12: without timeout tunnel an idle tunnel dies at the smaller of the two; neither has a value unless configured",
		Fix:      "set timeout tunnel (e.g. 1h): it replaces timeout client and timeout server for the upgraded connection",
		Presence: Unseen, Shows: "no Server or Via of its own; every header name lower-case (a clue other proxies share)",
		ShowsSource: "measured with HAProxy 2.6.12: the backend's Server is passed on"},
	{Product: identify.ProxyApache, Title: "Apache", Setting: "Timeout", Seconds: 60, Times: TimesIdle,
		Wire: []string{"eof"}, WireText: "FIN to the client and the backend",
		Source:   "httpd.apache.org/docs/2.4/mod/core.html#timeout (Default: Timeout 60); measured with Apache 2.4.71: tunnels use the larger of Timeout and ProxyTimeout",
		Fix:      "raise Timeout or ProxyTimeout (a tunnel uses the larger of the two), or send frames more often",
		Presence: Unseen, Shows: "nothing: its 101 carries the backend's Server, or none (its own error pages say Server: Apache)",
		ShowsSource: "measured with Apache 2.4.71 mod_proxy_http"},
	{Product: identify.ProxyCaddy, Title: "Caddy", Setting: "reverse_proxy stream_timeout", Times: TimesLifetime,
		WireText: "close 1001 to the client when it fires (Caddy 2.7+); none in 2.6",
		Source:   "caddyserver.com/docs/caddyfile/directives/reverse_proxy (stream_timeout, 2.7+, no default); measured with Caddy 2.6.2: no idle timeout in 95 s, every WebSocket closed with 1001 on a config reload",
		Fix:      "leave stream_timeout unset; close_1001 at one moment is a config reload, not a timer",
		Presence: Announced, Shows: "Server: Caddy, beside the backend's", ShowsSource: "measured with Caddy 2.6.2"},
	{Product: identify.ProxyLighttpd, Title: "lighttpd", Setting: "server.max-read-idle", Seconds: 60, Times: TimesClientIdle,
		Wire: []string{"eof"}, WireText: "FIN, no close frame", GranularityMs: 1000,
		Source:   "lighttpd1.4 at lighttpd-1.4.69: src/configfile.c (max_read_idle = 60), src/connections.c (connection_check_timeout, whole seconds), src/server.c (checked once a second); measured with 1.4.69: cuts between 60 and 62 s in batches one second apart",
		Fix:      `raise server.max-read-idle (e.g. server.max-read-idle = 3600, also inside the $HTTP["url"] block that proxies), or send frames more often than it`,
		Presence: AnnouncedWithoutBackendServer, Shows: "Server: lighttpd/VERSION when the backend sends no Server; the backend's otherwise",
		ShowsSource: "measured with lighttpd 1.4.69 mod_proxy"},
	{Product: identify.ProxyVarnish, Title: "Varnish", Setting: "pipe_timeout", Seconds: 60, Times: TimesIdle,
		Wire: []string{"eof"}, WireText: "FIN, no close frame",
		Source:   "varnish-cache at varnish-7.1.1: include/tbl/params.h (pipe_timeout 60.000 s, \"nothing received in either direction\"), bin/varnishd/http1/cache_http1_pipe.c (poll on both sides); measured with 7.1.1",
		Fix:      "raise the pipe_timeout parameter (varnishd -p pipe_timeout=3600, or varnishadm param.set pipe_timeout 3600), or send frames more often",
		Presence: Unseen, Shows: "nothing: a piped 101 is the backend's bytes (Via: 1.1 varnish only on answers it does not pipe)",
		ShowsSource: "measured with Varnish 7.1.1"},
	{Product: identify.ProxyNghttpx, Title: "nghttpx", Setting: "frontend-read-timeout", Seconds: 60, Times: TimesIdle,
		Wire: []string{"eof"}, WireText: "FIN to the client, no close frame",
		Source:   "nghttpx(1) of nghttp2 1.52.0 (--frontend-read-timeout: HTTP/1.1 frontend, Default: 1m); measured with 1.52.0: a frame either way re-arms it (a write to the client counts as well as a read)",
		Fix:      "raise frontend-read-timeout and backend-read-timeout in nghttpx.conf (e.g. frontend-read-timeout=1h; a backend's read-timeout= parameter overrides the latter for its pattern), or send frames more often than them",
		Presence: Announced, Shows: "Server: nghttpx, replacing the backend's, and Via: 1.1 nghttpx",
		ShowsSource: "measured with nghttpx 1.52.0 (nghttpx(1): --server-name, --no-server-rewrite, --no-via)"},
	{Product: identify.ProxyNghttpx, Title: "nghttpx", Setting: "backend-read-timeout", Seconds: 60, Times: TimesIdle,
		Wire: []string{"eof"}, WireText: "FIN to the client, no close frame",
		Source:   "nghttpx(1) of nghttp2 1.52.0 (--backend-read-timeout, Default: 1m); measured with 1.52.0: a frame either way re-arms it (a deaf backend was not cut while the client pinged)",
		Fix:      "raise backend-read-timeout and frontend-read-timeout in nghttpx.conf (e.g. backend-read-timeout=1h), or send frames more often than them",
		Presence: Announced, Shows: "Server: nghttpx, replacing the backend's, and Via: 1.1 nghttpx",
		ShowsSource: "measured with nghttpx 1.52.0 (nghttpx(1): --server-name, --no-server-rewrite, --no-via)"},
	{Product: identify.ProxyH2O, Title: "h2o", Setting: "proxy.websocket.timeout", Seconds: 300, Times: TimesIdle,
		Wire: []string{"eof"}, WireText: "FIN to the client and the backend, no close frame",
		Source:   "h2o 2.2.5: include/h2o.h (H2O_DEFAULT_PROXY_WEBSOCKET_TIMEOUT_IN_SECS 300), lib/handler/configurator/proxy.c (proxy.websocket off by default, value in ms), lib/tunnel.c (re-armed on every read and write); measured with 2.2.5 at 3000 ms",
		Fix:      "raise proxy.websocket.timeout (in milliseconds, e.g. proxy.websocket.timeout: 3600000) beside proxy.websocket: ON, or send frames more often than it",
		Presence: Announced, Shows: "Server: h2o/VERSION, replacing the backend's", ShowsSource: "measured with h2o 2.2.5"},
	{Product: identify.ProxyATS, Title: "ATS", Setting: "proxy.config.websocket.no_activity_timeout", Seconds: 600, Times: TimesIdle,
		Wire: []string{"eof"}, WireText: "FIN, no close frame", GranularityMs: 1000,
		Source:   "trafficserver 9.2: mgmt/RecordsConfig.cc (no_activity_timeout 600, net.inactivity_check_frequency 1), doc/admin-guide/files/records.config.en.rst; measured with 9.2.9: its inactivity cop cuts in sweeps once a second",
		Fix:      "raise proxy.config.websocket.no_activity_timeout in records.config (e.g. CONFIG proxy.config.websocket.no_activity_timeout INT 3600), or send frames more often than it",
		Presence: Announced, Shows: "Server: ATS/VERSION, replacing the backend's", ShowsSource: "measured with ATS 9.2.9 (proxy.config.http.response_server_enabled 1 by default)"},
	{Product: identify.ProxyATS, Title: "ATS", Setting: "proxy.config.websocket.active_timeout", Seconds: 3600, Times: TimesLifetime,
		Wire: []string{"eof"}, WireText: "FIN, no close frame", GranularityMs: 1000,
		Source:   "trafficserver 9.2: mgmt/RecordsConfig.cc (active_timeout 3600), doc/admin-guide/files/records.config.en.rst (the longest a WebSocket may stay open); measured with 9.2.9 at 4 s: silent connections were cut in sweeps once a second, pinging ones were not, so traffic may re-arm it",
		Fix:      "raise proxy.config.websocket.active_timeout in records.config (e.g. CONFIG proxy.config.websocket.active_timeout INT 86400); reconnecting clients live with it",
		Presence: Announced, Shows: "Server: ATS/VERSION, replacing the backend's", ShowsSource: "measured with ATS 9.2.9 (proxy.config.http.response_server_enabled 1 by default)"},
	{Product: identify.ProxyEnvoy, Title: "Envoy", Setting: "stream_idle_timeout", Seconds: 300, Times: TimesIdle,
		WireText: "the stream is reset and the connection closed (not measured here)",
		Source:   "envoyproxy.io docs v1.39 faq/configuration/timeouts (HTTP connection manager stream_idle_timeout, default 5 min; no activity in either direction)",
		Fix:      "raise stream_idle_timeout in the HTTP connection manager, or the route's idle_timeout; or send frames more often",
		Presence: Announced, Shows: "server: envoy, replacing the backend's",
		ShowsSource: "envoyproxy.io docs, HttpConnectionManager server_header_transformation (OVERWRITE by default) and server_name (default envoy); not measured here"},
	{Product: identify.ProxyEnvoy, Title: "Envoy", Setting: "common_http_protocol_options idle_timeout", Seconds: 3600, Times: TimesNever,
		WireText: "fires only on a connection with no active stream, so never on an open WebSocket",
		Source:   "envoyproxy.io docs v1.39 faq/configuration/timeouts (default 1 hour, only with no active streams)",
		Fix:      "not the cause of a drop on an open WebSocket; see stream_idle_timeout",
		Presence: Announced, Shows: "server: envoy, replacing the backend's",
		ShowsSource: "envoyproxy.io docs, HttpConnectionManager server_header_transformation (OVERWRITE by default); not measured here"},
	{Product: identify.ProxyAWSELB, Title: "AWS ALB", Setting: "idle_timeout.timeout_seconds", Seconds: 60, Times: TimesIdle,
		WireText: "not documented",
		Source:   "docs.aws.amazon.com elasticloadbalancing/latest/application, edit-load-balancer-attributes (connection idle timeout, default 60 s: no data sent or received)",
		Fix:      "raise the load balancer's idle_timeout.timeout_seconds (up to 4000), or send frames more often",
		Presence: Unseen, Shows: "nothing documented on answers it relays (its own error pages say Server: awselb/2.0)", ShowsSource: "not measured here"},
	{Product: identify.ProxyAWSELB, Title: "AWS NLB", Setting: "tcp.idle_timeout.seconds", Seconds: 350, Times: TimesIdle,
		Wire: []string{"reset"}, WireText: "nothing when it fires: the flow is forgotten and the next packet either way gets an RST",
		Source:   "docs.aws.amazon.com elasticloadbalancing/latest/network/update-idle-timeout (default 350 s; no data from either side)",
		Fix:      "raise the listener's tcp.idle_timeout.seconds (60–6000), or send frames more often than every 350 s",
		Presence: Unseen, Shows: "nothing: it forwards TCP", ShowsSource: "a layer-4 load balancer"},
	{Product: identify.ProxyHeroku, Title: "Heroku router", Setting: "idle timeout", Seconds: 55, Times: TimesIdle,
		WireText: "not documented",
		Source:   "devcenter.heroku.com/articles/http-routing#timeouts and /articles/websockets (rolling 55 s window re-armed by any byte either way)",
		Fix:      "it cannot be changed: send a frame at least every 55 s (e.g. --ping 30s)",
		Presence: Unseen, Shows: "Via: 1.1 vegur is added to requests; not verified on answers", ShowsSource: "devcenter.heroku.com/articles/http-routing (request headers); not measured here"},
	{Product: identify.ProxyGCP, Title: "GCP load balancer", Setting: "backend service timeout", Seconds: 30, Times: TimesLifetime,
		WireText: "not documented",
		Source:   "cloud.google.com/load-balancing/docs/backend-service#timeout-setting (default 30 s; for WebSockets the longest a connection may stay open, idle or not)",
		Fix:      "raise the backend service timeout (timeoutSec, or a BackendConfig's timeoutSec on GKE); it caps a WebSocket's lifetime even with traffic, so pings do not help",
		Presence: Announced, Shows: "Via: 1.1 google",
		ShowsSource: "cloud.google.com/load-balancing/docs/custom-headers (headers it adds by default to every response it proxies, listed with the target proxies: Via: 1.1 google); not measured here"},
	{Product: identify.ProxyAzure, Title: "Azure Front Door", Setting: "WebSocket idle timeout", Seconds: 300, Times: TimesIdle,
		WireText: "not documented",
		Source:   "learn.microsoft.com/azure/frontdoor/standard-premium/websocket (idle timeout 5 min: no data from origin or client)",
		Fix:      "it cannot be changed: send a frame at least every 5 minutes",
		Presence: Unseen, Shows: "not verified", ShowsSource: "not measured here"},
	{Product: identify.ProxyAzure, Title: "Azure Front Door", Setting: "WebSocket maximum duration", Seconds: 4 * 3600, Times: TimesLifetime,
		WireText: "not documented",
		Source:   "learn.microsoft.com/azure/frontdoor/standard-premium/websocket (connections stay open at most 4 hours)",
		Fix:      "it cannot be changed: reconnect (the client must expect it)",
		Presence: Unseen, Shows: "not verified", ShowsSource: "not measured here"},
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
	// product is the row's (or the configured file's) product, and
	// title how people write it.
	product, title string
	// rank: 0 a configured timeout, 1 a default of the proxy in front,
	// 2 a default of another product the evidence puts on the path (or
	// of any product, when nothing is known of the answers); candidates,
	// never the headline: 3 a product that would not show itself in the
	// answers, 4 one that would, hidden behind the proxy in front.
	rank int
}

// Ranks of a match (see match.rank).
const (
	rankConfigured = iota
	rankFront
	rankOnPath
	rankUnseen
	rankBehind
)

// candidate reports whether the match is only possible: its product is
// not named by the evidence.
func (m match) candidate() bool { return m.rank >= rankUnseen }

// pathEvidence is what the run knows of the products on its path: the
// answers it got (what they name, whether they carry a Server header at
// all), the proxy stated with --proxy and the kinds of --proxy-config
// files. Without answers nothing is known, and every row stays possible.
type pathEvidence struct {
	// known: the run kept the answers' identities.
	known bool
	// named are the products named by an answer (Server, Via, …), stated
	// or configured; answered the ones an answer names.
	named, answered []string
	// server: some answer carried a Server header.
	server bool
	// clues are the products the answers' form suggests without naming
	// one (every header name lower-case: HAProxy, Envoy).
	clues []string
}

// pathOf reads a result's answers, stated proxy and configs.
func pathOf(res *Result) pathEvidence {
	var pe pathEvidence
	add := func(list *[]string, name string) {
		if name != "" && !slices.Contains(*list, name) {
			*list = append(*list, name)
		}
	}
	if s := strings.TrimSpace(res.Scenario.Proxy); s != "" {
		name, _ := identify.Normalize(s)
		add(&pe.named, name)
	}
	for _, pc := range res.ProxyConfigs {
		add(&pe.named, pc.Product)
	}
	for _, a := range res.Answers {
		if a.Other {
			continue
		}
		pe.known = true
		if a.Server != "" {
			pe.server = true
		}
		id := identityOf(a)
		for _, g := range identify.Guesses(id) {
			if g.Role != identify.RoleBackend {
				add(&pe.named, g.Name)
				add(&pe.answered, g.Name)
			}
		}
		for _, c := range identify.Clues(id) {
			for _, p := range c.Products {
				add(&pe.clues, p)
			}
		}
	}
	return pe
}

// rankOf places a row of the table relative to what is known of the
// path, front being the proxy in front ("" when none is named); ok is
// false when the row's product cannot be on it: it would have named
// itself in the answers and nothing could have hidden it.
func (pe pathEvidence) rankOf(d Default, front string) (rank int, ok bool) {
	switch {
	case front != "" && d.Product == front:
		return rankFront, true
	case !pe.known || slices.Contains(pe.named, d.Product):
		return rankOnPath, true
	case slices.Contains(pe.clues, d.Product), d.Presence == Unseen,
		d.Presence == AnnouncedWithoutBackendServer && pe.server && len(pe.answered) == 0:
		// lighttpd passes a backend's Server header on: one that names
		// no proxy may have come through it.
		return rankUnseen, true
	case front != "" && slices.Contains(pe.answered, front):
		// The answers name the proxy in front, which may have replaced
		// this product's Server header with its own.
		return rankBehind, true
	}
	return 0, false
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
// proxy in front, then those of other products on the path, then the
// candidates (see match.rank). Rows of products that would have named
// themselves in the answers, and did not, are left out.
func matchesFor(atMs float64, kind, cause string, ctx clusterContext) []match {
	var out []match
	for _, c := range ctx.configured {
		if c.Seconds > 0 && timesAgree(c.Times, cause) && valueAgrees(atMs, c.Seconds, 0) {
			out = append(out, match{
				name:    fmt.Sprintf("the configured %s %s in %s", c.Setting, secondsText(c.Seconds), c.File),
				fix:     fixFor(c.Product, c.Setting),
				product: c.Product, title: identify.Title(c.Product),
				rank: rankConfigured,
			})
		}
	}
	for _, d := range Defaults {
		if d.Seconds == 0 || !timesAgree(d.Times, cause) || !wireAgrees(d.Wire, kind) ||
			!valueAgrees(atMs, d.Seconds, d.GranularityMs) {
			continue
		}
		rank, ok := ctx.path.rankOf(d, ctx.proxy)
		if !ok {
			continue
		}
		out = append(out, match{name: fmt.Sprintf("%s (%s)", d.Name(), secondsText(d.Seconds)), fix: d.Fix,
			product: d.Product, title: d.Title, rank: rank})
	}
	slices.SortStableFunc(out, func(a, b match) int { return a.rank - b.rank })
	return out
}

// onPath and candidates split matches at the candidates.
func onPath(ms []match) []match {
	i := slices.IndexFunc(ms, match.candidate)
	if i < 0 {
		return ms
	}
	return ms[:i]
}

func candidates(ms []match) []match {
	i := slices.IndexFunc(ms, match.candidate)
	if i < 0 {
		return nil
	}
	return ms[i:]
}

// hasRows reports whether the table has a row for the product.
func hasRows(product string) bool {
	return slices.ContainsFunc(Defaults, func(d Default) bool { return d.Product == product })
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
