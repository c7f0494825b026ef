package tlsrecord

import (
	"crypto/tls"
	"sync"
)

// SessionCache is a tls.ClientSessionCache for connections handshaken over
// a Tap (Tap.Config). Like a browser's, it keeps the latest session per
// server; unlike tls.NewLRUClientSessionCache, it also keeps each TLS 1.2
// session's master secret, which crypto/tls does not log when it resumes
// one, so that resumed TLS 1.2 connections can be carried on too.
type SessionCache struct {
	mu  sync.Mutex
	max int
	m   map[string]*sessionEntry
}

type sessionEntry struct {
	cs     *tls.ClientSessionState
	master []byte // TLS 1.2 only
}

// NewSessionCache keeps the sessions of at most max servers.
func NewSessionCache(max int) *SessionCache {
	return &SessionCache{max: max, m: map[string]*sessionEntry{}}
}

// cacheView is one connection's view of the cache: it tells the Tap which
// session was offered, and files the connection's master secret with the
// session it stores.
type cacheView struct {
	c *SessionCache
	t *Tap
}

func (v cacheView) Get(key string) (*tls.ClientSessionState, bool) {
	v.c.mu.Lock()
	e := v.c.m[key]
	v.c.mu.Unlock()
	if e == nil {
		return nil, false
	}
	v.t.mu.Lock()
	v.t.offered = e
	v.t.mu.Unlock()
	return e.cs, true
}

func (v cacheView) Put(key string, cs *tls.ClientSessionState) {
	v.c.mu.Lock()
	defer v.c.mu.Unlock()
	if cs == nil {
		delete(v.c.m, key)
		return
	}
	if _, ok := v.c.m[key]; !ok && len(v.c.m) >= v.c.max {
		for k := range v.c.m {
			delete(v.c.m, k)
			break
		}
	}
	v.c.m[key] = &sessionEntry{cs: cs, master: v.t.master()}
}
