package runner

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/wshold/wshold/internal/engine"
	"github.com/wshold/wshold/internal/event"
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
	// RunID is recorded in the result: the name every shard of one run
	// (the workers of --procs, the pods of a Job) shares, by which merge
	// tells the shards of one run from results of others.
	RunID string
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
	// RSSBytes is the run's resident memory now (0 = unknown).
	RSSBytes int64
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

// Run executes one resolved scenario and returns its evaluated result.
// ctx cancellation (Ctrl-C) ends the run early; the result is still
// complete and marked interrupted.
func Run(ctx context.Context, rs *scenario.Resolved, o Options) (*report.Result, error) {
	for _, a := range o.At {
		if a.Offset >= rs.Hold.D() {
			return nil, startErr("--at %s=%s would never run: the hold of %s ends first; give an offset below the hold, or a longer --hold", a.Offset, a.Command, rs.Hold.D())
		}
	}
	// This process holds every connection (and, for the embedded default,
	// the server's ends too); PlanRun has split bigger runs already.
	if err := checkPlan(rs, Plan{Workers: 1}, ReadHost()); err != nil {
		return nil, &StartError{err}
	}
	red := rs.Redactor
	asRun := rs.Record()
	cfg, warnings, cleanup, err := engineConfig(rs)
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
	configs := fingerprints(rs.ProxyConfigFiles)
	target := red.URL(cfg.URL.String())
	hidden := red.Hidden() // after Record and URL, which hide them
	exps := rs.Expectations

	// The meter settles the heap first, so the run's clock starts after
	// it: a ramp's time is the connections' alone.
	meter := startMeter()
	meter.shard = o.Shard
	if err := WaitUntil(ctx, o.StartAt); err != nil {
		return nil, err
	}
	start := time.Now()
	rec := report.NewRecorder(start, rs.Conns)
	holding := make(chan time.Time, 1)
	sched := &scheduler{out: o.CommandOutput}
	var holdAt atomic.Int64 // UnixNano of the hold's start; 0 before
	if o.Snapshot != nil {
		o.Snapshot(func() *report.Result {
			var hs time.Time
			if ns := holdAt.Load(); ns != 0 {
				hs = time.Unix(0, ns)
			}
			res := rec.Result(report.Meta{Scenario: asRun, Version: o.Version, Target: target, Start: start,
				HoldStart: hs, End: time.Now(), EndReason: "interrupted", Interrupted: true, ProxyConfigs: configs, Redacted: hidden,
				Resources: meter.resources(rec.Live().Alive), Warnings: append(warnings[:len(warnings):len(warnings)],
					"interrupted twice: the result was written at once, without closing the held connections")})
			res.Shard, res.RunID = o.Shard, o.RunID
			// Judged like any interrupted run: its readers (the verdict line,
			// --expect in CI, compare) need a verdict, not a blank.
			report.Evaluate(res, exps)
			return res
		})
	}
	cfg.OnHoldStart = func(t time.Time) {
		holdAt.Store(t.UnixNano())
		meter.holdStarted(cfg.Hold, rec.Live().Alive)
		sched.start(ctx, o.At, start, t, cfg.Hold)
		holding <- t
	}
	stopWatch := watch(o, rec, start, rs.Hold.D(), holding, func(t, holdStart time.Time) *report.Result {
		res := rec.Result(report.Meta{Scenario: asRun, Version: o.Version, Target: target, Start: start,
			HoldStart: holdStart, End: t, EndReason: "checkpoint", ProxyConfigs: configs, Redacted: hidden,
			Resources: meter.resources(rec.Live().Alive), Warnings: warnings})
		res.Shard, res.RunID = o.Shard, o.RunID
		return res
	})
	var sink event.Sink = rec
	if o.Sink != nil {
		sink = o.Sink(rec)
	}
	out, err := engine.Run(ctx, cfg, start, sink)
	meter.stop()
	stopWatch()
	marks, atWarnings := sched.stop()
	if err != nil {
		return nil, &StartError{err}
	}
	end := time.Now()
	var holdEnd time.Time
	if !out.HoldStart.IsZero() {
		holdEnd = out.HoldEnd
	}
	live := rec.Live()
	warnings = append(warnings, atWarnings...)
	if out.ForcedClose > 0 {
		warnings = append(warnings, fmt.Sprintf("%d connections did not finish the closing handshake within %s and were closed without it", out.ForcedClose, cfg.CloseTimeout))
	}
	res := rec.Result(report.Meta{
		Scenario: asRun, Version: o.Version, Target: target,
		Start: start, HoldStart: out.HoldStart, HoldEnd: holdEnd, End: end,
		Interrupted: out.Interrupted, ProxyConfigs: configs, Marks: marks, Redacted: hidden,
		Resources: meter.resources(live.Alive), Warnings: warnings,
	})
	res.Shard, res.RunID = o.Shard, o.RunID
	report.Evaluate(res, exps)
	return res, nil
}

// engineConfig puts the resolved scenario into the engine's terms,
// starting the built-in target when there is no URL. cleanup stops it.
func engineConfig(rs *scenario.Resolved) (engine.Config, []string, func(), error) {
	cleanup := func() {}
	var warnings []string
	u := rs.URL
	if u == nil {
		srv, err := server.Start(server.Config{Listen: []string{"127.0.0.1:0"}})
		if err != nil {
			return engine.Config{}, nil, cleanup, startErr("starting the built-in target: %w", err)
		}
		cleanup = func() { srv.Close() }
		u = &url.URL{Scheme: "ws", Host: srv.Addrs()[0].String(), Path: "/"}
	} else if err := resolvable(u); err != nil {
		return engine.Config{}, nil, cleanup, err
	}
	cfg := engine.Config{
		URL: u, Conns: rs.Conns, Rate: rs.Rate, MaxInFlight: rs.MaxInFlight,
		HandshakeTimeout: rs.HandshakeTimeout.D(), Hold: rs.Hold.D(),
		Ping: rs.Ping.D(), PingFraction: rs.PingFraction, PongTimeout: rs.PongTimeout.D(),
		Header: rs.Header.Clone(), Host: rs.Host, Scrub: rs.Redactor.Scrub,
		Subprotocols: rs.Subprotocols, SourceIPs: rs.Sources,
		// Once every connection is gone there is nothing left to watch;
		// ending then keeps failed CI runs short.
		EndWhenNoneAlive: true,
		CloseTimeout:     closeTimeout(rs.Conns),
		SendEvery:        rs.SendEvery.D(),
		MessageSize:      rs.MessageSize,
		SendFraction:     rs.SendFraction,
		Reconnect:        rs.Reconnect,
		ReconnectMin:     rs.ReconnectMin.D(),
		ReconnectMax:     rs.ReconnectMax.D(),
	}
	if u.Scheme == "wss" {
		tc, w := tlsConfig(rs.TLS)
		cfg.TLS = tc
		cfg.TLSResume = rs.TLSResume
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

func tlsConfig(t scenario.TLS) (*tls.Config, []string) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: t.RootCAs}
	var warnings []string
	if t.Insecure {
		tc.InsecureSkipVerify = true
		warnings = append(warnings, "TLS certificate verification was disabled (--insecure)")
	}
	return tc, warnings
}

// fingerprints are the proxy configs' digests as the result records them,
// so it says exactly which configuration produced it.
func fingerprints(files []scenario.FileDigest) []report.ProxyConfig {
	out := []report.ProxyConfig{}
	for _, f := range files {
		pc := report.ProxyConfig{Path: f.Path, SHA256: f.SHA256, Product: f.Config.Product}
		for _, t := range f.Config.Timeouts {
			pc.Timeouts = append(pc.Timeouts, report.ConfiguredTimeout{
				Product: f.Config.Product, Setting: t.Setting, Seconds: t.Seconds, Times: report.Timer(t.Times), File: f.Path})
		}
		out = append(out, pc)
	}
	return out
}
