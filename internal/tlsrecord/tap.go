package tlsrecord

import (
	"bytes"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"net"
	"sync"
)

// Tap is the net.Conn a tls.Client handshakes over when its connection is
// to be carried on by State. It reads no further than the end of the
// record crypto/tls is reading, so that crypto/tls never holds bytes of a
// later record, keeps the hello randoms and the connection's key log, and
// from the end of the handshake follows every record crypto/tls still
// reads or writes with the protection State will carry on: their sequence
// numbers, and any KeyUpdate crypto/tls handles meanwhile. Use it for one
// connection: NewTap, Config (the client's tls.Config for it), the
// handshake, HandshakeDone, any reads and writes through the tls.Conn,
// then State. Reads and writes through the tls.Conn may not run at once.
type Tap struct {
	net.Conn

	in, out counter

	mu  sync.Mutex // the key log is written from crypto/tls
	log map[string][]byte

	// For a TLS 1.2 resumption: the session offered, and with it the
	// master secret (see SessionCache).
	cache   *SessionCache
	offered *sessionEntry

	// After the handshake: st is the client's protection, whose reading
	// half follows the records crypto/tls reads; mirror is the server's
	// view of it, whose reading half follows the records crypto/tls
	// writes (our writing half). err is why they cannot be carried on.
	st, mirror *State
	scratch    []byte
	err        error
}

// errFollow means the records crypto/tls exchanged after the handshake did
// not open with the keys taken from its key log: carrying the connection
// on would fail on its first record.
var errFollow = errors.New("tlsrecord: the records after the handshake do not open with the keys taken from crypto/tls")

// NewTap wraps c.
func NewTap(c net.Conn) *Tap { return &Tap{Conn: c} }

// Config returns a copy of base that logs this connection's keys to the
// Tap and resumes sessions from cache alone (none when it is nil): a
// session resumed from another cache could not be carried on in TLS 1.2.
func (t *Tap) Config(base *tls.Config, cache *SessionCache) *tls.Config {
	c := base.Clone()
	c.KeyLogWriter = keyLog{t}
	c.ClientSessionCache = nil
	if cache != nil {
		t.cache = cache
		c.ClientSessionCache = cacheView{cache, t}
	}
	return c
}

// HandshakeDone marks the end of the handshake, whose outcome cs is: the
// traffic keys are derived, the key log is wiped, and records from here on
// are followed with those keys. An error is kept for State to return.
func (t *Tap) HandshakeDone(cs tls.ConnectionState) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.st, t.err = t.derive(cs)
	for _, secret := range t.log {
		clear(secret)
	}
	t.log = nil
	if t.err != nil {
		t.st = nil
		return
	}
	t.mirror = t.st.Peer()
	t.in.follow = t.followIn
	t.out.follow = t.followOut
}

// derive makes the connection's protection at the end of the handshake
// from the key log, or says why it cannot be carried on. The secrets it
// keeps are copies: the log is wiped.
func (t *Tap) derive(cs tls.ConnectionState) (*State, error) {
	su, ok := suites[cs.CipherSuite]
	if !ok {
		return nil, ErrUnsupported
	}
	s := &State{vers: cs.Version, suite: su}
	switch cs.Version {
	case tls.VersionTLS13:
		cs, ss := t.log["CLIENT_TRAFFIC_SECRET_0"], t.log["SERVER_TRAFFIC_SECRET_0"]
		if cs == nil || ss == nil {
			return nil, ErrUnsupported
		}
		var err error
		if s.out.aead, s.out.iv, err = su.trafficKeys(cs); err != nil {
			return nil, err
		}
		if s.in.aead, s.in.iv, err = su.trafficKeys(ss); err != nil {
			return nil, err
		}
		s.out.secret, s.in.secret = bytes.Clone(cs), bytes.Clone(ss)
	case tls.VersionTLS12:
		master := t.log["CLIENT_RANDOM"]
		if cs.DidResume {
			master = nil
			if t.offered != nil {
				master = t.offered.master
			}
		}
		if master == nil || !t.out.helloSeen || !t.in.helloSeen {
			return nil, ErrUnsupported
		}
		kb, ck, sk, civ, siv := su.keyBlock12(master, t.out.random[:], t.in.random[:])
		defer clear(kb)
		var err error
		if s.out.aead, err = su.aead(ck); err != nil {
			return nil, err
		}
		if s.in.aead, err = su.aead(sk); err != nil {
			return nil, err
		}
		copy(s.out.iv[:], civ)
		copy(s.in.iv[:], siv)
		// Each side's Finished was the first record under these keys.
		s.out.seq, s.in.seq = 1, 1
	default:
		return nil, ErrUnsupported
	}
	return s, nil
}

// Read never returns bytes past the end of the current record.
func (t *Tap) Read(p []byte) (int, error) {
	if want := t.in.want(); len(p) > want {
		p = p[:want]
	}
	n, err := t.Conn.Read(p)
	t.in.feed(p[:n])
	return n, err
}

func (t *Tap) Write(p []byte) (int, error) {
	n, err := t.Conn.Write(p)
	t.out.feed(p[:n])
	return n, err
}

// followIn opens a record crypto/tls read after the handshake, to count it
// and to follow the server's KeyUpdates (and note one that asks for ours).
func (t *Tap) followIn(rec []byte) { t.follow(t.st, rec) }

// followOut opens a record crypto/tls wrote after the handshake, to count
// it and to follow our KeyUpdates: crypto/tls answers one that asked for
// it, and then no answer is owed any more.
func (t *Tap) followOut(rec []byte) {
	if t.follow(t.mirror, rec) == TypeHandshake {
		t.st.updWant = false
	}
}

func (t *Tap) follow(s *State, rec []byte) byte {
	if t.err != nil {
		return 0
	}
	typ, p, err := s.Open(t.scratch[:0], rec)
	t.scratch = p[:0]
	if err == nil && typ == TypeHandshake {
		err = s.Handshake(p)
	}
	if err != nil {
		t.err = errFollow
	}
	return typ
}

// State is the connection's record protection from here on: the traffic
// keys of the latest generation and the sequence numbers of the records
// crypto/tls protected. Call it once reads and writes through the
// tls.Conn are over, and only after a Read that left nothing buffered in
// it (every read through the Tap stops at a record's end, so a Read into a
// buffer of MaxPlaintext bytes takes a record whole). ErrUnsupported means
// the suite or the secrets are not there; errFollow that the records
// crypto/tls exchanged did not open with them.
func (t *Tap) State() (*State, error) {
	switch {
	case t.err != nil:
		return nil, t.err
	case t.st == nil || t.in.partial() || t.out.partial():
		return nil, ErrUnsupported
	}
	s := t.st
	clear(s.out.secret) // the mirror followed it, with a copy
	s.out = t.mirror.in
	clear(t.mirror.out.secret)
	t.st, t.mirror, t.scratch = nil, nil, nil
	t.in.follow, t.out.follow, t.in.rec, t.out.rec = nil, nil, nil, nil
	return s, nil
}

// Forget wipes what the Tap holds of the connection's secrets when the
// connection is not carried on — a failed handshake, a refused upgrade, a
// State that failed — and lets go of its buffers. After State there is
// nothing left to wipe; Forget may still be called.
func (t *Tap) Forget() {
	t.mu.Lock()
	for _, secret := range t.log {
		clear(secret)
	}
	t.log = nil
	t.mu.Unlock()
	for _, s := range []*State{t.st, t.mirror} {
		if s != nil {
			s.Clear()
		}
	}
	t.st, t.mirror, t.scratch = nil, nil, nil
	t.in.follow, t.out.follow, t.in.rec, t.out.rec = nil, nil, nil, nil
	if t.err == nil {
		t.err = ErrUnsupported
	}
}

// master is the TLS 1.2 master secret of this connection, once known: the
// key log's for a full handshake, the offered session's for a resumption.
func (t *Tap) master() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	if m := t.log["CLIENT_RANDOM"]; m != nil {
		return bytes.Clone(m)
	}
	if t.offered != nil {
		return t.offered.master
	}
	return nil
}

// keyLog takes crypto/tls's key log lines for one connection: "LABEL
// <client random> <secret>" in hex (the NSS key log format). They stay in
// the Tap until HandshakeDone, which wipes them.
type keyLog struct{ t *Tap }

func (k keyLog) Write(p []byte) (int, error) {
	f := bytes.Fields(p)
	if len(f) != 3 {
		return len(p), nil
	}
	// Decoded in place of a string conversion, which would leave one more
	// copy of the secret to the garbage collector. The line itself is
	// crypto/tls's and cannot be wiped.
	secret := make([]byte, hex.DecodedLen(len(f[2])))
	if _, err := hex.Decode(secret, f[2]); err != nil {
		clear(secret)
		return len(p), nil
	}
	k.t.mu.Lock()
	defer k.t.mu.Unlock()
	if k.t.log == nil {
		k.t.log = map[string][]byte{}
	}
	clear(k.t.log[string(f[0])])
	k.t.log[string(f[0])] = secret
	return len(p), nil
}

// counter follows the records in one direction of the stream: where the
// current one is, and the hello's random (the 32 bytes after the
// handshake header and version of the first handshake record). Once follow
// is set, each whole record is handed to it.
type counter struct {
	hdr       [HeaderLen]byte
	hdrN      int
	left      int // body bytes of the current record still to come
	off       int // body bytes of the current record seen
	records   int
	random    [32]byte
	helloSeen bool

	follow func(rec []byte)
	rec    []byte
}

// want is how many bytes may be read without passing the current record.
func (c *counter) want() int {
	if c.hdrN < HeaderLen {
		return HeaderLen - c.hdrN
	}
	return c.left
}

func (c *counter) partial() bool { return c.hdrN != 0 }

func (c *counter) feed(p []byte) {
	for len(p) > 0 {
		if c.hdrN < HeaderLen {
			k := copy(c.hdr[c.hdrN:], p)
			c.keep(p[:k])
			c.hdrN += k
			p = p[k:]
			if c.hdrN == HeaderLen {
				_, c.left, _ = Header(c.hdr[:])
				c.off = 0
				c.end()
			}
			continue
		}
		k := min(c.left, len(p))
		if c.records == 0 && c.hdr[0] == TypeHandshake {
			// Handshake header (4) and version (2), then the random.
			for i := range k {
				if at := c.off + i - 6; at >= 0 && at < 32 {
					c.random[at] = p[i]
					c.helloSeen = c.helloSeen || at == 31
				}
			}
		}
		c.keep(p[:k])
		c.off += k
		c.left -= k
		p = p[k:]
		c.end()
	}
}

// keep collects the current record's bytes while records are followed. A
// record is at most 5 + 65535 bytes, and crypto/tls reads no body longer
// than it accepts.
func (c *counter) keep(p []byte) {
	if c.follow != nil {
		c.rec = append(c.rec, p...)
	}
}

// end closes the current record once its body is all there.
func (c *counter) end() {
	if c.hdrN == HeaderLen && c.left == 0 {
		c.records++
		c.hdrN = 0
		if c.follow != nil {
			c.follow(c.rec)
			c.rec = c.rec[:0]
		}
	}
}
