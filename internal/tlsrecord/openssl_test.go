package tlsrecord

import (
	"bytes"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/wshold/wshold/internal/labtest"
)

// These tests hold State to OpenSSL (s_server, labtest.OpenSSLServer): a
// TLS stack nobody here wrote, on the other end of a real connection. The
// handshake is crypto/tls's over a Tap, as the engine does it; from then
// on only State protects records, and every exchange is checked on both
// ends: what s_server sent is what State opened, and what State sealed is
// what s_server printed.

const waitOpenSSL = 10 * time.Second

// dialOpenSSL handshakes with s_server and carries the connection on. With
// viaTLSConn, a request and its answer go through the tls.Conn first, as the
// engine's upgrade does (crypto/tls then reads the session tickets);
// without, State takes over right after the handshake and reads them
// itself. s_server's commands are given before the answer, each once its
// KeyUpdate is out (so that crypto/tls handles it).
func dialOpenSSL(t *testing.T, srv *labtest.SServer, cfg *tls.Config, cache *SessionCache, viaTLSConn bool, commands ...string) *carried {
	t.Helper()
	raw, err := net.Dial("tcp", srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	_ = raw.SetDeadline(time.Now().Add(waitOpenSSL))
	tap := NewTap(raw)
	tc := tls.Client(tap, tap.Config(cfg, cache))
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	tap.HandshakeDone(tc.ConnectionState())
	c := &carried{raw: raw}
	if viaTLSConn {
		mark := srv.Mark()
		if _, err := tc.Write([]byte("request\n")); err != nil {
			t.Fatal(err)
		}
		srv.WaitFor(t, mark, "request\n", waitOpenSSL)
		for _, cmd := range commands {
			mark := srv.Mark()
			srv.Write(t, []byte(cmd+"\n"))
			srv.WaitFor(t, mark, ">>> TLS 1.3, Handshake [length 0005], KeyUpdate", waitOpenSSL)
		}
		srv.Write(t, []byte("answer\n"))
		buf := make([]byte, MaxPlaintext)
		n, err := tc.Read(buf)
		if err != nil || string(buf[:n]) != "answer\n" {
			t.Fatalf("through the tls.Conn: %q %v", buf[:n], err)
		}
	}
	c.cs = tc.ConnectionState()
	c.state, err = tap.State()
	if err != nil {
		t.Fatalf("State: %v (%s, %s)", err, tls.VersionName(c.cs.Version), tls.CipherSuiteName(c.cs.CipherSuite))
	}
	_ = raw.SetDeadline(time.Time{})
	return c
}

// next opens records until one that is not a post-handshake message, which
// it returns; handshake messages go to State.Handshake. keyUpdates counts
// the records that carried one.
func (c *carried) next(t *testing.T) (byte, []byte) {
	t.Helper()
	for {
		typ, p := c.readRecord(t)
		if typ != TypeHandshake {
			return typ, p
		}
		if err := c.state.Handshake(p); err != nil {
			t.Fatalf("post-handshake message % x: %v", p[:min(len(p), 8)], err)
		}
		if len(p) >= 5 && bytes.Equal(p[len(p)-5:len(p)-1], []byte{msgKeyUpdate, 0, 0, 1}) {
			c.keyUpdates++
		}
	}
}

// expectData reads application data until want has come, in as many
// records as the server cut it into; it returns the longest record's
// length.
func (c *carried) expectData(t *testing.T, want []byte) int {
	t.Helper()
	var got []byte
	longest := 0
	for len(got) < len(want) {
		typ, p := c.next(t)
		if typ != TypeApplicationData {
			t.Fatalf("record of type %d (% x) while waiting for %q", typ, p[:min(len(p), 8)], abbrev(want))
		}
		got = append(got, p...)
		longest = max(longest, len(p))
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("opened %q, want %q", abbrev(got), abbrev(want))
	}
	return longest
}

func abbrev(p []byte) string {
	if len(p) > 40 {
		return fmt.Sprintf("%s... (%d bytes)", p[:40], len(p))
	}
	return string(p)
}

// exchangeWithOpenSSL sends and receives application data both ways,
// records of the largest size included, and ends with a close_notify each
// way: s_server answers ours with its own (it has no command to send one
// first).
func exchangeWithOpenSSL(t *testing.T, c *carried, srv *labtest.SServer) {
	t.Helper()
	srv.Write(t, []byte("server-one\n"))
	c.expectData(t, []byte("server-one\n"))

	mark := srv.Mark()
	c.send(t, TypeApplicationData, []byte("client-one\n"))
	srv.WaitFor(t, mark, "client-one\n", waitOpenSSL)

	// s_server reads its stdin 16 KiB at a time and sends what one read
	// got as one record: a 16 KiB write usually makes one record of the
	// largest size. A read that takes less makes smaller ones; try again.
	full := 0
	for i := 0; i < 5 && full < MaxPlaintext; i++ {
		big := bytes.Repeat([]byte{byte('a' + i)}, MaxPlaintext)
		srv.Write(t, big)
		full = c.expectData(t, big)
	}
	if full != MaxPlaintext {
		t.Fatalf("no record of %d bytes from s_server in 5 tries (longest %d)", MaxPlaintext, full)
	}

	mark = srv.Mark()
	c.send(t, TypeApplicationData, bytes.Repeat([]byte{'y'}, MaxPlaintext))
	c.send(t, TypeApplicationData, []byte("\nclient-big-done\n"))
	end := srv.WaitFor(t, mark, "\nclient-big-done\n", waitOpenSSL)
	if !strings.Contains(srv.Output()[mark:end], strings.Repeat("y", MaxPlaintext)) {
		t.Fatalf("s_server did not print the %d bytes of a largest record whole", MaxPlaintext)
	}

	closeWithOpenSSL(t, c, srv)
}

// closeWithOpenSSL sends our close_notify, which s_server takes as the
// end ("DONE") and answers with its own.
func closeWithOpenSSL(t *testing.T, c *carried, srv *labtest.SServer) {
	t.Helper()
	mark := srv.Mark()
	c.raw.Write(c.state.AppendAlert(nil, AlertCloseNotify))
	srv.WaitFor(t, mark, "\nDONE\n", waitOpenSSL)
	if typ, p := c.next(t); typ != TypeAlert || !bytes.Equal(p, []byte{1, AlertCloseNotify}) {
		t.Fatalf("after our close_notify: type %d % x, want s_server's", typ, p)
	}
	c.raw.Close()
}

var openSSLSuites = []struct {
	name   string
	rsaKey bool
	args   []string
	suite  uint16
}{
	{"TLS 1.3 AES-128-GCM", false, []string{"-tls1_3", "-ciphersuites", "TLS_AES_128_GCM_SHA256"}, tls.TLS_AES_128_GCM_SHA256},
	{"TLS 1.3 AES-256-GCM", false, []string{"-tls1_3", "-ciphersuites", "TLS_AES_256_GCM_SHA384"}, tls.TLS_AES_256_GCM_SHA384},
	{"TLS 1.3 ChaCha20-Poly1305", false, []string{"-tls1_3", "-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256"}, tls.TLS_CHACHA20_POLY1305_SHA256},
	{"TLS 1.2 ECDSA AES-128-GCM", false, []string{"-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"}, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256},
	{"TLS 1.2 ECDSA AES-256-GCM", false, []string{"-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-GCM-SHA384"}, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384},
	{"TLS 1.2 ECDSA ChaCha20-Poly1305", false, []string{"-tls1_2", "-cipher", "ECDHE-ECDSA-CHACHA20-POLY1305"}, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256},
	{"TLS 1.2 RSA AES-128-GCM", true, []string{"-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"}, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256},
	{"TLS 1.2 RSA AES-256-GCM", true, []string{"-tls1_2", "-cipher", "ECDHE-RSA-AES256-GCM-SHA384"}, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384},
	{"TLS 1.2 RSA ChaCha20-Poly1305", true, []string{"-tls1_2", "-cipher", "ECDHE-RSA-CHACHA20-POLY1305"}, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256},
}

// Every suite a client carries its connections in, against OpenSSL: data
// both ways in records up to the largest, session tickets (TLS 1.3, five of
// them) read by crypto/tls during the upgrade or by State after it, and
// s_server's close_notify.
func TestOpenSSLEverySuite(t *testing.T) {
	for _, tc := range openSSLSuites {
		t.Run(tc.name, func(t *testing.T) {
			srv := labtest.OpenSSLServer(t, tc.rsaKey, append([]string{"-num_tickets", "5"}, tc.args...)...)
			for _, via := range []bool{true, false} {
				c := dialOpenSSL(t, srv, &tls.Config{InsecureSkipVerify: true}, nil, via)
				if c.cs.CipherSuite != tc.suite {
					t.Fatalf("negotiated %s", tls.CipherSuiteName(c.cs.CipherSuite))
				}
				exchangeWithOpenSSL(t, c, srv)
			}
		})
	}
}

// KeyUpdates against OpenSSL, in each TLS 1.3 suite (their hashes differ,
// and with them the derivation), three rounds of each kind so that the
// secrets are seen to chain: s_server's own (k), s_server's asking for ours
// (K), which State answers before its next record, and ours asking for
// s_server's, which it sends before its next record.
func TestOpenSSLKeyUpdates(t *testing.T) {
	for _, tc := range openSSLSuites[:3] {
		t.Run(tc.name, func(t *testing.T) {
			srv := labtest.OpenSSLServer(t, false, tc.args...)
			c := dialOpenSSL(t, srv, &tls.Config{InsecureSkipVerify: true}, nil, true)
			for round := range 3 {
				// s_server's, not asking for ours.
				mark := srv.Mark()
				srv.Write(t, []byte("k\n"))
				srv.WaitFor(t, mark, ">>> TLS 1.3, Handshake [length 0005], KeyUpdate", waitOpenSSL)
				srv.Write(t, fmt.Appendf(nil, "after-k-%d\n", round))
				before := c.keyUpdates
				c.expectData(t, fmt.Appendf(nil, "after-k-%d\n", round))
				if c.keyUpdates != before+1 || c.state.UpdateWanted() {
					t.Fatalf("round %d: %d KeyUpdates opened, update wanted %v; want 1, false", round, c.keyUpdates-before, c.state.UpdateWanted())
				}

				// s_server's, asking for ours.
				mark = srv.Mark()
				srv.Write(t, []byte("K\n"))
				srv.WaitFor(t, mark, ">>> TLS 1.3, Handshake [length 0005], KeyUpdate", waitOpenSSL)
				srv.Write(t, fmt.Appendf(nil, "after-K-%d\n", round))
				c.expectData(t, fmt.Appendf(nil, "after-K-%d\n", round))
				if !c.state.UpdateWanted() {
					t.Fatalf("round %d: a KeyUpdate asking for ours was not noted", round)
				}
				mark = srv.Mark()
				rec, err := c.state.AppendKeyUpdate(nil, false)
				if err != nil {
					t.Fatal(err)
				}
				c.raw.Write(rec)
				c.send(t, TypeApplicationData, fmt.Appendf(nil, "ours-%d\n", round))
				at := srv.WaitFor(t, mark, "<<< TLS 1.3, Handshake [length 0005], KeyUpdate", waitOpenSSL)
				srv.WaitFor(t, at, fmt.Sprintf("ours-%d\n", round), waitOpenSSL)

				// Ours, asking for s_server's.
				mark = srv.Mark()
				if rec, err = c.state.AppendKeyUpdate(nil, true); err != nil {
					t.Fatal(err)
				}
				c.raw.Write(rec)
				c.send(t, TypeApplicationData, fmt.Appendf(nil, "asked-%d\n", round))
				at = srv.WaitFor(t, mark, "<<< TLS 1.3, Handshake [length 0005], KeyUpdate", waitOpenSSL)
				srv.WaitFor(t, at, fmt.Sprintf("asked-%d\n", round), waitOpenSSL)
				before = c.keyUpdates
				srv.Write(t, fmt.Appendf(nil, "answered-%d\n", round))
				c.expectData(t, fmt.Appendf(nil, "answered-%d\n", round))
				if c.keyUpdates != before+1 {
					t.Fatalf("round %d: s_server's answer to our KeyUpdate was not opened first", round)
				}
			}
			closeWithOpenSSL(t, c, srv)
		})
	}
}

// KeyUpdates that crypto/tls reads (and answers) before the connection is
// taken over — a server updating its keys while the upgrade is answered —
// are followed by the Tap: the State goes on with the keys of the latest
// generation and their sequence numbers, both ways.
func TestOpenSSLKeyUpdatesDuringTheUpgrade(t *testing.T) {
	for _, tc := range openSSLSuites[:3] {
		t.Run(tc.name, func(t *testing.T) {
			srv := labtest.OpenSSLServer(t, false, tc.args...)
			c := dialOpenSSL(t, srv, &tls.Config{InsecureSkipVerify: true}, nil, true, "K", "k", "K")
			if c.state.UpdateWanted() {
				t.Fatal("crypto/tls answered the KeyUpdates, yet State would answer again")
			}
			exchangeWithOpenSSL(t, c, srv)
		})
	}
}

// TLS 1.3 records padded by OpenSSL (to a multiple of 1000 bytes, its
// largest records' padding cut to keep them within 2^14 bytes) open to
// their content.
func TestOpenSSLPaddedRecords(t *testing.T) {
	srv := labtest.OpenSSLServer(t, false, "-tls1_3", "-record_padding", "1000")
	c := dialOpenSSL(t, srv, &tls.Config{InsecureSkipVerify: true}, nil, false)
	exchangeWithOpenSSL(t, c, srv)
}

// Sessions resumed from OpenSSL's tickets are carried on: TLS 1.3 (with
// fresh traffic secrets) and TLS 1.2 (with the master secret SessionCache
// kept from the full handshake).
func TestOpenSSLResumption(t *testing.T) {
	for _, vers := range []string{"-tls1_2", "-tls1_3"} {
		t.Run(vers, func(t *testing.T) {
			srv := labtest.OpenSSLServer(t, false, vers)
			cache := NewSessionCache(4)
			for i := range 2 {
				c := dialOpenSSL(t, srv, &tls.Config{InsecureSkipVerify: true}, cache, true)
				if c.cs.DidResume != (i == 1) {
					t.Fatalf("connection %d: resumed %v", i, c.cs.DidResume)
				}
				exchangeWithOpenSSL(t, c, srv)
			}
		})
	}
}

// A record OpenSSL cannot authenticate gets its fatal bad_record_mac alert,
// which State opens (in TLS 1.3 it is encrypted like any record).
func TestOpenSSLFatalAlert(t *testing.T) {
	for _, vers := range []string{"-tls1_2", "-tls1_3"} {
		t.Run(vers, func(t *testing.T) {
			srv := labtest.OpenSSLServer(t, false, vers)
			c := dialOpenSSL(t, srv, &tls.Config{InsecureSkipVerify: true}, nil, true)
			rec := c.state.Seal(nil, TypeApplicationData, []byte("tampered\n"))
			rec[len(rec)-1] ^= 0x80
			c.raw.Write(rec)
			if typ, p := c.next(t); typ != TypeAlert || !bytes.Equal(p, []byte{2, AlertBadRecordMAC}) {
				t.Fatalf("type %d % x, want a fatal bad_record_mac", typ, p)
			}
		})
	}
}

// A TLS 1.2 HelloRequest (s_server's r) is passed over, as RFC 5246
// §7.4.1.1 lets a client do: no renegotiation starts, no alert is sent
// (OpenSSL would end the connection on a no_renegotiation alert), and the
// connection goes on under the same keys both ways.
func TestOpenSSLHelloRequestPassedOver(t *testing.T) {
	srv := labtest.OpenSSLServer(t, false, "-tls1_2")
	c := dialOpenSSL(t, srv, &tls.Config{InsecureSkipVerify: true}, nil, true)
	mark := srv.Mark()
	srv.Write(t, []byte("r\n"))
	srv.WaitFor(t, mark, ">>> TLS 1.2, Handshake [length 0004], HelloRequest", waitOpenSSL)
	typ, p := c.readRecord(t)
	if typ != TypeHandshake || !bytes.Equal(p, []byte{msgHelloRequest, 0, 0, 0}) {
		t.Fatalf("type %d % x, want a HelloRequest", typ, p)
	}
	if err := c.state.Handshake(p); err != nil {
		t.Fatalf("HelloRequest: %v", err)
	}
	c.send(t, TypeApplicationData, []byte("after-hello-request\n"))
	srv.WaitFor(t, mark, "after-hello-request\n", waitOpenSSL)
	srv.Write(t, []byte("server-after\n"))
	c.expectData(t, []byte("server-after\n"))
	if strings.Contains(srv.Output()[mark:], "Alert") {
		t.Fatalf("an alert after the HelloRequest:\n%s", srv.Output()[mark:])
	}
	closeWithOpenSSL(t, c, srv)
}
