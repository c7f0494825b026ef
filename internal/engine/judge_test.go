package engine

import (
	"net/url"
	"testing"
	"time"

	"github.com/wshold/wshold/internal/handshake"
	"github.com/wshold/wshold/internal/handshake/handshaketest"
)

// Every path that dials asks the one judge: the loops' ws:// handshake, a
// goroutine's ws://, and wss:// decide each answer of the shared table as
// the table says (check runs the same table: internal/check).
func TestEveryPathDecidesEachAnswerAsTheJudge(t *testing.T) {
	t.Parallel()
	plain := handshaketest.NewServer(t, false)
	secure := handshaketest.NewServer(t, true)
	paths := []struct {
		name string
		srv  *handshaketest.Server
		cfg  Config
	}{
		{"ws:// in the loops", plain, Config{}},
		{"ws:// on a goroutine", plain, Config{blocking: true}},
		{"wss://", secure, Config{TLS: secure.ClientTLS()}},
	}
	for i, tc := range handshaketest.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			for _, p := range paths {
				cfg := p.cfg
				cfg.URL, _ = url.Parse(p.srv.URL(i))
				cfg.Conns, cfg.Hold, cfg.HandshakeTimeout = 1, 10*time.Millisecond, 5*time.Second
				cfg.Subprotocols = tc.Protocols
				s, _ := run(t, cfg)
				switch {
				case tc.Cause == "" && (len(s.upgraded) != 1 || len(s.failed) != 0):
					t.Errorf("%s: upgraded %d, failures %+v; want an upgrade", p.name, len(s.upgraded), s.failed)
				case tc.Cause == "":
				case len(s.failed) != 1:
					t.Errorf("%s: upgraded %d, failures %+v; want one failure", p.name, len(s.upgraded), s.failed)
				default:
					wantCause := tc.Cause
					if wantCause == handshake.CauseHTTP {
						wantCause = "http"
					}
					if f := s.failed[0]; f.Cause != wantCause || f.Status != tc.Status {
						t.Errorf("%s: failure %+v; want cause %s status %d", p.name, f, wantCause, tc.Status)
					}
				}
			}
		})
	}
}

// BenchmarkJudgeA101 is the cost of judging one typical answer (nginx's
// 101, in one read), paid once per handshake.
func BenchmarkJudgeA101(b *testing.B) {
	key := "dGhlIHNhbXBsZSBub25jZQ=="
	resp := []byte("HTTP/1.1 101 Switching Protocols\r\nServer: nginx/1.22.1\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\n" +
		"Connection: upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: " + handshake.Accept(key) + "\r\n\r\n")
	b.ReportAllocs()
	for b.Loop() {
		a := answer{offer: handshake.Offer{Key: key}}
		if done, _, _, err := a.add(resp); !done || err != nil {
			b.Fatal(done, err)
		}
	}
}
