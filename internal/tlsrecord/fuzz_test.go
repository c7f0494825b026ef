package tlsrecord

import (
	"bytes"
	"crypto/tls"
	"errors"
	"testing"
)

// Whatever a hostile server sends after the handshake — records of any
// bytes, which almost never authenticate, and, sealed with its real keys,
// any content of any type: post-handshake messages cut anywhere, alerts,
// padding, KeyUpdates — State neither panics nor gives out more than a
// record may hold, never touches the bytes before dst's end, and a record
// that fails leaves the sequence number where it was. And the two ends
// never fall out of step: a record the server sealed with its keys of the
// moment is refused for what it says, never for failing authentication,
// whatever KeyUpdates went before it (and whichever side asked).

// fuzzSuites are the protections FuzzRecords picks from by its first byte.
var fuzzSuites = []struct {
	vers  uint16
	suite uint16
}{
	{tls.VersionTLS13, tls.TLS_AES_128_GCM_SHA256},
	{tls.VersionTLS13, tls.TLS_CHACHA20_POLY1305_SHA256},
	{tls.VersionTLS13, tls.TLS_AES_256_GCM_SHA384},
	{tls.VersionTLS12, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256},
	{tls.VersionTLS12, tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256},
}

// fixedPair is a client's protection and its server's, from fixed secrets
// (no handshake: a fuzz run makes thousands a second).
func fixedPair(t testing.TB, vers, cipherSuite uint16) (client, server *State) {
	su := suites[cipherSuite]
	c := &State{vers: vers, suite: su}
	var err error
	if vers == tls.VersionTLS13 {
		n := su.hash.Size()
		c.out.secret, c.in.secret = bytes.Repeat([]byte{1}, n), bytes.Repeat([]byte{2}, n)
		if c.out.aead, c.out.iv, err = su.trafficKeys(c.out.secret); err != nil {
			t.Fatal(err)
		}
		if c.in.aead, c.in.iv, err = su.trafficKeys(c.in.secret); err != nil {
			t.Fatal(err)
		}
		return c, c.Peer()
	}
	_, ck, sk, civ, siv := su.keyBlock12(bytes.Repeat([]byte{3}, 48), bytes.Repeat([]byte{4}, 32), bytes.Repeat([]byte{5}, 32))
	if c.out.aead, err = su.aead(ck); err != nil {
		t.Fatal(err)
	}
	if c.in.aead, err = su.aead(sk); err != nil {
		t.Fatal(err)
	}
	copy(c.out.iv[:], civ)
	copy(c.in.iv[:], siv)
	c.out.seq, c.in.seq = 1, 1
	return c, c.Peer()
}

// fuzzOps are what the input's operation bytes ask of the server.
const (
	opRaw      = iota // any bytes as a record
	opSealed          // content of any type, sealed with the server's keys
	opTampered        // the same, one bit flipped on the way
	opCount
)

// take cuts n bytes off the front of *p (fewer if it has fewer).
func take(p *[]byte, n int) []byte {
	n = min(n, len(*p))
	b := (*p)[:n]
	*p = (*p)[n:]
	return b
}

func FuzzRecords(f *testing.F) {
	f.Add([]byte{0, opSealed, TypeApplicationData, 0, 0, 5, 'h', 'e', 'l', 'l', 'o'})
	f.Add([]byte{0, opSealed, TypeHandshake, 0, 0, 5, msgKeyUpdate, 0, 0, 1, 1, opSealed, TypeApplicationData, 0, 0, 1, 'x'})
	f.Add([]byte{1, opSealed, TypeHandshake, 0, 0, 2, msgNewSessionTicket, 0, opSealed, TypeHandshake, 0, 0, 4, 0, 1, 9, 9})
	f.Add([]byte{3, opSealed, TypeAlert, 0, 0, 2, 1, AlertUserCanceled, opSealed, TypeAlert, 0, 0, 2, 1, AlertCloseNotify})
	f.Add([]byte{4, opSealed, TypeHandshake, 0, 0, 4, msgHelloRequest, 0, 0, 0, opTampered, TypeApplicationData, 7, 0, 3, 'a', 'b', 'c'})
	f.Add([]byte{2, opRaw, 0, 30, TypeApplicationData, 3, 3, 0, 25, 1, 2, 3})
	f.Add([]byte{0, opSealed, TypeApplicationData, 0x40, 0x40, 0x01})
	base := make([][2]*State, len(fuzzSuites))
	for i, s := range fuzzSuites {
		base[i][0], base[i][1] = fixedPair(f, s.vers, s.suite)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		pick := base[int(data[0])%len(base)]
		data = data[1:]
		// Each run gets copies with secrets of their own: KeyUpdates
		// wipe the secrets they leave.
		client, server := pick[0].Peer().Peer(), pick[1].Peer().Peer()
		carry := []byte("carried")
		dst := make([]byte, len(carry), len(carry)+MaxRecord)
		for len(data) > 0 {
			op := take(&data, 1)[0] % opCount
			if op == opRaw {
				n := 0
				for _, b := range take(&data, 2) {
					n = n<<8 | int(b)
				}
				rec := take(&data, n)
				copy(dst, carry)
				seq := client.in.seq
				typ, out, err := client.Open(dst, rec)
				checkOpened(t, dst, out, carry, err)
				if err != nil {
					if client.in.seq != seq {
						t.Fatalf("a record that failed moved the sequence number from %d to %d", seq, client.in.seq)
					}
					return // the connection ends here
				}
				if !act(t, client, server, typ, out[len(carry):]) {
					return
				}
				continue
			}
			hdr := take(&data, 4)
			if len(hdr) < 4 {
				return
			}
			typ, flip, n := hdr[0], int(hdr[1]), int(hdr[2])<<8|int(hdr[3])
			content := take(&data, n)
			var rec []byte
			if server.vers == tls.VersionTLS13 {
				// Any inner type and padding, as a server may seal them:
				// the padding's length is what is left of n.
				inner := append(bytes.Clone(content), typ)
				inner = append(inner, make([]byte, n-len(content))...)
				if len(inner)+server.out.aead.Overhead() > 0xffff {
					return
				}
				rec = server.sealInner(inner)
			} else {
				if len(content)+8+server.out.aead.Overhead() > 0xffff {
					return
				}
				rec = server.Seal(nil, typ, content)
			}
			seq := client.in.seq
			if op == opTampered {
				rec[flip%len(rec)] ^= 1 << (flip % 8)
			}
			copy(dst, carry)
			gotTyp, out, err := client.Open(dst, rec)
			checkOpened(t, dst, out, carry, err)
			if op == opTampered && err == nil {
				// Every byte of a record is authenticated or checked: the
				// header (TLS 1.3's additional data; TLS 1.2's type and
				// length in its, its version compared), the explicit
				// nonce, the ciphertext and the tag.
				t.Fatalf("a record with a bit flipped (byte %d) opened", flip%len(rec))
			}
			if err != nil {
				if client.in.seq != seq {
					t.Fatalf("a record that failed moved the sequence number from %d to %d", seq, client.in.seq)
				}
				if op == opSealed && errors.Is(err, ErrBadRecord) {
					t.Fatalf("a record the server sealed (type %d, %d bytes, %d of padding) failed authentication: the ends are out of step", typ, len(content), n-len(content))
				}
				return
			}
			// In TLS 1.3 a type of 0 is padding, and the content's last
			// non-zero byte is taken for the type.
			if typ != 0 || server.vers == tls.VersionTLS12 {
				if gotTyp != typ || !bytes.Equal(out[len(carry):], content) {
					t.Fatalf("type %d, %q sealed; type %d, %q opened", typ, content, gotTyp, out[len(carry):])
				}
			}
			if !act(t, client, server, gotTyp, out[len(carry):]) {
				return
			}
		}
	})
}

// checkOpened holds Open to its promises: the bytes before dst's end are
// untouched, no record gives out more than MaxPlaintext bytes, and a
// record that fails gives out none.
func checkOpened(t *testing.T, dst, out, carry []byte, err error) {
	t.Helper()
	if !bytes.Equal(out[:len(carry)], carry) || !bytes.Equal(dst[:len(carry)], carry) {
		t.Fatalf("the bytes before dst's end were changed: %q", out[:len(carry)])
	}
	if len(out)-len(carry) > MaxPlaintext {
		t.Fatalf("a record gave out %d bytes", len(out)-len(carry))
	}
	if err != nil && len(out) != len(carry) {
		t.Fatalf("a record that failed (%v) gave out %d bytes", err, len(out)-len(carry))
	}
}

// act does with an opened record's content what the engine does, keeping
// the server in step: a KeyUpdate the client took moves the server's
// write key on too, and one the client answers is opened by the server.
// It returns false when the connection ends.
func act(t *testing.T, client, server *State, typ byte, p []byte) bool {
	t.Helper()
	switch typ {
	case TypeApplicationData:
		return true
	case TypeAlert:
		_, end, ok := client.Alert(p)
		return ok && !end
	case TypeHandshake:
		gen := client.in.aead
		if err := client.Handshake(p); err != nil {
			return false
		}
		if client.in.aead != gen {
			if err := server.out.update(server.suite); err != nil {
				t.Fatal(err)
			}
		}
		if client.UpdateWanted() {
			rec, err := client.AppendKeyUpdate(nil, false)
			if err != nil {
				t.Fatal(err)
			}
			typ, q, err := server.Open(nil, rec)
			if err != nil || typ != TypeHandshake {
				t.Fatalf("the client's answering KeyUpdate: type %d, %v", typ, err)
			}
			if err := server.Handshake(q); err != nil || server.UpdateWanted() {
				t.Fatalf("the client's answering KeyUpdate: %v (asks for one: %v)", err, server.UpdateWanted())
			}
			if client.UpdateWanted() {
				t.Fatal("the KeyUpdate answered is still wanted")
			}
		}
		return true
	}
	return false
}
