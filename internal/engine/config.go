package engine

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"runtime"
	"time"
)

// Config is what the engine needs to know, already parsed and resolved.
// The zero value of every optional field is a sensible default.
type Config struct {
	// URL is the ws:// or wss:// target.
	URL *url.URL
	// Conns is the number of connection attempts.
	Conns int
	// Rate is attempts per second; 0 starts them as fast as MaxInFlight
	// allows.
	Rate float64
	// MaxInFlight bounds concurrent handshakes. Default 256.
	MaxInFlight int
	// HandshakeTimeout bounds connect + TLS + upgrade. Default 10 s.
	HandshakeTimeout time.Duration
	// Hold is how long to keep connections after the last attempt ended.
	Hold time.Duration
	// Ping is the client ping interval; 0 sends nothing (pure idle).
	Ping time.Duration
	// PingFraction is the share of connections that ping (0..1]; the rest
	// stay silent as a control group. Default 1.
	PingFraction float64
	// PongTimeout ends a connection whose oldest unanswered ping is older
	// than this. Default 10 s. Checked once per ping interval, so a
	// connection ends within PongTimeout + Ping.
	PongTimeout time.Duration
	// Header holds extra request headers (Origin included, Host not).
	Header http.Header
	// Host, if set, is sent as the Host header instead of the URL's
	// host:port; the connection still goes to the URL's address (a proxy
	// that routes by name, reached by address, as with curl -H Host).
	Host string
	// Scrub, if set, hides credentials in a failure's example, which quotes
	// the server's answer and may echo the request's headers.
	Scrub func(string) string
	// Subprotocols are offered in Sec-WebSocket-Protocol.
	Subprotocols []string
	// SourceIPs spread connections over local addresses; each socket is
	// bound with IP_BIND_ADDRESS_NO_PORT so the port is chosen at connect
	// time per destination, not from one shared pool at bind time.
	SourceIPs []netip.Addr
	// TLS configures wss://. Nil uses the system roots. Unless it says
	// otherwise, the server name (SNI, and the name the certificate must
	// carry) is Host's when set, else the URL's host; ALPN offers
	// http/1.1 only, as browsers do for WebSockets; and TLS 1.2 offers the
	// AEAD suites the loops carry (tlsrecord.Suites12), no CBC.
	TLS *tls.Config
	// TLSResume resumes TLS sessions (tickets) across the run's wss://
	// connections to the same server, as a browser does; off, every
	// connection makes a full handshake.
	TLSResume bool
	// Loops is the number of epoll loops. Default: GOMAXPROCS, at most 4.
	Loops int
	// CloseTimeout bounds the closing handshake after the hold. Default 2 s.
	CloseTimeout time.Duration
	// EndWhenNoneAlive ends the hold early once every upgraded connection
	// has ended (there is nothing left to observe). Default false.
	EndWhenNoneAlive bool
	// OnHoldStart, if set, is called once when the hold begins.
	OnHoldStart func(time.Time)

	// blocking dials ws:// as wss:// is dialled, a goroutine per attempt:
	// kept so tests can hold the loops' handshake to it.
	blocking bool
}

func (c *Config) withDefaults() error {
	if c.URL == nil {
		return fmt.Errorf("engine: no target URL")
	}
	if c.URL.Scheme != "ws" && c.URL.Scheme != "wss" {
		return fmt.Errorf("engine: target %q: scheme must be ws or wss", c.URL)
	}
	if c.Conns < 0 {
		return fmt.Errorf("engine: conns must be >= 0")
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = 256
	}
	if c.HandshakeTimeout <= 0 {
		c.HandshakeTimeout = 10 * time.Second
	}
	if c.PingFraction <= 0 || c.PingFraction > 1 {
		c.PingFraction = 1
	}
	if c.PongTimeout <= 0 {
		c.PongTimeout = 10 * time.Second
	}
	if c.Loops <= 0 {
		c.Loops = min(runtime.GOMAXPROCS(0), 4)
	}
	if c.CloseTimeout <= 0 {
		c.CloseTimeout = 2 * time.Second
	}
	return nil
}

// pings reports whether attempt i belongs to the pinging group. The group is
// spread evenly over the attempts so that both groups see the same ramp.
func (c *Config) pings(i int) bool {
	if c.Ping <= 0 {
		return false
	}
	f := c.PingFraction
	return int(float64(i+1)*f) > int(float64(i)*f)
}
