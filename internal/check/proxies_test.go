package check

import (
	"strings"
	"testing"
)

// The proxy that names itself in Server or Via (as run reads them) is
// named, and a refused upgrade's first fix is its own: lighttpd without
// proxy.header, Varnish without the pipe rule (answers as the lab's
// broken configs send them). A product wshold does not know is still named;
// a WebSocket server's own Server header names no proxy.
func TestRefusedUpgradeNamesTheProxyAndItsFixFirst(t *testing.T) {
	t.Parallel()
	const body = `missing "Upgrade: websocket" header; missing "Connection: upgrade" header (got "close")` + "\n"
	tests := []struct {
		name       string
		headers    []string
		proxy      string
		firstFix   string
		fixText    string
		answeredBy string
	}{
		{"lighttpd without proxy.header", []string{"Content-Type: text/plain", "Date: Thu, 03 Dec 2026 13:34:31 GMT", "Server: lighttpd/1.4.69"},
			ProxyLighttpd, ProxyLighttpd, `proxy.header = ( "upgrade" => "enable" )`, "relayed by lighttpd (Server: lighttpd/1.4.69)"},
		{"Varnish without the pipe rule", []string{"Content-Type: text/plain", "X-Varnish: 2", "Age: 0", "Via: 1.1 varnish (Varnish/7.1)", "Connection: keep-alive"},
			ProxyVarnish, ProxyVarnish, "return (pipe);", "relayed by Varnish (Via: 1.1 varnish (Varnish/7.1))"},
		{"h2o without proxy.websocket (H4)", []string{"Date: Thu, 03 Dec 2026 13:34:31 GMT", "Connection: close", "Server: h2o/2.2.5", "content-type: text/plain"},
			ProxyH2O, ProxyH2O, "proxy.websocket: ON", "relayed by h2o (Server: h2o/2.2.5)"},
		{"ATS", []string{"Server: ATS/9.2.9", "Content-Type: text/plain"},
			ProxyATS, ProxyATS, "map ws://", "relayed by ATS (Server: ATS/9.2.9)"},
		{"an unknown proxy is still named, with what any proxy must do", []string{"Content-Type: text/plain", "Server: frontdoor"},
			"frontdoor", "frontdoor", "wshold has no recipe for it", "relayed by frontdoor (Server: frontdoor)"},
		{"a backend's own Server names no proxy", []string{"Content-Type: text/plain", "Server: Python/3.11 websockets/10.4"},
			"", ProxyNginx, "proxy_http_version 1.1;", "the backend, Python websockets (Server: Python/3.11 websockets/10.4); no proxy named itself"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			url, _ := scripted(t, answerThenClose, "/ws", fixed(httpAnswer("HTTP/1.1 400 Bad Request", tt.headers, body)))
			r, text, _ := runCheck(t, url, Options{})
			if r.Proxy != tt.proxy {
				t.Fatalf("proxy %q, want %q:\n%s", r.Proxy, tt.proxy, text)
			}
			if len(r.Fixes) == 0 || r.Fixes[0].For != tt.firstFix || !strings.Contains(text, tt.fixText) {
				t.Errorf("first fix %+v, want %s's, and the text to show %q:\n%s", r.Fixes, tt.firstFix, tt.fixText, text)
			}
			if !strings.Contains(r.AnsweredBy, tt.answeredBy) {
				t.Errorf("AnsweredBy %q, want it to contain %q", r.AnsweredBy, tt.answeredBy)
			}
			if tt.proxy != "" && strings.Contains(text, "no proxy named itself") {
				t.Errorf("says no proxy named itself though %s did:\n%s", tt.proxy, text)
			}
			// Another product's recipe never comes before the named
			// proxy's, and a product with no recipe gets no one else's.
			for i, f := range r.Fixes {
				if f.For != tt.firstFix && f.For != "client" && i == 0 {
					t.Errorf("fix %d is %s's", i, f.For)
				}
				if tt.proxy == "frontdoor" && f.For != "frontdoor" && f.For != "client" {
					t.Errorf("frontdoor has no recipe, yet fix %d is %s's: %+v", i, f.For, f)
				}
			}
		})
	}
}
