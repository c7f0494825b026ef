package metrics

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/wshold/wshold/internal/engine"
	"github.com/wshold/wshold/internal/server"
	"github.com/wshold/wshold/report"
)

// The bar from the issue: scraped during the hold of a real run (engine
// and built-in target on loopback), the alive gauge equals the connections
// held, and the recorder behind the tee saw the same events.
func TestScrapeDuringARunShowsTheHeldConnectionsAlive(t *testing.T) {
	t.Parallel()
	srv, err := server.Start(server.Config{Listen: []string{"127.0.0.1:0"}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	const conns = 300
	m := New()
	metricsURL := serve(t, m)
	start := time.Now()
	rec := report.NewRecorder(start, conns)
	holding := make(chan struct{})
	cfg := engine.Config{
		URL:         &url.URL{Scheme: "ws", Host: srv.Addrs()[0].String(), Path: "/ws"},
		Conns:       conns,
		Rate:        3000,
		Hold:        3 * time.Second,
		OnHoldStart: func(time.Time) { close(holding) },
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m.SetPhase("ramping")
	done := make(chan error, 1)
	go func() {
		_, err := engine.Run(ctx, cfg, start, m.Sink(rec))
		done <- err
	}()

	select {
	case <-holding:
	case err := <-done:
		t.Fatalf("run ended before the hold: %v", err)
	case <-ctx.Done():
		t.Fatal("no hold within a minute")
	}
	m.SetPhase("holding")
	got := scrape(t, metricsURL)
	live := rec.Live()
	if live.Upgraded != conns || live.Alive != conns {
		t.Fatalf("recorder: %+v, want all %d upgraded and alive", live, conns)
	}
	for k, want := range map[string]float64{
		"wshold_connections_alive":           conns,
		"wshold_connections_upgraded_total":  conns,
		"wshold_connections_attempted_total": conns,
		"wshold_handshake_seconds_count":     conns,
		"wshold_phase{phase=holding}":        1,
	} {
		if got[k] != want {
			t.Errorf("%s = %v during the hold, want %v", k, got[k], want)
		}
	}
	if got["wshold_process_open_fds"] < conns {
		t.Errorf("open fds %v, want at least the %d held sockets", got["wshold_process_open_fds"], conns)
	}
	cancel() // the hold need not run out: the scrape was the point
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// Drops seen through the real engine land under their kind: the target
// ends every connection with a bare FIN, as nginx does at its timeout.
func TestScrapeAfterARunCountsDropsByKind(t *testing.T) {
	t.Parallel()
	srv, err := server.Start(server.Config{Listen: []string{"127.0.0.1:0"}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	const conns = 50
	m := New()
	cfg := engine.Config{
		URL:              &url.URL{Scheme: "ws", Host: srv.Addrs()[0].String(), Path: "/ws", RawQuery: "fin_after=200ms"},
		Conns:            conns,
		Rate:             1000,
		Hold:             10 * time.Second,
		EndWhenNoneAlive: true,
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := engine.Run(ctx, cfg, time.Now(), m.Sink(nil)); err != nil {
		t.Fatal(err)
	}
	got := scrape(t, serve(t, m))
	if got["wshold_connections_dropped_total{kind=eof}"] != conns || got["wshold_connections_alive"] != 0 {
		t.Fatalf("dropped eof %v alive %v, want %d and 0", got["wshold_connections_dropped_total{kind=eof}"], got["wshold_connections_alive"], conns)
	}
}
