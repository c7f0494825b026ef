package check

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/wshold/wshold/internal/handshake"
	"github.com/wshold/wshold/internal/neterr"
)

func TestSplitHeadKeepsCaseOrderAndOddLines(t *testing.T) {
	t.Parallel()
	first, hs := splitHead([]byte("HTTP/1.1 101 X\r\nupgrade: websocket\r\nX-Long: a\r\n  b\r\nno colon here\r\n\r\n"))
	want := []Header{{"upgrade", "websocket"}, {"X-Long", "a b"}, {"", "no colon here"}}
	if first != "HTTP/1.1 101 X" || fmt.Sprint(hs) != fmt.Sprint(want) {
		t.Errorf(
			"splitHead = %q %v, want %v",
			first, hs, want)
	}
}

func TestHasToken(t *testing.T) {
	t.Parallel()
	cases := []struct {
		values []string
		token  string
		want   bool
	}{
		{[]string{"Upgrade"}, "upgrade", true},
		{[]string{"keep-alive, Upgrade"}, "upgrade", true},
		{[]string{"keep-alive", "upgrade"}, "upgrade", true},
		{[]string{"upgraded"}, "upgrade", false},
		{nil, "upgrade", false},
	}
	for _, tc := range cases {
		if got := handshake.HasToken(tc.values, tc.token); got != tc.want {
			t.Errorf(
				"handshake.HasToken(%q, %q) = %v, want %v",
				tc.values, tc.token, got, tc.want)
		}
	}
}

func TestPrintableEscapesControlBytes(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"plain text\r\nnext\tline", "plain text\nnext\tline"},
		{"\x1b[31mred", `\x1b[31mred`},
		{"bad \xff utf8", `bad \xff utf8`},
		{"lone\rcr", `lone\rcr`},
		{"héllo", "héllo"},
	}
	for _, tc := range cases {
		if got := printable([]byte(tc.in)); got != tc.want {
			t.Errorf(
				"printable(%q) = %q, want %q",
				tc.in, got, tc.want)
		}
	}
}

func TestAcceptFor(t *testing.T) {
	t.Parallel()
	// The example of RFC 6455 §1.3.
	if got := handshake.Accept("dGhlIHNhbXBsZSBub25jZQ=="); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Errorf(
			"handshake.Accept(RFC example) = %q",
			got)
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	op := func(err error) error {
		return &net.OpError{Op: "read", Net: "tcp", Err: os.NewSyscallError("read", err)}
	}
	cases := []struct {
		err  error
		want string
	}{
		{op(syscall.ECONNREFUSED), CauseRefused},
		{op(syscall.ECONNRESET), CauseReset},
		{op(syscall.EPIPE), CauseReset},
		{op(syscall.EHOSTUNREACH), CauseUnreachable},
		{op(syscall.ENETUNREACH), CauseUnreachable},
		{&net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "x", IsNotFound: true}}, CauseDNS},
		{&net.OpError{Op: "dial", Err: &net.DNSError{Err: "i/o timeout", Name: "x", IsTimeout: true}}, CauseDNS},
		{fmt.Errorf("read: %w", os.ErrDeadlineExceeded), CauseTimeout},
		{context.DeadlineExceeded, CauseTimeout},
		{io.EOF, CauseEOF},
		{io.ErrUnexpectedEOF, CauseEOF},
		{errors.New("something else"), ""},
		{nil, ""},
	}
	for _, tc := range cases {
		if got := neterr.Cause(tc.err); got != tc.want {
			t.Errorf(
				"classify(%v) = %q, want %q",
				tc.err, got, tc.want)
		}
	}
}

// Who wrote a refusal is told by what any product's answer shows — a page
// that names the proxy, a WebSocket server's complaint, a gateway status —
// and "unsure" when nothing does, never by a per-product list of pages
// (HAProxy, which sends no Server header, is recognised by its pages).
func TestDetectProxy(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		resp   Response
		want   string
		origin pageOrigin
	}{
		{"nginx relaying", Response{Status: 400, Headers: []Header{{"Server", "nginx/1.22.1"}}, Body: "missing upgrade header"}, ProxyNginx, originRelayed},
		{"nginx page", Response{Status: 502, Headers: []Header{{"Server", "nginx"}}, Body: nginx502}, ProxyNginx, originOwn},
		{"openresty", Response{Status: 400, Headers: []Header{{"Server", "openresty/1.21"}}}, ProxyNginx, originUnsure},
		{"Caddy by Via", Response{Status: 400, Headers: []Header{{"Via", "1.1 Caddy"}}, Body: "x"}, ProxyCaddy, originRelayed},
		{"a 400 that says nothing", Response{Status: 400, Headers: []Header{{"Server", "nginx"}}, Body: "Bad Request"}, ProxyNginx, originUnsure},
		{"Caddy empty 502", Response{Status: 502, Headers: []Header{{"Server", "Caddy"}}}, ProxyCaddy, originOwnLikely},
		{"Apache page", Response{Status: 503, Headers: []Header{{"Server", "Apache/2.4.71 (Debian)"}}, Body: "<address>Apache/2.4.71 (Debian) Server at 127.0.0.1 Port 80</address>"}, ProxyApache, originOwn},
		{"Apache page, Server hidden", Response{Status: 503, Body: "<hr>\n<address>Apache Server at x Port 80</address>"}, ProxyApache, originOwn},
		{"HAProxy page", Response{Status: 504, Body: "<html><body><h1>504 Gateway Time-out</h1>\nThe server didn't respond in time.\n</body></html>"}, ProxyHAProxy, originOwn},
		{"lower-case names name no proxy", Response{Status: 426, Headers: []Header{{"content-type", "text/plain"}, {"keep-alive", "timeout=5"}}}, "", originUnknown},
		{"AWS load balancer", Response{Status: 502, Headers: []Header{{"Server", "awselb/2.0"}}}, "aws-elb", originOwnLikely},
		{"a backend's own Server", Response{Status: 400, Headers: []Header{{"Server", "Jetty(9.4)"}}}, "", originUnknown},
		// nghttpx's own 502 (N11): its footer names it.
		{"nghttpx page", Response{Status: 502, Headers: []Header{{"Server", "nghttpx"}},
			Body: `<!DOCTYPE html><html lang="en"><title>502 Bad Gateway</title><body><h1>502 Bad Gateway</h1><footer>nghttpx</footer></body></html>`}, ProxyNghttpx, originOwn},
		// ATS's own 404 (A8) names nothing in its body: either could have
		// written it.
		{"ATS 404", Response{Status: 404, Headers: []Header{{"Server", "ATS/9.2.9"}},
			Body: "<HTML>\n<HEAD>\n<TITLE>Not Found on Accelerator</TITLE>\n</HEAD>\n<BODY><H1>Not Found on Accelerator</H1></BODY>"}, ProxyATS, originUnsure},
		// h2o relaying the backend's refusal (H4).
		{"h2o relaying", Response{Status: 400, Headers: []Header{{"Server", "h2o/2.2.5"}},
			Body: `missing "Connection: upgrade" header (got "keep-alive")`}, ProxyH2O, originRelayed},
		// A product nobody lists, signing its 502 page.
		{"an unknown proxy's page", Response{Status: 404, Headers: []Header{{"Server", "frontdoor/2"}},
			Body: "<h1>Not Found</h1><hr><footer>frontdoor/2</footer>"}, "frontdoor", originOwn},
	}
	for _, tc := range cases {
		g := detectProxy(&tc.resp)
		if g.name != tc.want || g.origin != tc.origin {
			t.Errorf(
				"%s: detectProxy = %q (origin %d: %s; %s), want %q (origin %d)",
				tc.name, g.name, g.origin, g.originWhy, g.evidence, tc.want, tc.origin)
		}
	}
}
