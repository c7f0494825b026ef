package tlsrecord

import (
	"crypto/tls"
	"io"
	"net"
	"runtime"
	"testing"
	"time"
)

// What a held connection's TLS keeps, measured in the heap: a tls.Conn
// (and its net.Conn) after the handshake and one record read, as a
// goroutine-per-connection client holds it, against the State the loops
// hold once the connection is carried on. Run with
//
//	go test -run '^$' -bench HeldTLSMemory ./internal/tlsrecord/
//
// The server writes one record and closes, so only the client's side is
// alive when the heap is read.
func BenchmarkHeldTLSMemory(b *testing.B) {
	const n = 300
	for _, vers := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		b.Run(tls.VersionName(vers), func(b *testing.B) {
			cert := serverCert(b, false)
			ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MaxVersion: vers})
			if err != nil {
				b.Fatal(err)
			}
			defer ln.Close()
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					go func() {
						_ = c.SetDeadline(time.Now().Add(10 * time.Second))
						_, _ = c.Write([]byte("one record"))
						c.Close()
					}()
				}
			}()
			var perConn, perState float64
			for b.Loop() {
				conns := make([]*tls.Conn, 0, n)
				states := make([]*State, 0, n)
				before := heap()
				for range n {
					raw, err := net.Dial("tcp", ln.Addr().String())
					if err != nil {
						b.Fatal(err)
					}
					tap := NewTap(raw)
					tc := tls.Client(tap, tap.Config(&tls.Config{InsecureSkipVerify: true}, nil))
					if err := tc.Handshake(); err != nil {
						b.Fatal(err)
					}
					tap.HandshakeDone(tc.ConnectionState())
					buf := make([]byte, 64)
					if _, err := io.ReadFull(tc, buf[:10]); err != nil {
						b.Fatal(err)
					}
					st, err := tap.State()
					if err != nil {
						b.Fatal(err)
					}
					conns = append(conns, tc)
					states = append(states, st)
				}
				withConns := heap()
				for _, c := range conns {
					c.NetConn().Close()
				}
				clear(conns)
				statesOnly := heap()
				perConn = float64(withConns-statesOnly) / n
				perState = float64(statesOnly-before) / n
				runtime.KeepAlive(states)
			}
			b.ReportMetric(perConn, "B/tls.Conn")
			b.ReportMetric(perState, "B/State")
		})
	}
}

func heap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
