package check

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/wshold/wshold/internal/engine"
	"github.com/wshold/wshold/internal/event"
	"github.com/wshold/wshold/internal/handshake"
	"github.com/wshold/wshold/internal/handshake/handshaketest"
)

// check and run decide every answer of the shared table alike, over ws://
// and wss://: check's cause is run's failure cause (http_N for status N),
// and check says OK exactly when run upgrades.
func TestCheckAndRunAgreeOnEveryAnswer(t *testing.T) {
	t.Parallel()
	plain := handshaketest.NewServer(t, false)
	secure := handshaketest.NewServer(t, true)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, secure.CAPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	for i, tc := range handshaketest.Cases {
		t.Run(tc.Name, func(t *testing.T) {
			t.Parallel()
			want := tc.Cause
			switch tc.Cause {
			case "":
				want = CauseOK
			case handshake.CauseHTTP:
				want = HTTPCause(tc.Status)
			}
			for _, srv := range []*handshaketest.Server{plain, secure} {
				r, err := Run(context.Background(), srv.URL(i), Options{Subprotocols: tc.Protocols, CAFile: ca, Timeout: 5 * time.Second})
				if err != nil {
					t.Fatal(err)
				}
				if r.Cause != want || r.OK != (want == CauseOK) {
					t.Errorf("check %s: %s (%s), want %s", srv.URL(i), r.Cause, r.Verdict, want)
				}
				if got := runOnce(t, srv, i, tc.Protocols); got != want {
					t.Errorf("run %s: %s, want %s", srv.URL(i), got, want)
				}
			}
		})
	}
}

// runOnce runs one connection of the engine against case i and returns its
// outcome in check's terms.
func runOnce(t *testing.T, srv *handshaketest.Server, i int, protocols []string) string {
	t.Helper()
	u, _ := url.Parse(srv.URL(i))
	s := &outcomes{}
	cfg := engine.Config{URL: u, Conns: 1, Hold: 10 * time.Millisecond, HandshakeTimeout: 5 * time.Second,
		Subprotocols: protocols, TLS: srv.ClientTLS()}
	if _, err := engine.Run(context.Background(), cfg, time.Now(), s); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.upgraded == 1 && len(s.failed) == 0:
		return CauseOK
	case s.upgraded == 0 && len(s.failed) == 1 && s.failed[0].Cause == "http":
		return HTTPCause(s.failed[0].Status)
	case s.upgraded == 0 && len(s.failed) == 1:
		return s.failed[0].Cause
	}
	t.Fatalf("upgraded %d, failures %+v", s.upgraded, s.failed)
	return ""
}

type outcomes struct {
	mu       sync.Mutex
	upgraded int
	failed   []event.Failed
}

func (o *outcomes) Upgraded(event.Upgraded) { o.mu.Lock(); o.upgraded++; o.mu.Unlock() }
func (o *outcomes) Failed(e event.Failed)   { o.mu.Lock(); o.failed = append(o.failed, e); o.mu.Unlock() }
func (o *outcomes) Dropped(event.Dropped)   {}
func (o *outcomes) Message(event.Message)   {}
