package report

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wshold/wshold/internal/server"
)

// A 400 or 426 to an upgrade is blamed on the proxy's upgrade headers only
// when its body names them (or says nothing); a body that gives another
// reason is that reason.
func TestClassifyRefusal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		from string
		body string
		want Refusal
	}{
		// The backend got the request without Upgrade/Connection, or over HTTP/1.0.
		{"wshold serve, nginx's bare proxy_pass", `HTTP/1.0 cannot upgrade; use HTTP/1.1; missing "Upgrade: websocket" header; missing "Connection: upgrade" header (got "close")` + "\n", RefusalNoUpgrade},
		{"wshold serve, Upgrade stripped", `missing "Upgrade: websocket" header; missing "Connection: upgrade" header (got "close")`, RefusalNoUpgrade},
		{"wshold serve, only Connection lost", `missing "Connection: upgrade" header`, RefusalNoUpgrade},
		{"ws (Node), plain GET", "Upgrade Required", RefusalNoUpgrade},
		{"ws (Node), bad Upgrade", "Invalid Upgrade header", RefusalNoUpgrade},
		{"gorilla/websocket with an error handler", "websocket: the client is not using the websocket protocol: 'upgrade' token not found in 'Connection' header", RefusalNoUpgrade},
		{"coder/websocket", `WebSocket protocol violation: Connection header "close" does not contain Upgrade`, RefusalNoUpgrade},
		{"coder/websocket, HTTP/1.0", `WebSocket protocol violation: handshake request must be at least HTTP/1.1: "HTTP/1.0"`, RefusalNoUpgrade},
		{"golang.org/x/net/websocket", "missing or bad upgrade", RefusalNoUpgrade},
		{"golang.org/x/net/websocket, not an upgrade", "not websocket protocol", RefusalNoUpgrade},
		{"Spring", `Can "Upgrade" only to "WebSocket".`, RefusalNoUpgrade},
		{"Tornado", `"Connection" must be "Upgrade".`, RefusalNoUpgrade},
		{"Python websockets", "Failed to open a WebSocket connection: missing Connection header.\n\nYou cannot access a WebSocket server directly with a browser. You need a WebSocket client.\n", RefusalNoUpgrade},
		{"gobwas/ws", "handshake error: bad Connection header", RefusalNoUpgrade},

		// Nothing said.
		{"empty", "", RefusalUnstated},
		{"Go's http.Error (gorilla's default)", "Bad Request\n", RefusalUnstated},
		{"status line as body", "400 Bad Request", RefusalUnstated},
		{"engine.io JSON", `{"code":3,"message":"Bad request"}`, RefusalUnstated},
		{"a generic HTML page", "<html><head><title>400 Bad Request</title></head><body><h1>Bad Request</h1></body></html>", RefusalUnstated},

		// Another reason: not the proxy's upgrade headers.
		{"wshold serve, bad query", `bad query parameter status="abc": want a number from 200 to 599` + "\n", RefusalOther},
		{"wshold serve, duplicate Host", "malformed HTTP request: too many Host headers\n", RefusalOther},
		{"wshold serve, no key", `missing Sec-WebSocket-Key; unsupported Sec-WebSocket-Version "8"; this server speaks 13`, RefusalOther},
		{"ws (Node), no key", "Missing or invalid Sec-WebSocket-Key header", RefusalOther},
		{"Python websockets, no key", "Failed to open a WebSocket connection: missing Sec-WebSocket-Key header.\n", RefusalOther},
		{"gorilla, method", "websocket: the client is not using the websocket protocol: request method is not GET", RefusalOther},
		{"an application's token check", `{"error":"invalid_token"}`, RefusalOther},
		{"a < that starts no tag", "want n < 10", RefusalOther},
	}
	for _, tt := range tests {
		if got, _ := ClassifyRefusal(tt.body); got != tt.want {
			t.Errorf("%s: ClassifyRefusal(%q) = %d, want %d", tt.from, tt.body, got, tt.want)
		}
	}
	if _, text := ClassifyRefusal("<p>want n < 10\n  and\tmore</p>"); text != "want n < 10 and more" {
		t.Errorf("quoted text %q: want tags out and whitespace folded", text)
	}
}

// The bodies wshold serve really answers: a plain GET and nginx's bare
// proxy_pass (HTTP/1.0, no Upgrade) read as stripped headers, a bad query
// and a duplicate Host as another reason.
func TestClassifyRefusalOfWsholdServe(t *testing.T) {
	t.Parallel()
	srv, err := server.Start(server.Config{Listen: []string{"127.0.0.1:0"}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	addr := srv.Addrs()[0].String()
	const ws = "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	tests := []struct {
		name, req string
		want      Refusal
	}{
		{"bare proxy_pass", "GET / HTTP/1.0\r\nHost: b\r\nConnection: close\r\n" + ws + "\r\n", RefusalNoUpgrade},
		{"HTTP/1.1 without the upgrade headers", "GET / HTTP/1.1\r\nHost: b\r\nConnection: close\r\n" + ws + "\r\n", RefusalNoUpgrade},
		{"bad query", "GET /?status=abc HTTP/1.1\r\nHost: b\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" + ws + "\r\n", RefusalOther},
		{"two Host headers", "GET / HTTP/1.1\r\nHost: b\r\nHost: foo\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" + ws + "\r\n", RefusalOther},
	}
	for _, tt := range tests {
		status, body := rawAsk(t, addr, tt.req)
		if status != 400 {
			t.Fatalf("%s: wshold serve answered %d %q, want 400", tt.name, status, body)
		}
		if got, _ := ClassifyRefusal(body); got != tt.want {
			t.Errorf("%s: body %q classified %d, want %d", tt.name, body, got, tt.want)
		}
	}
}

// rawAsk sends req as written and returns the answer's status and body.
func rawAsk(t *testing.T, addr, req string) (int, string) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// In a run's report the hint and the verdict line's guess follow the body
// in the failure's example, as the engine writes it.
func TestFailureHintAndSummaryReadTheBody(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		f        Failure
		hint     []string
		notHint  []string
		summary  string
		notInAny string
	}{
		{"a bad query parameter is the backend's reason",
			Failure{Cause: "http", Status: 400, Count: 3,
				Example: `HTTP/1.1 400 Bad Request; body: bad query parameter status="abc": want a number from 200 to 599`},
			[]string{"refused the upgrade for the reason its body gives", `bad query parameter status=\"abc\"`},
			[]string{"plain GET", "proxy_set_header"},
			`HTTP 400 (refused: "bad query parameter status=\"abc\": want a number from 200 to …")`,
			"stripped"},
		{"a malformed request relayed by nginx",
			Failure{Cause: "http", Status: 400, Count: 1,
				Example: "HTTP/1.1 400 Bad Request; Server: nginx/1.22.1; body: malformed HTTP request: too many Host headers"},
			[]string{"too many Host headers"}, []string{"plain GET"},
			`HTTP 400 (refused: "malformed HTTP request: too many Host headers")`,
			"stripped"},
		{"wshold serve behind a broken proxy",
			Failure{Cause: "http", Status: 400, Count: 200,
				Example: `HTTP/1.1 400 Bad Request; Server: nginx/1.22.1; body: HTTP/1.0 cannot upgrade; use HTTP/1.1; missing "Upgrade: websocket" header`},
			[]string{"the backend saw a plain GET", "proxy_http_version 1.1;"}, nil,
			"HTTP 400 (proxy stripped Upgrade/Connection?)", ""},
		{"Node's 426",
			Failure{Cause: "http", Status: 426, Count: 5, Example: "HTTP/1.1 426 Upgrade Required; Server: nginx/1.22.1; body: Upgrade Required"},
			[]string{"the backend saw a plain GET"}, nil,
			"HTTP 426 (proxy stripped Upgrade/Connection?)", ""},
		{"no body: still the most likely cause",
			Failure{Cause: "http", Status: 400, Count: 5, Example: "HTTP/1.1 400 Bad Request; Server: nginx/1.22.1"},
			[]string{"the backend saw a plain GET"}, nil,
			"HTTP 400 (proxy stripped Upgrade/Connection?)", ""},
		{"a bare Bad Request: still the most likely cause",
			Failure{Cause: "http", Status: 400, Count: 5, Example: "HTTP/1.1 400 Bad Request; body: Bad Request"},
			[]string{"the backend saw a plain GET"}, nil,
			"HTTP 400 (proxy stripped Upgrade/Connection?)", ""},
		{"other statuses do not read the body",
			Failure{Cause: "http", Status: 403, Count: 1, Example: "HTTP/1.1 403 Forbidden; body: origin not allowed"},
			[]string{"--origin"}, nil, "HTTP 403 (origin check?)", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := FailureHint(tt.f.Cause, tt.f.Status, tt.f.Example)
			checkHint(t, h, tt.hint, tt.notHint)
			s := failureSummary(tt.f, nil)
			if s != tt.summary {
				t.Errorf("summary\n got %s\nwant %s", s, tt.summary)
			}
			if tt.notInAny != "" && (strings.Contains(h, tt.notInAny) || strings.Contains(s, tt.notInAny)) {
				t.Errorf("%q in the hint or summary:\n%s\n%s", tt.notInAny, h, s)
			}
		})
	}
}

// A failed TLS handshake is explained by what crypto/tls said: an unknown
// CA names --ca and --insecure, an expired certificate and one for another
// name say so.
func TestTLSFailureHints(t *testing.T) {
	for _, tc := range []struct{ example, hint, guess string }{
		{"tls: failed to verify certificate: x509: certificate signed by unknown authority", "--ca FILE", "--ca or --insecure"},
		{"tls: failed to verify certificate: x509: certificate has expired or is not yet valid: current time 2026-11-28T10:00:00Z is after 2026-11-27T10:00:00Z", "expired", "certificate expired"},
		{"tls: failed to verify certificate: x509: certificate is valid for 127.0.0.1, not wss.example", "does not carry the name", "another name"},
		{"tls: failed to verify certificate: x509: cannot validate certificate for 127.0.0.1 because it doesn't contain any IP SANs", "does not carry the name", "another name"},
		{"tls: first record does not look like a TLS handshake", "use ws://", "TLS failed"},
	} {
		if h := FailureHint("tls", 0, tc.example); !strings.Contains(h, tc.hint) {
			t.Errorf("hint for %q is %q, want it to mention %q", tc.example, h, tc.hint)
		}
		if g := failureGuess("tls", 0, tc.example); !strings.Contains(g, tc.guess) {
			t.Errorf("guess for %q is %q, want %q", tc.example, g, tc.guess)
		}
	}
}
