package tlsrecord

import (
	"bytes"
	"crypto/tls"
	"encoding/hex"
	"net"
	"sync"
)

// Tap is the net.Conn a tls.Client handshakes over when its connection is
// to be carried on by State. It reads no further than the end of the
// record crypto/tls is reading, so that crypto/tls never holds bytes of a
// later record, counts the records each side protected, and keeps the
// hello randoms and the connection's key log. Use it for one connection:
// NewTap, Config (the client's tls.Config for it), the handshake,
// HandshakeDone, any reads and writes through the tls.Conn, then State.
type Tap struct {
	net.Conn

	in, out counter

	mu  sync.Mutex // the key log is written from crypto/tls
	log map[string][]byte

	hsIn, hsOut int // records counted when the handshake ended

	// For a TLS 1.2 resumption: the session offered, and with it the
	// master secret (see SessionCache).
	cache   *SessionCache
	offered *sessionEntry
}

// NewTap wraps c.
func NewTap(c net.Conn) *Tap { return &Tap{Conn: c} }

// Config returns a copy of base that logs this connection's keys to the
// Tap and, if cache is not nil, resumes sessions from it.
func (t *Tap) Config(base *tls.Config, cache *SessionCache) *tls.Config {
	c := base.Clone()
	c.KeyLogWriter = keyLog{t}
	if cache != nil {
		t.cache = cache
		c.ClientSessionCache = cacheView{cache, t}
	}
	return c
}

// HandshakeDone marks the end of the handshake: records from here on are
// protected with the traffic keys.
func (t *Tap) HandshakeDone() {
	t.hsIn, t.hsOut = t.in.records, t.out.records
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

// State is the connection's record protection from here on: the traffic
// keys and the sequence numbers of the records crypto/tls protected.
// Call it once reads and writes through the tls.Conn are over, and only
// after a Read that left nothing buffered in it (every read through the
// Tap stops at a record's end, so a Read into a buffer of MaxPlaintext
// bytes takes a record whole). ErrUnsupported means the suite or the
// secrets are not there: the caller keeps the tls.Conn.
func (t *Tap) State(cs tls.ConnectionState) (*State, error) {
	su, ok := suites[cs.CipherSuite]
	if !ok || t.in.partial() || t.out.partial() {
		return nil, ErrUnsupported
	}
	s := &State{vers: cs.Version, suite: su}
	t.mu.Lock()
	defer t.mu.Unlock()
	afterIn, afterOut := uint64(t.in.records-t.hsIn), uint64(t.out.records-t.hsOut)
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
		s.out.secret, s.in.secret = cs, ss
		s.out.seq, s.in.seq = afterOut, afterIn
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
		ck, sk, civ, siv := su.keyBlock12(master, t.out.random[:], t.in.random[:])
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
		s.out.seq, s.in.seq = 1+afterOut, 1+afterIn
	default:
		return nil, ErrUnsupported
	}
	return s, nil
}

// master is the TLS 1.2 master secret of this connection, once known: the
// key log's for a full handshake, the offered session's for a resumption.
func (t *Tap) master() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	if m := t.log["CLIENT_RANDOM"]; m != nil {
		return m
	}
	if t.offered != nil {
		return t.offered.master
	}
	return nil
}

// keyLog takes crypto/tls's key log lines for one connection: "LABEL
// <client random> <secret>" in hex (the NSS key log format).
type keyLog struct{ t *Tap }

func (k keyLog) Write(p []byte) (int, error) {
	f := bytes.Fields(p)
	if len(f) == 3 {
		if secret, err := hex.DecodeString(string(f[2])); err == nil {
			k.t.mu.Lock()
			if k.t.log == nil {
				k.t.log = map[string][]byte{}
			}
			k.t.log[string(f[0])] = secret
			k.t.mu.Unlock()
		}
	}
	return len(p), nil
}

// counter follows the records in one direction of the stream: how many
// ended, where the current one is, and the hello's random (the 32 bytes
// after the handshake header and version of the first handshake record).
type counter struct {
	hdr       [HeaderLen]byte
	hdrN      int
	left      int // body bytes of the current record still to come
	off       int // body bytes of the current record seen
	records   int
	random    [32]byte
	helloSeen bool
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
		c.off += k
		c.left -= k
		p = p[k:]
		c.end()
	}
}

// end closes the current record once its body is all there.
func (c *counter) end() {
	if c.hdrN == HeaderLen && c.left == 0 {
		c.records++
		c.hdrN = 0
	}
}
