package progress

import (
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// live is the terminal display: a bar of attempts out of --conns and a bar
// of the hold's time, redrawn in place by mpb. The decorators read the
// latest snapshot under mu, since mpb calls them from its own goroutine.
type live struct {
	p          *mpb.Progress
	open, hold *mpb.Bar
	holdMs     int64

	mu   sync.Mutex
	s    Snapshot
	rate float64
}

func newLive(w io.Writer, o Options, force bool) *live {
	l := &live{holdMs: max(o.Hold.Milliseconds(), 1)}
	opts := []mpb.ContainerOption{mpb.WithOutput(w), mpb.WithRefreshRate(200 * time.Millisecond)}
	if force {
		opts = append(opts, mpb.ForceTTY(), mpb.WithAutoRefresh(), mpb.WithWidth(o.Width))
	}
	l.p = mpb.New(opts...)
	l.open = l.p.AddBar(int64(max(o.Conns, 1)),
		mpb.PrependDecorators(decor.Name("open ", decor.WCSyncSpaceR), decor.CountersNoUnit("%d/%d", decor.WCSyncSpaceR)),
		mpb.AppendDecorators(decor.Any(l.openText)),
	)
	// One more than the hold, so the bar completes (and mpb stops
	// redrawing its numbers) only when Close says so, not when the clock
	// reaches the end of the hold while connections still close.
	l.hold = l.p.AddBar(l.holdMs+1,
		mpb.PrependDecorators(decor.Any(l.phaseText, decor.WCSyncSpaceR), decor.Any(l.leftText, decor.WCSyncSpaceR)),
		mpb.AppendDecorators(decor.Any(l.countText)),
	)
	return l
}

func (l *live) update(s Snapshot, rate float64) {
	l.mu.Lock()
	l.s, l.rate = s, rate
	l.mu.Unlock()
	l.open.SetCurrent(s.Attempted)
	if s.Phase == "holding" || s.Phase == "closing" {
		l.hold.SetCurrent(min(l.holdMs-max(s.HoldLeft.Milliseconds(), 0), l.holdMs))
	}
}

func (l *live) close() {
	l.mu.Lock()
	s := l.s
	l.mu.Unlock()
	if !l.open.Completed() {
		// An interrupted ramp: keep the bar where it stopped.
		l.open.SetTotal(-1, true)
	}
	if s.Phase == "holding" || s.Phase == "closing" {
		l.hold.SetCurrent(l.holdMs)
	}
	l.hold.SetTotal(-1, true)
	l.p.Wait()
}

func (l *live) snapshot() (Snapshot, float64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.s, l.rate
}

func (l *live) openText(decor.Statistics) string {
	s, rate := l.snapshot()
	return fmt.Sprintf("%5.0f/s  handshake p99 %.1f ms", max(rate, 0), s.HandshakeP99Ms)
}

func (l *live) phaseText(decor.Statistics) string {
	s, _ := l.snapshot()
	if s.Phase == "" {
		return "starting"
	}
	return s.Phase
}

func (l *live) leftText(decor.Statistics) string {
	s, _ := l.snapshot()
	if s.Phase != "holding" {
		return fmt.Sprintf("%7.1fs", s.Elapsed.Seconds())
	}
	return fmt.Sprintf("%6s left", s.HoldLeft.Round(time.Second))
}

func (l *live) countText(decor.Statistics) string {
	s, _ := l.snapshot()
	return fmt.Sprintf("up %d  alive %d  failed %d  dropped %d%s%s", s.Upgraded, s.Alive, s.Failed, s.Dropped, messagesText(s), rssText(s.RSSBytes))
}
