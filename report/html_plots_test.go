package report

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wshold/wshold/internal/event"
	"github.com/wshold/wshold/scenario"
)

// synthRun is a run of conns connections opened evenly over ramp, held for
// hold, of which every one in dropEvery (0: none) drops at dropAge, half of
// them by FIN and half by RST; fail connections fail with a 400 instead.
func synthRun(t testing.TB, conns int, ramp, hold, dropAge time.Duration, dropEvery, fail int) *Result {
	sc := scenario.Defaults()
	sc.Name = fmt.Sprintf("synth-%s", ramp+hold)
	sc.Conns = conns + fail
	sc.Hold = scenario.Duration(hold)
	meta := outMeta(outT0, ramp, ramp+hold+20*time.Millisecond)
	meta.HoldEnd = outT0.Add(ramp + hold)
	if conns == 0 {
		meta.HoldEnd = time.Time{}
	}
	return outBuild(t, sc, meta, func(r *Recorder) {
		for i := range conns {
			up := int64(ramp) * int64(i) / int64(max(conns, 1))
			r.Upgraded(event.Upgraded{AtNs: up, LatencyNs: int64(300+i*7919%3000) * 1000})
			if dropEvery > 0 && i%dropEvery == 0 {
				kind := event.EOF
				if i%(2*dropEvery) == 0 {
					kind = event.Reset
				}
				age := int64(dropAge) + int64(i%5)*int64(time.Millisecond)
				r.Dropped(event.Dropped{AtNs: up + age, AgeNs: age, IdleNs: age, Kind: kind})
			}
		}
		for i := range fail {
			r.Failed(event.Failed{AtNs: int64(ramp) * int64(i) / int64(fail), Cause: "http", Status: 400, Example: "HTTP/1.1 400 Bad Request"})
		}
	})
}

// The runs the plots are checked at: the three lengths (1 s,
// 60 s, 1 h), the bar's sub-second and 1.5 s runs, and extremes.
func synthRuns(t testing.TB) map[string]*Result {
	return map[string]*Result{
		"0.3 s, 3 conns":    synthRun(t, 3, 100*time.Millisecond, 200*time.Millisecond, 0, 0, 0),
		"0.7 s, sub-second": synthRun(t, 200, 200*time.Millisecond, 500*time.Millisecond, 300*time.Millisecond, 3, 0),
		"1 s":               synthRun(t, 1000, 300*time.Millisecond, 700*time.Millisecond, 0, 0, 0),
		"1.5 s":             synthRun(t, 1000, 300*time.Millisecond, 1200*time.Millisecond, 600*time.Millisecond, 10, 0),
		"7.3 s":             synthRun(t, 7, 3*time.Second, 4300*time.Millisecond, 0, 0, 0),
		"60 s":              synthRun(t, 3000, 3*time.Second, 57*time.Second, 30*time.Second, 5, 0),
		"1 h":               synthRun(t, 10000, 100*time.Second, 3500*time.Second, 3000*time.Second, 2, 0),
		"3 days":            synthRun(t, 50, 10*time.Second, 72*time.Hour, 0, 0, 0),
		"all failed":        synthRun(t, 0, time.Second, time.Second, 0, 0, 200),
	}
}

var (
	svgElement = regexp.MustCompile(`(?s)<svg.*?</svg>`)
	svgText    = regexp.MustCompile(`(?s)<text[^>]*>([^<]*)</text>`)
	// A tick label: a number, optionally a percentage.
	numberLabel = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?%?$`)
)

// plotTexts returns the text of every <text> of each plot of an HTML page.
func plotTexts(page string) [][]string {
	var out [][]string
	for _, svg := range svgElement.FindAllString(page, -1) {
		var texts []string
		for _, m := range svgText.FindAllStringSubmatch(svg, -1) {
			texts = append(texts, strings.TrimSpace(m[1]))
		}
		out = append(out, texts)
	}
	return out
}

// significantDigits counts a decimal's significant digits: "0.6" 1, "1000"
// 1, "99.99" 4, "0.6000000000000001" 16.
func significantDigits(label string) int {
	s := strings.TrimPrefix(strings.TrimSuffix(label, "%"), "-")
	whole, frac, dot := strings.Cut(s, ".")
	digits := strings.TrimLeft(whole+frac, "0")
	if !dot {
		digits = strings.TrimRight(digits, "0")
	}
	return len(digits)
}

func TestSignificantDigits(t *testing.T) {
	for label, want := range map[string]int{"0": 0, "0.6": 1, "1000": 1, "1250": 3, "99.99%": 4, "0.6000000000000001": 16, "0.05": 1, "-2.50": 3} {
		if got := significantDigits(label); got != want {
			t.Errorf("significantDigits(%q) = %d, want %d", label, got, want)
		}
	}
}

// No tick label of any plot has more than four significant digits, at any
// run length: "0.6 s", never "0.6000000000000001 s" or a cut-off
// "000000001".
func TestHTMLPlotTickLabelsHaveAtMostFourSignificantDigits(t *testing.T) {
	for name, res := range synthRuns(t) {
		t.Run(name, func(t *testing.T) {
			plots := plotTexts(htmlRender(t, res))
			if name != "all failed" && len(plots) == 0 {
				t.Fatal("no plot drawn")
			}
			for i, texts := range plots {
				numbers := 0
				for _, s := range texts {
					if !numberLabel.MatchString(s) {
						continue
					}
					numbers++
					if n := significantDigits(s); n > 4 {
						t.Errorf("plot %d: tick label %q has %d significant digits", i+1, s, n)
					}
				}
				// Both axes are labelled: a plot whose ticks vanished
				// would pass the rule above without showing anything.
				if numbers < 5 {
					t.Errorf("plot %d has %d numeric tick labels, want at least 5: %q", i+1, numbers, texts)
				}
			}
		})
	}
}

// Connection and drop counts are whole numbers, on their axis too: with
// three connections the ticks are 0, 1, 2, 3, never 0.5.
func TestHTMLCountAxesHaveWholeTicks(t *testing.T) {
	for _, name := range []string{"0.3 s, 3 conns", "7.3 s", "1.5 s"} {
		res := synthRuns(t)[name]
		for _, fig := range []string{"alive", "age"} {
			for _, f := range htmlFigures {
				if f.name != fig {
					continue
				}
				_, p, empty, _ := f.draw(res)
				if p == nil {
					if fig == "age" && empty != "" {
						continue // nothing dropped
					}
					t.Fatalf("%s: no %s plot: %s", name, fig, empty)
				}
				for _, tk := range p.Y.Tick.Marker.Ticks(p.Y.Min, p.Y.Max) {
					if tk.Value != math.Trunc(tk.Value) || strings.Contains(tk.Label, ".") {
						t.Errorf("%s: %s plot has a fractional count tick %v %q", name, fig, tk.Value, tk.Label)
					}
				}
			}
		}
	}
}

// Per-second samples are drawn as steps: the alive line is made of
// horizontal and vertical segments only, so a ramp does not seem to go on
// past "hold starts" and a drop does not seem to take a second.
func TestHTMLAliveLineIsSteps(t *testing.T) {
	res := synthRuns(t)["60 s"]
	page := htmlRender(t, res)
	line := regexp.MustCompile(`<path d="([^"]+)" style="fill:none;stroke:` + strings.ToUpper(colAlive)).FindStringSubmatch(page)
	if line == nil {
		t.Fatal("no alive line in the page")
	}
	var pts [][2]float64
	for _, seg := range regexp.MustCompile(`[ML]([-0-9.e]+),([-0-9.e]+)`).FindAllStringSubmatch(line[1], -1) {
		x, _ := strconv.ParseFloat(seg[1], 64)
		y, _ := strconv.ParseFloat(seg[2], 64)
		pts = append(pts, [2]float64{x, y})
	}
	if len(pts) < 2*len(res.Timeline) {
		t.Fatalf("alive line has %d points for %d seconds, want two a second (a step)", len(pts), len(res.Timeline))
	}
	for i := 1; i < len(pts); i++ {
		dx, dy := math.Abs(pts[i][0]-pts[i-1][0]), math.Abs(pts[i][1]-pts[i-1][1])
		if dx > 1e-3 && dy > 1e-3 {
			t.Fatalf("segment %d of the alive line slopes: %v -> %v", i, pts[i-1], pts[i])
		}
	}
}

// Labels of marks never overlap, also when the hold ends right after it
// starts and clusters crowd the same moment.
func TestMarkLabelsNeverOverlap(t *testing.T) {
	marks := []vmark{
		{x0: 1, x1: 1, label: "hold starts"},
		{x0: 1.01, x1: 1.01, label: "hold ends"},
		{x0: 0.99, x1: 1.2, label: "1000 dropped at 1.0 s — idle timeout", band: true},
		{x0: 1.5, x1: 1.5, label: "nginx -s reload"},
		{x0: 1.99, x1: 1.99, label: "at the right edge"},
	}
	const width = 600.0
	toX := func(x float64) float64 { return x / 2 * width }
	layout := layoutMarks(marks, toX, width)
	sty := markLabelStyle()
	type box struct{ lo, hi float64 }
	boxes := make([]box, len(marks))
	for i, l := range layout {
		w := float64(sty.Width(marks[i].label).Points())
		boxes[i] = box{l.x, l.x + w}
		if l.left {
			boxes[i] = box{l.x - w, l.x}
		}
		if boxes[i].lo < 0 || boxes[i].hi > width {
			t.Errorf("label %q at %v runs off the plot (0..%v)", marks[i].label, boxes[i], width)
		}
	}
	for i := range marks {
		for j := i + 1; j < len(marks); j++ {
			if layout[i].row == layout[j].row && boxes[i].lo < boxes[j].hi && boxes[j].lo < boxes[i].hi {
				t.Errorf("labels %q %v and %q %v overlap in row %d", marks[i].label, boxes[i], marks[j].label, boxes[j], layout[i].row)
			}
		}
	}
	if layout[0].row == layout[1].row {
		t.Errorf("hold starts and hold ends 0.01 s apart share row %d", layout[0].row)
	}

	// On the page, too: the two labels are drawn at different places.
	res := synthRun(t, 10, 500*time.Millisecond, 10*time.Millisecond, 0, 0, 0)
	page := htmlRender(t, res)
	at := func(label string) string {
		m := regexp.MustCompile(`<text x="([^"]+)" y="([^"]+)"[^>]*>` + label + `</text>`).FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("no %q on the page", label)
		}
		return m[1] + "," + m[2]
	}
	if a, b := at("hold starts"), at("hold ends"); a == b || strings.Split(a, ",")[1] == strings.Split(b, ",")[1] {
		t.Errorf("hold starts at %s and hold ends at %s: want them in different rows", a, b)
	}
}

// Timeline second T is a wall-clock second: for a run that started 0.84 s
// into its second, second 0 covers the run's first 0.16 s, and the alive
// line steps there, not at 1 s; the last step ends with the run.
func TestAliveStepsFollowWallClockSeconds(t *testing.T) {
	start := outT0.Add(840 * time.Millisecond)
	res := &Result{Start: start, End: start.Add(1650 * time.Millisecond), Timeline: []Second{
		{T: 0, Alive: 312}, {T: 1, Alive: 1000}, {T: 2, Alive: 1000},
	}}
	pts, xMax := aliveSteps(res, 1)
	want := []struct{ x, y float64 }{{0, 312}, {0.16, 1000}, {1.16, 1000}, {1.65, 1000}}
	if len(pts) != len(want) {
		t.Fatalf("points %v, want %v", pts, want)
	}
	for i, w := range want {
		if math.Abs(pts[i].X-w.x) > 1e-9 || pts[i].Y != w.y {
			t.Errorf("point %d = %v, want %v", i, pts[i], w)
		}
	}
	if math.Abs(xMax-1.65) > 1e-9 {
		t.Errorf("axis ends at %v, want the run's end 1.65", xMax)
	}
}
