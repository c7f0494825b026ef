package check

import (
	"fmt"
	"strings"
)

// Proxy names used in Report.Proxy and Fix.For.
const (
	ProxyNginx   = "nginx"
	ProxyHAProxy = "haproxy"
	ProxyCaddy   = "caddy"
	ProxyApache  = "apache"
)

// proxyGuess is what the answer gives away about a proxy in the path.
type proxyGuess struct {
	name     string // a Proxy* constant, another product name, or ""
	evidence string // what gave it away, shown to the user
	ownPage  bool   // the body is the proxy's own error page, not relayed
}

// serverNames maps a lower-case substring of Server or Via to a proxy.
// Products without a fix section below are still named, so the user
// learns who answered.
var serverNames = []struct{ substr, name string }{
	{"nginx", ProxyNginx},
	{"openresty", ProxyNginx},
	{"haproxy", ProxyHAProxy},
	{"caddy", ProxyCaddy},
	{"apache", ProxyApache},
	{"envoy", "envoy"},
	{"awselb", "aws-elb"},
	{"cloudflare", "cloudflare"},
	{"varnish", "varnish"},
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

// detectProxy names the proxy the answer came from or through, from the
// Server and Via headers, the proxy's own error pages, and HAProxy's habit
// of lower-casing every header name.
func detectProxy(resp *Response) proxyGuess {
	var g proxyGuess
	for _, h := range []string{"Server", "Via"} {
		v, ok := resp.Get(h)
		if !ok {
			continue
		}
		lv := strings.ToLower(v)
		for _, s := range serverNames {
			if strings.Contains(lv, s.substr) {
				g = proxyGuess{name: s.name, evidence: h + ": " + v}
				break
			}
		}
		if g.name != "" {
			break
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
	case g.name == "" || g.name == ProxyHAProxy:
		for _, p := range haproxyPages {
			if strings.Contains(body, p) {
				return proxyGuess{name: ProxyHAProxy, evidence: "HAProxy's error page (\"" + p + "\")", ownPage: true}
			}
		}
		if g.name == "" && allLowerNames(resp.headers()) {
			g = proxyGuess{name: ProxyHAProxy, evidence: "every header name is lower-case, as HAProxy writes them"}
		}
	}
	if g.name == "" && strings.Contains(body, "<address>Apache") {
		g = proxyGuess{name: ProxyApache, evidence: "Apache's error page", ownPage: true}
	}
	return g
}

// allLowerNames reports whether there are at least two headers and all
// their names are lower-case — one lower-case name proves nothing.
func allLowerNames(hs []Header) bool {
	n := 0
	for _, h := range hs {
		if h.Name == "" {
			continue
		}
		if strings.ToLower(h.Name) != h.Name {
			return false
		}
		if strings.ContainsAny(h.Name, "abcdefghijklmnopqrstuvwxyz") {
			n++
		}
	}
	return n >= 2
}

// proxyTitle is the product's name as people write it.
func proxyTitle(name string) string {
	switch name {
	case ProxyNginx:
		return "nginx"
	case ProxyHAProxy:
		return "HAProxy"
	case ProxyCaddy:
		return "Caddy"
	case ProxyApache:
		return "Apache"
	case "aws-elb":
		return "an AWS load balancer"
	case "cloudflare":
		return "Cloudflare"
	case "envoy":
		return "Envoy"
	case "varnish":
		return "Varnish"
	}
	return name
}

// proxyOrder puts the detected proxy first, then the others.
func proxyOrder(detected string) []string {
	all := []string{ProxyNginx, ProxyHAProxy, ProxyCaddy, ProxyApache}
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
	}
	return ""
}
