package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Snapshot is the state of a run at one moment.
type Snapshot struct {
	// Phase is "ramping", "holding" or "closing".
	Phase string
	// Attempted counts attempts that ended (upgraded or failed).
	Attempted, Upgraded, Failed, Dropped int64
	// Alive is the connections open now.
	Alive int64
	// HandshakeP99Ms is the handshake latency p99 so far, in ms; shown
	// only once Upgraded > 0.
	HandshakeP99Ms float64
	// HoldLeft is the hold's remaining time; 0 outside the hold.
	HoldLeft time.Duration
	// Elapsed is the time since the run started.
	Elapsed time.Duration
	// RSSBytes is the harness's resident memory now (every process of
	// the run); 0 = unknown, not shown. Over a long soak it shows whether
	// the harness itself grows.
	RSSBytes int64
	// Reconnected counts reopened connections (--reconnect); MessagesSent
	// and MessagesReceived timed messages and their echoes, RTTP99Ms
	// their round trip's p99 (--send-every). Shown when not zero.
	Reconnected                    int64
	MessagesSent, MessagesReceived int64
	RTTP99Ms                       float64
}

// Options configure a Display.
type Options struct {
	// Mode is "auto" (live area on a terminal, plain lines otherwise),
	// "always" (live area even when not a terminal) or "never" (nothing).
	// Default "auto".
	Mode string
	// Interval is how often a plain line is printed: one per Interval of
	// the run's clock (Snapshot.Elapsed); Update calls in between are
	// folded into the next line. Default 5 s.
	Interval time.Duration
	// Conns is the number of connections the run attempts (the first
	// bar's total).
	Conns int
	// Hold is the hold's length (the second bar's total).
	Hold time.Duration
	// Width is the live area's width in columns when the output is not a
	// terminal (Mode "always"); on a terminal its own width is used.
	// Default 100.
	Width int
}

// Display is a progress display for one run. Its methods are safe for
// concurrent use; after Close they do nothing.
type Display struct {
	w io.Writer
	o Options
	// liveMode: a live area rather than plain lines. The area itself
	// (live) starts with the first Update, so that what is printed before
	// the run begins (a warning about the plan) comes out above it, not
	// in the middle of a redraw.
	liveMode, force bool
	live            *live

	mu     sync.Mutex
	prev   Snapshot
	rate   float64 // attempts per second between the last two updates
	slot   int64   // the interval of the run's clock the last line fell in; -1 before the first
	closed bool
}

// New returns a display writing to w (normally os.Stderr). It fails only
// on an unknown mode.
func New(w io.Writer, o Options) (*Display, error) {
	if o.Mode == "" {
		o.Mode = "auto"
	}
	if o.Interval <= 0 {
		o.Interval = 5 * time.Second
	}
	if o.Width <= 0 {
		o.Width = 100
	}
	d := &Display{w: w, o: o, slot: -1}
	switch o.Mode {
	case "never":
		d.closed = true
	case "always":
		d.liveMode, d.force = true, true
	case "auto":
		if IsTerminal(w) {
			d.liveMode = true
		}
	default:
		return nil, fmt.Errorf("progress mode %q: use auto, always or never", o.Mode)
	}
	return d, nil
}

// Live reports whether the display is the live area (a terminal, or Mode
// "always") rather than plain lines.
func (d *Display) Live() bool { return d.liveMode }

// Interval is how often the caller should call Update: often for the live
// area (it redraws by itself, but the numbers come from Update), at
// Options.Interval for plain lines.
func (d *Display) Interval() time.Duration {
	if d.liveMode {
		return 250 * time.Millisecond
	}
	return d.o.Interval
}

// Update shows s. Plain lines follow the run's clock, s.Elapsed: the first
// Update in each interval (k×Interval <= Elapsed < (k+1)×Interval) prints a
// line, later ones in the same interval are folded into the next line, and
// a change of phase is always printed at once. A caller that ticks every
// Interval from the run's start thus gets a line per tick, however late
// each tick is delivered (within the interval).
func (d *Display) Update(s Snapshot) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	if dt := (s.Elapsed - d.prev.Elapsed).Seconds(); dt > 0 {
		d.rate = float64(s.Attempted-d.prev.Attempted) / dt
	}
	phaseChanged := s.Phase != d.prev.Phase
	d.prev = s
	if d.liveMode {
		if d.live == nil {
			d.live = newLive(d.w, d.o, d.force)
		}
		d.live.update(s, d.rate)
		return
	}
	slot := int64(max(s.Elapsed, 0) / d.o.Interval)
	if !phaseChanged && slot <= d.slot {
		return
	}
	d.slot = max(d.slot, slot)
	fmt.Fprintln(d.w, Line(s, d.rate))
}

// Close ends the display: the live area is completed and left on screen
// with its final numbers, and nothing is drawn after Close returns.
func (d *Display) Close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	d.closed = true
	if d.live != nil {
		d.live.close()
	}
}

// Line formats s as one plain line (no control characters), rate being
// the open rate in attempts per second.
func Line(s Snapshot, rate float64) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-7s %7.1fs  up %d  alive %d  failed %d  dropped %d  rate %.0f/s  %s",
		s.Phase, s.Elapsed.Seconds(), s.Upgraded, s.Alive, s.Failed, s.Dropped, max(rate, 0), p99Text(s, "p99 "))
	b.WriteString(rssText(s.RSSBytes))
	b.WriteString(messagesText(s))
	if s.Phase == "holding" {
		fmt.Fprintf(&b, "  hold left %s", s.HoldLeft.Round(time.Second))
	}
	return b.String()
}

// messagesText is "  reconnected 12  echoed 900/1000 rtt p99 1.2 ms", the
// parts that are not zero.
func messagesText(s Snapshot) string {
	var b strings.Builder
	if s.Reconnected > 0 {
		fmt.Fprintf(&b, "  reconnected %d", s.Reconnected)
	}
	if s.MessagesSent > 0 {
		fmt.Fprintf(&b, "  echoed %d/%d rtt p99 %.1f ms", s.MessagesReceived, s.MessagesSent, s.RTTP99Ms)
	}
	return b.String()
}

// p99Text is the handshake p99 after prefix, or that none completed: a p99
// of 0.0 ms would read as a very fast proxy.
func p99Text(s Snapshot, prefix string) string {
	if s.Upgraded == 0 {
		return "no handshake completed"
	}
	return fmt.Sprintf("%s%.1f ms", prefix, s.HandshakeP99Ms)
}

// rssText is "  rss 41.2 MiB", or "" when unknown.
func rssText(b int64) string {
	if b <= 0 {
		return ""
	}
	return fmt.Sprintf("  rss %.1f MiB", float64(b)/(1<<20))
}

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
