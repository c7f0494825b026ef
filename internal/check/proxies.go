package check

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/wshold/wshold/internal/identify"
)

// Proxy names used in Report.Proxy and Fix.For (identify's stable codes).
const (
	ProxyNginx    = identify.ProxyNginx
	ProxyHAProxy  = identify.ProxyHAProxy
	ProxyCaddy    = identify.ProxyCaddy
	ProxyApache   = identify.ProxyApache
	ProxyLighttpd = identify.ProxyLighttpd
	ProxyVarnish  = identify.ProxyVarnish
)

// proxyGuess is what the answer gives away about a proxy in the path.
type proxyGuess struct {
	name     string // a Proxy* constant, another product name, or ""
	evidence string // what gave it away, shown to the user
	ownPage  bool   // the body is the proxy's own error page, not relayed
	// backend names the WebSocket server the answer names when no proxy
	// does (Server: Python/3.11 websockets/10.4), e.g. "Python websockets".
	backend, backendEvidence string
}

// haproxyPages are phrases of HAProxy's built-in error pages; HAProxy sends
// no Server header, so its pages are how it is recognised.
var haproxyPages = []string{
	"No server is available to handle this request",
	"The server returned an invalid or incomplete response",
	"The server didn't respond in time",
	"Your browser sent an invalid request",
	"Request forbidden by administrative rules",
}

// detectProxy names the proxy the answer came from or through — from the
// Server and Via headers, the header names' case, read the way run reads
// them (internal/identify) — and tells its own error pages from relayed
// ones. A product identify does not know is still named, as its header
// writes it.
func detectProxy(resp *Response) proxyGuess {
	var g proxyGuess
	hs := resp.headers()
	names, values := make([]string, len(hs)), make([]string, len(hs))
	for i, h := range hs {
		names[i], values[i] = h.Name, h.Value
	}
	for _, x := range identify.Guesses(identify.FromHeaders(resp.Status, names, values, resp.Body)) {
		if x.Role == identify.RoleBackend {
			if g.backend == "" {
				g.backend, g.backendEvidence = x.Title, x.Evidence
			}
			continue
		}
		if g.name == "" {
			g.name, g.evidence = x.Name, x.Evidence
		}
	}
	body := resp.Body
	switch {
	case g.name == ProxyNginx && (strings.Contains(body, "<center>nginx") || strings.Contains(body, "<center>openresty")):
		g.ownPage = true
	case g.name == ProxyApache && strings.Contains(body, "<address>Apache"):
		g.ownPage = true
	case g.name == ProxyCaddy && strings.TrimSpace(body) == "" && resp.Status >= 500:
		// Caddy's own errors have an empty body unless handle_errors is set.
		g.ownPage = true
	case g.name == ProxyLighttpd && strings.Contains(body, "<title>") && strings.Contains(body, resp.Reason):
		// lighttpd's own pages are a bare HTML document titled with the
		// status ("<title>502 Bad Gateway</title>").
		g.ownPage = true
	case g.name == ProxyVarnish && (strings.Contains(body, "Guru Meditation") || strings.Contains(body, "<p>XID:")):
		g.ownPage = true
	case g.name == "" || g.name == ProxyHAProxy:
		for _, p := range haproxyPages {
			if strings.Contains(body, p) {
				return proxyGuess{name: ProxyHAProxy, evidence: "HAProxy's error page (\"" + p + "\")", ownPage: true}
			}
		}
	}
	if g.name == "" && strings.Contains(body, "<address>Apache") {
		g = proxyGuess{name: ProxyApache, evidence: "Apache's error page", ownPage: true}
	}
	return g
}

// proxyTitle is the product's name as people write it.
func proxyTitle(name string) string { return identify.Title(name) }

// proxyOrder puts the detected proxy first, then the others.
func proxyOrder(detected string) []string {
	all := []string{ProxyNginx, ProxyHAProxy, ProxyCaddy, ProxyApache, ProxyLighttpd, ProxyVarnish}
	order := []string{}
	for _, p := range all {
		if p == detected {
			order = append(order, p)
		}
	}
	for _, p := range all {
		if p != detected {
			order = append(order, p)
		}
	}
	return order
}

// upgradeFixes are the per-proxy changes that make a proxy forward the
// upgrade, the detected proxy's first. path is the request path, used as
// the location in the examples.
func upgradeFixes(detected, path string) []Fix {
	var fixes []Fix
	for _, p := range proxyOrder(detected) {
		switch p {
		case ProxyNginx:
			fixes = append(fixes,
				Fix{For: ProxyNginx, Title: "nginx: speak HTTP/1.1 to the backend and forward the upgrade headers, in the location that proxies this path; then nginx -t && nginx -s reload",
					Config: fmt.Sprintf("location %s {\n    proxy_pass http://backend;\n    proxy_http_version 1.1;\n    proxy_set_header Upgrade $http_upgrade;\n    proxy_set_header Connection \"upgrade\";\n}", path)},
				Fix{For: ProxyNginx, Title: "nginx, when the same location also serves plain HTTP: map the Connection header, so ordinary requests are not marked as upgrades",
					Config: fmt.Sprintf("# in the http block:\nmap $http_upgrade $connection_upgrade {\n    default upgrade;\n    ''      close;\n}\n\n# in the location:\nlocation %s {\n    proxy_pass http://backend;\n    proxy_http_version 1.1;\n    proxy_set_header Upgrade $http_upgrade;\n    proxy_set_header Connection $connection_upgrade;\n}", path)},
			)
		case ProxyHAProxy:
			fixes = append(fixes, Fix{For: ProxyHAProxy,
				Title:  "HAProxy: mode http forwards upgrades without special configuration; check that no http-request del-header/set-header touches Upgrade or Connection, that option httpclose or http-server-close is not what strips them, and set timeout tunnel so the open WebSocket is not cut at timeout client/server",
				Config: "defaults\n    mode http\n    timeout tunnel 1h"})
		case ProxyCaddy:
			fixes = append(fixes, Fix{For: ProxyCaddy,
				Title:  "Caddy: reverse_proxy forwards upgrades by default; check that no header_up removes Upgrade or Connection and that this path reaches reverse_proxy (not a respond or file_server matched first)",
				Config: fmt.Sprintf("handle %s* {\n    reverse_proxy backend:port\n}", path)})
		case ProxyLighttpd:
			fixes = append(fixes, Fix{For: ProxyLighttpd,
				Title:  "lighttpd: let mod_proxy pass the upgrade with proxy.header \"upgrade\" => \"enable\" (lighttpd 1.4.46+) where it proxies this path; without it lighttpd forwards the request without Upgrade and with Connection: close. Then restart lighttpd",
				Config: fmt.Sprintf("server.modules += ( \"mod_proxy\" )\n$HTTP[\"url\"] =~ \"^%s\" {\n    proxy.server = ( \"\" => (( \"host\" => \"backend\", \"port\" => 8080 )) )\n    proxy.header = ( \"upgrade\" => \"enable\" )\n}", regexpQuote(path))})
		case ProxyVarnish:
			fixes = append(fixes, Fix{For: ProxyVarnish,
				Title:  "Varnish: pipe WebSocket upgrades (it cannot proxy them as HTTP) and copy Upgrade and Connection to the backend request, which a pipe otherwise sends with Connection: close; the tunnel then lasts until pipe_timeout (60 s idle by default: varnishd -p pipe_timeout=3600)",
				Config: "sub vcl_recv {\n    if (req.http.upgrade ~ \"(?i)websocket\") {\n        return (pipe);\n    }\n}\n\nsub vcl_pipe {\n    if (req.http.upgrade) {\n        set bereq.http.upgrade = req.http.upgrade;\n        set bereq.http.connection = req.http.connection;\n    }\n}"})
		case ProxyApache:
			fixes = append(fixes, Fix{For: ProxyApache,
				Title:  "Apache: let mod_proxy tunnel the upgrade (2.4.47+: upgrade=websocket; older: a ws:// ProxyPass with mod_proxy_wstunnel); enable the modules with a2enmod proxy proxy_http proxy_wstunnel",
				Config: fmt.Sprintf("ProxyPass %s http://backend:port%s upgrade=websocket\n# or, with mod_proxy_wstunnel:\nProxyPass %s ws://backend:port%s", path, path, path, path)})
		}
	}
	return fixes
}

// idleNote reminds a user who got a valid upgrade through a known proxy of
// that proxy's idle limit, the next thing that breaks held connections.
func idleNote(proxy string) string {
	switch proxy {
	case ProxyNginx:
		return "nginx closes an idle WebSocket after proxy_read_timeout (60 s by default) with a bare FIN; measure it with: wshold run --hold 75s URL"
	case ProxyHAProxy:
		return "HAProxy closes an idle WebSocket after timeout tunnel (or, without it, the smaller of timeout client and timeout server); measure it with: wshold run --hold 75s URL"
	case ProxyApache:
		return "Apache closes an idle WebSocket after the larger of Timeout and ProxyTimeout (60 s by default); measure it with: wshold run --hold 75s URL"
	case ProxyCaddy:
		return "Caddy keeps idle WebSockets open, but closes every one of them on a config reload; measure holding with: wshold run --hold 75s URL"
	case ProxyLighttpd:
		return "lighttpd closes a WebSocket after server.max-read-idle (60 s by default) without a byte from the client, checked once a second on whole seconds (so between 60 and 62 s), with a bare FIN; measure it with: wshold run --hold 75s URL"
	case ProxyVarnish:
		return "Varnish closes a piped WebSocket after pipe_timeout (60 s by default) without a byte either way, with a bare FIN; a piped 101 does not name Varnish, so tell run: wshold run --proxy varnish --hold 75s URL"
	}
	return ""
}

// regexpQuote escapes a path for a lighttpd regular expression.
func regexpQuote(p string) string {
	if p == "" {
		p = "/"
	}
	return regexp.QuoteMeta(p)
}
