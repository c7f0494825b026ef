package check

import (
	"net/http"
	"strings"
	"testing"
)

// A 101 is valid only with Upgrade: websocket, Connection: upgrade and the
// right accept value, header names compared case-insensitively.
func TestRunJudges101Answers(t *testing.T) {
	t.Parallel()
	runScripted(t, []scriptedCase{
		{
			name:     "valid 101",
			reply:    upgrade101("Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Accept: {accept}"),
			ok:       true,
			cause:    CauseOK,
			acceptOK: true,
			verdict:  "101 with Upgrade, Connection and Sec-WebSocket-Accept valid",
			text:     []string{"OK: upgraded in", "[ok  ] Sec-WebSocket-Accept"},
		},
		{
			// HAProxy writes them so, and so does Node's http-proxy
			// (J1): a clue, never "through HAProxy".
			name:     "lower-case header names are valid and name no proxy",
			reply:    upgrade101("upgrade: websocket", "connection: Upgrade", "sec-websocket-accept: {accept}"),
			ok:       true,
			cause:    CauseOK,
			acceptOK: true,
			proxy:    "",
			text: []string{"< upgrade: websocket", "< sec-websocket-accept: ",
				"Every header name is lower-case: HAProxy writes them so, and so do Envoy, Node's http-proxy", "not enough to name one"},
		},
		{
			name:     "nghttpx's 101 gets a note of its read timeouts",
			reply:    upgrade101("Sec-Websocket-Accept: {accept}", "Connection: Upgrade", "Upgrade: websocket", "Server: nghttpx", "Via: 1.1 nghttpx"),
			ok:       true,
			cause:    CauseOK,
			acceptOK: true,
			proxy:    ProxyNghttpx,
			text:     []string{"nghttpx closes an idle WebSocket after frontend-read-timeout (60 s by default)"},
		},
		{
			name:     "a proxy with no row says so",
			reply:    upgrade101("Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Accept: {accept}", "Server: frontdoor"),
			ok:       true,
			cause:    CauseOK,
			acceptOK: true,
			proxy:    "frontdoor",
			text:     []string{"wshold has no row for frontdoor's timeouts"},
		},
		{
			name:     "Caddy writes Sec-Websocket-Accept in Go's canonical case",
			reply:    upgrade101("Connection: Upgrade", "Sec-Websocket-Accept: {accept}", "Server: Caddy", "Upgrade: websocket"),
			ok:       true,
			cause:    CauseOK,
			acceptOK: true,
			proxy:    ProxyCaddy,
			text:     []string{"Caddy keeps idle WebSockets open"},
		},
		{
			name:     "a short secret does not disturb the checks",
			reply:    upgrade101("Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Accept: {accept}", "Server: nginx"),
			opts:     Options{Headers: []string{"Authorization: Bearer x", "X-Key: ="}, Redact: []string{"X-Key"}},
			ok:       true,
			cause:    CauseOK,
			acceptOK: true,
			proxy:    ProxyNginx,
			text:     []string{"< Server: nginx\n"},
		},
		{
			name:     "Connection with several tokens still holds upgrade",
			reply:    upgrade101("Upgrade: WebSocket", "Connection: keep-alive, Upgrade", "Sec-WebSocket-Accept: {accept}"),
			ok:       true,
			cause:    CauseOK,
			acceptOK: true,
		},
		{
			name:     "nginx in front: the idle timeout is the next thing to measure",
			reply:    upgrade101("Server: nginx/1.22.1", "Upgrade: websocket", "Connection: upgrade", "Sec-WebSocket-Accept: {accept}"),
			ok:       true,
			cause:    CauseOK,
			acceptOK: true,
			proxy:    ProxyNginx,
			text:     []string{"proxy_read_timeout (60 s by default)", "wshold run --hold 75s"},
		},
		{
			name:    "wrong accept",
			reply:   fixed("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n"),
			cause:   CauseBadAccept,
			verdict: `Sec-WebSocket-Accept is "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", but the key sent requires`,
			text:    []string{"[FAIL] Sec-WebSocket-Accept", "[ok  ] Upgrade: websocket"},
		},
		{
			name:    "missing accept",
			reply:   upgrade101("Upgrade: websocket", "Connection: Upgrade"),
			cause:   CauseBadAccept,
			verdict: "there is no Sec-WebSocket-Accept header",
		},
		{
			name:     "101 without Upgrade",
			reply:    upgrade101("Connection: Upgrade", "Sec-WebSocket-Accept: {accept}"),
			cause:    CauseBadUpgrade,
			acceptOK: true,
			verdict:  "there is no Upgrade header",
			text:     []string{"[FAIL] Upgrade: websocket — got (missing)", "not a WebSocket server"},
		},
		{
			name:     "101 to another protocol",
			reply:    upgrade101("Upgrade: h2c", "Connection: Upgrade", "Sec-WebSocket-Accept: {accept}"),
			cause:    CauseBadUpgrade,
			acceptOK: true,
			verdict:  `Upgrade is "h2c", not "websocket"`,
		},
		{
			name:     "101 without the upgrade token in Connection",
			reply:    upgrade101("Upgrade: websocket", "Connection: keep-alive", "Sec-WebSocket-Accept: {accept}"),
			cause:    CauseBadUpgrade,
			acceptOK: true,
			verdict:  `Connection is "keep-alive", without the token "upgrade"`,
		},
		{
			name:     "offered subprotocol selected",
			reply:    upgrade101("Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Accept: {accept}", "Sec-WebSocket-Protocol: chat"),
			opts:     Options{Subprotocols: []string{"graphql-ws", "chat"}},
			ok:       true,
			cause:    CauseOK,
			acceptOK: true,
			text:     []string{"> Sec-WebSocket-Protocol: graphql-ws, chat"},
		},
		{
			name:     "subprotocol that was not offered",
			reply:    upgrade101("Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Accept: {accept}", "Sec-WebSocket-Protocol: mqtt"),
			opts:     Options{Subprotocols: []string{"chat"}},
			cause:    CauseBadSubprotocol,
			acceptOK: true,
			verdict:  `selects "mqtt", which was not offered`,
		},
		{
			name:     "unrequested permessage-deflate",
			reply:    upgrade101("Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Accept: {accept}", "Sec-WebSocket-Extensions: permessage-deflate"),
			cause:    CauseBadExtensions,
			acceptOK: true,
			verdict:  `Sec-WebSocket-Extensions selects "permessage-deflate", but the request offered no extension`,
			text:     []string{"[FAIL] Sec-WebSocket-Extensions — got permessage-deflate", "[ok  ] Sec-WebSocket-Accept", "RSV1"},
		},
		{
			name:    "Sec-WebSocket-Accept twice",
			reply:   upgrade101("Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Accept: {accept}", "Sec-WebSocket-Accept: {accept}"),
			cause:   CauseBadAccept,
			verdict: "Sec-WebSocket-Accept appears 2 times",
			text:    []string{"[FAIL] Sec-WebSocket-Accept", "added its own copy"},
		},
		{
			name:     "HTTP/1.0 101 upgrades, with a note",
			reply:    fixed101("HTTP/1.0 101 Switching Protocols"),
			ok:       true,
			cause:    CauseOK,
			acceptOK: true,
			text:     []string{"The 101 says HTTP/1.0"},
		},
		{
			name:     "HTTP/2.0 in a 101's status line",
			reply:    fixed101("HTTP/2.0 101 Switching Protocols"),
			cause:    CauseBadResponse,
			acceptOK: true,
			verdict:  "the 101 says HTTP/2.0",
			text:     []string{"[FAIL] status 101 over HTTP/1.x — got HTTP/2.0"},
		},
		{
			name:    "a header block past 64 KiB is too large, not the wrong port",
			reply:   upgrade101("Upgrade: websocket", "Connection: Upgrade", strings.Repeat("X-Pad: "+strings.Repeat("a", 200)+"\r\n", 400)+"Sec-WebSocket-Accept: {accept}"),
			cause:   CauseHeaderTooLarge,
			verdict: "larger than 64 KiB",
			text:    []string{"HTTP/1.1 101 Switching Protocols", "repeated in a loop"},
		},
	})
}

// fixed101 is a valid 101 under another status line.
func fixed101(statusLine string) func(*http.Request) string {
	return func(req *http.Request) string {
		return strings.Replace(upgrade101("Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Accept: {accept}")(req), "HTTP/1.1 101 Switching Protocols", statusLine, 1)
	}
}
