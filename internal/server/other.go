//go:build !linux

package server

import (
	"errors"
	"net"
)

// Server is a running `wshold serve`; on this platform it cannot run.
type Server struct{}

// Start fails: the event loops use epoll, which only Linux has.
func Start(Config) (*Server, error) {
	return nil, errors.New("wshold serve needs Linux (epoll); run it on a Linux machine or container")
}

// Addrs returns nothing.
func (*Server) Addrs() []net.Addr { return nil }

// Stats returns zeros.
func (*Server) Stats() Stats { return Stats{} }

// Close does nothing.
func (*Server) Close() error { return nil }
