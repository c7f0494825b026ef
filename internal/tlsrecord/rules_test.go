package tlsrecord

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"math"
	"net"
	"testing"
)

// The rules of RFC 8446 and RFC 5246 a record or a post-handshake message
// from the server can break, each held to by State, and what State keeps
// of its keys. pairStates' server end (a mirror of the client's keys)
// sends what real servers rarely do.

// A TLS 1.2 record whose header names another version does not open: the
// additional data takes the version as negotiated, so the header's would
// otherwise go unchecked.
func TestTLS12RecordOfAnotherVersionFails(t *testing.T) {
	client, server := pairStates(t, tls.VersionTLS12)
	good := server.Seal(nil, TypeApplicationData, []byte("hello"))
	for _, v := range [][2]byte{{3, 1}, {3, 4}, {2, 3}} {
		rec := bytes.Clone(good)
		rec[1], rec[2] = v[0], v[1]
		if _, _, err := client.Open(nil, rec); !errors.Is(err, ErrBadRecord) {
			t.Fatalf("version %d.%d: %v, want ErrBadRecord", v[0], v[1], err)
		}
	}
	if _, p, err := client.Open(nil, good); err != nil || string(p) != "hello" {
		t.Fatalf("the record as sent: %q %v", p, err)
	}
}

// A TLS 1.3 record longer than 2^14 + 256 bytes is a record_overflow
// (RFC 8446 §5.2), before any decryption; and so is one whose content,
// type and padding come to more than 2^14 + 1 bytes (§5.4), however short
// its content. The longest content with its type alone opens.
func TestTLS13RecordOverflow(t *testing.T) {
	client, server := pairStates(t, tls.VersionTLS13)
	long := make([]byte, HeaderLen+maxCiphertext13+1)
	n := maxCiphertext13 + 1
	copy(long, []byte{TypeApplicationData, 3, 3, byte(n >> 8), byte(n)})
	if _, _, err := client.Open(nil, long); !errors.Is(err, ErrOverflow) {
		t.Fatalf("%d bytes: %v, want ErrOverflow", maxCiphertext13+1, err)
	}
	full := append(bytes.Repeat([]byte{'x'}, MaxPlaintext), TypeApplicationData)
	if typ, p, err := client.Open(nil, server.sealInner(full)); err != nil || typ != TypeApplicationData || len(p) != MaxPlaintext {
		t.Fatalf("the longest content: type %d, %d bytes, %v", typ, len(p), err)
	}
	for _, inner := range [][]byte{
		append(bytes.Clone(full), 0),
		append(append([]byte("short"), TypeApplicationData), make([]byte, MaxPlaintext)...),
		append(bytes.Clone(full), make([]byte, 239)...), // the longest record: 2^14 + 256
	} {
		rec := server.sealInner(inner)
		if _, _, err := client.Open(nil, rec); !errors.Is(err, ErrOverflow) {
			t.Fatalf("%d bytes of inner plaintext: %v, want ErrOverflow", len(inner), err)
		}
		client.in.seq++ // in step with the server, which counted it
	}
}

// sealInner seals a TLS 1.3 TLSInnerPlaintext as given: content, type and
// any zeros of padding.
func (s *State) sealInner(inner []byte) []byte {
	h := &s.out
	n := len(inner) + h.aead.Overhead()
	rec := []byte{TypeApplicationData, 3, 3, byte(n >> 8), byte(n)}
	rec = h.aead.Seal(rec, s.xorNonce(h), inner, rec[:HeaderLen])
	h.seq++
	return rec
}

// TLS 1.3 padding is stripped to the last non-zero byte, the content type;
// a record of zeros alone has none and is an unexpected_message (RFC 8446
// §5.4).
func TestTLS13Padding(t *testing.T) {
	client, server := pairStates(t, tls.VersionTLS13)
	inner := append([]byte("data\x00"), TypeApplicationData, 0, 0, 0)
	if typ, p, err := client.Open(nil, server.sealInner(inner)); err != nil || typ != TypeApplicationData || string(p) != "data\x00" {
		t.Fatalf("padded record: type %d %q %v", typ, p, err)
	}
	if _, _, err := client.Open(nil, server.sealInner(make([]byte, 10))); !errors.Is(err, ErrUnexpected) {
		t.Fatalf("padding alone: %v, want ErrUnexpected", err)
	}
}

// In TLS 1.3 a key that has protected 2^24 records is updated before the
// next: Seal puts a KeyUpdate ahead of it (RFC 8446 §5.5), and the peer
// opens both.
func TestSealUpdatesAWornKey(t *testing.T) {
	client, server := pairStates(t, tls.VersionTLS13)
	client.out.seq, server.in.seq = keyUpdateAfter, keyUpdateAfter
	recs := client.Seal(nil, TypeApplicationData, []byte("after"))
	_, n, _ := Header(recs)
	typ, p, err := server.Open(nil, recs[:HeaderLen+n])
	if err != nil || typ != TypeHandshake || !bytes.Equal(p, []byte{msgKeyUpdate, 0, 0, 1, 0}) {
		t.Fatalf("first record: type %d % x %v, want a KeyUpdate", typ, p, err)
	}
	if err := server.Handshake(p); err != nil {
		t.Fatal(err)
	}
	if typ, p, err := server.Open(nil, recs[HeaderLen+n:]); err != nil || typ != TypeApplicationData || string(p) != "after" {
		t.Fatalf("second record: type %d %q %v", typ, p, err)
	}
	if client.out.seq != 1 {
		t.Fatalf("sequence number %d after the update, want 1", client.out.seq)
	}
}

// Sequence numbers never wrap: a TLS 1.2 key that protected 2^64 - 1
// records seals no more (a repeated nonce would give the key away), and
// the peer's opens no more, not even a record made at the last number.
func TestSequenceNumbersNeverWrap(t *testing.T) {
	client, server := pairStates(t, tls.VersionTLS12)
	client.in.seq = math.MaxUint64
	if _, _, err := client.Open(nil, server.sealAt(math.MaxUint64, []byte("x"))); err == nil || client.in.seq != math.MaxUint64 {
		t.Fatalf("a record at the last sequence number: %v, sequence number now %d", err, client.in.seq)
	}
	client.out.seq = math.MaxUint64
	defer func() {
		if recover() == nil {
			t.Fatal("a record sealed at the last sequence number")
		}
	}()
	client.Seal(nil, TypeApplicationData, []byte("x"))
}

// sealAt seals TLS 1.2 application data at sequence number seq, as a peer
// that does not stop there would.
func (s *State) sealAt(seq uint64, p []byte) []byte {
	h := &s.out
	tag := h.aead.Overhead()
	if s.suite.chacha {
		h.seq = seq
		n := len(p) + tag
		rec := []byte{TypeApplicationData, 3, 3, byte(n >> 8), byte(n)}
		return h.aead.Seal(rec, s.xorNonce(h), p, s.aad12(seq, TypeApplicationData, len(p)))
	}
	n := 8 + len(p) + tag
	rec := []byte{TypeApplicationData, 3, 3, byte(n >> 8), byte(n)}
	rec = binary.BigEndian.AppendUint64(rec, seq)
	copy(s.nonce[:4], h.iv[:4])
	copy(s.nonce[4:], rec[HeaderLen:])
	return h.aead.Seal(rec, s.nonce[:], p, s.aad12(seq, TypeApplicationData, len(p)))
}

// A TLS 1.3 handshake message split over records may not have another
// record between its parts (RFC 8446 §5.1).
func TestTLS13HandshakeMessagesAreNotInterleaved(t *testing.T) {
	client, server := pairStates(t, tls.VersionTLS13)
	typ, p, err := client.Open(nil, server.Seal(nil, TypeHandshake, []byte{msgNewSessionTicket, 0}))
	if err != nil || typ != TypeHandshake {
		t.Fatal(err)
	}
	if err := client.Handshake(p); err != nil {
		t.Fatal(err)
	}
	if _, _, err := client.Open(nil, server.Seal(nil, TypeApplicationData, []byte("between"))); !errors.Is(err, ErrUnexpected) {
		t.Fatalf("application data inside a ticket: %v, want ErrUnexpected", err)
	}
}

// Post-handshake messages, each as a server might send it.
func TestPostHandshakeMessages(t *testing.T) {
	cases := []struct {
		name    string
		vers    uint16
		records [][]byte
		ok      bool
		updated bool // the read key moved on
	}{
		{"two tickets in one record", tls.VersionTLS13, [][]byte{{4, 0, 0, 2, 9, 9, 4, 0, 0, 1, 9}}, true, false},
		{"a ticket over three records", tls.VersionTLS13, [][]byte{{4, 0}, {0, 3, 9}, {9, 9}}, true, false},
		{"KeyUpdate", tls.VersionTLS13, [][]byte{{24, 0, 0, 1, 0}}, true, true},
		{"KeyUpdate after a ticket", tls.VersionTLS13, [][]byte{{4, 0, 0, 1, 9, 24, 0, 0, 1, 1}}, true, true},
		{"KeyUpdate, its byte in the next record", tls.VersionTLS13, [][]byte{{24, 0, 0, 1}, {0}}, true, true},
		{"KeyUpdate with bytes behind it", tls.VersionTLS13, [][]byte{{24, 0, 0, 1, 0, 4}}, false, false},
		{"KeyUpdate of two bytes", tls.VersionTLS13, [][]byte{{24, 0, 0, 2, 0, 0}}, false, false},
		{"KeyUpdate asking for 2", tls.VersionTLS13, [][]byte{{24, 0, 0, 1, 2}}, false, false},
		{"an empty ticket", tls.VersionTLS13, [][]byte{{4, 0, 0, 0}}, false, false},
		{"an empty handshake record", tls.VersionTLS13, [][]byte{{}}, false, false},
		{"CertificateRequest", tls.VersionTLS13, [][]byte{{13, 0, 0, 1, 0}}, false, false},
		{"HelloRequest", tls.VersionTLS12, [][]byte{{0, 0, 0, 0}}, true, false},
		{"HelloRequest with a body", tls.VersionTLS12, [][]byte{{0, 0, 0, 1, 0}}, false, false},
		{"a TLS 1.2 ticket after the handshake", tls.VersionTLS12, [][]byte{{4, 0, 0, 1, 9}}, false, false},
		{"KeyUpdate in TLS 1.2", tls.VersionTLS12, [][]byte{{24, 0, 0, 1, 0}}, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			client, server := pairStates(t, tc.vers)
			var err error
			for _, p := range tc.records {
				if err = client.Handshake(p); err != nil {
					break
				}
			}
			if (err == nil) != tc.ok {
				t.Fatalf("Handshake: %v, want ok %v", err, tc.ok)
			}
			if !tc.ok {
				return
			}
			if tc.updated {
				if err := server.out.update(server.suite); err != nil {
					t.Fatal(err)
				}
			}
			if _, p, err := client.Open(nil, server.Seal(nil, TypeApplicationData, []byte("next"))); err != nil || string(p) != "next" {
				t.Fatalf("the next record: %q %v (key updated: %v)", p, err, tc.updated)
			}
		})
	}
}

// What State keeps of its keys: a KeyUpdate wipes the traffic secret it
// leaves (RFC 8446 §7.2), Clear wipes the ones it has, and the Tap wipes
// the key log once the keys are taken from it.
func TestSecretsAreWiped(t *testing.T) {
	client, server := pairStates(t, tls.VersionTLS13)
	old := client.in.secret
	rec, err := server.AppendKeyUpdate(nil, false)
	if err != nil {
		t.Fatal(err)
	}
	_, p, err := client.Open(nil, rec)
	if err != nil {
		t.Fatal(err)
	}
	if err := client.Handshake(p); err != nil {
		t.Fatal(err)
	}
	if !allZero(old) || allZero(client.in.secret) {
		t.Fatalf("after a KeyUpdate: old secret % x, new % x; want the old wiped", old, client.in.secret)
	}
	in, out := client.in.secret, client.out.secret
	client.Clear()
	if !allZero(in) || !allZero(out) || client.in.aead != nil || client.out.aead != nil {
		t.Fatal("Clear left secrets or keys")
	}
}

func TestTapWipesTheKeyLog(t *testing.T) {
	for _, vers := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(vers), func(t *testing.T) {
			scfg := &tls.Config{Certificates: []tls.Certificate{serverCert(t, false)}, MaxVersion: vers}
			errc := make(chan error, 1)
			addr := tlsServer(t, scfg, exchange(errc))
			var logged [][]byte
			tap := dialTap(t, addr, func(tap *Tap) {
				for _, s := range tap.log {
					logged = append(logged, s)
				}
			})
			if len(logged) == 0 {
				t.Fatal("nothing was logged")
			}
			if tap.log != nil {
				t.Fatalf("the key log has %d entries after the handshake", len(tap.log))
			}
			for _, s := range logged {
				if !allZero(s) {
					t.Fatalf("a logged secret was not wiped: % x", s[:4])
				}
			}
		})
	}
}

// A connection that is not carried on — here a handshake that failed on
// the server's certificate, after the handshake secrets were logged, and
// one given up after HandshakeDone — leaves no secret unwiped once the
// Tap is told to Forget it.
func TestTapForgets(t *testing.T) {
	scfg := &tls.Config{Certificates: []tls.Certificate{serverCert(t, false)}, MinVersion: tls.VersionTLS13}
	addr := tlsServer(t, scfg, func(c *tls.Conn) { _ = c.Handshake() })
	raw, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	tap := NewTap(raw)
	if err := tls.Client(tap, tap.Config(&tls.Config{ServerName: "example.com"}, nil)).Handshake(); err == nil {
		t.Fatal("a self-signed certificate was accepted")
	}
	var logged [][]byte
	for _, s := range tap.log {
		logged = append(logged, s)
	}
	if len(logged) == 0 {
		t.Fatal("nothing was logged before the certificate was judged")
	}
	tap.Forget()
	for _, s := range logged {
		if !allZero(s) {
			t.Fatalf("a logged secret was not wiped: % x", s[:4])
		}
	}

	raw2, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer raw2.Close()
	tap = NewTap(raw2)
	tc := tls.Client(tap, tap.Config(&tls.Config{InsecureSkipVerify: true}, nil))
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	tap.HandshakeDone(tc.ConnectionState())
	held := [][]byte{tap.st.in.secret, tap.st.out.secret, tap.mirror.in.secret, tap.mirror.out.secret}
	for _, s := range held {
		if len(s) == 0 || allZero(s) {
			t.Fatal("no traffic secret after HandshakeDone")
		}
	}
	tap.Forget()
	for _, s := range held {
		if !allZero(s) {
			t.Fatalf("a traffic secret was not wiped: % x", s[:4])
		}
	}
	if _, err := tap.State(); err == nil {
		t.Fatal("State after Forget")
	}
}

// dialTap handshakes with addr over a Tap, calls before just before
// HandshakeDone, and returns the Tap.
func dialTap(t *testing.T, addr string, before func(*Tap)) *Tap {
	t.Helper()
	c := handshakeAndCarryWith(t, addr, &tls.Config{InsecureSkipVerify: true}, nil, before)
	return c.tap
}

// A client carried on resumes sessions from its SessionCache alone: a
// cache in the base configuration is not used (a TLS 1.2 session resumed
// from it could not be carried on).
func TestTapResumesFromItsCacheAlone(t *testing.T) {
	base := &tls.Config{ClientSessionCache: tls.NewLRUClientSessionCache(4)}
	if c := NewTap(nil).Config(base, nil); c.ClientSessionCache != nil {
		t.Fatal("the base configuration's session cache is used")
	}
	if c := NewTap(nil).Config(base, NewSessionCache(4)); c.ClientSessionCache == nil {
		t.Fatal("the SessionCache is not used")
	}
	if c := NewTap(nil).Config(base, nil); c.KeyLogWriter == nil || base.KeyLogWriter != nil {
		t.Fatal("the key log goes elsewhere than the Tap")
	}
}

func allZero(p []byte) bool {
	for _, b := range p {
		if b != 0 {
			return false
		}
	}
	return true
}
