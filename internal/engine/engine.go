package engine

import (
	"context"
	"crypto/tls"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wshold/wshold/internal/event"
	"github.com/wshold/wshold/internal/tlsrecord"
)

// Outcome is what the engine knows that the events do not say.
type Outcome struct {
	// HoldStart is when the last attempt ended and the hold began; zero if
	// the run was interrupted before.
	HoldStart time.Time
	// HoldEnd is when closing began.
	HoldEnd time.Time
	// Interrupted is true when ctx was cancelled before the hold ended.
	Interrupted bool
	// ForcedClose counts connections that did not finish the closing
	// handshake within CloseTimeout and were closed without it.
	ForcedClose int
}

type engine struct {
	cfg    Config
	tls    *tls.Config // for wss://: see tlsConfig
	start  time.Time
	sink   event.Sink
	dialer net.Dialer
	ctx    context.Context

	// raw: plain ws:// handshakes run in the loops (upgrade_linux.go)
	// instead of a goroutine each (dial.go).
	raw     bool
	dst     dest
	ramping atomic.Bool

	// For the handshakes that have a goroutine each (wss://): the TLS
	// sessions to resume (--tls-resume), and the connections in flight,
	// which an interrupt ends at once.
	sessions   *tlsrecord.SessionCache
	hsMu       sync.Mutex
	handshakes map[net.Conn]struct{}

	loops []*loop
	// conns is indexed by descriptor; entry fd belongs to loops[fd%len]
	// and is only touched under that loop's mutex.
	conns []connState

	// closing is set when the hold ends: endings after it are not drops.
	closing atomic.Bool

	// answers identifies the proxy or server that answered (identity.go).
	answers answerCache
}

// Run opens cfg.Conns connections, holds them, closes them, and reports
// every handshake, failure and drop to sink. start is the run's time origin
// for event offsets. Cancelling ctx ends the ramp and the hold early; the
// connections are still closed cleanly and Outcome.Interrupted is set.
func Run(ctx context.Context, cfg Config, start time.Time, sink event.Sink) (Outcome, error) {
	if err := cfg.withDefaults(); err != nil {
		return Outcome{}, err
	}
	e := &engine{cfg: cfg, start: start, sink: sink, ctx: ctx, handshakes: map[net.Conn]struct{}{}}
	e.dst.reqHead, e.dst.reqTail = upgradeRequest(&e.cfg)
	if cfg.URL.Scheme == "wss" {
		e.tls = tlsConfig(&e.cfg)
		if cfg.TLSResume {
			e.sessions = tlsrecord.NewSessionCache(16)
		}
	}
	e.raw = cfg.URL.Scheme == "ws" && !cfg.blocking
	if e.raw {
		e.prepareRaw(ctx)
	}
	// Before the loops start: none may go to sleep for good before the
	// first handshake is handed to it (see loop.timeout).
	e.ramping.Store(true)
	if err := e.startLoops(); err != nil {
		return Outcome{}, err
	}
	defer e.stopLoops()

	var out Outcome
	e.ramp(ctx)
	if ctx.Err() == nil {
		out.HoldStart = time.Now()
		if cfg.OnHoldStart != nil {
			cfg.OnHoldStart(out.HoldStart)
		}
		e.hold(ctx)
	}
	out.Interrupted = ctx.Err() != nil
	out.HoldEnd = time.Now()
	out.ForcedClose = e.closeAll()
	return out, nil
}

func (e *engine) now() int64 { return time.Since(e.start).Nanoseconds() }

// ramp starts the attempts on schedule and returns when every started
// attempt has ended (upgraded or failed).
func (e *engine) ramp(ctx context.Context) {
	s := &slots{sem: make(chan struct{}, e.cfg.MaxInFlight)}
	defer e.ramping.Store(false)
	rampStart := time.Now()
	n := 1
	if e.raw {
		n = openers()
	}
	var next atomic.Int64
	var started sync.WaitGroup
	for range n {
		started.Go(func() { e.startAttempts(ctx, s, rampStart, &next) })
	}
	started.Wait()
	// Handshakes are bounded by their timeout, but an interrupt should not
	// wait for it.
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		e.interruptHandshakes()
		e.interruptDials()
		<-done
	}
}

// startAttempts is one opener: it claims the next attempt, waits for the
// attempt's slot in the schedule and a place in flight, and starts it;
// until every attempt is claimed or the run is interrupted. Each opener
// keeps its own time: handing attempts from one scheduling goroutine to
// the openers cost a goroutine wake-up per connection, which at a fixed
// rate is most of what a connection costs beyond the kernel's work.
func (e *engine) startAttempts(ctx context.Context, s *slots, rampStart time.Time, next *atomic.Int64) {
	var sleeper *time.Timer
	defer func() {
		if sleeper != nil {
			sleeper.Stop()
		}
	}()
	for {
		i := int(next.Add(1) - 1)
		if i >= e.cfg.Conns || ctx.Err() != nil {
			return
		}
		var intended time.Time
		if e.cfg.Rate > 0 {
			intended = rampStart.Add(time.Duration(float64(i) / e.cfg.Rate * float64(time.Second)))
			if d := time.Until(intended); d > 0 {
				if sleeper == nil {
					sleeper = time.NewTimer(d)
				} else {
					sleeper.Reset(d)
				}
				select {
				case <-ctx.Done():
					return
				case <-sleeper.C:
				}
			}
		}
		select {
		case s.sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		if e.cfg.Rate <= 0 {
			intended = time.Now()
		}
		s.wg.Add(1)
		if e.raw {
			e.open(i, intended, s)
			continue
		}
		go func() {
			defer s.release()
			e.attempt(ctx, i, intended)
		}()
	}
}

// hold waits for the hold to end: its duration, an interrupt, or (with
// EndWhenNoneAlive) the last connection's end.
func (e *engine) hold(ctx context.Context) {
	timer := time.NewTimer(e.cfg.Hold)
	defer timer.Stop()
	// Twice a second is soon enough to notice that every connection is
	// gone, and rare enough that an idle hold costs next to no CPU (each
	// wake-up also wakes the runtime's scheduler).
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
			return
		case <-tick.C:
			if e.cfg.EndWhenNoneAlive && e.alive() == 0 {
				return
			}
		}
	}
}

func (e *engine) alive() int {
	n := 0
	for _, l := range e.loops {
		n += int(l.open.Load())
	}
	return n
}

// closeAll ends the hold: from here on endings are not drops. Every open
// connection gets a close frame (1000); those that have not finished the
// closing handshake by CloseTimeout are closed anyway.
func (e *engine) closeAll() int {
	e.closing.Store(true)
	for _, l := range e.loops {
		l.beginClose()
	}
	deadline := time.Now().Add(e.cfg.CloseTimeout)
	for e.alive() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	forced := 0
	for _, l := range e.loops {
		forced += l.forceClose()
	}
	return forced
}

func (e *engine) startLoops() error {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		return err
	}
	size := min(rl.Cur, 1<<22)
	e.conns = make([]connState, size)
	for i := 0; i < e.cfg.Loops; i++ {
		l, err := newLoop(e, i)
		if err != nil {
			e.stopLoops()
			return err
		}
		e.loops = append(e.loops, l)
	}
	for _, l := range e.loops {
		l.wg.Add(1)
		go l.run()
	}
	return nil
}

func (e *engine) stopLoops() {
	for _, l := range e.loops {
		l.stop()
	}
}

func (e *engine) loopFor(fd int) *loop { return e.loops[fd%len(e.loops)] }

// hostPort is u's host:port, with the scheme's default port when u has
// none: what gobwas/ws would dial.
func hostPort(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "wss" {
			port = "443"
		}
	}
	return net.JoinHostPort(u.Hostname(), port)
}
