package server

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/wshold/wshold/internal/safefile"
)

// TLS for the lab: `wshold serve --tls-cert FILE --tls-key FILE` answers
// wss:// on its listen addresses. It terminates TLS the way a proxy does,
// in front of the same epoll server on a loopback listener of its own, so
// every query-string behaviour works unchanged: what the server does to
// its plain connection the client sees through TLS — a FIN as
// close_notify then FIN (as nginx does when it closes), an RST as an RST.
//
// Each wss connection costs this front a tls.Conn and two goroutines: it
// is a lab's TLS endpoint (nginx re-encrypting to its backend, wss tests
// without a proxy), not a scale target; at scale TLS is terminated by the
// proxy under test.

// maxKeyFile bounds a certificate or key file: a chain of a few
// certificates is a few KiB.
const maxKeyFile = 1 << 20

// LoadTLS reads a PEM certificate (chain) and its private key for Config.TLS,
// with the errors a user can act on.
func LoadTLS(certFile, keyFile string) (*tls.Config, error) {
	certPEM, err := safefile.ReadFile(certFile, maxKeyFile)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert: %w", err)
	}
	keyPEM, err := safefile.ReadFile(keyFile, maxKeyFile)
	if err != nil {
		return nil, fmt.Errorf("--tls-key: %w", err)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert %s and --tls-key %s: %w (give a PEM certificate and the PEM private key that matches it)", certFile, keyFile, err)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}}, nil
}

// front terminates TLS on the public listeners and relays each connection
// to the server's own loopback listener.
type front struct {
	cfg     *tls.Config
	backend string
	timeout time.Duration
	logf    func(string, ...any)

	mu     sync.Mutex
	closed bool
	conns  map[net.Conn]struct{}
	wg     sync.WaitGroup
}

func newFront(cfg Config, backend string) *front {
	c := cfg.TLS.Clone()
	if c.NextProtos == nil {
		c.NextProtos = []string{"http/1.1"}
	}
	if c.MinVersion == 0 {
		c.MinVersion = tls.VersionTLS12
	}
	return &front{cfg: c, backend: backend, timeout: cfg.HandshakeTimeout, logf: cfg.Logf, conns: map[net.Conn]struct{}{}}
}

// serve accepts on ln until it is closed.
func (f *front) serve(ln net.Listener) {
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		var backoff time.Duration
		for {
			c, err := ln.Accept()
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				f.logf("accept on %s: %v; retrying in %v", ln.Addr(), err, backoff)
				time.Sleep(backoff)
				continue
			}
			backoff = 0
			if !f.track(c) {
				c.Close()
				continue
			}
			f.wg.Add(1)
			go func() {
				defer f.wg.Done()
				defer f.untrack(c)
				f.relay(c)
			}()
		}
	}()
}

func (f *front) track(c net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return false
	}
	f.conns[c] = struct{}{}
	return true
}

func (f *front) untrack(c net.Conn) {
	f.mu.Lock()
	delete(f.conns, c)
	f.mu.Unlock()
}

// relay handshakes TLS on c and pumps bytes both ways between it and a new
// connection to the backend, passing each side's end to the other.
func (f *front) relay(c net.Conn) {
	defer c.Close()
	tc := tls.Server(c, f.cfg)
	_ = c.SetDeadline(time.Now().Add(f.timeout))
	if err := tc.Handshake(); err != nil {
		return
	}
	_ = c.SetDeadline(time.Time{})
	b, err := net.Dial("tcp", f.backend)
	if err != nil {
		f.logf("relay to %s: %v", f.backend, err)
		return
	}
	defer b.Close()
	if !f.track(b) {
		return
	}
	defer f.untrack(b)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, err := io.Copy(tc, b)
		if isReset(err) {
			abort(c)
			return
		}
		// The server closed its side: close_notify, then FIN, as a
		// terminating proxy does; the client has closeGrace to answer.
		_ = tc.CloseWrite()
		_ = c.(*net.TCPConn).CloseWrite()
		_ = c.SetReadDeadline(time.Now().Add(closeGrace))
	}()
	_, err = io.Copy(b, tc)
	switch {
	case isReset(err):
		abort(b)
	default:
		_ = b.(*net.TCPConn).CloseWrite()
	}
	<-done
}

// isReset says whether a copy ended because its source was reset.
func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET)
}

// abort closes a TCP connection with an RST.
func abort(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	c.Close()
}

// close stops the relays: every connection is closed, and close returns
// once every goroutine of the front has.
func (f *front) close() {
	f.mu.Lock()
	f.closed = true
	for c := range f.conns {
		c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}
