package report

import (
	"strings"
	"testing"
)

func TestHintFor(t *testing.T) {
	tests := []struct {
		name    string
		c       Cluster
		want    []string
		notWant []string
	}{
		{"60 s idle names every 60 s default",
			Cluster{Clock: "idle", AtMs: 60_004, Kind: "eof", Cause: "idle_timeout"},
			[]string{"matches nginx proxy_read_timeout default (60 s): raise proxy_read_timeout", "ingress-nginx", "AWS ALB", "Apache",
				"lighttpd (server.max-read-idle)", "Varnish (pipe_timeout)"},
			[]string{"Heroku", "no known default"}},
		{"within max(1 s, 2 %) still matches", Cluster{Clock: "age", AtMs: 58_900, Kind: "eof"},
			[]string{"nginx proxy_read_timeout"}, nil},
		{"beyond the tolerance does not", Cluster{Clock: "age", AtMs: 58_700, Kind: "eof", Cause: "idle_timeout"},
			[]string{"no known default matches an idle timeout of 58.70 s"}, []string{"matches nginx"}},
		{"a whole-second timer matches up to two periods late", Cluster{Clock: "idle", AtMs: 62_500, Kind: "eof", Cause: "idle_timeout"},
			[]string{"lighttpd server.max-read-idle default (60 s)"}, []string{"nginx", "Varnish"}},
		{"Heroku 55 s", Cluster{Clock: "idle", AtMs: 55_010, Kind: "eof"}, []string{"Heroku"}, []string{"nginx"}},
		{"GCP 30 s is a lifetime", Cluster{Clock: "age", AtMs: 30_000, Kind: "eof"}, []string{"GCP", "pings do not help"}, nil},
		{"GCP is no idle timeout", Cluster{Clock: "idle", AtMs: 30_000, Kind: "eof", Cause: "idle_timeout"}, []string{"no known default"}, []string{"GCP"}},
		{"Azure Front Door and Envoy at 300 s", Cluster{Clock: "idle", AtMs: 299_000, Kind: "eof", Cause: "idle_timeout"},
			[]string{"h2o proxy.websocket.timeout", "Envoy (stream_idle_timeout)", "Azure Front Door"}, nil},
		{"AWS NLB 350 s is a reset", Cluster{Clock: "idle", AtMs: 350_000, Kind: "reset", Cause: "idle_timeout"}, []string{"AWS NLB", "RST rather than FIN"}, nil},
		{"a FIN is not the NLB", Cluster{Clock: "idle", AtMs: 350_000, Kind: "eof", Cause: "idle_timeout"}, []string{"no known default"}, []string{"NLB"}},
		{"no Traefik or Cloudflare row: not verified", Cluster{Clock: "idle", AtMs: 100_000, Kind: "eof", Cause: "idle_timeout"},
			[]string{"no known default"}, []string{"Cloudflare", "Traefik"}},
		{"wall clock is an event", Cluster{Clock: "wall", AtMs: 60_000, Kind: "eof", Cause: "event"},
			[]string{"an event at that moment (reload, restart, backend death), not a timer"}, []string{"nginx"}},
		{"close 1001 is going away", Cluster{Clock: "wall", AtMs: 3_000, Kind: "close_1001", Cause: "event"},
			[]string{"going away", "Caddy"}, nil},
		{"an application's close frame is never a proxy default", Cluster{Clock: "age", AtMs: 30_000, Kind: "close_1001", Cause: "max_lifetime"},
			[]string{"the WebSocket endpoint closed them", "no proxy default is blamed"}, []string{"GCP", "matches"}},
		{"pong timeout", Cluster{Clock: "pong", AtMs: 6_000, Kind: "pong_timeout"}, []string{"--pong-timeout"}, []string{"matches"}},
		{"lifetime of no known value", Cluster{Clock: "age", AtMs: 7_000, Kind: "eof", Cause: "max_lifetime"},
			[]string{"at most 7.00 s whatever their traffic"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkHint(t, HintFor(tt.c), tt.want, tt.notWant)
		})
	}
}

// checkHint fails t unless hint contains every one of want and none of
// notWant.
func checkHint(t *testing.T, hint string, want, notWant []string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(hint, w) {
			t.Errorf("hint lacks %q:\n%s", w, hint)
		}
	}
	for _, w := range notWant {
		if strings.Contains(hint, w) {
			t.Errorf("hint should not contain %q:\n%s", w, hint)
		}
	}
}

func TestFailureHint(t *testing.T) {
	tests := []struct {
		cause  string
		status int
		want   string
	}{
		{"http", 400, `proxy_set_header Connection "upgrade"`},
		{"http", 426, "stripped Upgrade/Connection or spoke HTTP/1.0"},
		{"http", 502, "backend"},
		{"http", 503, "backend"},
		{"http", 504, "too slow"},
		{"http", 301, "redirected"},
		{"http", 308, "Location"},
		{"http", 403, "--origin"},
		{"http", 404, "wrong path"},
		{"http", 200, "instead of 101"},
		{"http", 418, "rejected"},
		{"refused", 0, "nothing is listening"},
		{"timeout", 0, "--handshake-timeout"},
		{"reset", 0, "worker_connections"},
		{"eof", 0, "before answering"},
		{"emfile", 0, "ulimit -n"},
		{"emfile", 0, "--procs"},
		{"eaddrnotavail", 0, "--source-ip"},
		{"eaddrnotavail", 0, "ip_local_port_range"},
		{"tls", 0, "--ca"},
		{"dns", 0, "did not resolve"},
		{"bad_accept", 0, "Sec-WebSocket-Accept"},
		{"bad_upgrade", 0, "Upgrade is not websocket alone"},
		{"bad_upgrade", 0, "token upgrade"},
		{"bad_extensions", 0, "Sec-WebSocket-Extensions"},
		{"bad_extensions", 0, "offered none"},
		{"bad_subprotocol", 0, "Sec-WebSocket-Protocol"},
		{"bad_subprotocol", 0, "--subprotocol"},
		{"header_too_large", 0, "64 KiB"},
		{"http", 407, "Proxy-Authorization"},
	}
	for _, tt := range tests {
		if h := FailureHint(tt.cause, tt.status, ""); !strings.Contains(h, tt.want) {
			t.Errorf("FailureHint(%q, %d) = %q, want it to mention %q", tt.cause, tt.status, h, tt.want)
		}
	}
	// A malformed or oversized answer is not blamed on the port alone.
	if h := FailureHint("header_too_large", 0, ""); strings.Contains(h, "wrong port") {
		t.Errorf("header_too_large hint blames the port: %q", h)
	}
	if h := FailureHint("no_such_cause", 0, ""); h != "" {
		t.Errorf("an unknown cause gets no hint, got %q", h)
	}
}

// A timer read from its sweeps is given as the bracket its sweeps put it
// in, low to high: between the most a spared connection had and the least
// a cut one had; a whole-second clock may spare one a little past the
// least cut, and the bracket still reads upwards.
func TestSweepsTextBracketsTheTimerLowToHigh(t *testing.T) {
	for _, tc := range []struct {
		c    Cluster
		want string
	}{
		{Cluster{AtMs: 3500, ToMs: 4500, Sweeps: 3, SparedMs: 3000, PeriodMs: 1000}, " of 3.0 s to 3.5 s, checked every 1.00 s"},
		{Cluster{AtMs: 3400, ToMs: 4300, Sweeps: 3, SparedMs: 3500}, " of 3.4 s to 3.5 s, cut in 3 sweeps"},
		{Cluster{AtMs: 3400, ToMs: 3500, Sweeps: 1}, " of at most 3.4 s, cut in one sweep"},
		{Cluster{AtMs: 3400}, ""},
	} {
		if got := sweepsText(tc.c); got != tc.want {
			t.Errorf("sweepsText(%+v) = %q, want %q", tc.c, got, tc.want)
		}
	}
}
