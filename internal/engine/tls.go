package engine

import (
	"encoding/binary"
	"errors"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/wshold/wshold/internal/event"
)

// tlsConn holds one wss:// connection. TLS state lives inside crypto/tls,
// so the socket cannot be handed to an epoll loop the way plain ws:// ones
// are: each wss connection keeps one goroutine blocked in Read, and uses
// read deadlines for its ping schedule. That costs a few KiB per connection
// instead of a table entry — the price of TLS, stated in the README.
type tlsConn struct {
	conn       net.Conn
	mu         sync.Mutex // serialises writes and the closing flag
	closing    bool
	pinging    bool
	upgradedAt int64
	lastFrame  int64 // guarded by mu
}

func (e *engine) holdTLS(conn net.Conn, i int, upgradedAt int64, early []byte) {
	tc := &tlsConn{conn: conn, pinging: e.cfg.pings(i), upgradedAt: upgradedAt, lastFrame: upgradedAt}
	e.tlsMu.Lock()
	closing := e.closing.Load()
	e.tlsConns[tc] = struct{}{}
	e.tlsMu.Unlock()
	if closing {
		tc.sendClose()
	}
	e.tlsWG.Add(1)
	go func() {
		defer e.tlsWG.Done()
		kind, code, rule := e.readTLS(tc, early)
		now := e.now()
		tc.mu.Lock()
		ours := tc.closing
		last := tc.lastFrame
		tc.mu.Unlock()
		if !ours && !e.closing.Load() {
			e.sink.Dropped(event.Dropped{AtNs: now, AgeNs: now - tc.upgradedAt, IdleNs: now - last,
				Kind: kind, CloseCode: code, Rule: rule, Pinging: tc.pinging})
			e.dropped(i)
		}
		conn.Close()
		e.tlsMu.Lock()
		delete(e.tlsConns, tc)
		e.tlsMu.Unlock()
	}()
}

// readTLS reads frames until the connection ends and says how it ended.
// early is what the server sent behind its 101. The frames go through
// nextFrame, as the loops' do.
func (e *engine) readTLS(tc *tlsConn, early []byte) (event.DropKind, uint16, event.Rule) {
	var st frameState
	var pingSentAt int64
	nextPing := time.Now().Add(e.cfg.Ping)
	// Big enough for what arrived with the 101, and for an incomplete
	// control frame kept in front of the next read.
	buf := make([]byte, max(16<<10, len(early)+carryCap))
	have := copy(buf, early)
	for {
		p := buf[:have]
	frames:
		for len(p) > 0 {
			f, n := nextFrame(&st, p)
			now := e.now()
			switch f.kind {
			case frameMore:
				break frames
			case frameBad:
				tc.write(ws.OpClose, closePayload(f.code), now)
				return event.ProtocolError, 0, f.rule
			case frameData:
				tc.touch(now)
			case framePing:
				tc.write(ws.OpPong, f.payload, now)
			case framePong:
				tc.touch(now)
				pingSentAt = 0
			case frameClose:
				// A close frame is the drop, not traffic before it.
				tc.write(ws.OpClose, f.payload[:min(len(f.payload), 2)], now)
				return event.CloseFrame, f.code, event.RuleNone
			}
			p = p[n:]
		}
		have = copy(buf, p)
		if tc.pinging {
			_ = tc.conn.SetReadDeadline(nextPing)
		}
		n, err := tc.conn.Read(buf[have:])
		have += n
		switch {
		case n > 0 || err == nil:
		case tc.pinging && isTimeout(err):
			now := e.now()
			if pingSentAt != 0 && now-pingSentAt > int64(e.cfg.PongTimeout) {
				return event.PongTimeout, 0, event.RuleNone
			}
			tc.write(ws.OpPing, nil, now)
			if pingSentAt == 0 {
				pingSentAt = now
			}
			nextPing = time.Now().Add(e.cfg.Ping)
		default:
			return endKind(err), 0, event.RuleNone
		}
	}
}

func endKind(err error) event.DropKind {
	if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return event.Reset
	}
	return event.EOF
}

func closePayload(code uint16) []byte {
	b := make([]byte, 2)
	binary.BigEndian.PutUint16(b, code)
	return b
}

func (tc *tlsConn) touch(now int64) {
	tc.mu.Lock()
	tc.lastFrame = now
	tc.mu.Unlock()
}

func (tc *tlsConn) write(op ws.OpCode, p []byte, now int64) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	_ = tc.conn.SetWriteDeadline(time.Now().Add(2 * time.Second))
	_ = wsutil.WriteClientMessage(tc.conn, op, p)
	if op != ws.OpClose { // closing is not traffic that re-arms an idle timer
		tc.lastFrame = now
	}
}

func (tc *tlsConn) sendClose() {
	tc.mu.Lock()
	tc.closing = true
	_ = tc.conn.SetWriteDeadline(time.Now().Add(2 * time.Second))
	_ = wsutil.WriteClientMessage(tc.conn, ws.OpClose, closePayload(1000))
	tc.mu.Unlock()
}

func (e *engine) closeTLS() {
	e.tlsMu.Lock()
	conns := make([]*tlsConn, 0, len(e.tlsConns))
	for tc := range e.tlsConns {
		conns = append(conns, tc)
	}
	e.tlsMu.Unlock()
	for _, tc := range conns {
		tc.sendClose()
	}
}

func (e *engine) forceCloseTLS() int {
	e.tlsMu.Lock()
	defer e.tlsMu.Unlock()
	for tc := range e.tlsConns {
		tc.conn.Close()
	}
	return len(e.tlsConns)
}
