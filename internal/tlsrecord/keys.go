package tlsrecord

import (
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"hash"

	"golang.org/x/crypto/chacha20poly1305"
)

// ErrUnsupported means the connection's protection cannot be carried on
// here: a suite without AEAD, or secrets that were not seen.
var ErrUnsupported = errors.New("tlsrecord: connection cannot be carried on outside crypto/tls")

// suite is what record protection needs to know of a cipher suite.
type suite struct {
	keyLen int
	hash   crypto.Hash
	chacha bool // ChaCha20-Poly1305 (RFC 7905): a 12-byte IV XORed with the sequence number
}

var suites = map[uint16]suite{
	tls.TLS_AES_128_GCM_SHA256:       {16, crypto.SHA256, false},
	tls.TLS_AES_256_GCM_SHA384:       {32, crypto.SHA384, false},
	tls.TLS_CHACHA20_POLY1305_SHA256: {32, crypto.SHA256, true},

	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256:       {16, crypto.SHA256, false},
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256:         {16, crypto.SHA256, false},
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384:       {32, crypto.SHA384, false},
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384:         {32, crypto.SHA384, false},
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: {32, crypto.SHA256, true},
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256:   {32, crypto.SHA256, true},
	tls.TLS_RSA_WITH_AES_128_GCM_SHA256:               {16, crypto.SHA256, false},
	tls.TLS_RSA_WITH_AES_256_GCM_SHA384:               {32, crypto.SHA384, false},
}

// Suites12 are the TLS 1.2 suites offered by a client whose connections
// are to be carried on: ECDHE with AEAD, in crypto/tls's order. Every TLS
// 1.2 server of the last decade has one of them; a server that has only
// CBC suites fails the handshake (TLS 1.3's suites are all AEAD).
func Suites12() []uint16 {
	return []uint16{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
		tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
		tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
		tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
		tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	}
}

// Carried reports whether a connection with this suite can be carried on
// by State (given its secrets).
func Carried(cipherSuite uint16) bool {
	_, ok := suites[cipherSuite]
	return ok
}

func (s suite) newHash() func() hash.Hash {
	if s.hash == crypto.SHA384 {
		return sha512.New384
	}
	return sha256.New
}

func (s suite) aead(key []byte) (cipher.AEAD, error) {
	if s.chacha {
		return chacha20poly1305.New(key)
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// ivLen is the IV a key schedule yields: 12 bytes for TLS 1.3 and for
// ChaCha20-Poly1305; 4 for TLS 1.2 AES-GCM, whose other 8 nonce bytes
// travel in each record (RFC 5288 §3).
func (s suite) ivLen(vers uint16) int {
	if vers == tls.VersionTLS13 || s.chacha {
		return 12
	}
	return 4
}

// expandLabel is HKDF-Expand-Label of RFC 8446 §7.1, with an empty context.
func expandLabel(h func() hash.Hash, secret []byte, label string, length int) ([]byte, error) {
	full := "tls13 " + label
	info := make([]byte, 0, 2+1+len(full)+1)
	info = binary.BigEndian.AppendUint16(info, uint16(length))
	info = append(info, byte(len(full)))
	info = append(info, full...)
	info = append(info, 0)
	return hkdf.Expand(h, secret, string(info), length)
}

// trafficKeys derives a TLS 1.3 key and IV from a traffic secret
// (RFC 8446 §7.3). The key is wiped once the AEAD has it.
func (s suite) trafficKeys(secret []byte) (cipher.AEAD, [12]byte, error) {
	var iv [12]byte
	key, err := expandLabel(s.newHash(), secret, "key", s.keyLen)
	if err != nil {
		return nil, iv, err
	}
	defer clear(key)
	ivb, err := expandLabel(s.newHash(), secret, "iv", 12)
	if err != nil {
		return nil, iv, err
	}
	copy(iv[:], ivb)
	clear(ivb)
	a, err := s.aead(key)
	return a, iv, err
}

// nextSecret is the traffic secret after a KeyUpdate (RFC 8446 §7.2).
func (s suite) nextSecret(secret []byte) ([]byte, error) {
	return expandLabel(s.newHash(), secret, "traffic upd", s.hash.Size())
}

// prf12 is the TLS 1.2 PRF (RFC 5246 §5): P_hash with the suite's hash.
func prf12(h func() hash.Hash, secret []byte, label string, seed []byte, length int) []byte {
	labelSeed := append([]byte(label), seed...)
	out := make([]byte, 0, length)
	mac := hmac.New(h, secret)
	mac.Write(labelSeed)
	a := mac.Sum(nil) // A(1)
	for len(out) < length {
		mac.Reset()
		mac.Write(a)
		mac.Write(labelSeed)
		out = mac.Sum(out)
		mac.Reset()
		mac.Write(a)
		a = mac.Sum(a[:0])
	}
	return out[:length]
}

// keyBlock12 expands a TLS 1.2 master secret into the client's and the
// server's write keys and IVs (RFC 5246 §6.3; AEAD suites have no MAC
// keys), all slices of kb, which the caller wipes once it is done.
func (s suite) keyBlock12(master, clientRandom, serverRandom []byte) (kb, clientKey, serverKey, clientIV, serverIV []byte) {
	ivLen := s.ivLen(tls.VersionTLS12)
	seed := append(append([]byte{}, serverRandom...), clientRandom...)
	kb = prf12(s.newHash(), master, "key expansion", seed, 2*s.keyLen+2*ivLen)
	rest := kb
	clientKey, rest = rest[:s.keyLen], rest[s.keyLen:]
	serverKey, rest = rest[:s.keyLen], rest[s.keyLen:]
	clientIV, rest = rest[:ivLen], rest[ivLen:]
	serverIV = rest[:ivLen]
	return
}
