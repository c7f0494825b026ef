package tlsrecord

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"
)

// serverCert is a self-signed certificate for 127.0.0.1 with an ECDSA or
// an RSA key (TLS 1.2 suites are tied to the key type).
func serverCert(t testing.TB, rsaKey bool) tls.Certificate {
	t.Helper()
	var key any
	var pub any
	if rsaKey {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		key, pub = k, &k.PublicKey
	} else {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		key, pub = k, &k.PublicKey
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// carried is a client connection handshaken by crypto/tls over a Tap,
// whose request and answer went through the tls.Conn, then carried on by
// State over the raw TCP connection.
type carried struct {
	raw   net.Conn
	tap   *Tap
	state *State
	cs    tls.ConnectionState
	// what crypto/tls had read of the answer
	answer []byte
	// KeyUpdates of the server's opened (next)
	keyUpdates int
}

// handshakeAndCarry connects to addr, handshakes, sends "request" through
// the tls.Conn, reads one record of answer through it, and takes over.
func handshakeAndCarry(t *testing.T, addr string, cfg *tls.Config, cache *SessionCache) *carried {
	t.Helper()
	return handshakeAndCarryWith(t, addr, cfg, cache, nil)
}

// handshakeAndCarryWith is handshakeAndCarry that calls before (if not nil)
// with the Tap just before HandshakeDone.
func handshakeAndCarryWith(t *testing.T, addr string, cfg *tls.Config, cache *SessionCache, before func(*Tap)) *carried {
	t.Helper()
	raw, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	tap := NewTap(raw)
	tc := tls.Client(tap, tap.Config(cfg, cache))
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	if before != nil {
		before(tap)
	}
	tap.HandshakeDone(tc.ConnectionState())
	if _, err := tc.Write([]byte("request")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, MaxPlaintext)
	n, err := tc.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	st, err := tap.State()
	if err != nil {
		t.Fatalf("State: %v (suite %s, %s)", err, tls.CipherSuiteName(tc.ConnectionState().CipherSuite), tls.VersionName(tc.ConnectionState().Version))
	}
	return &carried{raw: raw, tap: tap, state: st, cs: tc.ConnectionState(), answer: buf[:n]}
}

// readRecord reads one whole record from the raw connection and opens it.
func (c *carried) readRecord(t *testing.T) (byte, []byte) {
	t.Helper()
	_ = c.raw.SetReadDeadline(time.Now().Add(5 * time.Second))
	hdr := make([]byte, HeaderLen)
	if _, err := io.ReadFull(c.raw, hdr); err != nil {
		t.Fatalf("reading a record header: %v", err)
	}
	_, n, _ := Header(hdr)
	rec := append(hdr, make([]byte, n)...)
	if _, err := io.ReadFull(c.raw, rec[HeaderLen:]); err != nil {
		t.Fatalf("reading a record: %v", err)
	}
	typ, out, err := c.state.Open(nil, rec)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return typ, out
}

func (c *carried) send(t *testing.T, typ byte, p []byte) {
	t.Helper()
	if _, err := c.raw.Write(c.state.Seal(nil, typ, p)); err != nil {
		t.Fatal(err)
	}
}

// readAfterAnswer reads what exchange sends after its answer: "one", "two"
// and 10000 bytes (in as many records as the server cuts them into),
// passing over session tickets. It returns "one|two|10000" when all is
// well.
func (c *carried) readAfterAnswer(t *testing.T) string {
	t.Helper()
	var got []string
	big := 0
	for big < 10000 {
		typ, p := c.readRecord(t)
		switch {
		case typ == TypeHandshake:
			if err := c.state.Handshake(p); err != nil {
				t.Fatal(err)
			}
		case typ != TypeApplicationData:
			t.Fatalf("record of type %d, want application data", typ)
		case len(got) < 2:
			got = append(got, string(p))
		default:
			if strings.Trim(string(p), "x") != "" {
				t.Fatalf("%d bytes that are not the 10000 x", len(p))
			}
			big += len(p)
		}
	}
	return fmt.Sprintf("%s|%d", strings.Join(got, "|"), big)
}

// tlsServer runs behave on every connection, as a crypto/tls server.
func tlsServer(t *testing.T, cfg *tls.Config, behave func(*tls.Conn)) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(10 * time.Second))
				behave(c.(*tls.Conn))
			}()
		}
	}()
	return ln.Addr().String()
}

// exchange is the server side of TestCarriedConnectionsTalkToCryptoTLS:
// it reads the request, answers in one record, sends three more records,
// echoes what the client sends after the takeover, and ends with
// close_notify.
func exchange(errc chan<- error) func(*tls.Conn) {
	return func(c *tls.Conn) {
		errc <- func() error {
			buf := make([]byte, 64<<10)
			n, err := c.Read(buf)
			if err != nil || string(buf[:n]) != "request" {
				return errors.Join(errors.New("server: no request"), err)
			}
			for _, m := range []string{"answer", "one", "two", string(bytes.Repeat([]byte("x"), 10000))} {
				if _, err := c.Write([]byte(m)); err != nil {
					return err
				}
			}
			n, err = c.Read(buf)
			if err != nil {
				return err
			}
			if _, err := c.Write(buf[:n]); err != nil {
				return err
			}
			return c.CloseWrite()
		}()
	}
}

// A connection handshaken by crypto/tls and carried on by State talks to a
// crypto/tls server in both directions, in every AEAD suite that can be
// asked of Go's server, and sees its close_notify.
func TestCarriedConnectionsTalkToCryptoTLS(t *testing.T) {
	cases := []struct {
		name   string
		vers   uint16
		suite  uint16
		rsaKey bool
	}{
		{"TLS 1.3", tls.VersionTLS13, 0, false},
		{"TLS 1.2 ECDSA AES-128-GCM", tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, false},
		{"TLS 1.2 ECDSA AES-256-GCM", tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, false},
		{"TLS 1.2 ECDSA ChaCha20-Poly1305", tls.VersionTLS12, tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, false},
		{"TLS 1.2 RSA AES-128-GCM", tls.VersionTLS12, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, true},
		{"TLS 1.2 RSA AES-256-GCM", tls.VersionTLS12, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, true},
		{"TLS 1.2 RSA ChaCha20-Poly1305", tls.VersionTLS12, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			scfg := &tls.Config{Certificates: []tls.Certificate{serverCert(t, tc.rsaKey)}, MaxVersion: tc.vers, MinVersion: tc.vers}
			if tc.suite != 0 {
				scfg.CipherSuites = []uint16{tc.suite}
			}
			errc := make(chan error, 1)
			addr := tlsServer(t, scfg, exchange(errc))
			c := handshakeAndCarry(t, addr, &tls.Config{InsecureSkipVerify: true}, nil)
			if c.cs.Version != tc.vers || tc.suite != 0 && c.cs.CipherSuite != tc.suite {
				t.Fatalf("negotiated %s %s", tls.VersionName(c.cs.Version), tls.CipherSuiteName(c.cs.CipherSuite))
			}
			if string(c.answer) != "answer" {
				t.Fatalf("crypto/tls read %q, want the first record only", c.answer)
			}
			if got := c.readAfterAnswer(t); got != "one|two|10000" {
				t.Fatalf("records carried on read %s, want one|two|10000", got)
			}
			c.send(t, TypeApplicationData, []byte("echo me"))
			if typ, p := c.readRecord(t); typ != TypeApplicationData || string(p) != "echo me" {
				t.Fatalf("echo: type %d %q", typ, p)
			}
			if typ, p := c.readRecord(t); typ != TypeAlert || p[1] != AlertCloseNotify {
				t.Fatalf("after the echo: type %d % x, want close_notify", typ, p)
			}
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Resumed sessions are carried on too: TLS 1.3 logs fresh traffic secrets,
// and for TLS 1.2 the SessionCache remembers the master secret of the full
// handshake, which crypto/tls does not log again.
func TestResumedSessionsAreCarriedOn(t *testing.T) {
	for _, vers := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(vers), func(t *testing.T) {
			scfg := &tls.Config{Certificates: []tls.Certificate{serverCert(t, false)}, MaxVersion: vers}
			errc := make(chan error, 2)
			addr := tlsServer(t, scfg, exchange(errc))
			cache := NewSessionCache(4)
			for i := range 2 {
				c := handshakeAndCarry(t, addr, &tls.Config{InsecureSkipVerify: true}, cache)
				if c.cs.DidResume != (i == 1) {
					t.Fatalf("connection %d: resumed %v", i, c.cs.DidResume)
				}
				if got := c.readAfterAnswer(t); got != "one|two|10000" {
					t.Fatalf("connection %d: records carried on read %s", i, got)
				}
				c.send(t, TypeApplicationData, []byte("echo me"))
				if typ, p := c.readRecord(t); typ != TypeApplicationData || string(p) != "echo me" {
					t.Fatalf("connection %d echo: type %d %q", i, typ, p)
				}
				if err := <-errc; err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

// pairStates is a client's State and a server's mirror of it (the same keys
// with the directions swapped), for tests of what Go's server never sends.
func pairStates(t *testing.T, vers uint16) (client, server *State) {
	t.Helper()
	scfg := &tls.Config{Certificates: []tls.Certificate{serverCert(t, false)}, MaxVersion: vers}
	errc := make(chan error, 1)
	addr := tlsServer(t, scfg, exchange(errc))
	c := handshakeAndCarry(t, addr, &tls.Config{InsecureSkipVerify: true}, nil)
	return c.state, c.state.Peer()
}

// A TLS 1.3 KeyUpdate moves the read key on; one that asks for ours is
// answered with our own, after which both directions use new keys.
func TestKeyUpdate(t *testing.T) {
	client, server := pairStates(t, tls.VersionTLS13)
	rec, err := server.AppendKeyUpdate(nil, true)
	if err != nil {
		t.Fatal(err)
	}
	typ, p, err := client.Open(nil, rec)
	if err != nil || typ != TypeHandshake {
		t.Fatalf("KeyUpdate record: %d %v", typ, err)
	}
	if err := client.Handshake(p); err != nil || !client.UpdateWanted() {
		t.Fatalf("Handshake: %v, update wanted %v", err, client.UpdateWanted())
	}
	if _, p, err := client.Open(nil, server.Seal(nil, TypeApplicationData, []byte("after"))); err != nil || string(p) != "after" {
		t.Fatalf("a record under the server's new key: %q %v", p, err)
	}
	reply, err := client.AppendKeyUpdate(nil, false)
	if err != nil || client.UpdateWanted() {
		t.Fatal(err)
	}
	typ, p, err = server.Open(nil, reply)
	if err != nil || typ != TypeHandshake || !bytes.Equal(p, []byte{msgKeyUpdate, 0, 0, 1, 0}) {
		t.Fatalf("our KeyUpdate: %d % x %v", typ, p, err)
	}
	if err := server.Handshake(p); err != nil || server.UpdateWanted() {
		t.Fatalf("the answer to a KeyUpdate asks for another: %v", err)
	}
	if _, p, err := server.Open(nil, client.Seal(nil, TypeApplicationData, []byte("ours"))); err != nil || string(p) != "ours" {
		t.Fatalf("a record under our new key: %q %v", p, err)
	}
}

// Records that were tampered with, truncated or replayed fail; none of
// them advances the sequence number, and the next good record opens.
func TestBadRecordsFail(t *testing.T) {
	for _, vers := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(vers), func(t *testing.T) {
			client, server := pairStates(t, vers)
			good := server.Seal(nil, TypeApplicationData, []byte("hello"))
			flipped := bytes.Clone(good)
			flipped[len(flipped)-1] ^= 1
			for name, rec := range map[string][]byte{
				"flipped tag":   flipped,
				"truncated":     good[:len(good)-1],
				"header only":   good[:HeaderLen],
				"wrong version": append([]byte{TypeApplicationData, 3, 3, 0, 1}, 0),
			} {
				if _, _, err := client.Open(nil, rec); err == nil {
					t.Errorf("%s: opened", name)
				}
			}
			if _, p, err := client.Open(nil, good); err != nil || string(p) != "hello" {
				t.Fatalf("good record after bad ones: %q %v", p, err)
			}
			if _, _, err := client.Open(nil, good); err == nil {
				t.Fatal("a replayed record opened")
			}
		})
	}
}

// Sealing and opening a record allocate nothing when the buffers have
// room: this is the steady state of every held wss:// connection.
func TestSealAndOpenAllocateNothing(t *testing.T) {
	for _, vers := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		client, server := pairStates(t, vers)
		rec := make([]byte, 0, 256)
		plain := make([]byte, 0, 256)
		msg := []byte("ping")
		allocs := testing.AllocsPerRun(100, func() {
			rec = client.Seal(rec[:0], TypeApplicationData, msg)
			if _, _, err := server.Open(plain[:0], rec); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Fatalf("%s: %.1f allocations per record sealed and opened, want 0", tls.VersionName(vers), allocs)
		}
	}
}
