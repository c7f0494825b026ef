package main

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// checkBackend is a loopback server that upgrades /ok validly and answers
// /refuse the way a backend behind a misconfigured nginx does.
func checkBackend(t *testing.T) string {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, req *http.Request) {
		h := sha1.Sum([]byte(req.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
		w.Header().Set("Upgrade", "websocket")
		w.Header().Set("Connection", "Upgrade")
		w.Header().Set("Sec-WebSocket-Accept", base64.StdEncoding.EncodeToString(h[:]))
		w.WriteHeader(http.StatusSwitchingProtocols)
	})
	mux.HandleFunc("/refuse", func(w http.ResponseWriter, req *http.Request) {
		w.Header().Set("Server", "nginx/1.22.1")
		http.Error(w, `missing "Upgrade: websocket" header`, http.StatusBadRequest)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return strings.Replace(srv.URL, "http://", "ws://", 1)
}

func TestCheckExitCodes(t *testing.T) {
	t.Parallel()
	base := checkBackend(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "ws://" + ln.Addr().String() + "/ws"
	ln.Close()

	cases := []struct {
		name   string
		args   []string
		code   int
		stdout string // substring of stdout, if set
		stderr string // substring of stderr, if set
	}{
		{name: "valid upgrade", args: []string{base + "/ok"}, code: exitPass, stdout: "OK: upgraded"},
		{name: "valid upgrade as JSON", args: []string{"--json", base + "/ok"}, code: exitPass, stdout: `"cause": "ok"`},
		{name: "backend refusal relayed by nginx", args: []string{base + "/refuse"}, code: exitFail, stdout: "nginx did not forward Upgrade"},
		{name: "refusal as JSON", args: []string{base + "/refuse", "--json"}, code: exitFail, stdout: `"cause": "http_400"`},
		{name: "nothing listening", args: []string{"--timeout", "3s", closed}, code: exitFail, stdout: "FAIL (refused)"},
		{name: "unresolvable host", args: []string{"--timeout", "3s", "ws://wshold-test.invalid/ws"}, code: exitUsage, stdout: "FAIL (dns)", stderr: "does not resolve"},
		{name: "not a ws URL", args: []string{"http://127.0.0.1/ws"}, code: exitUsage, stderr: "try ws://127.0.0.1/ws"},
		{name: "bad URL", args: []string{"ws://[::1/"}, code: exitUsage, stderr: "is not a URL"},
		{name: "no URL", args: nil, code: exitUsage, stderr: "give the WebSocket URL"},
		{name: "two URLs", args: []string{base + "/ok", base + "/ok"}, code: exitUsage, stderr: "give one URL"},
		{name: "bad header", args: []string{"-H", "nocolon", base + "/ok"}, code: exitUsage, stderr: "'Name: value'"},
		{name: "zero timeout", args: []string{"--timeout", "0s", base + "/ok"}, code: exitUsage, stderr: "must be positive"},
		{name: "unknown flag", args: []string{"--nope", base + "/ok"}, code: exitUsage, stderr: "wshold check --help"},
		{name: "help", args: []string{"--help"}, code: exitPass, stdout: "Example"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var out, errb bytes.Buffer
			code := dispatch(append([]string{"check"}, tc.args...), &out, &errb)
			if code != tc.code {
				t.Fatalf(
					"wshold check %q exited %d, want %d\nstdout:\n%s\nstderr:\n%s",
					tc.args, code, tc.code, out.String(), errb.String())
			}
			if !strings.Contains(out.String(), tc.stdout) {
				t.Errorf(
					"stdout lacks %q:\n%s",
					tc.stdout, out.String())
			}
			if !strings.Contains(errb.String(), tc.stderr) {
				t.Errorf(
					"stderr lacks %q:\n%s",
					tc.stderr, errb.String())
			}
		})
	}
}

func TestCheckJSONIsOneDocumentAndHidesSecrets(t *testing.T) {
	t.Parallel()
	base := checkBackend(t)
	var out, errb bytes.Buffer
	code := dispatch([]string{"check", "--json", "-H", "Authorization: Bearer s3cret", "-H", "X-Api-Key: k3y-secret", "--redact", "X-Api-Key", base + "/refuse"}, &out, &errb)
	if code != exitFail {
		t.Fatalf(
			"exit %d, want %d; stderr: %s",
			code, exitFail, errb.String())
	}
	var doc map[string]any
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
		t.Fatalf(
			"stdout is not one JSON document: %v\n%s",
			err, out.String())
	}
	for _, key := range []string{"request", "response", "accept_ok", "verdict", "cause", "explanation", "fixes"} {
		if _, ok := doc[key]; !ok {
			t.Errorf(
				"JSON lacks %q",
				key)
		}
	}
	if s := out.String() + errb.String(); strings.Contains(s, "s3cret") || strings.Contains(s, "k3y-secret") {
		t.Errorf(
			"a secret reached the output:\n%s",
			s)
	}
	if !strings.Contains(out.String(), `"name": "Authorization"`) {
		t.Errorf(
			"the redacted header's name is missing:\n%s",
			out.String())
	}
}

// A URL without a host is quoted as the user gave it ("ws://", not the
// "ws:" net/url prints back), and a password in it stays hidden.
func TestCheckQuotesAHostlessURLAsGiven(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ arg, want string }{
		{"ws://", `"ws://" has no host`},
		{"WSS://", `"WSS://" has no host; give wss://HOST[:PORT]/PATH`},
		{"ws:///ws", `"ws:///ws" has no host`},
		{"ws://user:s3cret@", `"ws://user:[redacted]@" has no host`},
	} {
		var out, errb bytes.Buffer
		code := dispatch([]string{"check", tc.arg}, &out, &errb)
		if code != exitUsage || !strings.Contains(errb.String(), tc.want) {
			t.Errorf("check %q: exit %d, stderr %q; want 2 and %q", tc.arg, code, errb.String(), tc.want)
		}
		if strings.Contains(errb.String(), "s3cret") {
			t.Errorf("check %q: the password reached stderr: %q", tc.arg, errb.String())
		}
	}
}
