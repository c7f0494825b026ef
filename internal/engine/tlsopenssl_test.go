package engine

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wshold/wshold/internal/event"
	"github.com/wshold/wshold/internal/labtest"
)

// Held wss:// connections against OpenSSL (s_server): after crypto/tls's
// handshake, the loops' own record protection (tlsloop_linux.go) talks to
// a TLS stack nobody here wrote. s_server is not a WebSocket server, so
// the test plays one through it: it reads the client's upgrade request in
// s_server's output and writes the 101, frames and s_server's commands
// (KeyUpdate, renegotiation, cleartext, close) to its stdin; what the
// client sends back shows in the output, between the lines of s_server's
// trace (-msg), which also says what OpenSSL made of each record.

const waitOpenSSL = 10 * time.Second

// opensslHold runs the engine against srv with one connection, held until
// it ends, and plays the WebSocket server's upgrade, after s_server's
// commands before (KeyUpdates, each once it is out); the returned channel
// gives the engine's events once the run is over.
func opensslHold(t *testing.T, srv *labtest.SServer, before ...string) <-chan *sink {
	t.Helper()
	u, _ := url.Parse("wss://" + srv.Addr + "/")
	s := &sink{}
	done := make(chan *sink, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	go func() {
		_, err := Run(ctx, Config{URL: u, Conns: 1, Hold: 20 * time.Second, EndWhenNoneAlive: true, TLS: insecure()}, time.Now(), s)
		if err != nil {
			s.failed = append(s.failed, event.Failed{Cause: "run", Example: err.Error()})
		}
		done <- s
	}()
	at := srv.WaitFor(t, 0, "Sec-WebSocket-Key: ", waitOpenSSL)
	end := srv.WaitFor(t, at, "\r\n", waitOpenSSL)
	key := srv.Output()[at : end-2]
	for _, cmd := range before {
		mark := srv.Mark()
		srv.Write(t, []byte(cmd+"\n"))
		srv.WaitFor(t, mark, ">>> TLS 1.3, Handshake [length 0005], KeyUpdate", waitOpenSSL)
	}
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	srv.Write(t, []byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: "+
		base64.StdEncoding.EncodeToString(sum[:])+"\r\n\r\n"))
	return done
}

// clientFrame waits for a masked frame with opcode op and a payload under
// 126 bytes in the output past from, and returns its payload unmasked and
// the offset past it.
func clientFrame(t *testing.T, srv *labtest.SServer, from int, op byte) ([]byte, int) {
	t.Helper()
	deadline := time.Now().Add(waitOpenSSL)
	for {
		out := srv.Output()
		for i := from; i+6 <= len(out); i++ {
			if out[i] != 0x80|op || out[i+1]&0x80 == 0 || out[i+1]&0x7f >= 126 {
				continue
			}
			n := int(out[i+1] & 0x7f)
			if i+6+n > len(out) {
				break
			}
			p := []byte(out[i+6 : i+6+n])
			for j := range p {
				p[j] ^= out[i+2+j%4]
			}
			return p, i + 6 + n
		}
		if time.Now().After(deadline) {
			t.Fatalf("no client frame of opcode %#x in s_server's output", op)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// pingPong sends a ping with payload through s_server and waits for the
// client's pong.
func pingPong(t *testing.T, srv *labtest.SServer, payload string) {
	t.Helper()
	mark := srv.Mark()
	srv.Write(t, append([]byte{0x89, byte(len(payload))}, payload...))
	if p, _ := clientFrame(t, srv, mark, 0xA); string(p) != payload {
		t.Fatalf("pong %q, want %q", p, payload)
	}
}

func waitRun(t *testing.T, done <-chan *sink) *sink {
	t.Helper()
	select {
	case s := <-done:
		if len(s.upgraded) != 1 || len(s.failed) != 0 {
			t.Fatalf("upgraded %d, failed %+v; want one upgrade", len(s.upgraded), s.failed)
		}
		return s
	case <-time.After(30 * time.Second):
		t.Fatal("the run did not end")
		return nil
	}
}

// TLS 1.3 against OpenSSL, in each suite: five session tickets before the
// 101; KeyUpdates from s_server, with and without asking for the client's,
// answered from the loop; pings answered under every new key; a data frame
// in a record of the largest size skipped; and the server's close frame,
// after which the client's close_notify reaches OpenSSL authenticated under
// the latest key.
func TestWSSAgainstOpenSSL13(t *testing.T) {
	for _, suite := range []string{"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"} {
		t.Run(suite, func(t *testing.T) {
			srv := labtest.OpenSSLServer(t, false, "-tls1_3", "-ciphersuites", suite, "-num_tickets", "5")
			done := opensslHold(t, srv)
			pingPong(t, srv, "first")
			for round := range 3 {
				mark := srv.Mark()
				srv.Write(t, []byte("K\n"))
				at := srv.WaitFor(t, mark, ">>> TLS 1.3, Handshake [length 0005], KeyUpdate", waitOpenSSL)
				srv.WaitFor(t, at, "<<< TLS 1.3, Handshake [length 0005], KeyUpdate", waitOpenSSL)
				pingPong(t, srv, "after K"+string(rune('0'+round)))
				mark = srv.Mark()
				srv.Write(t, []byte("k\n"))
				srv.WaitFor(t, mark, ">>> TLS 1.3, Handshake [length 0005], KeyUpdate", waitOpenSSL)
				pingPong(t, srv, "after k"+string(rune('0'+round)))
			}
			// A binary frame of 16380 bytes fills one record of 16384.
			big := append([]byte{0x82, 126, 0x3f, 0xfc}, bytes.Repeat([]byte{'z'}, 16380)...)
			srv.Write(t, big)
			pingPong(t, srv, "after data")

			mark := srv.Mark()
			srv.Write(t, []byte{0x88, 0x02, 0x03, 0xe9}) // close 1001
			if p, _ := clientFrame(t, srv, mark, 0x8); !bytes.Equal(p, []byte{0x03, 0xe9}) {
				t.Fatalf("close echo % x, want 1001", p)
			}
			srv.WaitFor(t, mark, "<<< TLS 1.3, Alert [length 0002], warning close_notify", waitOpenSSL)
			srv.WaitFor(t, mark, "\nDONE\n", waitOpenSSL)
			s := waitRun(t, done)
			if len(s.dropped) != 1 || s.dropped[0].Kind != event.CloseFrame || s.dropped[0].CloseCode != 1001 {
				t.Fatalf("drops %+v, want one close_1001", s.dropped)
			}
		})
	}
}

// A server that updates its keys while it answers the upgrade (s_server's
// KeyUpdates before the 101, read and answered by crypto/tls): the loop
// goes on with the keys of the latest generation both ways.
func TestWSSKeyUpdatesDuringTheUpgradeFromOpenSSL(t *testing.T) {
	srv := labtest.OpenSSLServer(t, false, "-tls1_3")
	done := opensslHold(t, srv, "K", "k")
	pingPong(t, srv, "first")
	mark := srv.Mark()
	srv.Write(t, []byte{0x88, 0x02, 0x03, 0xe8})
	srv.WaitFor(t, mark, "<<< TLS 1.3, Alert [length 0002], warning close_notify", waitOpenSSL)
	if s := waitRun(t, done); len(s.dropped) != 1 || s.dropped[0].Kind != event.CloseFrame {
		t.Fatalf("drops %+v, want one close_1000", s.dropped)
	}
}

// TLS 1.2 against OpenSSL, in each ChaCha20 and AES-GCM suite with an RSA
// key: a HelloRequest is passed over (OpenSSL carries on without the
// renegotiation), pings are answered, and an end without close_notify (s_server's q:
// it closes the socket) is a bare eof.
func TestWSSAgainstOpenSSL12(t *testing.T) {
	for _, suite := range []string{"ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-CHACHA20-POLY1305"} {
		t.Run(suite, func(t *testing.T) {
			srv := labtest.OpenSSLServer(t, true, "-tls1_2", "-cipher", suite)
			done := opensslHold(t, srv)
			pingPong(t, srv, "first")
			mark := srv.Mark()
			srv.Write(t, []byte("r\n"))
			srv.WaitFor(t, mark, ">>> TLS 1.2, Handshake [length 0004], HelloRequest", waitOpenSSL)
			pingPong(t, srv, "after HelloRequest")
			srv.Write(t, []byte("q\n"))
			s := waitRun(t, done)
			if len(s.dropped) != 1 || s.dropped[0].Kind != event.EOF {
				t.Fatalf("drops %+v, want one eof", s.dropped)
			}
			if out := srv.Output(); strings.Contains(out[mark:], "Alert") {
				t.Fatalf("an alert after the HelloRequest:\n%s", out[mark:])
			}
		})
	}
}

// Bytes from OpenSSL that are no record (s_server's P writes cleartext
// into the connection): the connection ends as a protocol error, and
// OpenSSL is told why with a fatal record_overflow alert (the cleartext's
// "length" is far beyond the largest record).
func TestWSSCleartextFromOpenSSL(t *testing.T) {
	srv := labtest.OpenSSLServer(t, false, "-tls1_3")
	done := opensslHold(t, srv)
	pingPong(t, srv, "first")
	mark := srv.Mark()
	srv.Write(t, []byte("P\n"))
	srv.WaitFor(t, mark, "<<< TLS 1.3, Alert [length 0002], fatal record_overflow", waitOpenSSL)
	s := waitRun(t, done)
	if len(s.dropped) != 1 || s.dropped[0].Kind != event.ProtocolError || s.dropped[0].Rule != event.RuleTLSRecordOverflow {
		t.Fatalf("drops %+v, want one protocol error (tls_record_overflow)", s.dropped)
	}
}
