package procs

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wshold/wshold/scenario"
)

// The workers read the scenario back with 'wshold run -f'; what they run
// must be exactly what the parent resolved.
func TestScenarioFileRoundTrips(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sc := scenario.Defaults()
	sc.Name = "soak-1"
	sc.Target = "ws://127.0.0.1:18084/ws?x=1"
	sc.Conns, sc.Rate, sc.Procs = 12345, 333.3333333333333, 1
	sc.Hold = scenario.Duration(90 * time.Second)
	sc.Ping, sc.PingFraction = scenario.Duration(30*time.Second), 0.5
	sc.Headers = []string{"Authorization: Bearer s3cret", `X-Quote: say "hi"`}
	sc.Origin = "https://app.example.com"
	sc.Subprotocols = []string{"chat", "v2"}
	sc.SourceIPs = []string{"127.0.0.2", "127.0.0.4"}
	sc.Expect = []string{"drop-at=60s±2s", "handshake-p99<250ms"}
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte("events {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	sc.ProxyConfigs = []string{conf}

	b, err := scenarioTOML(sc)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "scenario.toml")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := scenario.LoadFile(path)
	if err != nil {
		t.Fatalf("the workers could not read it: %v", err)
	}
	if len(f.Scenarios) != 1 || !reflect.DeepEqual(f.Scenarios[0], sc) {
		t.Errorf("read back\n%+v\nwant\n%+v", f.Scenarios, sc)
	}
}

func TestScenarioFileMakesRelativePathsAbsolute(t *testing.T) {
	t.Parallel()
	sc := scenario.Defaults()
	sc.Target = "ws://127.0.0.1:1/"
	sc.ProxyConfigs = []string{"scripts/lab/nginx-default.conf"}
	b, err := scenarioTOML(sc)
	if err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	want := filepath.Join(wd, "scripts/lab/nginx-default.conf")
	if !strings.Contains(string(b), want) {
		t.Errorf("file does not name %s:\n%s", want, b)
	}
}
