package report

import (
	"fmt"
	"math"
	"strings"
)

// knownTimeout is a proxy's or load balancer's default that ends WebSocket
// connections after a fixed time.
type knownTimeout struct {
	// Name reads after "matches": "nginx proxy_read_timeout default".
	Name string
	// Seconds is the default value.
	Seconds float64
	// Lifetime is true when the limit counts from the upgrade whatever the
	// traffic; otherwise any frame in either direction re-arms it.
	Lifetime bool
	// Fix is what to change, or how to live with it.
	Fix string
}

// knownTimeouts are the defaults a cluster is matched against. Sources, as
// documented by each vendor at the time of writing:
//   - nginx: ngx_http_proxy_module, "proxy_read_timeout ... Default: 60s";
//     it is an idle timer for the whole upgraded tunnel, re-armed by any
//     frame either way (measured). ingress-nginx: proxy-read-timeout "60".
//   - AWS Application Load Balancer: idle_timeout.timeout_seconds, 60.
//   - Apache httpd 2.4: tunnels use max(Timeout, ProxyTimeout); core
//     Timeout defaults to 60 (measured: ProxyTimeout 5 alone still cut at
//     60 s).
//   - Heroku router: 55 s without a frame on a WebSocket.
//   - Cloudflare: 100 s proxy read timeout for idle WebSockets.
//   - Google Cloud external Application Load Balancer: backend service
//     timeout, default 30 s, which for WebSockets caps the lifetime.
//   - Traefik: entryPoints transport respondingTimeouts.idleTimeout, 180 s.
//   - Envoy: HttpConnectionManager stream_idle_timeout, 5 min.
//   - AWS Network Load Balancer: TCP idle timeout, 350 s.
//   - Azure Load Balancer: idle timeout, 4 min.
//
// HAProxy has no default (the tunnel lives until `timeout tunnel`, or
// min(timeout client, timeout server) without it) and Caddy never times
// out a WebSocket (but closes all of them with 1001 on a config reload), so
// neither is a row here; unknownIdleHint and kindHint name them.
var knownTimeouts = []knownTimeout{
	{"nginx proxy_read_timeout default", 60, false,
		"raise proxy_read_timeout (e.g. 86400s) where the WebSocket is proxied, or send pings more often than it"},
	{"ingress-nginx proxy-read-timeout default", 60, false,
		`set the nginx.ingress.kubernetes.io/proxy-read-timeout annotation (e.g. "3600"), or ping more often`},
	{"AWS ALB idle timeout default", 60, false,
		"raise the load balancer's idle_timeout.timeout_seconds (up to 4000), or ping more often"},
	{"Apache Timeout default", 60, false,
		"raise Timeout or ProxyTimeout (tunnels use the larger of the two), or ping more often"},
	{"Heroku router idle timeout", 55, false,
		"it cannot be changed: send a frame at least every 55 s (e.g. --ping 30s)"},
	{"Cloudflare proxy idle timeout", 100, false,
		"send pings more often than every 100 s (only Enterprise plans can raise it)"},
	{"GCP load balancer backend service timeout default", 30, true,
		"raise the backend service timeout (timeoutSec); it caps a WebSocket's lifetime even with traffic, so pings do not help"},
	{"Traefik idleTimeout default", 180, false,
		"raise respondingTimeouts.idleTimeout on the entry point, or ping more often"},
	{"Envoy stream_idle_timeout default", 300, false,
		"raise stream_idle_timeout (or the route's idle_timeout), or ping more often"},
	{"AWS NLB TCP idle timeout default", 350, false,
		"raise the listener's tcp.idle_timeout.seconds, or ping more often than every 350 s"},
	{"Azure Load Balancer idle timeout default", 240, false,
		"raise the rule's idle timeout (up to 100 min), or ping more often"},
}

// matchTolerance is how far a cluster may lie from a default and still
// match it: max(1 s, 2 %). Proxies fire their timers in batches, and the
// harness sees a drop a little late; a second covers both at 60 s.
func matchTolerance(seconds float64) float64 { return max(1000, 0.02*seconds*1000) }

// matchingDefaults lists the known defaults a cluster on the age or idle
// clock matches. With a control group, an idle timeout cannot be a lifetime
// limit and vice versa, so those are left out; without one, both stay.
func matchingDefaults(c Cluster, control bool) []knownTimeout {
	if c.Clock == "wall" {
		return nil
	}
	var out []knownTimeout
	for _, k := range knownTimeouts {
		if math.Abs(c.AtMs-k.Seconds*1000) > matchTolerance(k.Seconds) {
			continue
		}
		if control && ((k.Lifetime && c.Cause == "idle_timeout") || (!k.Lifetime && c.Cause == "max_lifetime")) {
			continue
		}
		out = append(out, k)
	}
	return out
}

// HintFor explains a cluster: the known defaults it matches, each with its
// fix, or what its clock and kind suggest. It assumes no control group was
// run, so it lists idle and lifetime defaults alike.
func HintFor(c Cluster) string { return hintFor(c, false) }

func hintFor(c Cluster, control bool) string {
	var parts []string
	if c.Clock == "wall" {
		parts = append(parts, "an event at that moment (reload, restart, backend death), not an idle timeout")
	} else {
		for _, k := range matchingDefaults(c, control) {
			parts = append(parts, fmt.Sprintf("matches %s (%s): %s", k.Name, secondsText(k.Seconds), k.Fix))
		}
		if len(parts) == 0 {
			switch c.Cause {
			case "idle_timeout":
				parts = append(parts, unknownIdleHint(c.AtMs))
			case "max_lifetime":
				parts = append(parts, fmt.Sprintf("connections live at most %s whatever their traffic: "+
					"a maximum connection lifetime (e.g. a load balancer's backend timeout, "+
					"Envoy max_connection_duration); pings do not help", msText(c.AtMs)))
			}
		}
		if c.Cause == "idle_timeout" && !control {
			parts = append(parts, "a maximum lifetime looks the same without a pinging control group "+
				"(--ping with --ping-fraction 0.5 tells them apart)")
		}
	}
	if h := kindHint(c.Kind); h != "" {
		parts = append(parts, h)
	}
	return strings.Join(parts, "; ")
}

func unknownIdleHint(atMs float64) string {
	return fmt.Sprintf("an idle timeout of %s that is no known default: look for a configured one "+
		"(nginx proxy_read_timeout; HAProxy timeout tunnel, or min(timeout client, timeout server) without it; "+
		"Apache max(Timeout, ProxyTimeout); a load balancer's idle timeout)", msText(atMs))
}

// kindHint explains the way connections ended, when that alone says
// something.
func kindHint(kind string) string {
	switch kind {
	case "close_1001":
		return "close 1001 (going away): the server or proxy shut down or reloaded; " +
			"Caddy closes every WebSocket with 1001 on any config reload"
	case "close_1002":
		return "close 1002 (protocol error): the server or proxy rejected a frame; during a Caddy reload it is " +
			"the backend refusing the unmasked close frame Caddy 2.6 sends it, relayed before Caddy's own 1001"
	case "reset":
		return "RST rather than FIN: the proxy or a middlebox aborted the connection " +
			"(e.g. nginx reset_timedout_connection, a load balancer's idle reset)"
	case "pong_timeout":
		return "no pong within --pong-timeout: the server or proxy does not answer pings, or the path stalled"
	case "protocol_error":
		return "the peer sent a frame a client must reject (masked, bad opcode or oversized control frame)"
	case "send_blocked":
		return "the server or proxy stopped reading: the client's pongs and pings no longer fit in its socket's send buffer " +
			"(a stalled backend behind a proxy that still holds the client side, or a server busy elsewhere)"
	}
	return ""
}

// shortMatch is the verdict line's form of a cluster's best known match:
// "matches nginx proxy_read_timeout default (60 s)", and how many others
// also match.
func shortMatch(c Cluster) (string, int) {
	m := matchingDefaults(c, false)
	if len(m) == 0 {
		return "", 0
	}
	return fmt.Sprintf("matches %s (%s)", m[0].Name, secondsText(m[0].Seconds)), len(m) - 1
}

func secondsText(s float64) string { return fmt.Sprintf("%g s", s) }
