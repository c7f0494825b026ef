package labtest

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// echoBackend is a minimal WebSocket server for these tests: it upgrades what
// it can (gobwas answers anything else with a 4xx/5xx), echoes data frames
// and answers pings, and holds idle connections as long as the peer does.
// It returns its loopback address; the cleanup closes every connection.
func echoBackend(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("backend listen: %v", err)
	}
	var (
		mu    sync.Mutex
		conns = map[net.Conn]bool{}
		wg    sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[c] = true
			mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() {
					mu.Lock()
					delete(conns, c)
					mu.Unlock()
					c.Close()
				}()
				if _, err := ws.Upgrade(c); err != nil {
					return
				}
				for {
					msg, op, err := wsutil.ReadClientData(c)
					if err != nil {
						return
					}
					if err := wsutil.WriteServerMessage(c, op, msg); err != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// dial opens one WebSocket to url; a non-101 answer comes back as
// ws.StatusError.
func dial(t *testing.T, url string) (net.Conn, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, br, _, err := ws.Dialer{Timeout: 10 * time.Second}.Dial(ctx, url)
	if err != nil {
		return nil, err
	}
	if br != nil {
		// The server spoke first right after the 101; this test backend
		// never does, so the buffered bytes would be a protocol error.
		ws.PutReader(br)
		conn.Close()
		return nil, errors.New("unexpected data right after the 101")
	}
	t.Cleanup(func() { conn.Close() })
	return conn, nil
}

// mustEcho checks that a message goes through the tunnel and comes back.
func mustEcho(t *testing.T, conn net.Conn, msg string) {
	t.Helper()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	defer conn.SetDeadline(time.Time{})
	if err := wsutil.WriteClientText(conn, []byte(msg)); err != nil {
		t.Fatalf("write through the proxy: %v", err)
	}
	got, err := wsutil.ReadServerText(conn)
	if err != nil {
		t.Fatalf("read the echo through the proxy: %v", err)
	}
	if string(got) != msg {
		t.Fatalf("echo = %q, want %q", got, msg)
	}
}

// waitEnd reads from an idle connection until the proxy ends it, and says
// how: "close NNNN" for a close frame, "eof" for a FIN without one, or the
// read error. It fails the test if nothing happens within limit.
func waitEnd(t *testing.T, conn net.Conn, limit time.Duration) string {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(limit))
	_, _, err := wsutil.ReadServerData(conn)
	var closed wsutil.ClosedError
	switch {
	case err == nil:
		t.Fatalf("got a data frame on an idle connection")
	case errors.As(err, &closed):
		return "close " + strconv.Itoa(int(closed.Code))
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "eof"
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the proxy did not end the connection within %v", limit)
	}
	return err.Error()
}
