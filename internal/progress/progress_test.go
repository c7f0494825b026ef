package progress

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer that mpb's goroutine may write while the
// test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func snap(phase string, elapsed time.Duration, attempted int64) Snapshot {
	return Snapshot{Phase: phase, Elapsed: elapsed, Attempted: attempted, Upgraded: attempted, Alive: attempted, HandshakeP99Ms: 1.5}
}

func hasControl(s string) bool {
	for _, r := range s {
		if (r < 0x20 && r != '\n') || r == 0x7f {
			return true
		}
	}
	return false
}

// bufferedDisplay is a display writing into a buffer (not a terminal).
func bufferedDisplay(t *testing.T, o Options) (*Display, *bytes.Buffer) {
	t.Helper()
	var out bytes.Buffer
	d, err := New(&out, o)
	if err != nil {
		t.Fatal(err)
	}
	return d, &out
}

func TestPlainModePrintsOneCleanLinePerInterval(t *testing.T) {
	t.Parallel()
	d, out := bufferedDisplay(t, Options{Mode: "auto", Interval: 5 * time.Second, Conns: 1000, Hold: time.Minute})
	if d.Live() {
		t.Fatal("a bytes.Buffer is not a terminal: want plain lines")
	}
	// Updates every second for 12 s of ramp: lines at 0, 5 and 10 s.
	for i := range 13 {
		d.Update(snap("ramping", time.Duration(i)*time.Second, int64(i*100)))
	}
	// A new phase is printed at once, even inside the interval.
	h := snap("holding", 13*time.Second, 1000)
	h.HoldLeft = 59 * time.Second
	d.Update(h)
	d.Close()
	d.Update(snap("closing", 14*time.Second, 1000)) // after Close: nothing

	text := out.String()
	if hasControl(text) {
		t.Fatalf("plain output has control characters: %q", text)
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	want := []string{
		"ramping     0.0s  up 0  alive 0  failed 0  dropped 0  rate 0/s  no handshake completed",
		"ramping     5.0s  up 500  alive 500  failed 0  dropped 0  rate 100/s  p99 1.5 ms",
		"ramping    10.0s  up 1000  alive 1000  failed 0  dropped 0  rate 100/s  p99 1.5 ms",
		"holding    13.0s  up 1000  alive 1000  failed 0  dropped 0  rate 0/s  p99 1.5 ms  hold left 59s",
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), text)
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("line %d:\n got %q\nwant %q", i, lines[i], want[i])
		}
	}
}

// Plain lines follow the run's clock: updates a full interval apart get a
// line each; updates more often than the interval (a caller that ticks
// faster) are folded into one line per interval.
func TestPlainModePrintsOneLinePerIntervalOfTheRunsClock(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		every, upTo time.Duration
		want        int
	}{
		{"7 updates a full interval apart", time.Second, 7 * time.Second, 7},
		// Updates at 0, 0.3, 0.6, 0.9 | 1.2, 1.5, 1.8 | 2.1, 2.4, 2.7 s.
		{"3 s of updates every 0.3 s", 300 * time.Millisecond, 3 * time.Second, 3},
	}
	for _, tt := range tests {
		d, out := bufferedDisplay(t, Options{Interval: time.Second})
		for e := time.Duration(0); e < tt.upTo; e += tt.every {
			d.Update(snap("holding", e, 5))
		}
		d.Close()
		if n := strings.Count(out.String(), "\n"); n != tt.want {
			t.Errorf("%s at a 1 s interval: %d lines, want %d:\n%s", tt.name, n, tt.want, out.String())
		}
	}
}

// The run calls Update from a ticker started with the run, and each tick is
// delivered a little late, by a different amount each time. Every tick
// still gets its line: --progress-interval 1s gives a line a second, not
// one every other second when a tick comes less late than the one before.
func TestPlainModePrintsALinePerTickDespiteJitter(t *testing.T) {
	t.Parallel()
	d, out := bufferedDisplay(t, Options{Interval: time.Second})
	// wshold run -c 5 --hold 6s: the hold starts 4 ms into the run (a
	// phase change, printed at once), then ticks at 1 s, 2 s, … 6 s,
	// delivered 0.1 to 9 ms late, and the closing line.
	late := []time.Duration{3 * time.Millisecond, 200 * time.Microsecond, 9 * time.Millisecond,
		100 * time.Microsecond, 2 * time.Millisecond, time.Millisecond}
	h := snap("holding", 4*time.Millisecond, 5)
	h.HoldLeft = 6 * time.Second
	d.Update(h)
	for i, l := range late {
		h.Elapsed = time.Duration(i+1)*time.Second + l
		h.HoldLeft = 6*time.Second - h.Elapsed
		d.Update(h)
	}
	d.Update(snap("closing", 6*time.Second+20*time.Millisecond, 5))
	d.Close()

	var got []string
	for l := range strings.Lines(out.String()) {
		got = append(got, strings.Fields(l)[1]) // the elapsed time
	}
	want := []string{"0.0s", "1.0s", "2.0s", "3.0s", "4.0s", "5.0s", "6.0s", "6.0s"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("lines at %v, want one per tick at %v:\n%s", got, want, out.String())
	}
}

func TestLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		s    Snapshot
		rate float64
		want string
	}{
		{"ramping shows no hold", Snapshot{Phase: "ramping", Elapsed: 1500 * time.Millisecond, Attempted: 30, Upgraded: 28, Failed: 2, Alive: 28, HandshakeP99Ms: 12.34},
			2000, "ramping     1.5s  up 28  alive 28  failed 2  dropped 0  rate 2000/s  p99 12.3 ms"},
		{"holding rounds the time left", Snapshot{Phase: "holding", Elapsed: 70 * time.Second, Upgraded: 1000, Alive: 400, Dropped: 600, HoldLeft: 4600 * time.Millisecond},
			0, "holding    70.0s  up 1000  alive 400  failed 0  dropped 600  rate 0/s  p99 0.0 ms  hold left 5s"},
		{"no p99 before the first handshake, a negative rate shows as 0", Snapshot{Phase: "closing"}, -3,
			"closing     0.0s  up 0  alive 0  failed 0  dropped 0  rate 0/s  no handshake completed"},
		{"messages and reconnects when there are any", Snapshot{Phase: "holding", Elapsed: 12 * time.Second, Upgraded: 100, Alive: 98, Dropped: 300,
			Reconnected: 298, MessagesSent: 1000, MessagesReceived: 990, RTTP99Ms: 1.26, HoldLeft: 3 * time.Second},
			0, "holding    12.0s  up 100  alive 98  failed 0  dropped 300  rate 0/s  p99 0.0 ms  reconnected 298  echoed 990/1000 rtt p99 1.3 ms  hold left 3s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Line(tt.s, tt.rate); got != tt.want {
				t.Errorf("\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestNewRefusesAnUnknownMode(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"yes", "Auto", "tty"} {
		if _, err := New(&bytes.Buffer{}, Options{Mode: mode}); err == nil || !strings.Contains(err.Error(), "auto, always or never") {
			t.Errorf("mode %q: err %v, want one naming the valid modes", mode, err)
		}
	}
}

func TestNeverPrintsNothing(t *testing.T) {
	t.Parallel()
	d, out := bufferedDisplay(t, Options{Mode: "never"})
	d.Update(snap("ramping", time.Second, 1))
	d.Close()
	if out.Len() != 0 {
		t.Fatalf("mode never wrote %q", out.String())
	}
}

// The live area drawn into a buffer (Mode always): the bars redraw in place
// with cursor movement, show the phase and the counts, and Close returns
// with the final numbers on screen, also when the ramp was cut short.
func TestLiveAreaRendersAndCloses(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		updates []Snapshot
		want    []string
	}{
		{"a full run", []Snapshot{
			snap("ramping", 100*time.Millisecond, 500),
			{Phase: "holding", Elapsed: time.Second, Attempted: 1000, Upgraded: 1000, Alive: 990, Dropped: 10, HoldLeft: 2 * time.Second, HandshakeP99Ms: 3.2},
			{Phase: "closing", Elapsed: 3 * time.Second, Attempted: 1000, Upgraded: 1000, Alive: 990, Dropped: 10},
		}, []string{"1000/1000", "closing", "up 1000  alive  990  failed    0  dropped   10"}},
		{"interrupted while ramping", []Snapshot{
			snap("ramping", 100*time.Millisecond, 123),
		}, []string{"123/123", "ramping", "up  123"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var out syncBuffer
			d, err := New(&out, Options{Mode: "always", Conns: 1000, Hold: 3 * time.Second, Width: 120})
			if err != nil {
				t.Fatal(err)
			}
			if !d.Live() || d.Interval() >= time.Second {
				t.Fatalf("mode always: live %v interval %v, want a live area updated often", d.Live(), d.Interval())
			}
			for _, s := range tt.updates {
				d.Update(s)
				time.Sleep(250 * time.Millisecond) // let a redraw happen between updates
			}
			closed := make(chan struct{})
			go func() { d.Close(); close(closed) }()
			select {
			case <-closed:
			case <-time.After(30 * time.Second):
				t.Fatal("Close did not return within 30 s")
			}
			text := out.String()
			if !strings.Contains(text, "\x1b[") {
				t.Errorf("no cursor movement in the live area: %q", text)
			}
			// The last frame is what stays on screen.
			last := text[strings.LastIndex(text, "\x1b[J")+3:]
			for _, w := range tt.want {
				if !strings.Contains(last, w) {
					t.Errorf("final frame lacks %q:\n%s", w, last)
				}
			}
			n := len(out.String())
			d.Update(tt.updates[0])
			d.Close()
			time.Sleep(300 * time.Millisecond)
			if len(out.String()) != n {
				t.Errorf("the display drew after Close")
			}
		})
	}
}

// The live area's columns stay where they are from frame to frame: the
// bars start and end at the same column, and so do the counts after them,
// while the numbers grow, the phase changes name and the memory figure
// appears.
func TestLiveAreaColumnsStayPut(t *testing.T) {
	t.Parallel()
	var out syncBuffer
	d, err := New(&out, Options{Mode: "always", Conns: 1000, Hold: 75 * time.Second, Width: 130})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []Snapshot{
		{},
		{Phase: "ramping", Elapsed: 100 * time.Millisecond, Attempted: 5, Upgraded: 5, Alive: 5, HandshakeP99Ms: 1.5},
		{Phase: "ramping", Elapsed: 600 * time.Millisecond, Attempted: 600, Upgraded: 590, Alive: 590, Failed: 10, HandshakeP99Ms: 123.4, RSSBytes: 20 << 20},
		{Phase: "holding", Elapsed: 10 * time.Second, Attempted: 1000, Upgraded: 990, Alive: 990, Failed: 10, HoldLeft: 65 * time.Second, HandshakeP99Ms: 123.4, RSSBytes: 20 << 20},
		{Phase: "closing", Elapsed: 80 * time.Second, Attempted: 1000, Upgraded: 990, Alive: 7, Failed: 10, Dropped: 983, HandshakeP99Ms: 2.5, RSSBytes: 200 << 20},
	} {
		d.Update(s)
		time.Sleep(250 * time.Millisecond) // a redraw between updates
	}
	d.Close()
	frames := strings.Split(out.String(), "\x1b[J")
	type cols struct{ barStart, barEnd, after int }
	var first [2]cols
	seen := 0
	for i, f := range frames {
		lines := strings.Split(strings.TrimRight(strings.Split(f, "\x1b[")[0], "\n"), "\n")
		if len(lines) < 2 {
			continue
		}
		seen++
		for j, line := range lines[:2] {
			c := cols{strings.IndexByte(line, '['), strings.IndexByte(line, ']'), strings.Index(line, "  ")}
			if j == 1 {
				c.after = strings.Index(line, " up ")
			} else {
				c.after = strings.Index(line, "/s ")
			}
			if c.barStart < 0 || c.barEnd < 0 || c.after < 0 {
				t.Fatalf("frame %d line %d lacks its bar or counts: %q", i, j+1, line)
			}
			if seen == 1 {
				first[j] = c
			} else if c != first[j] {
				t.Errorf("frame %d line %d: bar at %d-%d, counts at %d; the first frame had %d-%d, %d:\n%q",
					i, j+1, c.barStart, c.barEnd, c.after, first[j].barStart, first[j].barEnd, first[j].after, line)
			}
		}
	}
	if seen < 4 {
		t.Fatalf("only %d frames drawn:\n%q", seen, out.String())
	}
	last := frames[len(frames)-1]
	if !strings.Contains(frames[0], "no handshake completed") || !strings.Contains(last, "handshake p99 2.5 ms") {
		t.Errorf("want no p99 before the first handshake and one after:\nfirst %q\nlast %q", frames[0], last)
	}
}

// The live area starts with the first Update: what the caller prints
// before the run begins (a warning about the plan) comes out above it,
// never inside a redraw.
func TestLiveAreaStartsWithTheFirstUpdate(t *testing.T) {
	t.Parallel()
	var out syncBuffer
	d, err := New(&out, Options{Mode: "always", Conns: 10, Hold: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // longer than a redraw
	if got := out.String(); got != "" {
		t.Fatalf("drew %q before the first update", got)
	}
	_, _ = out.Write([]byte("wshold: warning: something about the plan\n"))
	d.Update(snap("ramping", 100*time.Millisecond, 5))
	// Until the area has drawn the update (one redraw, later on a loaded
	// machine; at most 5 s): closing first would show only the final frame.
	for i := 0; i < 500 && !strings.Contains(out.String(), "5/10"); i++ {
		time.Sleep(10 * time.Millisecond)
	}
	d.Close()
	if got := out.String(); !strings.HasPrefix(got, "wshold: warning: something about the plan\n") || !strings.Contains(got, "5/10") {
		t.Errorf("want the warning first, then the live area:\n%q", got)
	}
}
