package check

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRunRefusesUnusableInput(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "missing.pem")
	cases := []struct {
		name string
		url  string
		opts Options
		want string // substring of the error: what was wrong and what to do
	}{
		{name: "http scheme", url: "http://127.0.0.1/ws", want: "try ws://127.0.0.1/ws"},
		{name: "https scheme", url: "https://127.0.0.1/ws", want: "try wss://127.0.0.1/ws"},
		{name: "other scheme", url: "ftp://127.0.0.1/", want: "use ws:// (plain) or wss:// (TLS)"},
		{name: "no scheme", url: "127.0.0.1:8080/ws", want: `"127.0.0.1:8080/ws" lacks ws:// or wss:// in front: try ws://127.0.0.1:8080/ws`},
		{name: "host:port read as a scheme", url: "localhost:8080", want: `"localhost:8080" lacks ws:// or wss:// in front: try ws://localhost:8080/`},
		{name: "no host", url: "ws:///ws", want: "has no host"},
		{name: "fragment", url: "ws://127.0.0.1/ws#x", want: "#fragment"},
		{name: "not a URL", url: "ws://[::1/", want: "is not a URL"},
		{name: "port out of range", url: "ws://127.0.0.1:70000/", want: "between 1 and 65535"},
		{name: "header without colon", url: "ws://127.0.0.1/", opts: Options{Headers: []string{"X-Foo"}}, want: "'Name: value'"},
		{name: "header with a space in the name", url: "ws://127.0.0.1/", opts: Options{Headers: []string{"X Foo: 1"}}, want: "'Name: value'"},
		{name: "header value with a line break", url: "ws://127.0.0.1/", opts: Options{Headers: []string{"X-Foo: a\r\nX-Bar: b"}}, want: "line break"},
		{name: "header value with a control character", url: "ws://127.0.0.1/", opts: Options{Headers: []string{"X-Foo: a\x00b"}}, want: "control character"},
		{name: "credentials in the URL and an Authorization header", url: "ws://u:pw@127.0.0.1/", opts: Options{Headers: []string{"Authorization: Bearer x"}}, want: "give the credentials once"},
		{name: "Content-Length on the upgrade GET", url: "ws://127.0.0.1/", opts: Options{Headers: []string{"Content-Length: 0"}}, want: "request smuggling"},
		{name: "Transfer-Encoding on the upgrade GET", url: "ws://127.0.0.1/", opts: Options{Headers: []string{"Transfer-Encoding: chunked"}}, want: "smuggled request"},
		{name: "Upgrade is the handshake's", url: "ws://127.0.0.1/", opts: Options{Headers: []string{"upgrade: h2c"}}, want: "part of the handshake"},
		{name: "Sec-WebSocket-Key is the handshake's", url: "ws://127.0.0.1/", opts: Options{Headers: []string{"Sec-WebSocket-Key: x"}}, want: "fresh random key"},
		{name: "subprotocol by header", url: "ws://127.0.0.1/", opts: Options{Headers: []string{"Sec-WebSocket-Protocol: chat"}}, want: "--subprotocol"},
		{name: "Origin twice", url: "ws://127.0.0.1/", opts: Options{Headers: []string{"Origin: a"}, Origin: "b"}, want: "origin once"},
		{name: "Host twice", url: "ws://127.0.0.1/", opts: Options{Headers: []string{"Host: a", "Host: b"}}, want: "given twice"},
		{name: "bad subprotocol", url: "ws://127.0.0.1/", opts: Options{Subprotocols: []string{"a b"}}, want: "not a valid token"},
		{name: "bad redact name", url: "ws://127.0.0.1/", opts: Options{Redact: []string{"X Key"}}, want: "not a header name"},
		{name: "negative timeout", url: "ws://127.0.0.1/", opts: Options{Timeout: -time.Second}, want: "negative"},
		{name: "missing CA file", url: "wss://127.0.0.1/", opts: Options{CAFile: missing}, want: "readable PEM file"},
		{name: "CA file without PEM", url: "wss://127.0.0.1/", opts: Options{CAFile: "options_test.go"}, want: "no PEM certificate"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, err := Run(context.Background(), tc.url, tc.opts)
			if err == nil {
				t.Fatalf(
					"Run(%q) = %+v, want an error containing %q",
					tc.url, r, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf(
					"error %q does not contain %q",
					err, tc.want)
			}
		})
	}
}

func TestRunNeverShowsAURLPassword(t *testing.T) {
	t.Parallel()
	_, err := Run(context.Background(), "http://user:hunter22@127.0.0.1/", Options{})
	if err == nil || strings.Contains(err.Error(), "hunter22") {
		t.Errorf(
			"error %v shows the password from the URL",
			err)
	}
}

func TestRunStopsWhenCancelled(t *testing.T) {
	t.Parallel()
	url, _ := scripted(t, neverAnswer, "/ws", nil)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err := Run(ctx, url, Options{Timeout: ioLimit})
	if err == nil || !strings.Contains(err.Error(), "interrupted") {
		t.Errorf(
			"Run after cancel: err = %v, want an interruption",
			err)
	}
	if d := time.Since(start); d > ioLimit-time.Second {
		t.Errorf(
			"Run took %v after cancel; it must stop when the context is cancelled",
			d)
	}
}
