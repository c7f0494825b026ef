package scenario

import (
	"fmt"
	"time"
)

// Scenario is one run's complete description: what to connect to, how many,
// how fast, how long to hold, and what to expect. Command-line flags and TOML
// files both produce a Scenario; the runner consumes it; the result embeds it
// as run. Field tags give the TOML/JSON key, which is also the flag name with
// '-' in place of '_'.
type Scenario struct {
	// Name identifies the scenario in a file and in reports. Flags-only runs
	// are named "cli".
	Name string `toml:"name" json:"name"`
	// Target is the ws:// or wss:// URL. Empty means the built-in target
	// (wshold serve, started in-process on a free loopback port).
	Target string `toml:"target" json:"target"`
	// Conns is how many connections to open. Default 1000.
	Conns int `toml:"conns" json:"conns"`
	// Rate is new connections per second; 0 opens as fast as MaxInFlight
	// handshakes allow. Default 1000.
	Rate float64 `toml:"rate" json:"rate"`
	// Hold is how long connections are held after the last one is up
	// (or failed). Default 75s: past the 60 s idle timeouts of nginx and ALB.
	Hold Duration `toml:"hold" json:"hold"`
	// Ping is the client ping interval; 0 (default) is pure idle, the only
	// way to observe a proxy's idle timeout.
	Ping Duration `toml:"ping" json:"ping"`
	// PingFraction is the share of connections that ping when Ping > 0
	// (0 < f <= 1; default 1). The others stay silent: a control group.
	PingFraction float64 `toml:"ping_fraction" json:"ping_fraction"`
	// PongTimeout ends a connection whose pong has not arrived this long
	// after a ping (kind pong_timeout). Default 10s; only used with Ping.
	PongTimeout Duration `toml:"pong_timeout" json:"pong_timeout"`
	// HandshakeTimeout bounds TCP connect + TLS + upgrade. Default 10s.
	HandshakeTimeout Duration `toml:"handshake_timeout" json:"handshake_timeout"`
	// MaxInFlight bounds concurrent handshakes. Default 256.
	MaxInFlight int `toml:"max_in_flight" json:"max_in_flight"`
	// Headers are extra request headers, "Name: value".
	Headers []string `toml:"headers" json:"headers,omitempty"`
	// Origin sets the Origin header when non-empty.
	Origin string `toml:"origin" json:"origin,omitempty"`
	// Subprotocols are offered in Sec-WebSocket-Protocol.
	Subprotocols []string `toml:"subprotocols" json:"subprotocols,omitempty"`
	// SourceIPs are local addresses to spread connections over, each entry
	// an address or an inclusive range "127.0.0.1-127.0.0.8".
	SourceIPs []string `toml:"source_ips" json:"source_ips,omitempty"`
	// Procs is the number of worker processes; 0 = chosen from the
	// open-files limit.
	Procs int `toml:"procs" json:"procs"`
	// Insecure skips TLS certificate verification for wss://.
	Insecure bool `toml:"insecure" json:"insecure,omitempty"`
	// CA is a PEM file of extra trusted CAs for wss://.
	CA string `toml:"ca" json:"ca,omitempty"`
	// TLSResume resumes TLS sessions across the run's wss:// connections
	// (tickets, as a browser does): after the first, handshakes are
	// abbreviated. Off, every connection makes a full handshake.
	TLSResume bool `toml:"tls_resume" json:"tls_resume,omitempty"`
	// Proxy names the proxy in front when nothing in its answers does
	// (Varnish piping upgrades): "varnish", "nginx", "lighttpd", … It
	// ranks that proxy's defaults and fixes first.
	Proxy string `toml:"proxy" json:"proxy,omitempty"`
	// ProxyConfigs are files whose path and SHA-256 go into the result.
	ProxyConfigs []string `toml:"proxy_configs" json:"proxy_configs,omitempty"`
	// Redact names headers whose values never reach results or reports,
	// besides Authorization, Proxy-Authorization and Cookie, which never do.
	Redact []string `toml:"redact" json:"redact,omitempty"`
	// Expect lists expectations (see Expectation); empty = the default
	// (every upgrade succeeds, no connection drops).
	Expect []string `toml:"expect" json:"expect,omitempty"`
}

// Defaults returns a Scenario with every default filled in.
func Defaults() Scenario {
	return Scenario{
		Name:             "cli",
		Conns:            1000,
		Rate:             1000,
		Hold:             Duration(75 * time.Second),
		PingFraction:     1,
		PongTimeout:      Duration(10 * time.Second),
		HandshakeTimeout: Duration(10 * time.Second),
		MaxInFlight:      256,
	}
}

// Duration is a time.Duration written as a Go duration string ("75s",
// "1m30s", "250ms") in TOML and JSON.
type Duration time.Duration

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string { return time.Duration(d).String() }

// MarshalText writes d as a Go duration string.
func (d Duration) MarshalText() ([]byte, error) { return []byte(time.Duration(d).String()), nil }

// UnmarshalText reads a Go duration string. A bare number is refused: "60"
// could mean seconds or nanoseconds, and guessing is how timeouts go wrong.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("%q is not a duration (write e.g. \"75s\", \"1m30s\", \"250ms\")", string(b))
	}
	*d = Duration(v)
	return nil
}
