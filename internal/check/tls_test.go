package check

import (
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wshold/wshold/internal/handshake"
)

// upgradeHandler answers a WebSocket upgrade with a valid 101 and closes.
func upgradeHandler(w http.ResponseWriter, req *http.Request) {
	c, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer c.Close()
	_, _ = buf.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
		handshake.Accept(req.Header.Get("Sec-WebSocket-Key")) + "\r\n\r\n")
	_ = buf.Flush()
}

func wssURL(srv *httptest.Server) string {
	return strings.Replace(srv.URL, "https://", "wss://", 1) + "/ws"
}

func TestWSS(t *testing.T) {
	t.Parallel()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(upgradeHandler))
	// The failing cases make the server log handshake errors; they are
	// expected.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)

	caFile := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(caFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name     string
		url      string
		opts     Options
		ok       bool
		cause    string
		verified bool
		text     []string
	}{
		{
			name:  "an unknown CA fails with the flags that fix it",
			url:   wssURL(srv),
			cause: CauseTLS,
			text:  []string{"not signed by a trusted authority", "--ca FILE", "--insecure"},
		},
		{
			name:     "--ca trusts the server's CA",
			url:      wssURL(srv),
			opts:     Options{CAFile: caFile},
			ok:       true,
			cause:    CauseOK,
			verified: true,
			text:     []string{"verified"},
		},
		{
			name:  "--insecure skips verification, and says so",
			url:   wssURL(srv),
			opts:  Options{Insecure: true},
			ok:    true,
			cause: CauseOK,
			text:  []string{"NOT verified (--insecure)", "verification was disabled"},
		},
		{
			name:  "a host name the certificate does not cover",
			url:   strings.Replace(wssURL(srv), "127.0.0.1", "localhost", 1),
			opts:  Options{CAFile: caFile},
			cause: CauseTLS,
			text:  []string{`not valid for "localhost"`},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, text, _ := runCheck(t, tc.url, tc.opts)
			if r.OK != tc.ok || r.Cause != tc.cause {
				t.Fatalf(
					"got OK=%v cause=%q, want OK=%v cause=%q\n%s",
					r.OK, r.Cause, tc.ok, tc.cause, text)
			}
			if tc.ok && (r.TLS == nil || r.TLS.Verified != tc.verified) {
				t.Errorf(
					"TLS info %+v, want Verified=%v",
					r.TLS, tc.verified)
			}
			for _, s := range tc.text {
				if !containsFlat(text, s) {
					t.Errorf(
						"text output lacks %q:\n%s",
						s, text)
				}
			}
		})
	}
}

func TestWSSToAPlainHTTPPort(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(upgradeHandler))
	t.Cleanup(srv.Close)
	url := strings.Replace(srv.URL, "http://", "wss://", 1) + "/ws"
	r, text, _ := runCheck(t, url, Options{})
	if r.Cause != CauseTLS || r.Phase != PhaseTLS {
		t.Fatalf(
			"got cause %q phase %q, want tls at tls:\n%s",
			r.Cause, r.Phase, text)
	}
	if !containsFlat(text, "this port speaks plain HTTP") || !containsFlat(text, "Use ws://") {
		t.Errorf(
			"text does not point to ws://:\n%s",
			text)
	}
}
