package proxyconf

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// render fills a lab template's placeholders with their defaults (and
// "x" where there is none), as a user's copy of it would read.
func render(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "scripts", "lab", name))
	if err != nil {
		t.Fatal(err)
	}
	s := regexp.MustCompile(`\{\{[A-Z_]+:([^{}]*)\}\}`).ReplaceAllString(string(b), "$1")
	return regexp.MustCompile(`\{\{[A-Z_]+\}\}`).ReplaceAllString(s, "127.0.0.1:1")
}

func TestParseTheLabsConfigs(t *testing.T) {
	tests := []struct {
		file    string
		product string
		want    []Timeout
	}{
		{"nginx-timeout.conf", "nginx", []Timeout{{"proxy_read_timeout", 3, "idle"}}},
		{"nginx-default.conf", "nginx", nil},
		{"haproxy-tunnel.cfg", "haproxy", []Timeout{{"timeout tunnel", 4, "idle"}}},
		{"haproxy-notunnel.cfg", "haproxy", []Timeout{{"min(timeout client, timeout server)", 4, "idle"}}},
		{"apache-timeout.conf", "apache", []Timeout{{"max(Timeout, ProxyTimeout)", 4, "idle"}}},
		{"lighttpd-timeout.conf", "lighttpd", []Timeout{{"server.max-read-idle", 3, "client_idle"}}},
		{"lighttpd-default.conf", "lighttpd", nil},
		{"varnish-pipe.vcl", "varnish", []Timeout{{"pipe_timeout", 3, "idle"}}},
		{"varnish-default.vcl", "varnish", nil},
		{"Caddyfile", "caddy", nil},
		{"nghttpx-timeout.conf", "nghttpx", []Timeout{{"frontend-read-timeout", 3, "idle"}, {"backend-read-timeout", 3, "idle"}}},
		{"nghttpx-default.conf", "nghttpx", nil},
		{"h2o-timeout.conf", "h2o", []Timeout{{"proxy.websocket.timeout", 3, "idle"}}},
		{"h2o-broken.conf", "h2o", nil},
		{"lighttpd-anon-timeout.conf", "lighttpd", []Timeout{{"server.max-read-idle", 3, "client_idle"}}},
		{"apache-max.conf", "apache", []Timeout{{"max(Timeout, ProxyTimeout)", 4, "idle"}}},
		{"nginx-broken.conf", "nginx", nil},
		{"haproxy-client-server.cfg", "haproxy", []Timeout{{"min(timeout client, timeout server)", 3, "idle"}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			c := Parse(tt.file, []byte(render(t, tt.file)))
			if c.Product != tt.product || !slices.Equal(c.Timeouts, tt.want) {
				t.Errorf("got %+v, want %s with %+v", c, tt.product, tt.want)
			}
		})
	}
}

func TestParseByContentAndUnits(t *testing.T) {
	tests := []struct {
		name, text string
		product    string
		want       []Timeout
	}{
		{"site.conf", "server {\n  location /ws { proxy_pass http://b; proxy_read_timeout 1m30s; }\n}\nserver {\n  proxy_read_timeout 86400;\n}\n", "nginx",
			[]Timeout{{"proxy_read_timeout", 90, "idle"}, {"proxy_read_timeout", 86400, "idle"}}},
		{"lb.cfg", "defaults\n  timeout client 30s\n  timeout server 5000\n", "haproxy",
			[]Timeout{{"min(timeout client, timeout server)", 5, "idle"}}}, // a bare HAProxy number is milliseconds
		{"x.conf", "vcl 4.1;\nbackend b { .host = \"x\"; }\n", "varnish", nil},
		{"varnish.params", "DAEMON_OPTS=\"-p pipe_timeout=120 -p thread_pools=2\"\n", "varnish", []Timeout{{"pipe_timeout", 120, "idle"}}},
		{"ws.caddy", "example.com {\n  reverse_proxy b:80 {\n    stream_timeout 24h\n  }\n}\n", "caddy",
			[]Timeout{{"stream_timeout", 86400, "lifetime"}}},
		{"vhost.conf", "<VirtualHost *:80>\n  Timeout 30\n  ProxyPass /ws http://b/ws upgrade=websocket timeout=300\n</VirtualHost>\n", "apache",
			[]Timeout{{"max(Timeout, ProxyTimeout)", 300, "idle"}}},
		{"notes.txt", "nothing a proxy reads\n", "", nil},
		{"nginx.conf", "proxy_read_timeout garbage;\nproxy_read_timeout 5x;\n", "nginx", nil},
	}
	for _, tt := range tests {
		c := Parse(tt.name, []byte(tt.text))
		if c.Product != tt.product || !slices.Equal(c.Timeouts, tt.want) {
			t.Errorf("%s: got %+v, want %s with %+v", tt.name, c, tt.product, tt.want)
		}
	}
}

// The files of the black-box round (issue 11) that are no proxy's
// configuration wshold reads, or whose name says nothing: each is told by
// the grammar its lines follow, and one that follows none is of no kind.
func TestKindFollowsTheGrammarNotAKeyword(t *testing.T) {
	const hitch = `# hitch.conf
frontend = "[127.0.0.1]:19861"
backend = "[127.0.0.1]:19831"
pem-file = "/tmp/bb/hitch/cert.pem"
workers = 1
daemon = off
user = "nobody"
`
	const proxyJS = `const http = require('http');
const httpProxy = require('http-proxy');
const proxy = httpProxy.createProxyServer({ target: 'ws://127.0.0.1:19801', ws: true });
const IDLE_MS = Number(process.env.IDLE_MS || 0);
const server = http.createServer((req, res) => {
  proxy.web(req, res);
});
if (!process.env.NOUPGRADE) {
  server.on('upgrade', (req, socket, head) => {
    proxy.ws(req, socket, head);
    if (IDLE_MS) {
      socket.setTimeout(IDLE_MS);
      socket.on('timeout', () => socket.destroy());
    }
  });
}
proxy.on('error', (err) => { console.error(err.message); });
server.listen(Number(process.env.PORT || 19871), '127.0.0.1');
`
	tests := []struct {
		name, text string
		product    string
		want       []Timeout
	}{
		{"hitch.conf", hitch, "", nil},
		{"proxy.js", proxyJS, "", nil},
		// A JavaScript proxy named for nginx is still not nginx's config.
		{"nginx-proxy.js", proxyJS, "", nil},
		{"frontdoor.conf", "server.tag = \"frontdoor\"\nserver.port = 80\nserver.modules += ( \"mod_proxy\" )\nserver.max-read-idle = 30\n", "lighttpd",
			[]Timeout{{"server.max-read-idle", 30, "client_idle"}}},
		{"records.config", "CONFIG proxy.config.http.server_ports STRING 8080\nCONFIG proxy.config.websocket.no_activity_timeout INT 3\nCONFIG proxy.config.websocket.active_timeout INT 3600\n", "ats",
			[]Timeout{{"proxy.config.websocket.no_activity_timeout", 3, "idle"}, {"proxy.config.websocket.active_timeout", 3600, "lifetime"}}},
		{"rules.txt", "map ws://127.0.0.1:19851/ ws://127.0.0.1:19801/\nmap http://127.0.0.1:19852/ http://127.0.0.1:19801/\n", "ats", nil},
		{"front.conf", "frontend=0.0.0.0,443\nbackend=10.0.0.2,8080;/ws/;proto=http/1.1\nfrontend-read-timeout=1h\n", "nghttpx",
			[]Timeout{{"frontend-read-timeout", 3600, "idle"}}},
		{"site.yaml", "hosts:\n  default:\n    paths:\n      /ws:\n        proxy.reverse.url: http://b:80/\n        proxy.websocket: ON\n        proxy.websocket.timeout: 60000\n", "h2o",
			[]Timeout{{"proxy.websocket.timeout", 60, "idle"}}},
		// A Python script is no nginx.conf for having braces and
		// semicolons.
		{"app.conf", "import asyncio;\ndef main():\n    server = {\"a\": 1};\n", "", nil},
	}
	for _, tt := range tests {
		c := Parse(tt.name, []byte(tt.text))
		if c.Product != tt.product || !slices.Equal(c.Timeouts, tt.want) {
			t.Errorf("%s: got %+v, want kind %q with %+v", tt.name, c, tt.product, tt.want)
		}
	}
}

// Hostile input: a huge or binary file is read up to MaxRead and keeps at
// most maxTimeouts values.
func TestReadIsBounded(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "nginx.conf")
	var b strings.Builder
	for i := range 100_000 {
		b.WriteString("proxy_read_timeout " + strings.Repeat("1", 1+i%5) + "s;\n")
	}
	b.WriteString(strings.Repeat("\x00\xff", MaxRead))
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Read(path)
	if err != nil || c.Product != "nginx" || len(c.Timeouts) == 0 || len(c.Timeouts) > maxTimeouts {
		t.Fatalf("got %d timeouts (err %v), want 1..%d", len(c.Timeouts), err, maxTimeouts)
	}
	if _, err := Read(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing file should be an error")
	}
}
