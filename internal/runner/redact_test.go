package runner

import (
	"bytes"
	"context"
	"testing"
	"time"

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
