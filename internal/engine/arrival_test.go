package engine

import (
	"net"
	"net/url"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wshold/wshold/internal/event"
)

// A loop that gets to a FIN (or a close frame) late — a busy machine — still
// dates the drop when it arrived, by the kernel's clock.
func TestDropsAreDatedWhenTheyArrivedNotWhenTheyWereRead(t *testing.T) {
	for _, tc := range []struct {
		name string
		end  func(c net.Conn)
		kind event.DropKind
	}{
		{"FIN", func(c net.Conn) { c.Close() }, event.EOF},
		{"close frame", func(c net.Conn) { _, _ = c.Write([]byte{0x88, 0x02, 0x03, 0xE9}) }, event.CloseFrame},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			client, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			server, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer server.Close()
			fd, err := detach(client)
			if err != nil {
				t.Fatal(err)
			}
			s := &sink{}
			cfg := Config{}
			cfg.URL, _ = url.Parse("ws://127.0.0.1/")
			_ = cfg.withDefaults()
			e := &engine{cfg: cfg, start: time.Now(), sink: s, conns: make([]connState, fd+1)}
			l, err := newLoop(e, 0)
			if err != nil {
				t.Fatal(err)
			}
			e.loops = []*loop{l}
			defer func() { l.stop() }()
			l.add(fd, e.now(), false, nil)

			sent := e.now()
			tc.end(server)
			time.Sleep(400 * time.Millisecond) // the loop is "busy"
			l.mu.Lock()
			l.readable(fd, unix.EPOLLIN, e.now())
			l.mu.Unlock()

			if len(s.dropped) != 1 || s.dropped[0].Kind != tc.kind {
				t.Fatalf("drops %+v, want one %s", s.dropped, tc.kind.Name(1001))
			}
			late := time.Duration(s.dropped[0].AtNs - sent)
			// The kernel counts in jiffies (1–4 ms), so the date may
			// come out a few ms early.
			if late < -10*time.Millisecond || late > 100*time.Millisecond {
				t.Fatalf("drop dated %v after it was sent; want within a few ms, not the 400 ms it waited", late)
			}
		})
	}
}
