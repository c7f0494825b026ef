package check

import (
	"bytes"
	"encoding/json"
	"flag"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// normalize replaces what changes from run to run — the port, the random
// key and its accept value, timings — so the rest can be compared.
func normalize(r *Report, out string) string {
	if _, port, err := net.SplitHostPort(r.Address); err == nil && port != "" {
		out = strings.ReplaceAll(out, ":"+port, ":PORT")
		out = strings.ReplaceAll(out, "grep :"+port, "grep :PORT")
	}
	if r.Key != "" {
		out = strings.ReplaceAll(out, r.Key, "KEY")
		out = strings.ReplaceAll(out, r.AcceptExpected, "ACCEPT")
	}
	out = regexp.MustCompile(`\d+\.\d+ ms`).ReplaceAllString(out, "N ms")
	return out
}

func TestTextGolden(t *testing.T) {
	t.Parallel()
	cases := []struct {
		file  string
		mode  mode
		reply string
		opts  Options
	}{
		{
			file: "nginx_400.golden",
			reply: httpAnswer("HTTP/1.1 400 Bad Request",
				[]string{"Server: nginx/1.22.1", "Content-Type: text/plain; charset=utf-8", "Connection: keep-alive"},
				"missing \"Upgrade: websocket\" header\n"),
			opts: Options{Headers: []string{"Authorization: Bearer s3cret"}},
		},
		{
			file: "haproxy_101.golden",
			// "{accept}" is filled in by upgrade101.
			reply: "upgrade: websocket|connection: Upgrade|sec-websocket-accept: {accept}",
		},
		{
			file:  "eof.golden",
			mode:  closeAtOnce,
			reply: "",
		},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			t.Parallel()
			reply := fixed(tc.reply)
			if strings.Contains(tc.reply, "{accept}") {
				reply = upgrade101(strings.Split(tc.reply, "|")...)
			}
			url, _ := scripted(t, tc.mode, "/ws", reply)
			r, text, _ := runCheck(t, url, tc.opts)
			got := normalize(r, text)
			golden(t, filepath.Join("testdata", tc.file), got)
		})
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf(
			"%v (run go test ./internal/check -update to create it)",
			err)
	}
	if got != string(want) {
		t.Errorf(
			"output differs from %s (run with -update if the change is intended):\n--- got\n%s\n--- want\n%s",
			path, got, want)
	}
}

func TestJSONRoundTrip(t *testing.T) {
	t.Parallel()
	url, _ := scripted(t, answerThenClose, "/ws", fixed(httpAnswer("HTTP/1.1 426 Upgrade Required",
		[]string{"Server: nginx/1.22.1"}, "Upgrade Required")))
	r, _, js := runCheck(t, url, Options{})
	var back Report
	if err := json.Unmarshal([]byte(js), &back); err != nil {
		t.Fatalf(
			"the JSON does not parse: %v\n%s",
			err, js)
	}
	if back.Schema != Schema || back.Cause != "http_426" || back.Response == nil || back.Response.Status != 426 ||
		len(back.Fixes) != len(r.Fixes) || back.Verdict != r.Verdict {
		t.Errorf(
			"decoded report differs from the original: %+v",
			back)
	}
	// A report read back renders the same text as the original.
	var a, b bytes.Buffer
	_ = r.WriteText(&a)
	_ = back.WriteText(&b)
	if a.String() != b.String() {
		t.Errorf(
			"text of the decoded report differs:\n%s\n---\n%s",
			a.String(), b.String())
	}
}
