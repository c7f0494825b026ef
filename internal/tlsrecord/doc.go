// Package tlsrecord carries a TLS connection on after crypto/tls has done
// its handshake: it seals and opens the connection's records with the keys
// that handshake agreed, so that an epoll loop can hold a wss:// connection
// as it holds a plain one — a descriptor and a few hundred bytes of key
// state, no goroutine, no tls.Conn, no buffer, and no allocation per record.
//
// Why not keep the tls.Conn: a tls.Conn can be driven by readiness over a
// non-blocking adapter (a temporary read error is not sticky), but every
// record it reads allocates (crypto/tls's readFromUntil hands bytes.Buffer
// an atLeastReader that escapes), and each one keeps its record buffers,
// its certificates and its handshake state for the life of the connection.
//
// How: the handshake runs in crypto/tls over a Tap, a net.Conn wrapper
// that never returns bytes past the end of the record crypto/tls is
// reading, so that crypto/tls holds nothing unread when it is set aside.
// The traffic secrets come from crypto/tls's documented key log
// (Config.KeyLogWriter) of that one connection, wiped once the keys are
// derived; the hello randoms a TLS 1.2 key block needs are read off the
// wire. Every record crypto/tls still reads or writes after the handshake
// is opened again by the Tap, so that State goes on at the right sequence
// numbers and with any KeyUpdate crypto/tls handled. Record protection is
// the AEAD constructions of RFC 8446 §5 and RFC 5246 §6.2.3.3 / RFC 7905,
// with crypto/aes, crypto/cipher and x/crypto's ChaCha20-Poly1305.
//
// What it cannot carry (State returns ErrUnsupported): suites without AEAD
// (TLS 1.2 CBC), which a client that is to carry its connections on
// therefore does not offer (Suites12), and a resumed TLS 1.2 session whose
// master secret was not seen (crypto/tls logs no key for it; SessionCache
// remembers the one of the full handshake).
package tlsrecord
