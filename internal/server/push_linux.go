package server

import (
	"sync"
	"time"

	"github.com/gobwas/ws"

	"github.com/wshold/wshold/internal/stamp"
)

// Pushes and broadcasts are timestamped binary messages (internal/stamp)
// that the server sends on its own: a push to one connection on that
// connection's schedule, a broadcast to every connection at once. The
// stamp carries the server's wall clock, so a client on the same host
// measures the one-way delay, and for a broadcast the fan-out: how long
// after the broadcast began each connection got its copy.

// broadcast is one broadcast handed to the loops: its number and the
// moment it began (Unix ns), the same in every copy.
type broadcast struct {
	seq uint32
	at  int64
}

func (l *loop) pushEvery(c *conn) time.Duration {
	if c.muted {
		return 0
	}
	if c.mode != nil && c.mode.push > 0 {
		return c.mode.push
	}
	return l.srv.cfg.PushEvery
}

// pushable reports whether c may get a push or a broadcast copy now; one
// that does not read (outCap bytes waiting) is skipped and counted.
func (l *loop) pushable(c *conn) bool {
	if c.closed || c.muted || c.closeSent || c.poisoned {
		return false
	}
	if len(c.out) >= outCap {
		l.skipped.Add(1)
		return false
	}
	return true
}

func (l *loop) sendPush(c *conn) {
	if !l.pushable(c) {
		return
	}
	l.push = timedFrame(l.push, stamp.Push, c.pushSeq, time.Now().UnixNano(), l.srv.cfg.PushSize)
	c.pushSeq++
	if l.send(c, l.push) {
		l.pushed.Add(1)
	}
}

func (l *loop) sendBroadcast(c *conn) {
	if !l.pushable(c) {
		return
	}
	if l.send(c, l.bcast) {
		l.broadcasts.Add(1)
	}
}

// requestBroadcast hands b to the loop; false if the loop has stopped.
func (l *loop) requestBroadcast(b broadcast) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return false
	}
	l.bcasts = append(l.bcasts, b)
	l.wake()
	return true
}

// sendBroadcasts writes the broadcasts handed to the loop to each of its
// connections, in descriptor order. A connection in the middle of an echo
// gets its copy when the echoed frame ends (frames cannot interleave).
func (l *loop) sendBroadcasts() {
	l.mu.Lock()
	bs := l.bcasts
	l.bcasts = nil
	l.mu.Unlock()
	for _, b := range bs {
		l.bcast = timedFrame(l.bcast, stamp.Broadcast, b.seq, b.at, l.srv.cfg.PushSize)
		for _, c := range l.conns {
			if c == nil {
				continue
			}
			if c.midEcho() {
				c.bcastDue = true
				continue
			}
			l.sendBroadcast(c)
		}
	}
}

// timedFrame builds, in buf, one final unmasked binary frame of size
// payload bytes: the stamp, then the pattern.
func timedFrame(buf []byte, k stamp.Kind, seq uint32, at int64, size int) []byte {
	hl := 2
	switch {
	case size > 0xffff:
		hl = 10
	case size > 125:
		hl = 4
	}
	if cap(buf) < hl+size {
		buf = make([]byte, hl+size)
	}
	buf = buf[:hl+size]
	putServerHeader(buf[:hl], true, ws.OpBinary, uint64(size))
	stamp.Put(buf[hl:], k, seq, at)
	stamp.Fill(buf[hl+stamp.Size:], stamp.Key(seq))
	return buf
}

// broadcaster starts a broadcast every cfg.BroadcastEvery until stop is
// closed: it stamps the moment and hands it to every loop.
type broadcaster struct {
	stop chan struct{}
	wg   sync.WaitGroup
}

func (s *Server) startBroadcaster() {
	if s.cfg.BroadcastEvery <= 0 {
		return
	}
	b := &broadcaster{stop: make(chan struct{})}
	s.bcaster = b
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		t := time.NewTicker(s.cfg.BroadcastEvery)
		defer t.Stop()
		var seq uint32
		for {
			select {
			case <-b.stop:
				return
			case <-t.C:
			}
			bc := broadcast{seq: seq, at: time.Now().UnixNano()}
			seq++
			for _, l := range s.loops {
				l.requestBroadcast(bc)
			}
		}
	}()
}

func (s *Server) stopBroadcaster() {
	if s.bcaster == nil {
		return
	}
	close(s.bcaster.stop)
	s.bcaster.wg.Wait()
}
