package scenario

import (
	"bytes"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func newFlagSet(t *testing.T, args ...string) (*pflag.FlagSet, *Flags) {
	t.Helper()
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fl := AddFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %q: %v", args, err)
	}
	return fs, fl
}

func TestFlagsOverrideOnlyWhatWasSet(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "s.toml", `
[defaults]
conns = 300
headers = ["X-From: file"]
[[scenario]]
name = "lab"
target = "ws://127.0.0.1:18084/ws"
hold = "65s"
rate = 50
expect = ["drop-at=60s±2s"]
`)
	f, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fs, fl := newFlagSet(t, "-c", "10", "--hold=70s", "-H", "X-A: 1, 2", "--header", "X-B: 3",
		"--source-ip", "127.0.0.2-127.0.0.3,127.0.0.9", "--source-ip", "::1", "--expect", "drop-at=60s±2s,share>=90%")
	s := f.Scenarios[0]
	fl.Apply(fs, &s)

	checks := []struct {
		what      string
		got, want any
	}{
		{"flag over [defaults]", s.Conns, 10},
		{"flag over scenario", s.Hold, Duration(70 * time.Second)},
		{"scenario kept where no flag", s.Rate, 50.0},
		{"scenario target kept", s.Target, "ws://127.0.0.1:18084/ws"},
		{"name kept", s.Name, "lab"},
		{"built-in default kept", s.PongTimeout, Defaults().PongTimeout},
		{"headers replaced, commas kept inside values", strings.Join(s.Headers, "|"), "X-A: 1, 2|X-B: 3"},
		{"source IPs split on commas and repeated", strings.Join(s.SourceIPs, "|"), "127.0.0.2-127.0.0.3|127.0.0.9|::1"},
		{"expect with a comma is one entry", strings.Join(s.Expect, "|"), "drop-at=60s±2s,share>=90%"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.what, c.got, c.want)
		}
	}
	if err := s.Validate(); err != nil {
		t.Errorf("merged scenario: %v", err)
	}
}

func TestFlagsSetToTheirDefaultStillOverride(t *testing.T) {
	t.Parallel()
	// "--ping 0" on a file that pings must silence it: Changed, not
	// "differs from the default", decides.
	s := Defaults()
	s.Ping, s.Insecure, s.Procs = Duration(30*time.Second), true, 4
	fs, fl := newFlagSet(t, "--ping", "0s", "--insecure=false", "--procs", "0")
	fl.Apply(fs, &s)
	if s.Ping != 0 || s.Insecure || s.Procs != 0 {
		t.Errorf("after --ping 0s --insecure=false --procs 0: ping %s insecure %v procs %d, want 0s false 0", s.Ping, s.Insecure, s.Procs)
	}
}

func TestEveryFlagReachesTheScenario(t *testing.T) {
	t.Parallel()
	args := []string{
		"--name", "x", "-c", "7", "-r", "3.5", "--hold", "1s", "--ping", "2s", "--ping-fraction", "0.25",
		"--pong-timeout", "3s", "--handshake-timeout", "4s", "--max-in-flight", "5", "-H", "A: b",
		"--origin", "https://o", "--subprotocol", "chat", "--source-ip", "127.0.0.2", "--procs", "2",
		"--insecure", "--ca", "c.pem", "--tls-resume", "--expect", "no-drops", "--proxy-config", "p.conf",
	}
	fs, fl := newFlagSet(t, args...)
	var s Scenario
	fl.Apply(fs, &s)
	want := Scenario{
		Name: "x", Conns: 7, Rate: 3.5, Hold: Duration(time.Second), Ping: Duration(2 * time.Second), PingFraction: 0.25,
		PongTimeout: Duration(3 * time.Second), HandshakeTimeout: Duration(4 * time.Second), MaxInFlight: 5,
		Headers: []string{"A: b"}, Origin: "https://o", Subprotocols: []string{"chat"}, SourceIPs: []string{"127.0.0.2"},
		Procs: 2, Insecure: true, CA: "c.pem", TLSResume: true, Expect: []string{"no-drops"}, ProxyConfigs: []string{"p.conf"},
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("Apply(every flag)\n got %+v\nwant %+v", s, want)
	}
	// Every scenario key has a flag: a key added to Scenario without one
	// fails here.
	for _, k := range schemaKeys() {
		name := map[string]string{"headers": "header", "subprotocols": "subprotocol", "source_ips": "source-ip", "proxy_configs": "proxy-config", "target": "", "redact": "redact"}[k]
		if name == "" && k != "target" {
			name = strings.ReplaceAll(k, "_", "-")
		}
		if name != "" && fs.Lookup(name) == nil {
			t.Errorf("scenario key %q has no flag --%s", k, name)
		}
	}
}

func TestFlagHelpTeachesDefaultsAndUnits(t *testing.T) {
	t.Parallel()
	fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
	AddFlags(fs)
	var b bytes.Buffer
	fs.SetOutput(&b)
	fs.PrintDefaults()
	help := b.String()
	for _, want := range []string{
		"-c, --conns N", "(default 1000)", "-r, --rate N", "--hold duration", "(default 1m15s)", "60s idle timeouts",
		"-H, --header", "--source-ip", "~28k ephemeral ports", "--expect", "drop-at=60s±2s", "--proxy-config FILE",
	} {
		if !strings.Contains(help, want) {
			t.Errorf("--help lacks %q:\n%s", want, help)
		}
	}
}
