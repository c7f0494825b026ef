package runner

import (
	"testing"

	"github.com/wshold/wshold/scenario"
)

// -H 'Host: name' becomes the engine's Host, not a second Host line among
// the extra headers (any server refuses two as a malformed request).
func TestHostHeaderBecomesTheRequestsHost(t *testing.T) {
	sc := scenario.Defaults()
	sc.Target = "ws://127.0.0.1:9/"
	sc.Headers = []string{"host: app.internal", "X-Token: a"}
	cfg, _, cleanup, err := engineConfig(resolved(t, sc))
	if err != nil {
		t.Fatal(err)
	}
	defer cleanup()
	if cfg.Host != "app.internal" || cfg.Header.Get("Host") != "" || cfg.Header.Get("X-Token") != "a" {
		t.Fatalf("host %q, headers %v; want host app.internal and only X-Token among the headers", cfg.Host, cfg.Header)
	}
}
