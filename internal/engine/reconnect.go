package engine

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/wshold/wshold/internal/event"
)

// Reconnects (Config.Reconnect): a connection that drops is opened again
// after a backoff, the way client libraries do it, and a reopening that
// fails is retried after a longer one, until the hold ends. The attempts
// go through the same opening path as the first wave (open, or attempt
// for the gobwas path) and are reported with Reconnect set, so the report
// counts them apart.

// try names an attempt: its connection slot i (0..Conns-1, which picks its
// source address and its groups: pinging, sending) and, for a reopening,
// how many attempts in a row it is (0 for the first wave).
type try struct {
	i     int
	again int
}

// backoff is the wait before the k-th reopening attempt in a row (k >= 1):
// exponential with full jitter, uniformly random between lo and
// min(2^k × lo, hi). The jitter spreads a wave of reconnects that a
// proxy reload started in one instant; the growth spares a backend that is
// down.
func backoff(k int, lo, hi time.Duration, rng *rand.Rand) time.Duration {
	ceil := hi
	if k < 40 {
		if c := lo << k; c > 0 && c < hi {
			ceil = c
		}
	}
	if ceil <= lo {
		return lo
	}
	return lo + time.Duration(rng.Int64N(int64(ceil-lo)+1))
}

// upgraded reports attempt t's upgrade.
func (e *engine) upgraded(t try, ev event.Upgraded) {
	ev.Reconnect = t.again > 0
	e.sink.Upgraded(ev)
}

// failed reports attempt t's failure; a failed reopening is retried.
// After the hold (or an interrupt) nothing is reported: an attempt still
// in flight then was cut short by the run's end, not refused.
func (e *engine) failed(t try, ev event.Failed) {
	if t.again > 0 {
		if e.closing.Load() || (e.ctx != nil && e.ctx.Err() != nil) {
			return
		}
		ev.Reconnect = true
		e.sink.Failed(ev)
		e.reopen(t.i, t.again+1)
		return
	}
	e.sink.Failed(ev)
}

// dropped is told that connection slot i dropped: with reconnects, it is
// opened again after a backoff.
func (e *engine) dropped(i int) { e.reopen(i, 1) }

func (e *engine) reopen(i, again int) {
	if e.rc != nil {
		e.rc.later(i, again)
	}
}

// reconnector keeps the reopenings due, in order of their time, and starts
// each when its backoff has passed: one goroutine and one timer for all.
type reconnector struct {
	e     *engine
	ctx   context.Context
	stop  context.CancelFunc
	slots *slots // the bound on attempts in flight, like the ramp's
	kick  chan struct{}
	wg    sync.WaitGroup

	mu      sync.Mutex
	queue   dueHeap
	rng     *rand.Rand
	stopped bool
}

// due is one reopening: connection slot i, the again-th attempt in a row,
// at (ns since the run's start).
type due struct {
	at    int64
	i     int32
	again int32
}

func (e *engine) startReconnector(ctx context.Context) {
	if !e.cfg.Reconnect {
		return
	}
	r := &reconnector{
		e:     e,
		slots: &slots{sem: make(chan struct{}, e.cfg.MaxInFlight)},
		kick:  make(chan struct{}, 1),
		rng:   rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x9e3779b97f4a7c15)),
	}
	r.ctx, r.stop = context.WithCancel(ctx)
	e.rc = r
	r.wg.Add(1)
	go r.run()
}

// later schedules the again-th attempt in a row to reopen slot i.
func (r *reconnector) later(i, again int) {
	r.mu.Lock()
	if r.stopped {
		r.mu.Unlock()
		return
	}
	wait := backoff(again, r.e.cfg.ReconnectMin, r.e.cfg.ReconnectMax, r.rng)
	r.queue.push(due{at: r.e.now() + int64(wait), i: int32(i), again: int32(again)})
	r.mu.Unlock()
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

func (r *reconnector) run() {
	defer r.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		r.mu.Lock()
		next, ok := r.queue.peek()
		wait := int64(0)
		if ok {
			// Decided once, under the lock: the entry is either taken now
			// or waited for, never started while it stays queued.
			if wait = next.at - r.e.now(); wait <= 0 {
				r.queue.pop()
			}
		}
		r.mu.Unlock()
		if ok && wait <= 0 {
			r.start(next)
			continue
		}
		if ok {
			timer.Reset(time.Duration(wait))
		}
		select {
		case <-r.ctx.Done():
			return
		case <-r.kick:
		case <-timer.C:
		}
	}
}

// start begins one reopening, once an attempt in flight leaves it room;
// its latency counts from the end of its backoff, so waiting for room
// shows.
func (r *reconnector) start(d due) {
	select {
	case r.slots.sem <- struct{}{}:
	case <-r.ctx.Done():
		return
	}
	r.slots.wg.Add(1)
	t := try{i: int(d.i), again: int(d.again)}
	intended := r.e.start.Add(time.Duration(d.at))
	if r.e.raw {
		r.e.open(t, intended, r.slots)
		return
	}
	go func() {
		defer r.slots.release()
		r.e.attempt(r.ctx, t, intended)
	}()
}

// halt stops reopening (the hold is over): nothing more is scheduled or
// started, handshakes of reopenings still in flight in the loops are
// abandoned silently, and it returns when the last attempt has ended.
func (r *reconnector) halt() {
	r.mu.Lock()
	r.stopped = true
	r.queue = nil
	r.mu.Unlock()
	r.stop()
	r.wg.Wait()
	for _, l := range r.e.loops {
		l.abandonReopenings()
	}
	r.slots.wg.Wait()
}

// dueHeap is a binary min-heap of reopenings by time; container/heap
// would box every entry.
type dueHeap []due

func (h dueHeap) peek() (due, bool) {
	if len(h) == 0 {
		return due{}, false
	}
	return h[0], true
}

func (h *dueHeap) push(d due) {
	*h = append(*h, d)
	q := *h
	for i := len(q) - 1; i > 0; {
		p := (i - 1) / 2
		if q[p].at <= q[i].at {
			break
		}
		q[p], q[i] = q[i], q[p]
		i = p
	}
}

func (h *dueHeap) pop() {
	q := *h
	last := len(q) - 1
	q[0] = q[last]
	q = q[:last]
	for i := 0; ; {
		l, r, least := 2*i+1, 2*i+2, i
		if l < len(q) && q[l].at < q[least].at {
			least = l
		}
		if r < len(q) && q[r].at < q[least].at {
			least = r
		}
		if least == i {
			break
		}
		q[i], q[least] = q[least], q[i]
		i = least
	}
	*h = q
}
