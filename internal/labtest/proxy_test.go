package labtest

import (
	"errors"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

// kindOf tells which proxy a template is for, from its file name.
func kindOf(conf string) (Kind, bool) {
	switch {
	case strings.HasPrefix(conf, "Caddyfile"):
		return KindCaddy, true
	case strings.HasPrefix(conf, "nginx-"):
		return KindNginx, true
	case strings.HasPrefix(conf, "haproxy-"):
		return KindHAProxy, true
	case strings.HasPrefix(conf, "apache-"):
		return KindApache, true
	case strings.HasPrefix(conf, "lighttpd-"):
		return KindLighttpd, true
	case strings.HasPrefix(conf, "varnish-"):
		return KindVarnish, true
	case strings.HasPrefix(conf, "nghttpx-"):
		return KindNghttpx, true
	case strings.HasPrefix(conf, "h2o-"):
		return KindH2O, true
	}
	return "", false
}

// Every template in scripts/lab, with its defaults, starts and accepts
// connections. Those of the lab's cases either carry a WebSocket to the
// backend and back or, the broken configs, answer the upgrade with the
// backend's refusal instead of a 101; a template added for one test (TLS,
// scale) is checked here only for starting.
func TestEveryTemplateStartsAndUpgradesOrRefusesAsDocumented(t *testing.T) {
	const upgrade, refuse = "upgrade", "refuse"
	want := map[string]string{
		"nginx-broken.conf": refuse, "nginx-fix-literal.conf": upgrade, "nginx-fix-map.conf": upgrade,
		"nginx-default.conf": upgrade, "nginx-86400.conf": upgrade, "nginx-timeout.conf": upgrade,
		"nginx-shutdown.conf": upgrade, "haproxy-notunnel.cfg": upgrade, "haproxy-tunnel.cfg": upgrade,
		"Caddyfile": upgrade, "apache-timeout.conf": upgrade, "apache-noupgrade.conf": refuse,
		"lighttpd-timeout.conf": upgrade, "lighttpd-default.conf": upgrade, "lighttpd-broken.conf": refuse,
		"varnish-pipe.vcl": upgrade, "varnish-default.vcl": upgrade, "varnish-broken.vcl": refuse,
		"lighttpd-anon-timeout.conf": upgrade, "nghttpx-timeout.conf": upgrade, "nghttpx-default.conf": upgrade,
		"h2o-timeout.conf": upgrade, "h2o-broken.conf": refuse,
	}
	files, err := filepath.Glob(filepath.Join(LabDir(t), "*"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range files {
		conf := filepath.Base(f)
		if filepath.Ext(conf) == ".md" {
			continue
		}
		kind, ok := kindOf(conf)
		if !ok {
			t.Errorf("%s: name it nginx-*, haproxy-*, apache-*, lighttpd-*, varnish-*, nghttpx-*, h2o-* or Caddyfile, so the lab knows which proxy runs it", conf)
			continue
		}
		seen[conf] = true
		t.Run(conf, func(t *testing.T) {
			t.Parallel()
			p := Start(t, kind, conf, map[string]string{"UPSTREAM": echoBackend(t)})
			if !strings.HasPrefix(p.URL("/ws"), "ws://127.0.0.1:") && !strings.HasPrefix(p.URL("/ws"), "wss://127.0.0.1:") {
				t.Fatalf("URL = %q, want ws://127.0.0.1:PORT/ws", p.URL("/ws"))
			}
			switch want[conf] {
			case refuse:
				_, err := dial(t, p.URL("/ws"))
				var st ws.StatusError
				if !errors.As(err, &st) || int(st) < 400 {
					t.Fatalf("upgrade through %s: err = %v, want the backend's 4xx/5xx refusal", conf, err)
				}
			case upgrade:
				conn, err := dial(t, p.URL("/ws"))
				if err != nil {
					t.Fatalf("upgrade through %s: %v", conf, err)
				}
				mustEcho(t, conn, "through "+conf)
			}
		})
	}
	for conf := range want {
		if !seen[conf] {
			t.Errorf("template %s is missing from %s", conf, LabDir(t))
		}
	}
}

// A template with a TLS listener gets a wss:// URL.
func TestURLSchemeFollowsTheListener(t *testing.T) {
	tests := []struct {
		conf string
		want string
	}{
		{"server {\n    listen 127.0.0.1:1 reuseport;\n}", "ws://"},
		{"server {\n    listen 127.0.0.1:1 ssl;\n}", "wss://"},
		{"server {\n    listen 127.0.0.1:1 reuseport ssl http2;\n}", "wss://"},
		{"# listen 127.0.0.1:1 ssl; (commented out)\nserver { listen 127.0.0.1:1; }", "ws://"},
		{"ssl_certificate x;\nlisten 127.0.0.1:1;", "ws://"},
		{"frontend fe\n    bind 127.0.0.1:1 ssl crt /t/cert-key.pem alpn h2,http/1.1\n", "wss://"},
		{"frontend fe\n    bind 127.0.0.1:1\n", "ws://"},
		{"https://127.0.0.1:1 {\n\tbind 127.0.0.1\n}", "wss://"},
		{"http://127.0.0.1:1 {\n\tbind 127.0.0.1\n}", "ws://"},
	}
	for _, tc := range tests {
		if got := schemeFor(tc.conf); got != tc.want {
			t.Errorf("schemeFor(%q) = %q, want %q", tc.conf, got, tc.want)
		}
	}
}

// The TIMEOUT of the short-timeout templates is the idle time after which the
// proxy cuts a silent tunnel with a FIN and no close frame.
func TestTimeoutTemplatesCutIdleTunnels(t *testing.T) {
	tests := []struct {
		kind Kind
		conf string
	}{
		{KindNginx, "nginx-timeout.conf"},
		{KindHAProxy, "haproxy-notunnel.cfg"},
		{KindHAProxy, "haproxy-tunnel.cfg"},
		{KindApache, "apache-timeout.conf"},
		{KindLighttpd, "lighttpd-timeout.conf"},
		{KindVarnish, "varnish-pipe.vcl"},
	}
	for _, tc := range tests {
		t.Run(tc.conf, func(t *testing.T) {
			t.Parallel()
			p := Start(t, tc.kind, tc.conf, map[string]string{"UPSTREAM": echoBackend(t), "TIMEOUT": "3"})
			conn, err := dial(t, p.URL("/ws"))
			if err != nil {
				t.Fatalf("upgrade: %v", err)
			}
			up := time.Now()
			how := waitEnd(t, conn, 30*time.Second)
			age := time.Since(up)
			if how != "eof" {
				t.Errorf("idle drop seen as %q, want eof (FIN, no close frame)", how)
			}
			// Timers do not fire early; the upper bound is loose for a slow
			// machine and only rules out "never" and the 60 s defaults.
			if age < 2*time.Second || age > 25*time.Second {
				t.Errorf("idle drop after %v, want about 3 s", age.Round(time.Millisecond))
			}
		})
	}
}

// With worker_shutdown_timeout, a reload closes the tunnels the old workers
// hold, while new connections go to the new workers.
func TestNginxReloadWithShutdownTimeoutEndsHeldTunnels(t *testing.T) {
	t.Parallel()
	p := Nginx(t, "nginx-shutdown.conf", map[string]string{"UPSTREAM": echoBackend(t), "TIMEOUT": "1"})
	held, err := dial(t, p.URL("/ws"))
	if err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	if err := p.Reload(); err != nil {
		t.Fatal(err)
	}
	if how := waitEnd(t, held, 30*time.Second); how != "eof" {
		t.Errorf("tunnel held across the reload ended as %q, want eof", how)
	}
	fresh, err := dial(t, p.URL("/ws"))
	if err != nil {
		t.Fatalf("upgrade after the reload: %v", err)
	}
	mustEcho(t, fresh, "after reload")
}

// Caddy 2.6 ends every WebSocket on any reload, even of the same config.
func TestCaddyReloadEndsHeldTunnels(t *testing.T) {
	t.Parallel()
	p := Caddy(t, "Caddyfile", map[string]string{"UPSTREAM": echoBackend(t)})
	held, err := dial(t, p.URL("/ws"))
	if err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	if err := p.Reload(); err != nil {
		t.Fatal(err)
	}
	how := waitEnd(t, held, 30*time.Second)
	t.Logf("tunnel ended by the reload as %q", how)
	fresh, err := dial(t, p.URL("/ws"))
	if err != nil {
		t.Fatalf("upgrade after the reload: %v", err)
	}
	mustEcho(t, fresh, "after reload")
}

// HAProxy and Apache reload on their signals and keep serving.
func TestSignalReloadsKeepServing(t *testing.T) {
	tests := []struct {
		kind Kind
		conf string
	}{
		{KindHAProxy, "haproxy-tunnel.cfg"},
		{KindApache, "apache-timeout.conf"},
		{KindNginx, "nginx-fix-literal.conf"},
		{KindLighttpd, "lighttpd-timeout.conf"},
	}
	for _, tc := range tests {
		t.Run(tc.conf, func(t *testing.T) {
			t.Parallel()
			p := Start(t, tc.kind, tc.conf, map[string]string{"UPSTREAM": echoBackend(t)})
			if err := p.Reload(); err != nil {
				t.Fatal(err)
			}
			conn, err := dial(t, p.URL("/ws"))
			if err != nil {
				t.Fatalf("upgrade after the reload: %v", err)
			}
			mustEcho(t, conn, "after reload")
		})
	}
}

// Kill takes the proxy down at once: held tunnels end, the port refuses.
func TestKillEndsTunnelsAndListener(t *testing.T) {
	t.Parallel()
	p := Nginx(t, "nginx-fix-literal.conf", map[string]string{"UPSTREAM": echoBackend(t)})
	held, err := dial(t, p.URL("/ws"))
	if err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	p.Kill()
	if how := waitEnd(t, held, 30*time.Second); how == "" {
		t.Errorf("no end seen")
	}
	if c, err := net.DialTimeout("tcp", p.Addr(), 2*time.Second); err == nil {
		c.Close()
		t.Errorf("%s still accepts connections after Kill", p.Addr())
	}
	if err := p.Stop(); err != nil {
		t.Errorf("Stop after Kill: %v", err)
	}
}

// The error log holds what the proxy wrote; nginx's shows the idle timeout.
func TestErrorLogShowsNginxTimeout(t *testing.T) {
	t.Parallel()
	p := Nginx(t, "nginx-timeout.conf", map[string]string{"UPSTREAM": echoBackend(t), "TIMEOUT": "1"})
	conn, err := dial(t, p.URL("/ws"))
	if err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	waitEnd(t, conn, 30*time.Second)
	const want = "while proxying upgraded connection"
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(p.ErrorLog(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("error log lacks %q:\n%s", want, tail(p.ErrorLog(), 30))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
