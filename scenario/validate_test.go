package scenario

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDefaultsAreValid(t *testing.T) {
	t.Parallel()
	if err := Defaults().Validate(); err != nil {
		t.Fatalf("Defaults().Validate() = %v", err)
	}
}

func TestValidateAcceptsWhatARunNeeds(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	writeCA(t, ca)
	tests := []struct {
		name string
		edit func(*Scenario)
	}{
		{"ws target", func(s *Scenario) { s.Target = "ws://127.0.0.1:18084/ws" }},
		{"ipv6 target", func(s *Scenario) { s.Target = "ws://[::1]:8080/ws?x=1" }},
		{"wss with ca", func(s *Scenario) { s.Target = "wss://localhost/ws"; s.CA = ca }},
		{"wss insecure", func(s *Scenario) { s.Target = "wss://localhost/ws"; s.Insecure = true }},
		{"rate 0", func(s *Scenario) { s.Rate = 0 }},
		{"hold 0", func(s *Scenario) { s.Hold = 0 }},
		{"half ping", func(s *Scenario) { s.Ping = Duration(30 * time.Second); s.PingFraction = 0.5 }},
		{"host header allowed", func(s *Scenario) { s.Headers = []string{"Host: example.com", "Authorization: Bearer x", "X-Empty:"} }},
		{"subprotocols", func(s *Scenario) { s.Subprotocols = []string{"chat", "v2.json"} }},
		{"source ips", func(s *Scenario) { s.SourceIPs = []string{"127.0.0.2-127.0.0.9", "::1"} }},
		{"expectations", func(s *Scenario) {
			s.Hold = Duration(65 * time.Second)
			s.Expect = []string{"drop-at=60s±2s", "handshake-p99<1s", "upgraded>=99%"}
		}},
		{"drop-at reached by the ramp", func(s *Scenario) {
			// 1000 connections at 10/s: the first is 100s older than the
			// last, so a 30s hold still sees some reach 60s.
			s.Rate, s.Hold, s.Expect = 10, Duration(30*time.Second), []string{"drop-at=60s±2s"}
		}},
		{"negative test", func(s *Scenario) { s.Expect = []string{"failed-status=400", "upgraded>=0%"} }},
		{"proxy config", func(s *Scenario) { s.ProxyConfigs = []string{ca} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := Defaults()
			tt.edit(&s)
			if err := s.Validate(); err != nil {
				t.Errorf("Validate() = %v, want nil", err)
			}
		})
	}
}

func TestValidateRejectsImpossibleValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		edit func(*Scenario)
		want string // "key: message fragment"
	}{
		{"no name", func(s *Scenario) { s.Name = "" }, "name: missing"},
		{"name with space", func(s *Scenario) { s.Name = "my test" }, `name: "my test": use 1 to 64 letters`},
		{"zero conns", func(s *Scenario) { s.Conns = 0 }, "conns: 0: open at least 1 connection"},
		{"negative rate", func(s *Scenario) { s.Rate = -1 }, "rate: -1: write connections per second"},
		{"NaN rate", func(s *Scenario) { s.Rate = math.NaN() }, "rate: NaN"},
		{"infinite rate", func(s *Scenario) { s.Rate = math.Inf(1) }, "rate: +Inf"},
		{"negative hold", func(s *Scenario) { s.Hold = Duration(-time.Second) }, "hold: -1s: must be zero or more"},
		{"negative ping", func(s *Scenario) { s.Ping = Duration(-time.Second) }, "ping: -1s: must be zero or more"},
		{"zero fraction", func(s *Scenario) { s.PingFraction = 0 }, "ping_fraction: 0: write the share"},
		{"fraction above 1", func(s *Scenario) { s.PingFraction = 1.5 }, "ping_fraction: 1.5"},
		{"NaN fraction", func(s *Scenario) { s.PingFraction = math.NaN() }, "ping_fraction: NaN"},
		{"zero pong timeout", func(s *Scenario) { s.PongTimeout = 0 }, "pong_timeout: 0s: must be above zero"},
		{"zero handshake timeout", func(s *Scenario) { s.HandshakeTimeout = 0 }, "handshake_timeout: 0s: must be above zero"},
		{"zero in flight", func(s *Scenario) { s.MaxInFlight = 0 }, "max_in_flight: 0: allow at least 1"},
		{"negative procs", func(s *Scenario) { s.Procs = -1 }, "procs: -1"},
		{"http target", func(s *Scenario) { s.Target = "http://127.0.0.1/ws" }, "target: \"http://127.0.0.1/ws\": wshold dials WebSocket URLs; write ws://"},
		{"no scheme", func(s *Scenario) { s.Target = "127.0.0.1:8080" }, "target: \"127.0.0.1:8080\" lacks ws:// or wss:// in front: try ws://127.0.0.1:8080/"},
		{"host:port read as a scheme", func(s *Scenario) { s.Target = "localhost:8080" }, "target: \"localhost:8080\" lacks ws:// or wss:// in front: try ws://localhost:8080/"},
		{"no host", func(s *Scenario) { s.Target = "ws:///ws" }, "has no host"},
		{"port 0", func(s *Scenario) { s.Target = "ws://127.0.0.1:0/ws" }, "port 0 is not 1..65535"},
		{"port too big", func(s *Scenario) { s.Target = "ws://127.0.0.1:70000/ws" }, "port 70000 is not 1..65535"},
		{"fragment", func(s *Scenario) { s.Target = "ws://127.0.0.1/ws#x" }, "cannot have a #fragment"},
		{"bad url", func(s *Scenario) { s.Target = "ws://a b/" }, "is not a URL"},
		{"header without colon", func(s *Scenario) { s.Headers = []string{"X-Foo bar"} }, `headers: "X-Foo bar": write "Name: value"`},
		{"header name with space", func(s *Scenario) { s.Headers = []string{"X Foo: bar"} }, "is not a valid header name"},
		{"header with CRLF", func(s *Scenario) { s.Headers = []string{"X-Foo: a\r\nX-Bar: b"} }, "line break"},
		{"header with a control character", func(s *Scenario) { s.Headers = []string{"X-Foo: a\x1bb"} }, "control character 0x1b"},
		{"Content-Length on the upgrade GET", func(s *Scenario) { s.Headers = []string{"Content-Length: 5"} }, "request smuggling"},
		{"Transfer-Encoding on the upgrade GET", func(s *Scenario) { s.Headers = []string{"transfer-encoding: chunked"} }, "smuggled request"},
		{"upgrade header", func(s *Scenario) { s.Headers = []string{"upgrade: h2c"} }, "wshold sends Upgrade: websocket itself"},
		{"connection header", func(s *Scenario) { s.Headers = []string{"Connection: keep-alive"} }, "wshold sends Connection: Upgrade itself"},
		{"key header", func(s *Scenario) { s.Headers = []string{"Sec-WebSocket-Key: x"} }, "fresh key per attempt"},
		{"extensions header", func(s *Scenario) { s.Headers = []string{"Sec-WebSocket-Extensions: permessage-deflate"} }, "negotiates no extensions"},
		{"protocol header", func(s *Scenario) { s.Headers = []string{"Sec-WebSocket-Protocol: chat"} }, "use subprotocols"},
		{"origin header", func(s *Scenario) { s.Headers = []string{"Origin: https://x"} }, "set it with origin"},
		{"host twice", func(s *Scenario) { s.Headers = []string{"Host: a", "host: b"} }, "Host is given 2 times; give it once"},
		{"origin with newline", func(s *Scenario) { s.Origin = "https://x\n" }, "origin:"},
		{"bad subprotocol", func(s *Scenario) { s.Subprotocols = []string{"a,b"} }, `subprotocols: "a,b" is not a valid subprotocol name`},
		{"repeated subprotocol", func(s *Scenario) { s.Subprotocols = []string{"chat", "chat"} }, "offered twice"},
		{"bad source ip", func(s *Scenario) { s.SourceIPs = []string{"127.0.0.1", "nope"} }, `source_ips: source IP "nope"`},
		{"bad expectation", func(s *Scenario) { s.Expect = []string{"drop-at=60s"} }, `expect: expectation "drop-at=60s": `},
		{"insecure with ws", func(s *Scenario) { s.Target = "ws://127.0.0.1/"; s.Insecure = true }, "insecure: only applies to wss:// targets"},
		{"insecure with built-in", func(s *Scenario) { s.Insecure = true }, "the built-in target, which is plain ws://"},
		{"tls_resume with ws", func(s *Scenario) { s.Target = "ws://127.0.0.1/"; s.TLSResume = true }, "tls_resume: only applies to wss:// targets"},
		{"ca with ws", func(s *Scenario) { s.CA = "ca.pem" }, "ca: only applies to wss:// targets"},
		{"ca and insecure", func(s *Scenario) { s.Target = "wss://x/"; s.Insecure = true; s.CA = "ca.pem" }, "ca: has no effect with insecure = true"},
		{"ca missing", func(s *Scenario) { s.Target = "wss://x/"; s.CA = "/nonexistent/ca.pem" }, "ca: stat /nonexistent/ca.pem: no such file"},
		{"ca is a dir", func(s *Scenario) { s.Target = "wss://x/"; s.CA = os.TempDir() }, "is not a regular file"},
		// validate reads the file as run does: not a CA bundle is refused
		// by both (the issue: validate said OK for ca = "/etc/shadow").
		{"ca is not PEM", func(s *Scenario) { s.Target = "wss://x/"; s.CA = "validate_test.go" }, "ca: validate_test.go holds no PEM certificate"},
		{"ca is endless", func(s *Scenario) { s.Target = "wss://x/"; s.CA = "/dev/zero" }, "ca: /dev/zero is not a regular file"},
		{"proxy config missing", func(s *Scenario) { s.ProxyConfigs = []string{"/nonexistent/nginx.conf"} }, "proxy_configs: stat /nonexistent/nginx.conf"},
		{"drop-at past the hold", func(s *Scenario) {
			s.Conns, s.Rate, s.Hold = 100, 100, Duration(30*time.Second)
			s.Expect = []string{"drop-at=60s±2s"}
		}, `expect: "drop-at=60s±2s" can never pass: the oldest connection is only about 31s old when the hold ends; set hold to at least 1m2s`},
		{"no-drops and drop-at", func(s *Scenario) { s.Expect = []string{"no-drops", "drop-at=60s±2s"} }, "contradict each other"},
		{"two failed statuses", func(s *Scenario) { s.Expect = []string{"failed-status=400", "failed-status=426"} }, `"failed-status=400" and "failed-status=426" contradict`},
		{"failed-status and upgrades", func(s *Scenario) { s.Expect = []string{"failed-status=400", "upgraded>=50%"} }, "says every attempt fails"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := Defaults()
			tt.edit(&s)
			err := s.Validate()
			if err == nil {
				t.Fatalf("Validate() = nil, want an error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() error\n got %q\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

func TestValidateReportsEveryProblemAtOnce(t *testing.T) {
	t.Parallel()
	s := Defaults()
	s.Conns, s.Rate, s.MaxInFlight, s.Target = 0, -1, 0, "http://x/"
	err := s.Validate()
	if err == nil {
		t.Fatal("want an error")
	}
	var keys []string
	for _, e := range unjoin(err) {
		fe, ok := e.(*fieldError)
		if !ok {
			t.Fatalf("problem %v is a %T, want *fieldError", e, e)
		}
		keys = append(keys, fe.key)
	}
	want := []string{"target", "conns", "rate", "max_in_flight"}
	if strings.Join(keys, ",") != strings.Join(want, ",") {
		t.Errorf("problem keys = %v, want %v", keys, want)
	}
}
