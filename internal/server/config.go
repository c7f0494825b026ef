package server

import (
	"crypto/tls"
	"fmt"
	"time"
)

// Config says where and how the server listens. The zero value is usable:
// one loopback listener on a free port, no server pings, one event loop
// per usable CPU.
type Config struct {
	// Listen holds host:port addresses, one listener each; port 0 picks a
	// free port (read it back with Server.Addrs). Default: 127.0.0.1:0.
	Listen []string
	// Ping is the interval of server pings on every upgraded connection;
	// 0 (the default) sends none. A connection's ?ping= overrides it.
	// Pings share each loop's schedule; no connection has a timer.
	Ping time.Duration
	// ReusePort sets SO_REUSEPORT on the listeners so several processes
	// can share a port (the kernel spreads connections among them).
	ReusePort bool
	// Loops is the number of epoll event loops; 0 means GOMAXPROCS.
	Loops int
	// HandshakeTimeout bounds reading the upgrade request and writing the
	// answer. Default 10s.
	HandshakeTimeout time.Duration
	// TLS, if set, makes the listen addresses speak wss://: TLS is
	// terminated in front of the event loops (tls.go; see LoadTLS), at the
	// cost of two goroutines per connection. Nil: plain ws://.
	TLS *tls.Config
	// Logf, if set, receives the server's own troubles (accept errors such
	// as EMFILE, epoll failures). Nothing per connection is logged, so it
	// stays quiet at tens of thousands of connections. It may be called
	// from several goroutines at once. Default: discard.
	Logf func(format string, args ...any)
}

// Stats are counters since Start; Open is a gauge.
type Stats struct {
	// Accepted counts TCP connections accepted.
	Accepted int64
	// Upgraded counts handshakes answered with a 101 (including the
	// deliberately broken ?badaccept and ?noupgradehdr ones).
	Upgraded int64
	// Rejected counts requests answered without an upgrade: the 400 for a
	// request that is not a valid upgrade, ?status=, ?garbage=.
	Rejected int64
	// Aborted counts connections that ended before a whole request
	// arrived: the client closed, went silent past HandshakeTimeout, or
	// the server was closed meanwhile.
	Aborted int64
	// Open is the number of connections the event loops hold now:
	// upgraded ones and ?noupgrade ones waiting for nothing.
	Open int64
	// Closed counts connections the event loops have let go, whoever
	// ended them.
	Closed int64
}

func (s Stats) String() string {
	return fmt.Sprintf("accepted %d, upgraded %d, rejected %d, aborted %d, open %d, closed %d",
		s.Accepted, s.Upgraded, s.Rejected, s.Aborted, s.Open, s.Closed)
}

const (
	defaultListen           = "127.0.0.1:0"
	defaultHandshakeTimeout = 10 * time.Second
	// maxRequestBytes bounds an upgrade request's line and headers.
	maxRequestBytes = 16 << 10
	// closeGrace is how long a connection the server is closing may take
	// to answer with its own close frame before TCP is closed anyway.
	closeGrace = 3 * time.Second
	// outCap bounds the bytes queued for a client that reads slower than
	// it sends: past it, new messages are not echoed and pongs are
	// dropped, so a flooding client cannot grow the server's memory.
	outCap = 64 << 10
	// readBufSize is each loop's one read buffer.
	readBufSize = 64 << 10
)
