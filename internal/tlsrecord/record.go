package tlsrecord

import (
	"crypto/cipher"
	"crypto/tls"
	"encoding/binary"
	"errors"
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
	secret []byte // TLS 1.3 traffic secret, for KeyUpdate
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
// len(plaintext)+Overhead more bytes.
func (s *State) Seal(dst []byte, typ byte, plaintext []byte) []byte {
	h := &s.out
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
// has room for the record's length.
func (s *State) Open(dst []byte, record []byte) (typ byte, out []byte, err error) {
	outer, n, ok := Header(record)
	if !ok || len(record) != HeaderLen+n {
		return 0, dst, ErrBadRecord
	}
	if n > MaxRecord-HeaderLen {
		return 0, dst, ErrOverflow
	}
	h := &s.in
	tag := h.aead.Overhead()
	body := record[HeaderLen:]
	start := len(dst)
	switch {
	case s.vers == tls.VersionTLS13:
		if outer != TypeApplicationData {
			return 0, dst, ErrUnexpected
		}
		if n < tag+1 || n > MaxPlaintext+256 {
			return 0, dst, ErrBadRecord
		}
		dst, err = h.aead.Open(dst, s.xorNonce(h), body, record[:HeaderLen])
		if err != nil {
			return 0, dst[:start], ErrBadRecord
		}
		// Strip the padding; the last non-zero byte is the real type.
		i := len(dst) - 1
		for i >= start && dst[i] == 0 {
			i--
		}
		if i < start {
			return 0, dst[:start], ErrUnexpected
		}
		typ, dst = dst[i], dst[:i]
	case s.suite.chacha:
		if n < tag {
			return 0, dst, ErrBadRecord
		}
		dst, err = h.aead.Open(dst, s.xorNonce(h), body, s.aad12(h.seq, outer, n-tag))
		if err != nil {
			return 0, dst[:start], ErrBadRecord
		}
		typ = outer
	default:
		if n < 8+tag {
			return 0, dst, ErrBadRecord
		}
		copy(s.nonce[:4], h.iv[:4])
		copy(s.nonce[4:], body[:8])
		dst, err = h.aead.Open(dst, s.nonce[:], body[8:], s.aad12(h.seq, outer, n-8-tag))
		if err != nil {
			return 0, dst[:start], ErrBadRecord
		}
		typ = outer
	}
	if len(dst)-start > MaxPlaintext {
		return 0, dst[:start], ErrOverflow
	}
	h.seq++
	return typ, dst, nil
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
// asked, while crypto/tls still read), a TLS 1.2 HelloRequest is ignored
// as RFC 5246 §7.4.1.1 lets a client do, and a TLS 1.3 KeyUpdate moves the
// read key on. When a KeyUpdate asks for ours, UpdateWanted says so until
// UpdateOut is called. Anything else is ErrUnexpected.
func (s *State) Handshake(p []byte) error {
	for len(p) > 0 {
		if s.hsLeft == 0 && s.hsHdrN < 4 {
			k := copy(s.hsHdr[s.hsHdrN:], p)
			s.hsHdrN += uint8(k)
			p = p[k:]
			if s.hsHdrN < 4 {
				return nil
			}
			s.hsType = s.hsHdr[0]
			s.hsLeft = int(s.hsHdr[1])<<16 | int(s.hsHdr[2])<<8 | int(s.hsHdr[3])
			switch {
			case s.vers == tls.VersionTLS13 && s.hsType == msgNewSessionTicket:
			case s.vers == tls.VersionTLS13 && s.hsType == msgKeyUpdate && s.hsLeft == 1:
			case s.vers != tls.VersionTLS13 && s.hsType == msgHelloRequest && s.hsLeft == 0:
			default:
				return ErrUnexpected
			}
		}
		if s.hsType == msgKeyUpdate {
			// Its one byte, then the new key: a KeyUpdate must end its
			// record (RFC 8446 §5.1), so nothing may follow.
			if len(p) != 1 || p[0] > 1 {
				return ErrUnexpected
			}
			s.updWant = s.updWant || p[0] == 1
			if err := s.in.update(s.suite); err != nil {
				return err
			}
			p = p[1:]
			s.hsLeft = 0
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
	dst = s.Seal(dst, TypeHandshake, []byte{msgKeyUpdate, 0, 0, 1, req})
	s.updWant = false
	return dst, s.out.update(s.suite)
}

func (h *halfConn) update(su suite) error {
	next, err := su.nextSecret(h.secret)
	if err != nil {
		return err
	}
	a, iv, err := su.trafficKeys(next)
	if err != nil {
		return err
	}
	h.aead, h.iv, h.seq, h.secret = a, iv, 0, next
	return nil
}

// Peer is the protection of the connection's other end: the same keys and
// sequence numbers with the directions swapped. Tests use it to play a
// server that sends what a real one rarely does (alerts, key updates).
func (s *State) Peer() *State {
	return &State{vers: s.vers, suite: s.suite, in: s.out, out: s.in}
}
