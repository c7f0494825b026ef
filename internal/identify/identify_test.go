package identify

import (
	"slices"
	"strings"
	"testing"
)

// Answers as the lab's proxies sent them (recorded with wshold check).
const (
	lighttpd101 = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: WK21MbPcOeGPh/PLCW/gdmjvCRU=\r\n" +
		"Connection: upgrade\r\nDate: Thu, 03 Dec 2026 13:34:31 GMT\r\nServer: lighttpd/1.4.69\r\n\r\n"
	varnish400 = "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 74\r\nDate: Thu, 03 Dec 2026 13:36:08 GMT\r\n" +
		"X-Varnish: 2\r\nAge: 0\r\nVia: 1.1 varnish (Varnish/7.1)\r\nConnection: keep-alive\r\n\r\n" +
		"missing \"Upgrade: websocket\" header; missing \"Connection: upgrade\" header"
	haproxy101 = "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: x=\r\n\r\n"
	caddy101   = "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-Websocket-Accept: x=\r\nServer: Caddy\r\nUpgrade: websocket\r\n\r\n"
	nginx502   = "HTTP/1.1 502 Bad Gateway\r\nServer: nginx/1.22.1\r\nContent-Type: text/html\r\n\r\n<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body><center>nginx/1.22.1</center></body></html>"
)

func TestParseKeepsWhatIdentifies(t *testing.T) {
	a := Parse([]byte(lighttpd101), nil)
	if a.Status != 101 || a.Server != "lighttpd/1.4.69" || a.Via != "" {
		t.Errorf("parsed %+v", a)
	}
	want := []string{"Upgrade", "Sec-WebSocket-Accept", "Connection", "Date", "Server"}
	if !slices.Equal(a.Names, want) {
		t.Errorf("names = %v, want %v in order and case", a.Names, want)
	}
	v := Parse([]byte(varnish400), nil)
	if v.Status != 400 || v.Via != "1.1 varnish (Varnish/7.1)" || !strings.HasPrefix(v.Body, "missing \"Upgrade") {
		t.Errorf("parsed %+v", v)
	}
	if n := Parse([]byte(nginx502), nil); n.Body != "502 Bad Gateway" {
		t.Errorf("an HTML page's style is its title, got %q", n.Body)
	}
}

func TestKeyGroupsAlikeAnswersOnly(t *testing.T) {
	// The Date differs between two answers of one server: same identity.
	other := strings.Replace(lighttpd101, "13:34:31", "13:40:02", 1)
	if Key([]byte(lighttpd101)) != Key([]byte(other)) {
		t.Error("answers that differ only in Date have different keys")
	}
	if Parse([]byte(lighttpd101), nil).Key != Key([]byte(lighttpd101)) {
		t.Error("Parse and Key disagree")
	}
	for _, diff := range []string{
		strings.Replace(lighttpd101, "1.4.69", "1.4.70", 1),                             // another version
		strings.Replace(lighttpd101, "Sec-WebSocket-Accept", "Sec-Websocket-Accept", 1), // another spelling
		strings.Replace(lighttpd101, "Upgrade: websocket\r\n", "", 1) + "",              // another set of names
	} {
		if Key([]byte(diff)) == Key([]byte(lighttpd101)) {
			t.Errorf("a different identity has the same key:\n%s", diff)
		}
	}
}

func TestParseIsBoundedAndPrintable(t *testing.T) {
	var b strings.Builder
	b.WriteString("HTTP/1.1 400 Bad\r\nServer: evil\x1b[31m" + strings.Repeat("x", 5000) + "\r\n")
	for i := range 500 {
		b.WriteString("X-H" + strings.Repeat("a", i%200) + ": v\r\n")
	}
	b.WriteString("Set-Cookie: session=SECRET\r\n\r\n" + strings.Repeat("y", 10_000))
	a := Parse([]byte(b.String()), nil)
	if len(a.Names) > maxNames || len(a.Server) > maxValueLen || len(a.Body) > maxBodyLen {
		t.Errorf("unbounded: %d names, server %d bytes, body %d bytes", len(a.Names), len(a.Server), len(a.Body))
	}
	if strings.ContainsAny(a.Server, "\x1b") {
		t.Errorf("control bytes kept: %q", a.Server)
	}
	for _, e := range a.Extra {
		if strings.Contains(e, "SECRET") {
			t.Errorf("a cookie's value was kept: %q", e)
		}
	}
	if Parse([]byte("garbage\r\n\r\n"), nil).Status != 0 || Parse(nil, nil).Names != nil {
		t.Error("non-HTTP input should give an empty Answer")
	}
}

func TestGuessesNameTheProduct(t *testing.T) {
	tests := []struct {
		raw           string
		name, version string
		role          Role
		evidence      string
	}{
		{lighttpd101, ProxyLighttpd, "1.4.69", RoleProxy, "Server: lighttpd/1.4.69"},
		{varnish400, ProxyVarnish, "7.1", RoleProxy, "Via: 1.1 varnish (Varnish/7.1)"},
		{caddy101, ProxyCaddy, "", RoleProxy, "Server: Caddy"},
		{nginx502, ProxyNginx, "1.22.1", RoleProxy, "Server: nginx/1.22.1"},
		{"HTTP/1.1 101 S\r\nServer: nghttpx\r\nUpgrade: websocket\r\n\r\n", ProxyNghttpx, "", RoleProxy, "Server: nghttpx"},
		{"HTTP/1.1 101 S\r\nServer: h2o/2.2.5\r\nUpgrade: websocket\r\n\r\n", ProxyH2O, "2.2.5", RoleProxy, "Server: h2o/2.2.5"},
		{"HTTP/1.1 101 S\r\nServer: frontdoor\r\nUpgrade: websocket\r\n\r\n", "frontdoor", "", RoleUnknown, "Server: frontdoor"},
		{"HTTP/1.1 101 S\r\nServer: ATS/9.1.2\r\nUpgrade: websocket\r\n\r\n", ProxyATS, "9.1.2", RoleProxy, "Server: ATS/9.1.2"},
		{"HTTP/1.1 101 S\r\nServer: Python/3.11 websockets/10.4\r\n\r\n", "websockets", "10.4", RoleBackend, "Server: Python"},
		{"HTTP/1.1 101 S\r\nVia: 1.1 vegur\r\n\r\n", ProxyHeroku, "", RoleProxy, "Via: 1.1 vegur"},
		{"HTTP/1.1 101 S\r\nVia: 1.1 google\r\n\r\n", ProxyGCP, "", RoleProxy, "Via: 1.1 google"},
	}
	for _, tt := range tests {
		g := Guesses(Parse([]byte(tt.raw), nil))
		if len(g) == 0 {
			t.Errorf("%q: no guess, want %s", tt.raw, tt.name)
			continue
		}
		if g[0].Name != tt.name || g[0].Version != tt.version || g[0].Role != tt.role || !strings.Contains(g[0].Evidence, tt.evidence) {
			t.Errorf("%q: first guess %+v, want %s %s (%s) from %q", tt.raw, g[0], tt.name, tt.version, tt.role, tt.evidence)
		}
	}
	if g := Guesses(Parse([]byte("HTTP/1.1 101 S\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"), nil)); len(g) != 0 {
		t.Errorf("an answer that names nothing gave %+v", g)
	}
}

// Lower-case header names are what HAProxy writes, and what Node's
// http-proxy, Envoy and others write too: a clue with its alternatives,
// never a product on its own.
func TestLowerCaseNamesAreAClueNotAnIdentity(t *testing.T) {
	// As Node's http-proxy relayed a ws backend's 101 (measured, 1.18.1).
	node101 := "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: x=\r\n\r\n"
	for _, raw := range []string{haproxy101, node101} {
		a := Parse([]byte(raw), nil)
		if g := Guesses(a); len(g) != 0 {
			t.Errorf("lower-case names alone guessed %+v", g)
		}
		c := Clues(a)
		if len(c) != 1 || !slices.Contains(c[0].Products, ProxyHAProxy) || !strings.Contains(c[0].Text, "Node") ||
			!strings.Contains(c[0].Text, "not enough to name one") {
			t.Errorf("clues %+v: want one clue naming HAProxy among its alternatives", c)
		}
	}
	if c := Clues(Parse([]byte(lighttpd101), nil)); len(c) != 0 {
		t.Errorf("mixed-case names gave clues %+v", c)
	}
	// One lower-case name proves nothing.
	if c := Clues(Parse([]byte("HTTP/1.1 101 S\r\nupgrade: websocket\r\nConnection: Upgrade\r\n\r\n"), nil)); len(c) != 0 {
		t.Errorf("clues %+v from mixed names", c)
	}
}

func TestGuessesWordBoundaries(t *testing.T) {
	// "stats" is not ATS, "nginxish" is not nginx.
	for _, server := range []string{"stats-server", "nginxish", "myapache2"} {
		g := Guesses(Parse([]byte("HTTP/1.1 101 S\r\nServer: "+server+"\r\n\r\n"), nil))
		if len(g) != 1 || g[0].Role != RoleUnknown {
			t.Errorf("Server: %s guessed %+v, want one unknown product", server, g)
		}
	}
}

func TestFromHeadersMatchesParse(t *testing.T) {
	a := FromHeaders(101, []string{"Upgrade", "Sec-WebSocket-Accept", "Connection", "Date", "Server"},
		[]string{"websocket", "x", "upgrade", "today", "lighttpd/1.4.69"}, "")
	if a.Key != Key([]byte(lighttpd101)) {
		t.Errorf("FromHeaders key differs from Parse's for the same identity: %+v", a)
	}
}
