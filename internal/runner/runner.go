package runner

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/wshold/wshold/internal/engine"
	"github.com/wshold/wshold/internal/event"
	"github.com/wshold/wshold/internal/redact"
	"github.com/wshold/wshold/internal/server"
	"github.com/wshold/wshold/report"
	"github.com/wshold/wshold/scenario"
)

// Options are the run's settings that are not part of the scenario.
type Options struct {
	// Sink, if set, wraps the recorder: every event goes through the
	// returned sink (e.g. Prometheus counters), which must pass it on.
	Sink func(event.Sink) event.Sink
	// Progress receives progress lines while the run goes on; nil = none.
	Progress func(Progress)
	// ProgressInterval is how often Progress is called. Default 2 s.
	ProgressInterval time.Duration
	// Version is recorded in the result.
	Version string
	// Checkpoint, if set, is called with a partial result (EndReason
	// "checkpoint") every CheckpointInterval, default 10 s, from the start
	// of the run: a killed run leaves one, and a parent process reads its
	// workers' progress from them.
	Checkpoint         func(*report.Result)
	CheckpointInterval time.Duration
	// Snapshot, if set, is handed a function that returns the run's result
	// so far, marked interrupted, callable at any moment while the run
	// goes on: what a second Ctrl-C writes before quitting.
	Snapshot func(func() *report.Result)
	// At are commands to run during the hold; see At.
	At []At
	// CommandOutput receives the output of At commands; nil discards it.
	CommandOutput io.Writer
	// Shard is recorded in the result ("I/N"); the scenario given to Run
	// is already the shard's share (see Shard.Of).
	Shard string
	// Warnings are added to the result's (e.g. Plan.Warnings).
	Warnings []string
	// StartAt, if set, is the wall-clock moment the first connection
	// starts (--start-at). Run does its setup first (reading the host's
	// sockets, settling the heap) and waits only for what is left, so runs
	// that share StartAt ramp together however long their setup took.
	StartAt time.Time
}

// Progress is a snapshot for a progress display.
type Progress struct {
	Phase string // "ramping", "holding", "closing"
	Live  report.Live
	// HoldLeft is the remaining hold time (0 outside the hold).
	HoldLeft time.Duration
	Elapsed  time.Duration
}

// StartError means the run could not start: bad input or an unusable
// target. The CLI maps it to exit status 2.
type StartError struct{ Err error }

func (e *StartError) Error() string { return e.Err.Error() }
func (e *StartError) Unwrap() error { return e.Err }

func startErr(format string, a ...any) error { return &StartError{fmt.Errorf(format, a...)} }

// WaitUntil returns at t (at once if t is zero or past), or with ctx's
// error if ctx ends first.
func WaitUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if t.IsZero() || d <= 0 {
		return nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run executes one scenario and returns its evaluated result. ctx
// cancellation (Ctrl-C) ends the run early; the result is still complete
// and marked interrupted.
func Run(ctx context.Context, sc scenario.Scenario, o Options) (*report.Result, error) {
	if err := sc.Validate(); err != nil {
		return nil, &StartError{err}
	}
	exps, err := scenario.ParseExpectations(expectations(sc))
	if err != nil {
		return nil, &StartError{err}
	}
	for _, a := range o.At {
		if a.Offset >= sc.Hold.D() {
			return nil, startErr("--at %s=%s would never run: the hold of %s ends first; give an offset below the hold, or a longer --hold", a.Offset, a.Command, sc.Hold.D())
		}
	}
	// This process holds every connection (and, for the embedded default,
	// the server's ends too); PlanRun has split bigger runs already.
	if err := checkPlan(sc, Plan{Workers: 1}, ReadHost()); err != nil {
		return nil, &StartError{err}
	}
	red := redact.New(sc.Redact)
	asRun := redacted(sc, red)
	cfg, warnings, cleanup, err := engineConfig(sc, red.Scrub)
	if err != nil {
		return nil, err
	}
	warnings = append(warnings, o.Warnings...)
	defer cleanup()
	if h := ReadHost(); h.PortHi > h.PortLo {
		if w := timeWaitWarning(cfg.URL, h.PortLo, h.PortHi); w != "" {
			warnings = append(warnings, w)
		}
	}
	configs, err := fingerprint(sc.ProxyConfigs)
	if err != nil {
		return nil, &StartError{err}
	}

	// The meter settles the heap first, so the run's clock starts after
	// it: a ramp's time is the connections' alone.
	meter := startMeter()
	if err := WaitUntil(ctx, o.StartAt); err != nil {
		return nil, err
	}
	start := time.Now()
	rec := report.NewRecorder(start, sc.Conns)
	holding := make(chan time.Time, 1)
	sched := &scheduler{out: o.CommandOutput}
	var holdAt atomic.Int64 // UnixNano of the hold's start; 0 before
	if o.Snapshot != nil {
		o.Snapshot(func() *report.Result {
			var hs time.Time
			if ns := holdAt.Load(); ns != 0 {
				hs = time.Unix(0, ns)
			}
			res := rec.Result(report.Meta{Scenario: asRun, Version: o.Version, Target: cfg.URL.Redacted(), Start: start,
				HoldStart: hs, End: time.Now(), EndReason: "interrupted", Interrupted: true, ProxyConfigs: configs,
				Resources: meter.resources(rec.Live().Alive), Warnings: append(warnings[:len(warnings):len(warnings)],
					"interrupted twice: the result was written at once, without closing the held connections")})
			res.Shard = o.Shard
			// Judged like any interrupted run: its readers (the verdict line,
			// --expect in CI, compare) need a verdict, not a blank.
			report.Evaluate(res, exps)
			return res
		})
	}
	cfg.OnHoldStart = func(t time.Time) {
		holdAt.Store(t.UnixNano())
		meter.holdStarted(cfg.Hold, rec.Live().Alive)
		sched.start(ctx, o.At, start, t)
		holding <- t
	}
	stopWatch := watch(o, rec, start, sc.Hold.D(), holding, func(t, holdStart time.Time) *report.Result {
		res := rec.Result(report.Meta{Scenario: asRun, Version: o.Version, Target: cfg.URL.Redacted(), Start: start,
			HoldStart: holdStart, End: t, EndReason: "checkpoint", ProxyConfigs: configs,
			Resources: meter.resources(rec.Live().Alive), Warnings: warnings})
		res.Shard = o.Shard
		return res
	})
	var sink event.Sink = rec
	if o.Sink != nil {
		sink = o.Sink(rec)
	}
	out, err := engine.Run(ctx, cfg, start, sink)
	meter.stop()
	stopWatch()
	marks := sched.stop()
	if err != nil {
		return nil, &StartError{err}
	}
	end := time.Now()
	var holdEnd time.Time
	if !out.HoldStart.IsZero() {
		holdEnd = out.HoldEnd
	}
	live := rec.Live()
	if out.ForcedClose > 0 {
		warnings = append(warnings, fmt.Sprintf("%d connections did not finish the closing handshake within %s and were closed without it", out.ForcedClose, cfg.CloseTimeout))
	}
	res := rec.Result(report.Meta{
		Scenario: asRun, Version: o.Version, Target: cfg.URL.Redacted(),
		Start: start, HoldStart: out.HoldStart, HoldEnd: holdEnd, End: end,
		Interrupted: out.Interrupted, ProxyConfigs: configs, Marks: marks,
		Resources: meter.resources(live.Alive), Warnings: warnings,
	})
	res.Shard = o.Shard
	report.Evaluate(res, exps)
	return res, nil
}

func expectations(sc scenario.Scenario) []string {
	if len(sc.Expect) == 0 {
		return scenario.DefaultExpectations
	}
	return sc.Expect
}

// engineConfig resolves the scenario into the engine's terms. cleanup stops
// the built-in server when one was started.
func engineConfig(sc scenario.Scenario, scrub func(string) string) (engine.Config, []string, func(), error) {
	cleanup := func() {}
	var warnings []string
	target := sc.Target
	if target == "" {
		srv, err := server.Start(server.Config{Listen: []string{"127.0.0.1:0"}})
		if err != nil {
			return engine.Config{}, nil, cleanup, startErr("starting the built-in target: %w", err)
		}
		cleanup = func() { srv.Close() }
		target = "ws://" + srv.Addrs()[0].String() + "/"
	}
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
		cleanup()
		return engine.Config{}, nil, func() {}, startErr("target %q is not a ws:// or wss:// URL (example: ws://127.0.0.1:8080/ws)", target)
	}
	if err := resolvable(u); err != nil {
		cleanup()
		return engine.Config{}, nil, func() {}, err
	}
	header := http.Header{}
	var host string
	for _, h := range sc.Headers {
		name, value, _ := strings.Cut(h, ":")
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if strings.EqualFold(name, "Host") {
			// Two Host lines are a malformed request: it replaces the URL's.
			host = value
			continue
		}
		header.Add(name, value)
	}
	if sc.Origin != "" {
		header.Set("Origin", sc.Origin)
	}
	ips, err := scenario.ParseSourceIPs(sc.SourceIPs)
	if err != nil {
		cleanup()
		return engine.Config{}, nil, func() {}, &StartError{err}
	}
	cfg := engine.Config{
		URL: u, Conns: sc.Conns, Rate: sc.Rate, MaxInFlight: sc.MaxInFlight,
		HandshakeTimeout: sc.HandshakeTimeout.D(), Hold: sc.Hold.D(),
		Ping: sc.Ping.D(), PingFraction: sc.PingFraction, PongTimeout: sc.PongTimeout.D(),
		Header: header, Host: host, Scrub: scrub, Subprotocols: sc.Subprotocols, SourceIPs: ips,
		// Once every connection is gone there is nothing left to watch;
		// ending then keeps failed CI runs short.
		EndWhenNoneAlive: true,
		CloseTimeout:     closeTimeout(sc.Conns),
	}
	if u.Scheme == "wss" {
		tc, w, err := tlsConfig(sc)
		if err != nil {
			cleanup()
			return engine.Config{}, nil, func() {}, &StartError{err}
		}
		cfg.TLS = tc
		warnings = append(warnings, w...)
	}
	return cfg, warnings, cleanup, nil
}

// closeTimeout bounds the closing handshakes after the hold. Tens of
// thousands of close frames through a proxy on a busy machine take more
// than the engine's 2 s default; closing ends as soon as every connection
// is closed, so the longer bound costs nothing when they are quick.
func closeTimeout(conns int) time.Duration {
	return min(2*time.Second+time.Duration(conns/4000)*time.Second, 15*time.Second)
}

// resolvable fails early, with exit status 2, on a host name that does not
// resolve: every attempt would fail the same way.
func resolvable(u *url.URL) error {
	host := u.Hostname()
	if net.ParseIP(host) != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := net.DefaultResolver.LookupHost(ctx, host); err != nil {
		return startErr("target host %q does not resolve (%v): check the URL, or use an IP address", host, err)
	}
	return nil
}

func tlsConfig(sc scenario.Scenario) (*tls.Config, []string, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	var warnings []string
	if sc.Insecure {
		tc.InsecureSkipVerify = true
		warnings = append(warnings, "TLS certificate verification was disabled (--insecure)")
	}
	if sc.CA != "" {
		pem, err := os.ReadFile(sc.CA)
		if err != nil {
			return nil, nil, fmt.Errorf("reading --ca: %w", err)
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, nil, fmt.Errorf("--ca %s: no PEM certificate found in it", sc.CA)
		}
		tc.RootCAs = pool
	}
	return tc, warnings, nil
}

// fingerprint hashes each --proxy-config file so the result says exactly
// which configuration produced it.
func fingerprint(paths []string) ([]report.ProxyConfig, error) {
	out := []report.ProxyConfig{}
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("--proxy-config: %w", err)
		}
		h := sha256.New()
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("--proxy-config %s: %w", p, err)
		}
		out = append(out, report.ProxyConfig{Path: p, SHA256: hex.EncodeToString(h.Sum(nil))})
	}
	return out, nil
}
