package integration

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wshold/wshold/internal/labtest"
	"github.com/wshold/wshold/report"
)

// Security: certificates are verified unless the user says otherwise, and
// credentials never leave the process.

// wss:// through real nginx terminating TLS with a certificate from a CA the
// test made: without --ca every attempt fails as tls (verified by default);
// with --ca FILE every connection upgrades; with --insecure they upgrade
// too, and the result and the report carry a warning.
func TestTLSThroughNginxIsVerifiedByDefault(t *testing.T) {
	t.Parallel()
	nginx := labtest.Nginx(t, "nginx-tls.conf", map[string]string{"UPSTREAM": backend(t)})
	caFile := nginx.CAFile()
	url := "wss://" + nginx.Addr() + "/ws"

	t.Run("default", func(t *testing.T) {
		res := run(t, scenarioFor(url, 20, 200, time.Second))
		if res.Counts.Failed != 20 || len(res.Failures) != 1 || res.Failures[0].Cause != "tls" {
			t.Fatalf("failures %+v counts %+v, want all 20 failed as tls: an unknown CA must not be trusted", res.Failures, res.Counts)
		}
	})
	t.Run("ca", func(t *testing.T) {
		sc := scenarioFor(url, 20, 200, time.Second)
		sc.CA = caFile
		res := run(t, sc)
		if res.Counts.Upgraded != 20 || res.Verdict != "pass" || len(res.Warnings) != 0 {
			t.Fatalf("counts %+v verdict %s warnings %q failures %+v, want 20 upgraded, a pass, no warning", res.Counts, res.Verdict, res.Warnings, res.Failures)
		}
	})
	t.Run("insecure", func(t *testing.T) {
		sc := scenarioFor(url, 20, 200, time.Second)
		sc.Insecure = true
		res := run(t, sc)
		if res.Counts.Upgraded != 20 || res.Verdict != "pass" {
			t.Fatalf("counts %+v verdict %s failures %+v, want 20 upgraded", res.Counts, res.Verdict, res.Failures)
		}
		warned := false
		for _, w := range res.Warnings {
			warned = warned || strings.Contains(w, "--insecure")
		}
		var table bytes.Buffer
		if err := report.WriteTable(&table, res); err != nil {
			t.Fatal(err)
		}
		if !warned || !strings.Contains(table.String(), "--insecure") {
			t.Fatalf("warnings %q, report:\n%s\nwant a warning naming --insecure in both", res.Warnings, table.String())
		}
	})
}

// echoingRefuser answers every request with 401 and a body that repeats
// the request, headers included, as debug pages and echo servers do. It
// counts requests that carried the secret, to prove the secret was sent.
func echoingRefuser(t *testing.T, secret string) (addr string, sawSecret *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	sawSecret = &atomic.Int64{}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err != nil {
					return
				}
				var dump bytes.Buffer
				_ = req.Header.Write(&dump)
				if strings.Contains(dump.String(), secret) {
					sawSecret.Add(1)
				}
				body := "you sent:\n" + dump.String()
				_, _ = io.WriteString(c, "HTTP/1.1 401 Unauthorized\r\nContent-Type: text/plain\r\nConnection: close\r\n"+
					"Content-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"+body)
			}()
		}
	}()
	return ln.Addr().String(), sawSecret
}

// secretRuns runs `wshold run` against each target in every output format,
// writing the result, JUnit and HTML into dir, and returns the outputs.
func secretRuns(t *testing.T, bin, dir string, creds []string, code int, targets ...string) []cliOutcome {
	t.Helper()
	var outputs []cliOutcome
	for i, target := range targets {
		for _, format := range []string{"table", "json", "markdown"} {
			name := filepath.Join(dir, format+strconv.Itoa(i))
			args := append([]string{"run", "-c", "3", "-r", "100", "--hold", "300ms", "--progress", "always",
				"--format", format, "-o", name + ".json", "--junit", name + ".xml", "--html", name + ".html"}, creds...)
			got := runCLI(t, bin, time.Minute, append(args, target)...)
			if got.Code != code {
				t.Fatalf("run --format %s: exit %d, want %d\n%s", format, got.Code, code, got.Stderr)
			}
			outputs = append(outputs, got)
		}
	}
	return outputs
}

// assertNoSecret checks every output and every file below dir for the
// secret, and the files' modes: 0644 or stricter.
func assertNoSecret(t *testing.T, secret, dir string, wantFiles int, outputs []cliOutcome) {
	t.Helper()
	for i, o := range outputs {
		if strings.Contains(o.Stdout, secret) || strings.Contains(o.Stderr, secret) {
			t.Errorf("output %d shows the secret:\nstdout:\n%s\nstderr:\n%s", i, o.Stdout, o.Stderr)
		}
	}
	files := filesUnder(t, dir)
	if len(files) != wantFiles {
		t.Errorf("%d files written, want %d", len(files), wantFiles)
	}
	for path, data := range files {
		if bytes.Contains(data, []byte(secret)) {
			t.Errorf("%s contains the secret", filepath.Base(path))
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm&^0o644 != 0 {
			t.Errorf("%s has mode %v, want 0644 or stricter", filepath.Base(path), perm)
		}
	}
}

// secretHeaders are the credential headers wshold always redacts.
func secretHeaders(secret string) []string {
	return []string{
		"-H", "Authorization: Bearer " + secret,
		"-H", "Cookie: session=" + secret,
		"-H", "Proxy-Authorization: Basic " + secret,
	}
}

// -H 'Authorization: Bearer s3cret' (and Cookie, Proxy-Authorization, and
// a password in the URL): the secret appears in no output and no file —
// stdout and stderr of run in every format and of check (whose refusal
// from an echoing server repeats it), the result, JUnit and HTML. The
// files are created 0644 or stricter.
func TestSecretsNeverReachOutputOrFiles(t *testing.T) {
	t.Parallel()
	const secret = "s3cret"
	bin := buildWsholdForTest(t)
	addr := startServeProcess(t, bin)
	refuser, saw := echoingRefuser(t, secret)
	dir := t.TempDir()
	creds := secretHeaders(secret)

	outputs := secretRuns(t, bin, dir, creds, 0, "ws://"+addr+"/ws")
	// The URL's password is sent as Authorization: Basic, so not together
	// with another Authorization header (that is refused); a token rides
	// in its query.
	urlDir := filepath.Join(dir, "url")
	if err := os.Mkdir(urlDir, 0o755); err != nil {
		t.Fatal(err)
	}
	outputs = append(outputs, secretRuns(t, bin, urlDir, creds[2:], 0, "ws://user:"+secret+"@"+addr+"/ws?token="+secret+"&room=1")...)
	for _, args := range [][]string{
		append(append([]string{"check"}, creds...), "ws://"+refuser+"/ws"),
		append(append([]string{"check", "--json"}, creds...), "ws://"+refuser+"/ws"),
		append(append([]string{"check"}, creds...), "ws://"+addr+"/ws"),
	} {
		got := runCLI(t, bin, time.Minute, args...)
		if !strings.Contains(got.Stdout, "[redacted]") {
			t.Errorf("check does not show the credential headers as [redacted]:\n%s", got.Stdout)
		}
		outputs = append(outputs, got)
	}
	if saw.Load() == 0 {
		t.Fatal("the echoing server never received the secret; the test proves nothing")
	}
	assertNoSecret(t, secret, dir, 18, outputs)
}

// A server that refuses the upgrade and echoes the request in its body
// (debug pages, echo servers) must not get the secret into the failure's
// example: in results, reports and logs it is shown as [redacted], as
// check shows it.
func TestSecretsEchoedInARefusalAreRedacted(t *testing.T) {
	t.Parallel()
	const secret = "s3cret"
	bin := buildWsholdForTest(t)
	refuser, saw := echoingRefuser(t, secret)
	dir := t.TempDir()
	outputs := secretRuns(t, bin, dir, secretHeaders(secret), 1, "ws://"+refuser+"/ws")
	if saw.Load() == 0 {
		t.Fatal("the echoing server never received the secret; the test proves nothing")
	}
	assertNoSecret(t, secret, dir, 9, outputs)
}
