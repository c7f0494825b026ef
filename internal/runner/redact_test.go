package runner

import (
	"bytes"
	"context"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wshold/wshold/internal/server"

	"github.com/wshold/wshold/report"
	"github.com/wshold/wshold/scenario"
)

func TestCredentialsNeverReachTheResult(t *testing.T) {
	sc := scenario.Defaults()
	sc.Conns, sc.Hold = 3, scenario.Duration(100*time.Millisecond)
	sc.Headers = []string{"Authorization: Bearer s3cret", "cookie: session=s3cret", "X-Api-Key: s3cret", "X-Trace: visible"}
	sc.Redact = []string{"x-api-key"}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := Run(ctx, resolved(t, sc), Options{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := report.WriteJSON(&buf, res); err != nil {
		t.Fatal(err)
	}
	if err := report.WriteTable(&buf, res); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(buf.Bytes(), []byte("s3cret")) {
		t.Fatalf("a credential reached the result:\n%s", buf.String())
	}
	if !bytes.Contains(buf.Bytes(), []byte("X-Trace: visible")) || !bytes.Contains(buf.Bytes(), []byte("Authorization: [redacted]")) {
		t.Fatalf("headers should be listed, credentials redacted:\n%s", buf.String())
	}
}

// A token in the URL's query and a password in its user info reach no
// output: the result (its target and scenario), its checkpoints, and every
// renderer. The result says what it hid.
func TestURLSecretsNeverReachTheResult(t *testing.T) {
	srv, err := server.Start(server.Config{Listen: []string{"127.0.0.1:0"}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	sc := scenario.Defaults()
	sc.Conns, sc.Hold = 3, scenario.Duration(300*time.Millisecond)
	sc.Target = "ws://user:pa55word@" + srv.Addrs()[0].String() + "/ws?room=1&token=t0kenvalue&Signature=s1gvalue"
	var (
		mu          sync.Mutex
		checkpoints []*report.Result
	)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := Run(ctx, resolved(t, sc), Options{CheckpointInterval: 50 * time.Millisecond, Checkpoint: func(r *report.Result) {
		mu.Lock()
		checkpoints = append(checkpoints, r)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Counts.Upgraded != 3 {
		t.Fatalf("upgraded %d, want 3 (the token stays in the request)", res.Counts.Upgraded)
	}
	mu.Lock()
	all := append([]*report.Result{res}, checkpoints...)
	mu.Unlock()
	if len(all) < 2 {
		t.Fatal("no checkpoint was written")
	}
	var buf bytes.Buffer
	for _, r := range all {
		for _, render := range []func(io.Writer, *report.Result) error{report.WriteJSON, report.WriteTable, report.WriteMarkdown, report.WriteHTML,
			func(w io.Writer, r *report.Result) error { return report.WriteJUnit(w, r) }} {
			if err := render(&buf, r); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, secret := range []string{"pa55word", "t0kenvalue", "s1gvalue"} {
		if bytes.Contains(buf.Bytes(), []byte(secret)) {
			t.Errorf("%q reached the output", secret)
		}
	}
	if !strings.Contains(res.Target, "token=[redacted]") || !strings.Contains(res.Scenario.Target, "room=1&token=[redacted]") {
		t.Errorf("target %q, scenario target %q: want the token's name kept, its value hidden", res.Target, res.Scenario.Target)
	}
	for _, w := range []string{"URL password", "query parameter token", "query parameter Signature"} {
		if !slices.Contains(res.Redacted, w) {
			t.Errorf("redacted %q lacks %q", res.Redacted, w)
		}
	}
}
