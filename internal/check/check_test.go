package check

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wshold/wshold/internal/handshake"
)

// nginx's own error page, as nginx 1.22 writes it.
const nginx502 = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.22.1</center>\r\n</body>\r\n</html>\r\n"

// httpAnswer builds an HTTP answer with a Content-Length for a body.
func httpAnswer(statusLine string, headers []string, body string) string {
	var b strings.Builder
	b.WriteString(statusLine + "\r\n")
	for _, h := range headers {
		b.WriteString(h + "\r\n")
	}
	if body != "" {
		b.WriteString("Content-Length: " + strconv.Itoa(len(body)) + "\r\n")
	}
	b.WriteString("\r\n" + body)
	return b.String()
}

// runCheck runs one check with a short timeout and renders both outputs,
// so every case also proves the renderers cope with it.
func runCheck(t *testing.T, url string, o Options) (*Report, string, string) {
	t.Helper()
	if o.Timeout == 0 {
		o.Timeout = ioLimit
	}
	r, err := Run(context.Background(), url, o)
	if err != nil {
		t.Fatalf(
			"Run(%s) returned an error for a usable input: %v",
			url, err)
	}
	var text, js bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		t.Fatalf(
			"WriteText: %v",
			err)
	}
	if err := r.WriteJSON(&js); err != nil {
		t.Fatalf(
			"WriteJSON: %v",
			err)
	}
	return r, text.String(), js.String()
}

// scriptedCase is one scripted answer and what the check must make of it.
type scriptedCase struct {
	name  string
	mode  mode
	reply func(*http.Request) string
	opts  Options

	ok         bool
	cause      string
	proxy      string
	acceptOK   bool
	verdict    string   // substring of Report.Verdict
	text       []string // substrings of the text output
	firstFix   string   // Fixes[0].For, if set
	answeredBy string   // substring of AnsweredBy, if set
}

// runScripted runs each case against its own scripted server and checks
// the report, the text and the JSON.
func runScripted(t *testing.T, cases []scriptedCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			url, _ := scripted(t, tc.mode, "/ws", tc.reply)
			r, text, js := runCheck(t, url, tc.opts)
			if r.OK != tc.ok || r.Cause != tc.cause {
				t.Fatalf(
					"got OK=%v cause=%q, want OK=%v cause=%q\n%s",
					r.OK, r.Cause, tc.ok, tc.cause, text)
			}
			if r.AcceptOK != tc.acceptOK {
				t.Errorf(
					"AcceptOK = %v, want %v",
					r.AcceptOK, tc.acceptOK)
			}
			if r.Proxy != tc.proxy {
				t.Errorf(
					"Proxy = %q (%s), want %q",
					r.Proxy, r.ProxyEvidence, tc.proxy)
			}
			if !strings.Contains(r.Verdict, tc.verdict) {
				t.Errorf(
					"Verdict = %q, want it to contain %q",
					r.Verdict, tc.verdict)
			}
			for _, s := range tc.text {
				if !containsFlat(text, s) {
					t.Errorf(
						"text output lacks %q:\n%s",
						s, text)
				}
			}
			if tc.firstFix != "" && (len(r.Fixes) == 0 || r.Fixes[0].For != tc.firstFix) {
				t.Errorf(
					"first fix is %+v, want one for %s",
					r.Fixes, tc.firstFix)
			}
			if !strings.Contains(r.AnsweredBy, tc.answeredBy) {
				t.Errorf(
					"AnsweredBy = %q, want it to contain %q",
					r.AnsweredBy, tc.answeredBy)
			}
			if !r.OK && (len(r.Explanation) == 0 || len(r.Fixes) == 0) {
				t.Errorf(
					"a failure must be explained and come with a fix:\n%s",
					text)
			}
			if !strings.Contains(js, `"cause": "`+tc.cause+`"`) {
				t.Errorf(
					"JSON lacks the cause %q:\n%s",
					tc.cause, js)
			}
			if strings.ContainsRune(text, '\x1b') || strings.ContainsRune(js, '\x1b') {
				t.Errorf(
					"an escape character from the network reached the output")
			}
		})
	}
}

func TestRunExplainsFailedAnswers(t *testing.T) {
	t.Parallel()
	runScripted(t, []scriptedCase{
		{
			name: "nginx relays the backend's 400: Upgrade was not forwarded",
			reply: fixed(httpAnswer("HTTP/1.1 400 Bad Request",
				[]string{"Server: nginx/1.22.1", "Content-Type: text/plain; charset=utf-8", "Connection: keep-alive"},
				"missing \"Upgrade: websocket\" header\n")),
			cause:      HTTPCause(400),
			proxy:      ProxyNginx,
			verdict:    "nginx relayed the backend's refusal: nginx did not forward Upgrade",
			firstFix:   ProxyNginx,
			answeredBy: "the backend, relayed by nginx (Server: nginx/1.22.1)",
			text: []string{
				"hop-by-hop",
				"HTTP/1.0",
				"proxy_http_version 1.1;",
				"proxy_set_header Upgrade $http_upgrade;",
				`proxy_set_header Connection "upgrade";`,
				"map $http_upgrade $connection_upgrade {",
				"''      close;",
				"proxy_set_header Connection $connection_upgrade;",
				"timeout tunnel",
				"reverse_proxy",
				"upgrade=websocket",
				"mod_proxy_wstunnel",
				"location /ws {",
			},
		},
		{
			name: "nginx relays Node ws's 426 Upgrade Required",
			reply: fixed(httpAnswer("HTTP/1.1 426 Upgrade Required",
				[]string{"Server: nginx/1.22.1", "Date: Mon, 01 Jan 2024 00:00:00 GMT", "Content-Type: text/plain", "Connection: keep-alive"},
				"Upgrade Required")),
			cause:    HTTPCause(426),
			proxy:    ProxyNginx,
			verdict:  "nginx relayed the backend's refusal",
			firstFix: ProxyNginx,
			text:     []string{`The body says "Upgrade Required"`, "426 Upgrade Required"},
		},
		{
			name: "426 with no proxy named: still the lost headers",
			reply: fixed(httpAnswer("HTTP/1.1 426 Upgrade Required",
				[]string{"Content-Type: text/plain"}, "Upgrade Required")),
			cause:      HTTPCause(426),
			verdict:    "a proxy on the way most likely did not forward Upgrade/Connection",
			firstFix:   ProxyNginx,
			answeredBy: "no proxy named itself",
		},
		{
			name: "Apache in front of the backend's 426: Apache's fix comes first",
			reply: fixed(httpAnswer("HTTP/1.1 426 Upgrade Required",
				[]string{"Server: Apache/2.4.71 (Debian)", "Content-Type: text/plain"}, "Upgrade Required")),
			cause:    HTTPCause(426),
			proxy:    ProxyApache,
			firstFix: ProxyApache,
			verdict:  "Apache relayed the backend's refusal: Apache did not forward Upgrade",
		},
		{
			name:     "backend 400 over HTTP/1.0",
			reply:    fixed("HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain\r\n\r\nBad Request: 'upgrade' token not found in 'Connection' header\n"),
			cause:    HTTPCause(400),
			firstFix: ProxyNginx,
			text:     []string{"The answer is HTTP/1.0", "'upgrade' token not found"},
		},
		{
			name:    "426 listing other WebSocket versions",
			reply:   fixed(httpAnswer("HTTP/1.1 426 Upgrade Required", []string{"Sec-WebSocket-Version: 8"}, "")),
			cause:   HTTPCause(426),
			verdict: "does not speak WebSocket version 13 (it offers 8)",
		},
		{
			name: "nginx's own 400 for plain HTTP on its TLS port",
			reply: fixed(httpAnswer("HTTP/1.1 400 Bad Request", []string{"Server: nginx/1.22.1", "Content-Type: text/html"},
				"<html>\r\n<head><title>400 The plain HTTP request was sent to HTTPS port</title></head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n<center>The plain HTTP request was sent to HTTPS port</center>\r\n<hr><center>nginx/1.22.1</center>\r\n</body>\r\n</html>\r\n")),
			cause:      HTTPCause(400),
			proxy:      ProxyNginx,
			verdict:    "nginx expects TLS on this port: use wss://",
			answeredBy: "nginx itself",
			text:       []string{"wss://127.0.0.1:"},
		},
		{
			name:       "nginx 502 page",
			reply:      fixed(httpAnswer("HTTP/1.1 502 Bad Gateway", []string{"Server: nginx/1.22.1", "Content-Type: text/html"}, nginx502)),
			cause:      HTTPCause(502),
			proxy:      ProxyNginx,
			verdict:    "502: nginx could not reach the backend",
			answeredBy: "nginx itself (its own error page",
			text:       []string{"<hr><center>nginx/1.22.1</center>", "connect() failed (111: Connection refused)"},
		},
		{
			// N11: nghttpx could not speak to its backend and answered
			// itself; its footer names it.
			name: "nghttpx's own 502 page",
			reply: fixed(httpAnswer("HTTP/1.1 502 Bad Gateway", []string{"Server: nghttpx", "Content-Type: text/html; charset=UTF-8"},
				`<!DOCTYPE html><html lang="en"><title>502 Bad Gateway</title><body><h1>502 Bad Gateway</h1><footer>nghttpx</footer></body></html>`)),
			cause:      HTTPCause(502),
			proxy:      ProxyNghttpx,
			verdict:    "502: nghttpx could not reach the backend",
			answeredBy: "nghttpx itself (its own error page: the page names nghttpx): the backend did not answer",
		},
		{
			// A8: ATS has no ws:// remap rule and answers its own 404,
			// whose page names nothing: either could have written it, and
			// ATS's ws:// rule is the first fix.
			name: "ATS 404 to an upgrade it has no ws:// rule for",
			reply: fixed(httpAnswer("HTTP/1.1 404 Not Found on Accelerator", []string{"Server: ATS/9.2.9", "Content-Type: text/html"},
				"<HTML>\n<HEAD>\n<TITLE>Not Found on Accelerator</TITLE>\n</HEAD>\n<BODY><H1>Not Found on Accelerator</H1></BODY>\n")),
			cause:      HTTPCause(404),
			proxy:      ProxyATS,
			verdict:    "404: nothing serves WebSockets at /ws",
			firstFix:   ProxyATS,
			answeredBy: "ATS itself, or the backend through ATS — unsure",
			text:       []string{"map ws://HOST:PORT/ ws://backend:port/", "Either ATS has no route that proxies /ws"},
		},
		{
			name: "HAProxy 503 page names HAProxy without a Server header",
			reply: fixed(httpAnswer("HTTP/1.1 503 Service Unavailable", []string{"content-type: text/html", "cache-control: no-cache"},
				"<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>\n")),
			cause:      HTTPCause(503),
			proxy:      ProxyHAProxy,
			verdict:    "503: HAProxy has no backend available",
			answeredBy: "HAProxy itself",
			text:       []string{"failing its health check"},
		},
		{
			name:    "Caddy 502 with an empty body",
			reply:   fixed("HTTP/1.1 502 Bad Gateway\r\nServer: Caddy\r\nContent-Length: 0\r\n\r\n"),
			cause:   HTTPCause(502),
			proxy:   ProxyCaddy,
			verdict: "502: Caddy could not reach the backend",
		},
		{
			name:    "504",
			reply:   fixed(httpAnswer("HTTP/1.1 504 Gateway Time-out", []string{"Server: nginx"}, "")),
			cause:   HTTPCause(504),
			proxy:   ProxyNginx,
			verdict: "504: the backend did not answer nginx in time",
		},
		{
			name:    "redirect to https names the wss URL",
			reply:   fixed(httpAnswer("HTTP/1.1 301 Moved Permanently", []string{"Server: nginx/1.22.1", "Location: https://example.com/ws"}, "")),
			cause:   HTTPCause(301),
			proxy:   ProxyNginx,
			verdict: "redirected (301) to https://example.com/ws: WebSocket clients do not follow redirects; connect to wss://example.com/ws",
			text:    []string{"from plain HTTP to HTTPS", "< Location: https://example.com/ws"},
		},
		{
			name:  "relative redirect adding a trailing slash",
			reply: fixed(httpAnswer("HTTP/1.1 308 Permanent Redirect", []string{"Location: /ws/"}, "")),
			cause: HTTPCause(308),
			text:  []string{"only adds a trailing slash"},
		},
		{
			name:    "403 without Origin suggests --origin",
			reply:   fixed(httpAnswer("HTTP/1.1 403 Forbidden", []string{"Content-Type: text/plain"}, "Forbidden\n")),
			cause:   HTTPCause(403),
			verdict: "try --origin",
			text:    []string{"--origin http://127.0.0.1:"},
		},
		{
			name:    "403 with an Origin names it",
			reply:   fixed(httpAnswer("HTTP/1.1 403 Forbidden", nil, "")),
			opts:    Options{Origin: "https://evil.example"},
			cause:   HTTPCause(403),
			verdict: "Origin https://evil.example is not allowed",
			text:    []string{"> Origin: https://evil.example"},
		},
		{
			name:    "404",
			reply:   fixed(httpAnswer("HTTP/1.1 404 Not Found", []string{"Server: nginx/1.22.1"}, "404 page not found\n")),
			cause:   HTTPCause(404),
			proxy:   ProxyNginx,
			verdict: "404: nothing serves WebSockets at /ws",
			text:    []string{"proxy_pass with a URI part"},
		},
		{
			name:    "401 shows the challenge",
			reply:   fixed(httpAnswer("HTTP/1.1 401 Unauthorized", []string{`WWW-Authenticate: Bearer realm="api"`}, "")),
			cause:   HTTPCause(401),
			verdict: "credentials are needed",
			text:    []string{`WWW-Authenticate: Bearer realm="api"`, "-H 'Authorization: Bearer TOKEN'"},
		},
		{
			name:    "401 after sending credentials",
			reply:   fixed(httpAnswer("HTTP/1.1 401 Unauthorized", nil, "")),
			opts:    Options{Headers: []string{"Authorization: Bearer expired"}},
			cause:   HTTPCause(401),
			verdict: "the credentials sent were refused",
		},
		{
			name:    "407 asks for Proxy-Authorization, not Authorization",
			reply:   fixed(httpAnswer("HTTP/1.1 407 Proxy Authentication Required", []string{`Proxy-Authenticate: Basic realm="corp"`}, "")),
			cause:   HTTPCause(407),
			verdict: "407: a proxy on the way wants credentials (Proxy-Authorization)",
			text:    []string{`Proxy-Authenticate: Basic realm="corp"`, "-H 'Proxy-Authorization: Basic"},
		},
		{
			name:    "200: served as an ordinary page",
			reply:   fixed(httpAnswer("HTTP/1.1 200 OK", []string{"Content-Type: text/html"}, "<html>app</html>")),
			cause:   HTTPCause(200),
			verdict: "200 OK instead of 101 Switching Protocols",
			text:    []string{"served as an ordinary page"},
		},
		{
			name:  "chunked body is decoded",
			reply: fixed("HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n7\r\nmissing\r\n8\r\n Upgrade\r\n0\r\n\r\n"),
			cause: HTTPCause(400),
			text:  []string{`The body says "missing Upgrade"`},
		},
		{
			name:  "a body without length from a server that keeps the connection open",
			mode:  answerAndHold,
			reply: fixed("HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n\r\nno upgrade header"),
			opts:  Options{Timeout: 8 * time.Second},
			cause: HTTPCause(400),
			text:  []string{"< no upgrade header"},
		},
		{
			name:    "garbage",
			reply:   fixed("220 smtp.example ESMTP ready\r\n"),
			cause:   CauseBadResponse,
			verdict: "the answer is not HTTP",
			text:    []string{`"220 smtp.example ESMTP ready\r\n"`},
		},
		{
			name:    "a TLS alert on a ws:// URL",
			reply:   fixed("\x15\x03\x01\x00\x02\x02\x46"),
			cause:   CauseBadResponse,
			verdict: "use wss://",
		},
		{
			name:    "status line that is not one",
			reply:   fixed("HTTP/1.1 OK\r\n\r\n"),
			cause:   CauseBadResponse,
			verdict: "not an HTTP status line",
		},
		{
			name:    "connection closed in the middle of the headers",
			reply:   fixed("HTTP/1.1 400 Bad Request\r\nServer: ngi"),
			cause:   CauseEOF,
			verdict: "closed in the middle of the answer's headers",
		},
		{
			name:    "accepted, then closed without an answer",
			mode:    closeAtOnce,
			cause:   CauseEOF,
			verdict: "closed (FIN) before any HTTP answer",
			text:    []string{"worker_connections are not enough"},
		},
		{
			name:    "accepted, then reset",
			mode:    resetAtOnce,
			cause:   CauseReset,
			verdict: "reset (RST) before any HTTP answer",
		},
		{
			name:    "never answers",
			mode:    neverAnswer,
			opts:    Options{Timeout: 300 * time.Millisecond},
			cause:   CauseTimeout,
			verdict: "no answer within 300ms (while waiting for the answer to the upgrade request)",
			text:    []string{"--timeout"},
		},
		{
			name:  "terminal escapes in an answer are defused",
			reply: fixed(httpAnswer("HTTP/1.1 400 Bad Request", []string{"X-Evil: \x1b[2J"}, "\x1b]0;pwned\x07")),
			cause: HTTPCause(400),
			text:  []string{`X-Evil: \x1b[2J`, `\x1b]0;pwned\x07`},
		},
	})
}

// containsFlat reports whether s is in text, ignoring how whitespace is
// laid out (explanations are wrapped).
func containsFlat(text, s string) bool {
	flat := func(x string) string { return strings.Join(strings.Fields(x), " ") }
	return strings.Contains(flat(text), flat(s))
}

func TestRunSendsWhatWasAsked(t *testing.T) {
	t.Parallel()
	url, got := scripted(t, answerThenClose, "/chat?room=1",
		upgrade101("Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Accept: {accept}"))
	r, text, _ := runCheck(t, url, Options{
		Headers:      []string{"X-Trace: abc", "Host: app.internal"},
		Origin:       "https://app.example",
		Subprotocols: []string{"v1"},
	})
	if !r.OK {
		t.Fatalf(
			"want a valid upgrade:\n%s",
			text)
	}
	req := <-got
	for name, want := range map[string]string{
		"Origin":                 "https://app.example",
		"X-Trace":                "abc",
		"Sec-WebSocket-Protocol": "v1",
		"Sec-WebSocket-Version":  "13",
		"Upgrade":                "websocket",
	} {
		if v := req.Header.Get(name); v != want {
			t.Errorf(
				"the server got %s: %q, want %q",
				name, v, want)
		}
	}
	if req.Host != "app.internal" || req.RequestURI != "/chat?room=1" || req.Proto != "HTTP/1.1" {
		t.Errorf(
			"the server got Host %q, URI %q, %s; want app.internal, /chat?room=1, HTTP/1.1",
			req.Host, req.RequestURI, req.Proto)
	}
	if r.Request.Line != "GET /chat?room=1 HTTP/1.1" {
		t.Errorf(
			"Request.Line = %q",
			r.Request.Line)
	}
	if r.Key != req.Header.Get("Sec-WebSocket-Key") || r.AcceptExpected != handshake.Accept(r.Key) {
		t.Errorf(
			"the report's key/accept (%q, %q) do not match what was sent (%q)",
			r.Key, r.AcceptExpected, req.Header.Get("Sec-WebSocket-Key"))
	}
}

func TestRedactionHidesSecretsEverywhere(t *testing.T) {
	t.Parallel()
	// The server echoes the request headers in its body, as debug
	// endpoints do, and hands out a session cookie.
	echo := func(req *http.Request) string {
		var b strings.Builder
		_ = req.Header.Write(&b)
		return httpAnswer("HTTP/1.1 400 Bad Request",
			[]string{"Set-Cookie: sid=topsecretsession; Path=/", "X-Echo: " + req.Header.Get("Authorization")},
			b.String())
	}
	url, got := scripted(t, answerThenClose, "/ws", echo)
	url = strings.Replace(url, "ws://", "ws://user:urlpassword@", 1)
	_, text, js := runCheck(t, url, Options{
		Headers: []string{
			"Proxy-Authorization: Basic cHJveHk6cHJveHlzZWNyZXQ=",
			"Cookie: a=cookiesecret1; b=cookiesecret2",
			"X-Api-Key: apikeysecret",
		},
		Redact: []string{"x-api-key"},
	})
	req := <-got
	if !strings.HasPrefix(req.Header.Get("Authorization"), "Basic ") {
		t.Errorf(
			"credentials in the URL were not sent as Basic auth: %q",
			req.Header.Get("Authorization"))
	}
	basic := strings.TrimPrefix(req.Header.Get("Authorization"), "Basic ")
	for _, secret := range []string{"urlpassword", basic, "cHJveHk6cHJveHlzZWNyZXQ=", "cookiesecret1", "cookiesecret2", "apikeysecret", "topsecretsession"} {
		if strings.Contains(text, secret) {
			t.Errorf(
				"text output shows the secret %q:\n%s",
				secret, text)
		}
		if strings.Contains(js, secret) {
			t.Errorf(
				"JSON output shows the secret %q:\n%s",
				secret, js)
		}
	}
	for _, shown := range []string{"> Authorization: [redacted]", "> Proxy-Authorization: [redacted]", "> Cookie: [redacted]", "> X-Api-Key: [redacted]", "< Set-Cookie: [redacted]", "< X-Echo: [redacted]"} {
		if !strings.Contains(text, shown) {
			t.Errorf(
				"text output lacks %q:\n%s",
				shown, text)
		}
	}
}

func TestRedactionOfABearerToken(t *testing.T) {
	t.Parallel()
	url, _ := scripted(t, answerThenClose, "/ws", fixed(httpAnswer("HTTP/1.1 401 Unauthorized", nil, "")))
	_, text, js := runCheck(t, url, Options{Headers: []string{"Authorization: Bearer s3cret"}})
	for _, out := range []string{text, js} {
		if strings.Contains(out, "s3cret") {
			t.Errorf(
				"the token appears in the output:\n%s",
				out)
		}
		if !strings.Contains(out, "Authorization") {
			t.Errorf(
				"the header name is missing from the output:\n%s",
				out)
		}
	}
}

func TestRefused(t *testing.T) {
	t.Parallel()
	r, text, _ := runCheck(t, "ws://"+closedPort(t)+"/ws", Options{})
	if r.Cause != CauseRefused || r.Phase != PhaseConnect || r.Response != nil {
		t.Fatalf(
			"got cause %q phase %q, want refused at connect:\n%s",
			r.Cause, r.Phase, text)
	}
	if !strings.Contains(text, "nothing is listening on 127.0.0.1:") {
		t.Errorf(
			"text does not say nothing listens:\n%s",
			text)
	}
}

// A redirect whose Location echoes the request's credentials is quoted by
// the verdict, the explanation and the fixes: none of them may show a
// secret that was sent, nor a token in the URL's query.
func TestRedactionOfARedirectThatEchoesCredentials(t *testing.T) {
	t.Parallel()
	echo := func(req *http.Request) string {
		loc := "https://example.com/login?next=" + req.URL.RawQuery + "&auth=" + req.Header.Get("Authorization") +
			"&c=" + req.Header.Get("Cookie") + "&k=" + req.Header.Get("X-Api-Key")
		return httpAnswer("HTTP/1.1 301 Moved Permanently", []string{"Location: " + loc}, "")
	}
	url, _ := scripted(t, answerThenClose, "/ws", echo)
	url += "?room=7&token=t0kenvalue&sig=s1gvalue"
	r, text, js := runCheck(t, url, Options{
		Headers: []string{"Authorization: Bearer beareRsecret", "Cookie: sid=c00kiesecret", "X-Api-Key: apikeysecret"},
		Redact:  []string{"X-Api-Key"},
	})
	if !strings.Contains(r.Verdict, "redirect") || len(r.Explanation) == 0 {
		t.Fatalf("verdict %q: want the redirect explained", r.Verdict)
	}
	for _, secret := range []string{"beareRsecret", "c00kiesecret", "apikeysecret", "t0kenvalue", "s1gvalue"} {
		for what, out := range map[string]string{"text": text, "JSON": js} {
			if strings.Contains(out, secret) {
				t.Errorf("the %s output shows %q:\n%s", what, secret, out)
			}
		}
	}
	if !strings.Contains(r.URL, "token=[redacted]") || !strings.Contains(r.URL, "room=7") {
		t.Errorf("URL %q: want the token's value hidden and its name and the rest kept", r.URL)
	}
}
