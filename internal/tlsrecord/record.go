package tlsrecord

import (
	"bytes"
	"crypto/cipher"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"math"
)

// Record content types (RFC 8446 §5.1).
const (
	TypeChangeCipherSpec = 20
	TypeAlert            = 21
	TypeHandshake        = 22
	TypeApplicationData  = 23
)

// Alert descriptions a caller tells apart (RFC 8446 §6).
const (
	AlertCloseNotify            = 0
	AlertUnexpectedMessage      = 10
	AlertBadRecordMAC           = 20
	AlertRecordOverflow         = 22
	AlertDecodeError            = 50
	AlertUserCanceled           = 90
	AlertNoRenegotiation        = 100
	alertLevelWarning      byte = 1
	alertLevelFatal        byte = 2
)

const (
	// HeaderLen is a record header's length: type, version, length.
	HeaderLen = 5
	// MaxPlaintext is the most one record carries (RFC 8446 §5.1).
	MaxPlaintext = 16384
	// MaxRecord is the longest record a peer may send, header included:
	// TLS 1.2 allows 2048 bytes of expansion (RFC 5246 §6.2.3), TLS 1.3
	// 256. A reader must be able to hold one whole record to open it.
	MaxRecord = HeaderLen + MaxPlaintext + 2048
	// Overhead is the most Seal adds to a plaintext: header, explicit
	// nonce (TLS 1.2 GCM), inner content type (TLS 1.3) and tag.
	Overhead = HeaderLen + 8 + 1 + 16

	// maxCiphertext13 is the longest TLS 1.3 record body (RFC 8446 §5.2).
	maxCiphertext13 = MaxPlaintext + 256
	// keyUpdateAfter is how many records Seal protects with one TLS 1.3
	// key before it updates it: RFC 8446 §5.5 allows AES-GCM 2^24.5
	// full-size records per key (ChaCha20-Poly1305 more; one rule for
	// all costs a KeyUpdate every 16 million records).
	keyUpdateAfter = 1 << 24
)

var (
	// ErrBadRecord is a record that does not authenticate, or is malformed:
	// the peer must be sent bad_record_mac and the connection ended.
	ErrBadRecord = errors.New("tls: record failed authentication or is malformed")
	// ErrOverflow is a record longer than the protocol allows.
	ErrOverflow = errors.New("tls: record too long")
	// ErrUnexpected is a record or message a client may not receive now.
	ErrUnexpected = errors.New("tls: unexpected message after the handshake")
)

// halfConn is one direction's protection.
type halfConn struct {
	aead   cipher.AEAD
	iv     [12]byte // TLS 1.2 AES-GCM uses the first 4 (the salt)
	seq    uint64
	secret []byte // TLS 1.3 traffic secret, for KeyUpdate; this halfConn's own
}

// State is one connection's record protection, after the handshake. It is
// not safe for concurrent use: one epoll loop owns it.
type State struct {
	vers  uint16
	suite suite
	in    halfConn
	out   halfConn

	// Scratch for a nonce and TLS 1.2's additional data. Kept here
	// rather than on the stack: handed to an AEAD (an interface) it would
	// escape, and cost an allocation per record.
	nonce [12]byte
	aad   [13]byte

	// A post-handshake message spanning records: its header so far and
	// how much of its body is still to come.
	hsHdr   [4]byte
	hsHdrN  uint8
	hsLeft  int
	hsType  byte
	updWant bool // a KeyUpdate asked for ours
}

// Version is the protocol version (tls.VersionTLS12 or tls.VersionTLS13).
func (s *State) Version() uint16 { return s.vers }

// Header reads a record header at the front of p; ok is false while p
// holds less than a header.
func Header(p []byte) (typ byte, length int, ok bool) {
	if len(p) < HeaderLen {
		return 0, 0, false
	}
	return p[0], int(binary.BigEndian.Uint16(p[3:5])), true
}

// xorNonce puts iv XOR seq (RFC 8446 §5.3, RFC 7905 §2) into s.nonce.
func (s *State) xorNonce(h *halfConn) []byte {
	s.nonce = h.iv
	var seq [8]byte
	binary.BigEndian.PutUint64(seq[:], h.seq)
	for i := range seq {
		s.nonce[4+i] ^= seq[i]
	}
	return s.nonce[:]
}

// aad12 is TLS 1.2's additional data: seq, type, version, length.
func (s *State) aad12(seq uint64, typ byte, n int) []byte {
	binary.BigEndian.PutUint64(s.aad[:8], seq)
	s.aad[8] = typ
	s.aad[9], s.aad[10] = 3, 3
	binary.BigEndian.PutUint16(s.aad[11:], uint16(n))
	return s.aad[:]
}

// Seal appends to dst one record of type typ carrying plaintext (at most
// MaxPlaintext bytes). It allocates nothing when dst has room for
// len(plaintext)+Overhead more bytes. In TLS 1.3 a key that has protected
// keyUpdateAfter records is first updated: a KeyUpdate record goes ahead
// of this one (RFC 8446 §5.5).
func (s *State) Seal(dst []byte, typ byte, plaintext []byte) []byte {
	if s.vers == tls.VersionTLS13 && s.out.seq >= keyUpdateAfter {
		var err error
		if dst, err = s.AppendKeyUpdate(dst, false); err != nil {
			// HKDF and the AEAD fail only on lengths the suite fixes.
			panic("tlsrecord: updating a key: " + err.Error())
		}
	}
	return s.seal(dst, typ, plaintext)
}

func (s *State) seal(dst []byte, typ byte, plaintext []byte) []byte {
	h := &s.out
	if h.seq == math.MaxUint64 {
		// TLS 1.2 only (TLS 1.3 updates its keys long before), after
		// 2^64 records: centuries at a billion a second. A nonce must
		// never repeat, so this is no error to return but a stop, as in
		// crypto/tls.
		panic("tlsrecord: sequence number wraparound")
	}
	tag := h.aead.Overhead()
	start := len(dst)
	switch {
	case s.vers == tls.VersionTLS13:
		// The outer type is always application data; the real one follows
		// the content, inside the encryption.
		n := len(plaintext) + 1 + tag
		dst = append(dst, TypeApplicationData, 3, 3, byte(n>>8), byte(n))
		body := len(dst)
		dst = append(dst, plaintext...)
		dst = append(dst, typ)
		dst = h.aead.Seal(dst[:body], s.xorNonce(h), dst[body:], dst[start:body])
	case s.suite.chacha:
		n := len(plaintext) + tag
		dst = append(dst, typ, 3, 3, byte(n>>8), byte(n))
		body := len(dst)
		dst = append(dst, plaintext...)
		dst = h.aead.Seal(dst[:body], s.xorNonce(h), dst[body:], s.aad12(h.seq, typ, len(plaintext)))
	default:
		// AES-GCM: the salt and an explicit nonce, sent in the record;
		// the sequence number is unique, which is all it must be.
		n := 8 + len(plaintext) + tag
		dst = append(dst, typ, 3, 3, byte(n>>8), byte(n))
		dst = binary.BigEndian.AppendUint64(dst, h.seq)
		body := len(dst)
		copy(s.nonce[:4], h.iv[:4])
		copy(s.nonce[4:], dst[body-8:body])
		dst = append(dst, plaintext...)
		dst = h.aead.Seal(dst[:body], s.nonce[:], dst[body:], s.aad12(h.seq, typ, len(plaintext)))
	}
	h.seq++
	return dst
}

// Open authenticates and decrypts one whole record (header included) and
// appends its content to dst; typ is the content's type. record is left
// untouched, so dst may be another buffer. It allocates nothing when dst
// has room for the record's length. A record that fails returns dst as it
// was: none of its bytes are given out.
func (s *State) Open(dst []byte, record []byte) (typ byte, out []byte, err error) {
	outer, n, ok := Header(record)
	if !ok || len(record) != HeaderLen+n {
		return 0, dst, ErrBadRecord
	}
	if n > MaxRecord-HeaderLen {
		return 0, dst, ErrOverflow
	}
	h := &s.in
	if h.seq == math.MaxUint64 {
		// The peer's key protected 2^64 records (TLS 1.2 has no way
		// on; a TLS 1.3 peer had to update it long before).
		return 0, dst, ErrBadRecord
	}
	tag := h.aead.Overhead()
	body := record[HeaderLen:]
	start := len(dst)
	// The AEADs return nil, not dst, when a record fails to authenticate:
	// what they give is kept apart from dst, which is returned as it came.
	var p []byte
	switch {
	case s.vers == tls.VersionTLS13:
		// legacy_record_version is not checked (RFC 8446 §5.1): it is
		// authenticated with the rest of the header.
		if outer != TypeApplicationData {
			return 0, dst, ErrUnexpected
		}
		if n > maxCiphertext13 {
			return 0, dst, ErrOverflow
		}
		if n < tag+1 {
			return 0, dst, ErrBadRecord
		}
		if p, err = h.aead.Open(dst, s.xorNonce(h), body, record[:HeaderLen]); err != nil {
			return 0, dst, ErrBadRecord
		}
		if len(p)-start > MaxPlaintext+1 {
			// Padding does not stretch a record: content, type and
			// padding together are at most 2^14 + 1 bytes (RFC 8446
			// §5.4), as crypto/tls holds too.
			return 0, dst, ErrOverflow
		}
		// Strip the padding; the last non-zero byte is the real type.
		i := len(p) - 1
		for i >= start && p[i] == 0 {
			i--
		}
		if i < start {
			return 0, dst, ErrUnexpected
		}
		typ, p = p[i], p[:i]
		// A handshake message split over records may not have other
		// records between its parts (RFC 8446 §5.1).
		if typ != TypeHandshake && s.midMessage() {
			return 0, dst, ErrUnexpected
		}
	case record[1] != 3 || record[2] != 3:
		// TLS 1.2's additional data takes the version as negotiated, not
		// as received: a version other than 1.2's would go unnoticed.
		return 0, dst, ErrBadRecord
	case s.suite.chacha:
		if n < tag {
			return 0, dst, ErrBadRecord
		}
		if p, err = h.aead.Open(dst, s.xorNonce(h), body, s.aad12(h.seq, outer, n-tag)); err != nil {
			return 0, dst, ErrBadRecord
		}
		typ = outer
	default:
		if n < 8+tag {
			return 0, dst, ErrBadRecord
		}
		copy(s.nonce[:4], h.iv[:4])
		copy(s.nonce[4:], body[:8])
		if p, err = h.aead.Open(dst, s.nonce[:], body[8:], s.aad12(h.seq, outer, n-8-tag)); err != nil {
			return 0, dst, ErrBadRecord
		}
		typ = outer
	}
	if len(p)-start > MaxPlaintext {
		return 0, dst, ErrOverflow
	}
	h.seq++
	return typ, p, nil
}

// Alert reads an alert record's content: desc says which alert
// (AlertCloseNotify for an orderly end), and end whether it ends the
// connection. Alerts that do not are passed over, as crypto/tls and
// OpenSSL do: in TLS 1.2 a warning other than close_notify (RFC 5246
// §7.2), in TLS 1.3 user_canceled, which a close_notify follows (RFC 8446
// §6.1). ok is false when p is no alert: not two bytes, or in TLS 1.2 a
// level that is neither warning nor fatal (TLS 1.3 ignores the level).
func (s *State) Alert(p []byte) (desc byte, end, ok bool) {
	if len(p) != 2 {
		return 0, false, false
	}
	level, desc := p[0], p[1]
	switch {
	case desc == AlertCloseNotify:
		return desc, true, s.vers == tls.VersionTLS13 || level == alertLevelWarning || level == alertLevelFatal
	case s.vers == tls.VersionTLS13:
		return desc, desc != AlertUserCanceled, true
	case level == alertLevelWarning:
		return desc, false, true
	case level == alertLevelFatal:
		return desc, true, true
	}
	return desc, false, false
}

// AppendAlert seals an alert: close_notify as a warning, any other as
// fatal.
func (s *State) AppendAlert(dst []byte, desc byte) []byte {
	level := alertLevelFatal
	if desc == AlertCloseNotify {
		level = alertLevelWarning
	}
	return s.Seal(dst, TypeAlert, []byte{level, desc})
}

// Post-handshake message types (RFC 8446 §4, RFC 5246 §7.4).
const (
	msgHelloRequest     = 0
	msgNewSessionTicket = 4
	msgKeyUpdate        = 24
)

// Handshake takes the content of a handshake record received after the
// handshake. Session tickets are passed over (the session was stored, if
// asked, while crypto/tls still read), a TLS 1.2 HelloRequest is passed
// over as RFC 5246 §7.4.1.1 lets a client do (OpenSSL then goes on without
// the renegotiation; a no_renegotiation alert would make it end the
// connection), and a TLS 1.3 KeyUpdate moves the read key on. When a
// KeyUpdate asks for ours, UpdateWanted says so until AppendKeyUpdate is
// called. Anything else is ErrUnexpected: a post-handshake
// CertificateRequest among them, since the client offered no
// post_handshake_auth (RFC 8446 §4.6.2).
func (s *State) Handshake(p []byte) error {
	if len(p) == 0 {
		// Handshake records are never empty (RFC 8446 §5.1).
		return ErrUnexpected
	}
	for len(p) > 0 {
		if s.hsLeft == 0 {
			k := copy(s.hsHdr[s.hsHdrN:], p)
			s.hsHdrN += uint8(k)
			p = p[k:]
			if s.hsHdrN < 4 {
				return nil
			}
			s.hsType = s.hsHdr[0]
			s.hsLeft = int(s.hsHdr[1])<<16 | int(s.hsHdr[2])<<8 | int(s.hsHdr[3])
			switch {
			case s.vers == tls.VersionTLS13 && s.hsType == msgNewSessionTicket && s.hsLeft > 0:
			case s.vers == tls.VersionTLS13 && s.hsType == msgKeyUpdate && s.hsLeft == 1:
			case s.vers != tls.VersionTLS13 && s.hsType == msgHelloRequest && s.hsLeft == 0:
				s.hsHdrN = 0
				continue
			default:
				return ErrUnexpected
			}
			if len(p) == 0 {
				return nil // the body is in the next record
			}
		}
		if s.hsType == msgKeyUpdate {
			// Its one byte must end the record: what follows a KeyUpdate
			// is protected with the new key (RFC 8446 §5.1).
			if len(p) != 1 || p[0] > 1 {
				return ErrUnexpected
			}
			s.updWant = s.updWant || p[0] == 1
			s.hsLeft, s.hsHdrN = 0, 0
			return s.in.update(s.suite)
		}
		k := min(s.hsLeft, len(p))
		s.hsLeft -= k
		p = p[k:]
		if s.hsLeft == 0 {
			s.hsHdrN = 0
		}
	}
	return nil
}

// midMessage reports whether a handshake message has begun and not ended.
func (s *State) midMessage() bool { return s.hsHdrN != 0 }

// UpdateWanted reports whether the peer asked for a KeyUpdate of ours.
func (s *State) UpdateWanted() bool { return s.updWant }

// AppendKeyUpdate seals a KeyUpdate of ours, asking for the peer's if
// ask, and moves our write key on (RFC 8446 §4.6.3): the answer to a
// KeyUpdate that asked for it is one that does not ask.
func (s *State) AppendKeyUpdate(dst []byte, ask bool) ([]byte, error) {
	var req byte
	if ask {
		req = 1
	}
	dst = s.seal(dst, TypeHandshake, []byte{msgKeyUpdate, 0, 0, 1, req})
	s.updWant = false
	return dst, s.out.update(s.suite)
}

// update moves a direction on to the next traffic secret and its keys,
// and wipes the secret it leaves (RFC 8446 §7.2: it SHOULD be deleted).
func (h *halfConn) update(su suite) error {
	next, err := su.nextSecret(h.secret)
	if err != nil {
		return err
	}
	a, iv, err := su.trafficKeys(next)
	if err != nil {
		clear(next)
		return err
	}
	clear(h.secret)
	h.aead, h.iv, h.seq, h.secret = a, iv, 0, next
	return nil
}

// Clear wipes the traffic secrets (TLS 1.3) and lets go of the keys, once
// the connection is over; the State protects nothing after it. The AEADs'
// expanded keys belong to crypto/cipher and x/crypto, which offer no way
// to wipe them: they go with the garbage.
func (s *State) Clear() {
	clear(s.in.secret)
	clear(s.out.secret)
	*s = State{}
}

// Peer is the protection of the connection's other end: the same keys and
// sequence numbers with the directions swapped (and secrets of its own,
// since a KeyUpdate wipes the one it leaves). Tests use it to play a
// server that sends what a real one rarely does (alerts, key updates);
// the Tap, to follow the records crypto/tls writes.
func (s *State) Peer() *State {
	p := &State{vers: s.vers, suite: s.suite, in: s.out, out: s.in}
	p.in.secret, p.out.secret = bytes.Clone(s.out.secret), bytes.Clone(s.in.secret)
	return p
}
