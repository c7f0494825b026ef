package check

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/wshold/wshold/internal/identify"
	"github.com/wshold/wshold/report"
)

// recipes are the products wshold has a fix for, in the order they are
// offered when nothing names the proxy in front (nginx first: the
// classic broken config). nghttpx, h2o and ATS name themselves in every
// answer, so they are offered only when an answer names them.
var recipes = []string{ProxyNginx, ProxyHAProxy, ProxyCaddy, ProxyApache, ProxyLighttpd, ProxyVarnish}

// recipeOnlyWhenNamed are the products whose fix is given only when the
// answer names them.
var recipeOnlyWhenNamed = []string{ProxyNghttpx, ProxyH2O, ProxyATS}

// hasRecipe reports whether upgradeFixes has a fix for the product.
func hasRecipe(name string) bool {
	for _, p := range append(append([]string{}, recipes...), recipeOnlyWhenNamed...) {
		if p == name {
			return true
		}
	}
	return false
}

// upgradeFixes are the per-proxy changes that make a proxy forward the
// upgrade. The detected proxy's come first: its recipe, then the others';
// for a detected product wshold has no recipe for, what every proxy must
// do, and no other product's recipe. With nothing detected, the usual
// suspects' recipes. path is the request path, used as the location in the
// examples.
func upgradeFixes(detected, path string) []Fix {
	if detected != "" && !hasRecipe(detected) {
		return []Fix{genericUpgradeFix(detected)}
	}
	var fixes []Fix
	order := []string{}
	if detected != "" {
		order = append(order, detected)
	}
	for _, p := range recipes {
		if p != detected {
			order = append(order, p)
		}
	}
	for _, p := range order {
		fixes = append(fixes, recipe(p, path)...)
	}
	return fixes
}

// genericUpgradeFix is what any proxy must do to pass a WebSocket upgrade,
// for a product wshold has no recipe for.
func genericUpgradeFix(name string) Fix {
	title := identify.Title(name)
	return Fix{For: name,
		Title: fmt.Sprintf("%s is in front and wshold has no recipe for it: make it pass the upgrade through — speak HTTP/1.1 to the backend, "+
			"forward the Upgrade and Connection headers (hop-by-hop: a proxy drops them unless told to keep them, or unless it "+
			"knows WebSocket), and relay the 101 and then the bytes both ways; look in %s's documentation for its WebSocket or "+
			"upgrade switch", title, title)}
}

// recipe is one product's fix for an upgrade it does not forward.
func recipe(p, path string) []Fix {
	var fixes []Fix
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
	case ProxyNghttpx:
		fixes = append(fixes, Fix{For: ProxyNghttpx,
			Title:  "nghttpx: it passes WebSocket upgrades with no option of its own, but only to an HTTP/1.1 backend: make sure the backend pattern that serves this path has no proto=h2 (an HTTP/2 backend cannot take the upgrade), and that no mruby script removes Upgrade or Connection; then reload (SIGHUP)",
			Config: fmt.Sprintf("# nghttpx.conf\nbackend=BACKEND_HOST,PORT;%s;proto=http/1.1", path)})
	case ProxyH2O:
		fixes = append(fixes, Fix{For: ProxyH2O,
			Title:  "h2o: proxying WebSockets is off by default; set proxy.websocket: ON where proxy.reverse.url proxies this path (proxy.websocket.timeout, in milliseconds, is how long an idle one may stay; 300000 by default)",
			Config: fmt.Sprintf("hosts:\n  default:\n    paths:\n      %s:\n        proxy.reverse.url: http://backend:port%s\n        proxy.websocket: ON\n        proxy.websocket.timeout: 3600000", path, path)})
	case ProxyATS:
		fixes = append(fixes, Fix{For: ProxyATS,
			Title:  "ATS: it routes an upgrade only by a remap rule with the ws:// scheme (wss:// over TLS); an http:// rule does not take it. Add one for this host, then traffic_ctl config reload",
			Config: "# remap.config\nmap ws://HOST:PORT/ ws://backend:port/"})
	}
	return fixes
}

// idleNote reminds a user who got a valid upgrade through a proxy of that
// proxy's idle limit, the next thing that breaks held connections: a
// hand-written note for the lab's proxies, else the table's rows (report
// .Defaults), else that wshold has no row for it.
func idleNote(proxy string) string {
	if n := labIdleNote(proxy); n != "" {
		return n
	}
	var parts []string
	for _, d := range report.Defaults {
		if d.Product != proxy || d.Seconds == 0 || d.Times == report.TimesNever {
			continue
		}
		what := "an idle WebSocket"
		if d.Times == report.TimesLifetime {
			what = "any WebSocket, idle or not,"
		}
		parts = append(parts, fmt.Sprintf("closes %s after %s (%g s by default)", what, d.Setting, d.Seconds))
	}
	if len(parts) > 0 {
		return fmt.Sprintf("%s %s; measure it with: wshold run --hold DURATION URL", identify.Title(proxy), strings.Join(parts, ", and "))
	}
	if proxy == "" {
		return ""
	}
	return fmt.Sprintf("wshold has no row for %s's timeouts: measure how long it keeps an idle WebSocket with: wshold run --hold 75s URL (and longer, if nothing drops)",
		identify.Title(proxy))
}

// labIdleNote is the note for a proxy the lab measured.
func labIdleNote(proxy string) string {
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
