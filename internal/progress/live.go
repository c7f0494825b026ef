package progress

import (
	"fmt"
	"io"
	"strconv"
	"strings"
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
	digits     int // of --conns: every count is padded to it

	mu   sync.Mutex
	s    Snapshot
	rate float64
}

// Every decorator has a fixed width, from the first frame to the last: mpb
// gives a bar what its decorators leave of the line, so a count gaining a
// digit or a phase name of another length would move the bars and the
// columns after them between frames.
const (
	phaseWidth = len("starting ") // the longest phase name, and a space
	clockWidth = len("  1m15s left ")
	p99Width   = len("handshake p99 12345.6 ms")
)

func newLive(w io.Writer, o Options, force bool) *live {
	l := &live{holdMs: max(o.Hold.Milliseconds(), 1), digits: len(strconv.Itoa(max(o.Conns, 1)))}
	opts := []mpb.ContainerOption{mpb.WithOutput(w), mpb.WithRefreshRate(200 * time.Millisecond)}
	if force {
		opts = append(opts, mpb.ForceTTY(), mpb.WithAutoRefresh(), mpb.WithWidth(o.Width))
	}
	l.p = mpb.New(opts...)
	col1 := decor.WC{W: phaseWidth, C: decor.DSyncWidthR}
	col2 := decor.WC{W: max(2*l.digits+2, clockWidth), C: decor.DSyncWidth}
	l.open = l.p.AddBar(int64(max(o.Conns, 1)),
		mpb.PrependDecorators(decor.Name("open", col1), decor.CountersNoUnit("%d/%d ", col2)),
		mpb.AppendDecorators(decor.Any(l.openText)),
	)
	// One more than the hold, so the bar completes (and mpb stops
	// redrawing its numbers) only when Close says so, not when the clock
	// reaches the end of the hold while connections still close.
	l.hold = l.p.AddBar(l.holdMs+1,
		mpb.PrependDecorators(decor.Any(l.phaseText, col1), decor.Any(l.leftText, col2)),
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
	return fmt.Sprintf(" %6.0f/s  %-*s", max(rate, 0), p99Width, p99Text(s, "handshake p99 "))
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
		return fmt.Sprintf("%7.1fs ", s.Elapsed.Seconds())
	}
	return fmt.Sprintf("%6s left ", s.HoldLeft.Round(time.Second))
}

func (l *live) countText(decor.Statistics) string {
	s, _ := l.snapshot()
	rss := fmt.Sprintf("  rss %7.1f MiB", float64(s.RSSBytes)/(1<<20))
	if s.RSSBytes <= 0 {
		rss = strings.Repeat(" ", len(rss))
	}
	d := l.digits
	return fmt.Sprintf(" up %*d  alive %*d  failed %*d  dropped %*d%s%s", d, s.Upgraded, d, s.Alive, d, s.Failed, d, s.Dropped, messagesText(s), rss)
}
