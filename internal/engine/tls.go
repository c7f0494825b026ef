package engine

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
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
		kind, code := e.readTLS(tc, io.MultiReader(bytes.NewReader(early), conn))
		now := e.now()
		tc.mu.Lock()
		ours := tc.closing
		last := tc.lastFrame
		tc.mu.Unlock()
		if !ours && !e.closing.Load() {
			e.sink.Dropped(event.Dropped{AtNs: now, AgeNs: now - tc.upgradedAt, IdleNs: now - last,
				Kind: kind, CloseCode: code, Pinging: tc.pinging})
			e.dropped(i)
		}
		conn.Close()
		e.tlsMu.Lock()
		delete(e.tlsConns, tc)
		e.tlsMu.Unlock()
	}()
}

// readTLS reads frames until the connection ends and says how it ended.
func (e *engine) readTLS(tc *tlsConn, r io.Reader) (event.DropKind, uint16) {
	var pingSentAt int64
	nextPing := time.Now().Add(e.cfg.Ping)
	payload := make([]byte, maxControlPayload)
	for {
		if tc.pinging {
			_ = tc.conn.SetReadDeadline(nextPing)
		}
		h, err := ws.ReadHeader(r)
		if err != nil {
			if tc.pinging && isTimeout(err) {
				now := e.now()
				if pingSentAt != 0 && now-pingSentAt > int64(e.cfg.PongTimeout) {
					return event.PongTimeout, 0
				}
				tc.write(ws.OpPing, nil, now)
				if pingSentAt == 0 {
					pingSentAt = now
				}
				nextPing = time.Now().Add(e.cfg.Ping)
				continue
			}
			return endKind(err), 0
		}
		now := e.now()
		if h.Masked || h.Rsv != 0 {
			tc.write(ws.OpClose, closePayload(1002), now)
			return event.ProtocolError, 0
		}
		if !h.OpCode.IsControl() {
			if h.Length > e.cfg.MaxFrame || !h.OpCode.IsData() && h.OpCode != ws.OpContinuation {
				tc.write(ws.OpClose, closePayload(1002), now)
				return event.ProtocolError, 0
			}
			tc.touch(now)
			if _, err := io.CopyN(io.Discard, r, h.Length); err != nil {
				return endKind(err), 0
			}
			continue
		}
		if !h.Fin || h.Length > maxControlPayload {
			tc.write(ws.OpClose, closePayload(1002), now)
			return event.ProtocolError, 0
		}
		p := payload[:h.Length]
		if _, err := io.ReadFull(r, p); err != nil {
			return endKind(err), 0
		}
		// A close frame is the drop, not traffic before it: the drop's
		// idle time is the silence that preceded it.
		if h.OpCode != ws.OpClose {
			tc.touch(now)
		}
		switch h.OpCode {
		case ws.OpPing:
			tc.write(ws.OpPong, p, now)
		case ws.OpPong:
			pingSentAt = 0
		case ws.OpClose:
			code := uint16(1005)
			if len(p) >= 2 {
				code = binary.BigEndian.Uint16(p)
			}
			if len(p) == 1 || (len(p) >= 2 && !validCloseCode(code)) {
				tc.write(ws.OpClose, closePayload(1002), now)
				return event.ProtocolError, 0
			}
			tc.write(ws.OpClose, closePayload(code), now)
			return event.CloseFrame, code
		default:
			tc.write(ws.OpClose, closePayload(1002), now)
			return event.ProtocolError, 0
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
