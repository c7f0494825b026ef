package server

import (
	"net/http"
	"strings"
	"testing"
)

const (
	key     = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	version = "Sec-WebSocket-Version: 13\r\n"
)

// A request that is not a valid upgrade gets a 400 whose one-line body
// names every missing piece, like the Go and Node backends of the seed.
func TestRejectsRequestsThatCannotUpgrade(t *testing.T) {
	t.Parallel()
	_, addr := startServer(t, Config{})
	for _, tc := range []struct {
		name       string
		request    string
		wantStatus int
		wantBody   string
	}{
		{
			// What nginx sends with a bare proxy_pass: HTTP/1.0, Connection:
			// close, the Upgrade header stripped.
			name:       "nginx without proxy_http_version and Upgrade lines",
			request:    "GET /ws HTTP/1.0\r\nHost: 127.0.0.1:13000\r\nConnection: close\r\n" + version + key + "\r\n",
			wantStatus: 400,
			wantBody:   `HTTP/1.0 cannot upgrade; use HTTP/1.1; missing "Upgrade: websocket" header; missing "Connection: upgrade" header (got "close")`,
		},
		{
			name:       "HTTP/1.0 with the upgrade headers",
			request:    "GET / HTTP/1.0\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" + key + version + "\r\n",
			wantStatus: 400,
			wantBody:   "HTTP/1.0 cannot upgrade; use HTTP/1.1",
		},
		{
			name:       "HTTP/1.1 without Upgrade (proxy_http_version 1.1 only)",
			request:    "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + version + key + "\r\n",
			wantStatus: 400,
			wantBody:   `missing "Upgrade: websocket" header; missing "Connection: upgrade" header (got "close")`,
		},
		{
			name:       "Connection: upgrade hard-coded, no Upgrade",
			request:    "GET / HTTP/1.1\r\nHost: x\r\nConnection: upgrade\r\n" + key + version + "\r\n",
			wantStatus: 400,
			wantBody:   `missing "Upgrade: websocket" header`,
		},
		{
			name:       "Upgrade but no Connection",
			request:    "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n" + key + version + "\r\n",
			wantStatus: 400,
			wantBody:   `missing "Connection: upgrade" header`,
		},
		{
			name:       "Upgrade to something else",
			request:    "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n" + key + version + "\r\n",
			wantStatus: 400,
			wantBody:   `missing "Upgrade: websocket" header (got "h2c")`,
		},
		{
			name:       "no key",
			request:    "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" + version + "\r\n",
			wantStatus: 400,
			wantBody:   "missing Sec-WebSocket-Key",
		},
		{
			name:       "key too short",
			request:    "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: c2hvcnQ=\r\n" + version + "\r\n",
			wantStatus: 400,
			wantBody:   `bad Sec-WebSocket-Key "c2hvcnQ=": want 16 bytes in base64 (24 characters)`,
		},
		{
			name:       "no version",
			request:    "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" + key + "\r\n",
			wantStatus: 400,
			wantBody:   `unsupported Sec-WebSocket-Version (none sent; want "Sec-WebSocket-Version: 13")`,
		},
		{
			name:       "old version",
			request:    "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" + key + "Sec-WebSocket-Version: 8\r\n\r\n",
			wantStatus: 400,
			wantBody:   `unsupported Sec-WebSocket-Version "8"; this server speaks 13`,
		},
		{
			name:       "no Host",
			request:    "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" + key + version + "\r\n",
			wantStatus: 400,
			wantBody:   "missing Host header",
		},
		{
			name:       "POST",
			request:    "POST / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" + key + version + "Content-Length: 0\r\n\r\n",
			wantStatus: 400,
			wantBody:   "method POST cannot upgrade; use GET",
		},
		{
			name:       "plain GET",
			request:    "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
			wantStatus: 400,
			wantBody:   `missing "Upgrade: websocket" header; missing "Connection: upgrade" header; missing Sec-WebSocket-Key; unsupported Sec-WebSocket-Version (none sent; want "Sec-WebSocket-Version: 13")`,
		},
		{
			name:       "not HTTP",
			request:    "HELLO\r\n\r\n",
			wantStatus: 400,
			wantBody:   `malformed HTTP request: malformed HTTP request "HELLO"`,
		},
		{
			name:       "header too large",
			request:    "GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("a", maxRequestBytes) + "\r\n\r\n",
			wantStatus: 431,
			wantBody:   "request line and headers exceed 16384 bytes",
		},
		{
			name:       "bad misbehaviour parameter",
			request:    upgradeRequest("/?fin_after=soon"),
			wantStatus: 400,
			wantBody:   `bad query parameter fin_after="soon": want a positive duration like 2s or 500ms`,
		},
		{
			name:       "asked-for status",
			request:    upgradeRequest("/?status=403"),
			wantStatus: 403,
			wantBody:   "wshold serve: status 403 as asked by ?status=",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp, body := rawExchange(t, addr, tc.request)
			if resp.StatusCode != tc.wantStatus {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.wantStatus)
			}
			if want := tc.wantBody + "\n"; body != want {
				t.Errorf("body\n got %q\nwant %q", body, want)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "text/plain" {
				t.Errorf("Content-Type %q, want text/plain", ct)
			}
			if !resp.Close {
				t.Error("no Connection: close")
			}
			if strings.Contains(tc.wantBody, "Sec-WebSocket-Version") && resp.Header.Get("Sec-WebSocket-Version") != "13" {
				t.Error("a version problem must say Sec-WebSocket-Version: 13")
			}
		})
	}
}

func TestUpgradeAnswer(t *testing.T) {
	t.Parallel()
	_, addr := startServer(t, Config{})
	for _, tc := range []struct {
		name, request, wantProtocol string
	}{
		{"the RFC's example key", upgradeRequest("/chat"), ""},
		{"header names in lower case, as HAProxy sends them", "GET / HTTP/1.1\r\nhost: x\r\nupgrade: WebSocket\r\nconnection: keep-alive, upgrade\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n\r\n", ""},
		{"subprotocols offered: the first is taken", upgradeRequest("/", "Sec-WebSocket-Protocol: chat, superchat\r\n"), "chat"},
		{"unknown query parameters are the application's", upgradeRequest("/?token=x&room=1"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			resp, _ := rawExchange(t, addr, tc.request)
			if resp.StatusCode != http.StatusSwitchingProtocols {
				t.Fatalf("status %d, want 101", resp.StatusCode)
			}
			// RFC 6455 section 1.3's worked example.
			if got := resp.Header.Get("Sec-WebSocket-Accept"); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
				t.Errorf("Sec-WebSocket-Accept %q", got)
			}
			if resp.Header.Get("Upgrade") != "websocket" || resp.Header.Get("Connection") != "Upgrade" {
				t.Errorf("headers %v", resp.Header)
			}
			if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != tc.wantProtocol {
				t.Errorf("Sec-WebSocket-Protocol %q, want %q", got, tc.wantProtocol)
			}
		})
	}
}
