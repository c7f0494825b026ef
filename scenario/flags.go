package scenario

import (
	"slices"
	"time"

	"github.com/spf13/pflag"
)

// Flags holds the values of run's scenario flags, as parsed. Apply copies
// the ones the user set onto a Scenario; the rest leave the file's (or the
// default) value alone.
type Flags struct {
	Name             string
	Conns            int
	Rate             float64
	Hold             time.Duration
	Ping             time.Duration
	PingFraction     float64
	PongTimeout      time.Duration
	HandshakeTimeout time.Duration
	SendEvery        time.Duration
	MessageSize      int
	SendFraction     float64
	Reconnect        bool
	ReconnectMin     time.Duration
	ReconnectMax     time.Duration
	MaxInFlight      int
	Headers          []string
	Origin           string
	Subprotocols     []string
	SourceIPs        []string
	Procs            int
	Insecure         bool
	CA               string
	TLSResume        bool
	Expect           []string
	ProxyConfigs     []string
	Proxy            string
	Redact           []string
}

// AddFlags defines run's scenario flags on fs, with Defaults() as the
// defaults shown in --help. Flag names are the TOML keys with '-' for '_'.
func AddFlags(fs *pflag.FlagSet) *Flags {
	d := Defaults()
	f := &Flags{}
	fs.StringVar(&f.Name, "name", d.Name,
		"name of this run in reports and results (letters, digits, '.', '_', '-')")
	fs.IntVarP(&f.Conns, "conns", "c", d.Conns,
		"open `N` connections; past ~28k per source address add --source-ip, past the open-files limit add --procs")
	fs.Float64VarP(&f.Rate, "rate", "r", d.Rate,
		"open `N` new connections per second; 0 = as fast as --max-in-flight allows (a burst a small proxy may not take without distorting latency)")
	fs.DurationVar(&f.Hold, "hold", d.Hold.D(),
		"hold every connection this long after the last one is up; the default outlasts the 60s idle timeouts of nginx and AWS ALB")
	fs.DurationVar(&f.Ping, "ping", d.Ping.D(),
		"client ping interval; 0 = pure idle, the only way to see a proxy's idle timeout (any frame re-arms it); 30s shows whether a heartbeat keeps connections alive")
	fs.Float64Var(&f.PingFraction, "ping-fraction", d.PingFraction,
		"share of connections that ping when --ping is set, above 0 up to 1; the others stay silent as a control group (0.5 = half)")
	fs.DurationVar(&f.PongTimeout, "pong-timeout", d.PongTimeout.D(),
		"drop a connection whose pong has not come this long after its ping (recorded as pong_timeout); only with --ping")
	fs.DurationVar(&f.HandshakeTimeout, "handshake-timeout", d.HandshakeTimeout.D(),
		"give up on one attempt after this long for TCP connect + TLS + upgrade (recorded as timeout)")
	fs.DurationVar(&f.SendEvery, "send-every", d.SendEvery.D(),
		"each sending connection sends a timestamped binary message this often, spread evenly across connections; echoes give the round-trip time (RTT). 0 = none")
	fs.IntVar(&f.MessageSize, "message-size", d.MessageSize,
		"bytes per message with --send-every, 16 (the timestamp) to 1048576")
	fs.Float64Var(&f.SendFraction, "send-fraction", d.SendFraction,
		"share of connections that send with --send-every, above 0 up to 1; the others stay silent as a control group, so idle timeouts stay visible")
	fs.BoolVar(&f.Reconnect, "reconnect", d.Reconnect,
		"reopen a connection that dropped, after an exponential backoff with full jitter (counted apart, in reconnects; each drop cluster gets its time to recover)")
	fs.DurationVar(&f.ReconnectMin, "reconnect-min", d.ReconnectMin.D(),
		"shortest backoff before a reconnect; the n-th attempt in a row waits a random time between this and min(2^n times this, --reconnect-max)")
	fs.DurationVar(&f.ReconnectMax, "reconnect-max", d.ReconnectMax.D(),
		"longest backoff before a reconnect")
	fs.IntVar(&f.MaxInFlight, "max-in-flight", d.MaxInFlight,
		"at most `N` handshakes at once; bounds the burst when --rate is 0 or the proxy is slow")
	fs.StringArrayVarP(&f.Headers, "header", "H", nil,
		"extra request header \"Name: value\"; repeat for more. 'Host: name' replaces the URL's host:port (a name-routed proxy reached by address). Upgrade, Connection and Sec-WebSocket-* are wshold's own and refused")
	fs.StringVar(&f.Origin, "origin", d.Origin,
		"send this Origin header, e.g. https://app.example.com (servers that check origins answer 403 without it)")
	fs.StringArrayVar(&f.Subprotocols, "subprotocol", nil,
		"offer this subprotocol in Sec-WebSocket-Protocol; repeat to offer several")
	fs.StringSliceVar(&f.SourceIPs, "source-ip", nil,
		"local address or inclusive range to connect from, e.g. 127.0.0.2-127.0.0.9; repeat or comma-separate. Each address has its own ~28k ephemeral ports")
	fs.IntVar(&f.Procs, "procs", d.Procs,
		"worker processes that share the connections; 0 = enough for --conns under the open-files limit. Each runs plain ws:// connections on one scheduler thread (unless GOMAXPROCS is set): more processes use more cores")
	fs.BoolVar(&f.Insecure, "insecure", d.Insecure,
		"wss:// only: do not verify the server certificate (a lab with a self-signed proxy)")
	fs.StringVar(&f.CA, "ca", d.CA,
		"wss:// only: also trust the CA certificates in this PEM `FILE`")
	fs.BoolVar(&f.TLSResume, "tls-resume", d.TLSResume,
		"wss:// only: resume TLS sessions across connections (session tickets, as browsers do), to model a reconnect wave; off, every connection makes a full handshake")
	fs.StringArrayVar(&f.Expect, "expect", nil,
		"what must hold for exit 0; repeat for more. no-drops, no-drop-before=55s, drop-at=60s±2s[,share>=90%], "+
			"handshake-p99<250ms (p50 p90 p99 p999 max; <= too), upgraded>=99.9%, failed-status=400, "+
			"rtt-p99<50ms, push-p99<50ms, fanout-p99<100ms, messages-lost=0, recover<5s. "+
			"Default: upgraded>=100% and no-drops")
	fs.StringArrayVar(&f.ProxyConfigs, "proxy-config", nil,
		"record this proxy configuration `FILE`'s path and SHA-256 in the result, so compared runs show what changed; an nginx.conf, haproxy.cfg, Caddyfile, httpd.conf, lighttpd.conf, VCL, nghttpx.conf, h2o.conf or ATS records.config (told by the grammar its lines follow) is also read for the proxy and its timeouts, which hints match first; repeatable")
	fs.StringVar(&f.Proxy, "proxy", d.Proxy,
		"the proxy in front, when its answers do not name it (Varnish piping upgrades): varnish, nginx, haproxy, caddy, apache, lighttpd, nghttpx, h2o, ats, envoy, alb, …; its defaults and fixes are ranked first")
	fs.StringArrayVar(&f.Redact, "redact", nil,
		"never write the value of this header `NAME` into results or reports (Authorization, Proxy-Authorization and Cookie never are); repeatable")
	return f
}

// Apply overrides s with every flag the user set on fs, and only those:
// defaults < file < flags. A list flag replaces the file's list, so what
// runs is what the command line says.
func (f *Flags) Apply(fs *pflag.FlagSet, s *Scenario) {
	set := []struct {
		flag  string
		apply func()
	}{
		{"name", func() { s.Name = f.Name }},
		{"conns", func() { s.Conns = f.Conns }},
		{"rate", func() { s.Rate = f.Rate }},
		{"hold", func() { s.Hold = Duration(f.Hold) }},
		{"ping", func() { s.Ping = Duration(f.Ping) }},
		{"ping-fraction", func() { s.PingFraction = f.PingFraction }},
		{"pong-timeout", func() { s.PongTimeout = Duration(f.PongTimeout) }},
		{"handshake-timeout", func() { s.HandshakeTimeout = Duration(f.HandshakeTimeout) }},
		{"send-every", func() { s.SendEvery = Duration(f.SendEvery) }},
		{"message-size", func() { s.MessageSize = f.MessageSize }},
		{"send-fraction", func() { s.SendFraction = f.SendFraction }},
		{"reconnect", func() { s.Reconnect = f.Reconnect }},
		{"reconnect-min", func() { s.ReconnectMin = Duration(f.ReconnectMin) }},
		{"reconnect-max", func() { s.ReconnectMax = Duration(f.ReconnectMax) }},
		{"max-in-flight", func() { s.MaxInFlight = f.MaxInFlight }},
		{"header", func() { s.Headers = slices.Clone(f.Headers) }},
		{"origin", func() { s.Origin = f.Origin }},
		{"subprotocol", func() { s.Subprotocols = slices.Clone(f.Subprotocols) }},
		{"source-ip", func() { s.SourceIPs = slices.Clone(f.SourceIPs) }},
		{"procs", func() { s.Procs = f.Procs }},
		{"insecure", func() { s.Insecure = f.Insecure }},
		{"ca", func() { s.CA = f.CA }},
		{"tls-resume", func() { s.TLSResume = f.TLSResume }},
		{"expect", func() { s.Expect = slices.Clone(f.Expect) }},
		{"proxy-config", func() { s.ProxyConfigs = slices.Clone(f.ProxyConfigs) }},
		{"proxy", func() { s.Proxy = f.Proxy }},
		{"redact", func() { s.Redact = slices.Clone(f.Redact) }},
	}
	for _, b := range set {
		if fs.Changed(b.flag) {
			b.apply()
		}
	}
}
