package relay

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// dialTimeout bounds connecting to the target for one accepted client.
const dialTimeout = 5 * time.Second

// Relay accepts on a loopback port and forwards each connection to its
// target. Its methods are safe for concurrent use.
type Relay struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	pipes  []*pipe // live connections in accept order
	closed bool
	wg     sync.WaitGroup
}

// pipe is one relayed connection: the client's socket and ours to the
// target.
type pipe struct {
	client, upstream *net.TCPConn
	// silent: bytes are read and discarded in both directions, and an
	// end on one side is not passed on to the other.
	silent atomic.Bool
	// halves counts directions that ended with a FIN; at two the pipe is
	// done.
	halves atomic.Int32
	once   sync.Once
}

// Start listens on 127.0.0.1 (a free port) and relays every connection to
// target, a loopback host:port.
func Start(target string) (*Relay, error) {
	if err := checkLoopback(target); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("relay: listening on loopback: %w", err)
	}
	r := &Relay{ln: ln, target: target}
	r.wg.Add(1)
	go r.accept()
	return r, nil
}

func checkLoopback(hostport string) error {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return fmt.Errorf("relay: target %q is not host:port: %w", hostport, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("relay: target %q is not a loopback address; tests only target 127.0.0.0/8 or ::1", hostport)
	}
	return nil
}

// Addr is the host:port the relay listens on.
func (r *Relay) Addr() string { return r.ln.Addr().String() }

// Len is the number of connections relayed now (silenced ones included).
func (r *Relay) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pipes)
}

func (r *Relay) accept() {
	defer r.wg.Done()
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return // closed
		}
		up, err := net.DialTimeout("tcp", r.target, dialTimeout)
		if err != nil {
			// As a failed path would: the client's connection just ends.
			c.Close()
			continue
		}
		p := &pipe{client: c.(*net.TCPConn), upstream: up.(*net.TCPConn)}
		r.mu.Lock()
		if r.closed {
			r.mu.Unlock()
			p.close(false)
			return
		}
		r.pipes = append(r.pipes, p)
		r.mu.Unlock()
		r.wg.Add(2)
		go r.copy(p, p.upstream, p.client)
		go r.copy(p, p.client, p.upstream)
	}
}

// copy forwards src to dst until src ends. A FIN is passed on as a FIN and
// an error (an RST) as an RST, so the relay itself changes nothing about
// how a connection ends — unless the pipe is silent.
func (r *Relay) copy(p *pipe, dst, src *net.TCPConn) {
	defer r.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !p.silent.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				r.end(p, true)
				return
			}
		}
		switch {
		case err == nil:
			continue
		case p.silent.Load():
			// A black hole passes nothing on, not even the end.
			return
		case errors.Is(err, io.EOF):
			_ = dst.CloseWrite()
			if p.halves.Add(1) == 2 {
				r.end(p, false)
			}
			return
		default:
			r.end(p, true)
			return
		}
	}
}

// end closes both sides of p, resetting them if abort, and forgets it.
func (r *Relay) end(p *pipe, abort bool) {
	p.close(abort)
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, q := range r.pipes {
		if q == p {
			r.pipes = append(r.pipes[:i], r.pipes[i+1:]...)
			break
		}
	}
}

func (p *pipe) close(abort bool) {
	p.once.Do(func() {
		if abort {
			// SO_LINGER 0: close sends RST instead of FIN.
			_ = p.client.SetLinger(0)
			_ = p.upstream.SetLinger(0)
		}
		p.client.Close()
		p.upstream.Close()
	})
}

// pick returns up to n live pipes, oldest first, that are not silent.
func (r *Relay) pick(n int) []*pipe {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*pipe
	for _, p := range r.pipes {
		if len(out) == n {
			break
		}
		if !p.silent.Load() {
			out = append(out, p)
		}
	}
	return out
}

// Reset aborts the n oldest connections that are neither reset nor silent:
// the client gets an RST, the target side is reset too. It returns how many
// were reset.
func (r *Relay) Reset(n int) int {
	ps := r.pick(n)
	for _, p := range ps {
		r.end(p, true)
	}
	return len(ps)
}

// Silence makes the n oldest connections that are not silent yet a black
// hole: from now on nothing is forwarded either way, not even a FIN, and
// neither socket is closed, as when a path starts dropping packets. It
// returns how many were silenced.
func (r *Relay) Silence(n int) int {
	ps := r.pick(n)
	for _, p := range ps {
		p.silent.Store(true)
	}
	return len(ps)
}

// Close stops accepting, closes every connection and waits for the relay's
// goroutines to end.
func (r *Relay) Close() error {
	r.mu.Lock()
	r.closed = true
	ps := r.pipes
	r.pipes = nil
	r.mu.Unlock()
	err := r.ln.Close()
	for _, p := range ps {
		p.close(false)
	}
	r.wg.Wait()
	return err
}
