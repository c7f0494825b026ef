package check

import (
	"strings"
	"testing"

	"github.com/wshold/wshold/internal/server"
)

// A 400 or 426 is blamed on a proxy that did not forward Upgrade/Connection
// when its body names those headers (said outright) or says nothing ("most
// likely"); a body that gives another reason is reported as the server's
// reason, quoted, with no word about the proxy's upgrade headers.
func TestRefusalFollowsTheBody(t *testing.T) {
	t.Parallel()
	proxyBlame := []string{"did not forward", "hop-by-hop", "proxy_http_version", "plain GET"}
	tests := []struct {
		name       string
		answer     string
		proxy      string
		verdict    string
		text       []string
		notText    []string
		answeredBy string
	}{
		{
			name:    "wshold serve's bad query parameter",
			answer:  httpAnswer("HTTP/1.1 400 Bad Request", []string{"Content-Type: text/plain"}, `bad query parameter status="abc": want a number from 200 to 599`+"\n"),
			verdict: `400: the server refused the upgrade: "bad query parameter status=\"abc\": want a number from 200 to 599"`,
			text:    []string{"not about the Upgrade or Connection headers", "the URL's path or query string"},
			notText: proxyBlame,
		},
		{
			name:       "a malformed request, relayed by nginx",
			answer:     httpAnswer("HTTP/1.1 400 Bad Request", []string{"Server: nginx/1.22.1", "Content-Type: text/plain"}, "malformed HTTP request: too many Host headers\n"),
			proxy:      ProxyNginx,
			verdict:    `400: the backend, relayed by nginx, refused the upgrade: "malformed HTTP request: too many Host headers"`,
			text:       []string{"-H headers", "wshold check ws://BACKEND:PORT/ws"},
			notText:    proxyBlame,
			answeredBy: "the backend, relayed by nginx",
		},
		{
			name:    "ws's missing key",
			answer:  httpAnswer("HTTP/1.1 400 Bad Request", []string{"Content-Type: text/html"}, "Missing or invalid Sec-WebSocket-Key header"),
			verdict: `400: the server refused the upgrade: "Missing or invalid Sec-WebSocket-Key header"`,
			notText: proxyBlame,
		},
		{
			name:       "wshold serve behind nginx's bare proxy_pass: the body names the lost headers",
			answer:     httpAnswer("HTTP/1.1 400 Bad Request", []string{"Server: nginx/1.22.1", "Content-Type: text/plain"}, `HTTP/1.0 cannot upgrade; use HTTP/1.1; missing "Upgrade: websocket" header; missing "Connection: upgrade" header (got "close")`+"\n"),
			proxy:      ProxyNginx,
			verdict:    "nginx relayed the backend's refusal: nginx did not forward Upgrade",
			text:       []string{"The body says", "complaining about the missing upgrade headers", "proxy_http_version 1.1;"},
			answeredBy: "the backend, relayed by nginx",
		},
		{
			name:       "a bare Bad Request: most likely the lost headers",
			answer:     httpAnswer("HTTP/1.1 400 Bad Request", []string{"Content-Type: text/plain; charset=utf-8"}, "Bad Request\n"),
			verdict:    "400 to a complete upgrade request: a proxy on the way most likely did not forward Upgrade/Connection",
			text:       []string{"hop-by-hop", "proxy_http_version 1.1;"},
			notText:    []string{"The body says"},
			answeredBy: "no proxy named itself",
		},
		{
			name:    "an empty 426: most likely the lost headers",
			answer:  httpAnswer("HTTP/1.1 426 Upgrade Required", nil, ""),
			verdict: "426 to a complete upgrade request: a proxy on the way most likely did not forward Upgrade/Connection",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			url, _ := scripted(t, answerThenClose, "/ws", fixed(tt.answer))
			r, text, _ := runCheck(t, url, Options{})
			if r.OK || !strings.HasPrefix(r.Cause, "http_4") || r.Proxy != tt.proxy {
				t.Fatalf("OK %v cause %q proxy %q, want a failed http_4xx with proxy %q:\n%s", r.OK, r.Cause, r.Proxy, tt.proxy, text)
			}
			if !strings.Contains(r.Verdict, tt.verdict) {
				t.Errorf("Verdict\n got %s\nwant it to contain %s", r.Verdict, tt.verdict)
			}
			for _, s := range tt.text {
				if !containsFlat(text, s) {
					t.Errorf("text lacks %q:\n%s", s, text)
				}
			}
			for _, s := range tt.notText {
				if containsFlat(text, s) {
					t.Errorf("text has %q:\n%s", s, text)
				}
			}
			if !strings.Contains(r.AnsweredBy, tt.answeredBy) {
				t.Errorf("AnsweredBy = %q, want it to contain %q", r.AnsweredBy, tt.answeredBy)
			}
			if len(r.Explanation) == 0 || len(r.Fixes) == 0 {
				t.Errorf("a failure must be explained and come with a fix:\n%s", text)
			}
		})
	}
}

// Against wshold serve itself: its answer to a bad query parameter is its
// own reason, not a proxy's doing (there is no proxy).
func TestRefusalByWsholdServe(t *testing.T) {
	t.Parallel()
	srv, err := server.Start(server.Config{Listen: []string{"127.0.0.1:0"}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	r, text, _ := runCheck(t, "ws://"+srv.Addrs()[0].String()+"/?status=abc", Options{})
	if r.Cause != HTTPCause(400) {
		t.Fatalf("cause %q, want %q:\n%s", r.Cause, HTTPCause(400), text)
	}
	if want := `400: the server refused the upgrade: "bad query parameter status=\"abc\"`; !strings.HasPrefix(r.Verdict, want) {
		t.Errorf("Verdict\n got %s\nwant it to start with %s", r.Verdict, want)
	}
	if containsFlat(text, "did not forward") || containsFlat(text, "proxy_set_header") {
		t.Errorf("the proxy is blamed for the backend's own reason:\n%s", text)
	}
}
