package server

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"syscall"
	"testing"
	"time"

	"github.com/gobwas/ws"
)

// Each scripted misbehaviour, as the client sees it.
func TestScriptedMisbehaviourAfterTheUpgrade(t *testing.T) {
	t.Parallel()
	srv, addr := startServer(t, Config{})

	t.Run("close=1001&after sends a close frame, then closes TCP after the answer", func(t *testing.T) {
		t.Parallel()
		c := dial(t, addr, "/?close=1001&after=50ms")
		if code := c.expectClose(); code != 1001 {
			t.Fatalf("close code %d, want 1001", code)
		}
		c.send(ws.OpClose, true, ws.NewCloseFrameBody(1001, ""))
		if err := c.expectEnd(); err != io.EOF {
			t.Errorf("after answering the close: %v, want EOF", err)
		}
	})
	t.Run("close without an answer from the client still ends", func(t *testing.T) {
		t.Parallel()
		c := dial(t, addr, "/?close=4000")
		if code := c.expectClose(); code != 4000 {
			t.Fatalf("close code %d, want 4000", code)
		}
		start := time.Now()
		if err := c.expectEnd(); err != io.EOF {
			t.Errorf("got %v, want EOF after the grace", err)
		}
		if d := time.Since(start); d < closeGrace/2 {
			t.Errorf("closed %v after the close frame; the client should get about %v to answer", d, closeGrace)
		}
	})
	t.Run("closecode=999 sends an invalid code", func(t *testing.T) {
		t.Parallel()
		c := dial(t, addr, "/?closecode=999")
		if code := c.expectClose(); code != 999 {
			t.Errorf("close code %d, want 999", code)
		}
	})
	t.Run("fin_after closes TCP without a close frame", func(t *testing.T) {
		t.Parallel()
		c := dial(t, addr, "/?fin_after=50ms")
		if err := c.expectEnd(); err != io.EOF {
			t.Errorf("got %v, want EOF", err)
		}
	})
	t.Run("rst_after resets TCP", func(t *testing.T) {
		t.Parallel()
		c := dial(t, addr, "/?rst_after=50ms")
		if err := c.expectEnd(); !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("got %v, want ECONNRESET", err)
		}
	})
	t.Run("ping pings this connection", func(t *testing.T) {
		t.Parallel()
		c := dial(t, addr, "/?ping=20ms")
		for range 3 {
			if f := c.frame(); f.Header.OpCode != ws.OpPing {
				t.Fatalf("got %v, want ping", f.Header.OpCode)
			}
		}
	})
	t.Run("bigframe announces 2^62 bytes", func(t *testing.T) {
		t.Parallel()
		c := dial(t, addr, "/?bigframe=1")
		if h := c.header(); h.Length != 1<<62 || h.OpCode != ws.OpBinary {
			t.Errorf("header %+v, want binary with length 2^62", h)
		}
		// Frames are no longer separable; the client gives up.
		c.nc.Close()
		waitFor(t, "the server to let go", func() bool { return srv.Stats().Closed > 0 })
	})
	t.Run("badopcode sends opcode 0x3", func(t *testing.T) {
		t.Parallel()
		c := dial(t, addr, "/?badopcode=1")
		if h := c.header(); h.OpCode != 0x3 {
			t.Errorf("opcode %v, want 0x3", h.OpCode)
		}
		// The client refuses it with 1002; the server completes the close.
		c.send(ws.OpClose, true, ws.NewCloseFrameBody(1002, ""))
		if code := c.expectClose(); code != 1002 {
			t.Errorf("close answered with %d, want 1002", code)
		}
	})
	t.Run("rsv sets RSV1", func(t *testing.T) {
		t.Parallel()
		c := dial(t, addr, "/?rsv=1")
		if h := c.header(); !h.Rsv1() || h.OpCode != ws.OpText {
			t.Errorf("header %+v, want text with RSV1", h)
		}
	})
	t.Run("masked sends a masked frame", func(t *testing.T) {
		t.Parallel()
		c := dial(t, addr, "/?masked=1")
		f := c.frame()
		if !f.Header.Masked {
			t.Fatalf("header %+v, want masked", f.Header)
		}
		ws.Cipher(f.Payload, f.Header.Mask, 0)
		if string(f.Payload) != "masked" {
			t.Errorf("payload %q", f.Payload)
		}
	})
	t.Run("flood sends for as long as the client reads", func(t *testing.T) {
		t.Parallel()
		c := dial(t, addr, "/?flood=1")
		for i := range 2000 { // 8 MiB: many times the socket buffers
			f := c.frame()
			if f.Header.OpCode != ws.OpBinary || len(f.Payload) != 4096 {
				t.Fatalf("frame %d: %v %d bytes, want 4 KiB binary", i, f.Header.OpCode, len(f.Payload))
			}
			if i == 100 {
				time.Sleep(50 * time.Millisecond) // stall: the server must wait, then resume
			}
		}
		// Pings are still answered in the stream.
		c.send(ws.OpPing, true, []byte("still there?"))
		for range 10000 {
			if f := c.frame(); f.Header.OpCode == ws.OpPong {
				return
			}
		}
		t.Error("no pong within 10000 frames")
	})
}

func TestScriptedMisbehaviourInsteadOfTheUpgrade(t *testing.T) {
	t.Parallel()
	_, addr := startServer(t, Config{})
	dialErr := func(q string) error {
		_, err := tryDial(addr, q)
		return err
	}

	t.Run("badaccept", func(t *testing.T) {
		t.Parallel()
		if err := dialErr("/?badaccept=1"); !errors.Is(err, ws.ErrHandshakeBadSecAccept) {
			t.Errorf("dial: %v, want %v", err, ws.ErrHandshakeBadSecAccept)
		}
	})
	t.Run("noupgradehdr", func(t *testing.T) {
		t.Parallel()
		if err := dialErr("/?noupgradehdr=1"); !errors.Is(err, ws.ErrHandshakeBadUpgrade) {
			t.Errorf("dial: %v, want %v", err, ws.ErrHandshakeBadUpgrade)
		}
	})
	t.Run("status", func(t *testing.T) {
		t.Parallel()
		var se ws.StatusError
		if err := dialErr("/?status=503"); !errors.As(err, &se) || int(se) != 503 {
			t.Errorf("dial: %v, want status 503", err)
		}
	})
	t.Run("garbage", func(t *testing.T) {
		t.Parallel()
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		_ = nc.SetDeadline(time.Now().Add(patience))
		io.WriteString(nc, upgradeRequest("/?garbage=1"))
		got, err := io.ReadAll(nc)
		if err != nil || !bytes.Equal(got, garbage) {
			t.Errorf("read %q, %v; want the garbage bytes, then EOF", got, err)
		}
		if _, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(got)), nil); err == nil {
			t.Error("the garbage parses as HTTP")
		}
	})
	t.Run("noupgrade never answers but holds the connection", func(t *testing.T) {
		t.Parallel()
		own, addr := startServer(t, Config{})
		nc, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		io.WriteString(nc, upgradeRequest("/?noupgrade=1"))
		_ = nc.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		var ne net.Error
		if n, err := nc.Read(make([]byte, 1)); n != 0 || !errors.As(err, &ne) || !ne.Timeout() {
			t.Errorf("read %d bytes, %v; want nothing until the deadline", n, err)
		}
		if st := own.Stats(); st.Open != 1 || st.Upgraded != 0 {
			t.Errorf("stats %v, want the connection held (open 1) and not upgraded", st)
		}
		nc.Close()
		waitFor(t, "the server to let go of it", func() bool { return own.Stats().Closed == 1 })
	})
}

func TestParseMode(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		query   string
		want    *mode
		wantErr string
	}{
		{"", nil, ""},
		{"token=abc&room=1", nil, ""},
		{"close=1001&after=2s", &mode{action: actClose, closeCode: 1001, after: 2 * time.Second}, ""},
		{"closecode=999", &mode{action: actClose, closeCode: 999}, ""},
		{"flood=1&ping=1s&fin_after=5s", &mode{action: actFlood, ping: time.Second, finAfter: 5 * time.Second}, ""},
		{"rst_after=500ms", &mode{rstAfter: 500 * time.Millisecond}, ""},
		{"push=250ms", &mode{push: 250 * time.Millisecond}, ""},
		{"bigframe=true", &mode{action: actBigFrame}, ""},
		{"badopcode=1", &mode{action: actBadOpcode}, ""},
		{"rsv=1", &mode{action: actRSV}, ""},
		{"masked=1", &mode{action: actMasked}, ""},
		{"masked=0", nil, ""},
		{"noupgrade=1", &mode{answer: ansNoUpgrade}, ""},
		{"badaccept=1", &mode{answer: ansBadAccept}, ""},
		{"noupgradehdr=1", &mode{answer: ansNoUpgradeHdr}, ""},
		{"garbage=1", &mode{answer: ansGarbage}, ""},
		{"status=403", &mode{answer: ansStatus, status: 403}, ""},

		{"close=999", nil, `bad query parameter close="999": want a number from 1000 to 4999`},
		{"close=1005", nil, `bad query parameter close="1005": want a code an endpoint may send`},
		{"closecode=70000", nil, `bad query parameter closecode="70000": want a number from 0 to 65535`},
		{"status=101", nil, `bad query parameter status="101": want a number from 200 to 599`},
		{"flood=maybe", nil, `bad query parameter flood="maybe": want 1 or 0`},
		{"ping=0s", nil, `bad query parameter ping="0s": want a positive duration`},
		{"push=0", nil, `bad query parameter push="0": want a positive duration`},
		{"after=2s", nil, "after= needs an action"},
		{"flood=1&masked=1", nil, "query parameters flood, masked conflict: choose one action"},
		{"fin_after=1s&rst_after=1s", nil, "fin_after and rst_after conflict"},
		{"garbage=1&status=500", nil, "query parameters garbage, status conflict"},
		{"ping=x&status=1", nil, `bad query parameter ping="x": want a positive duration like 2s or 500ms; bad query parameter status="1"`},
	} {
		t.Run(tc.query, func(t *testing.T) {
			q, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			got, err := parseMode(q)
			if tc.wantErr != "" {
				if err == nil || !bytes.Contains([]byte(err.Error()), []byte(tc.wantErr)) {
					t.Errorf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("error %v", err)
			}
			if (got == nil) != (tc.want == nil) || (got != nil && *got != *tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
