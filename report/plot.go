package report

import (
	"bytes"
	"fmt"
	"html"
	"html/template"
	"image/color"
	"math"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"
)

// The HTML report's plots are drawn by gonum.org/v1/plot (pure Go, SVG
// out): it lays out axes, ticks, grid, step lines and filled areas, and
// measures text, so labels can be kept apart. What it does not choose is
// the ticks: plot.DefaultTicks labels a 0.6 s run "0.6000000000000001"
// style and puts fractions on a count. Every axis here gets ticks from
// niceTicks, whose labels are exact decimals of a 1-2-5 step (at most 3
// significant digits) and whole numbers on counts.

// figure is one plot of the page, ready for the template: its caption and
// either the inline SVG or, when there is nothing to draw, a sentence.
type figure struct {
	Title  string
	SVG    template.HTML
	Empty  string
	Legend []legendEntry
}

// legendEntry is a coloured swatch and its label, written by the page
// under the plot (HTML text stays selectable and wraps on a phone).
type legendEntry struct {
	Color string // #rrggbb
	Label string
}

// Plot size in points (the SVG's viewBox; the page scales it to its width).
const (
	plotW    = 760
	plotH    = 290
	plotFont = 10 // points, tick labels and annotations
)

// plotColor turns "#rrggbb" into a colour; alpha 0..1 for fills.
func plotColor(hex string, alpha float64) color.Color {
	v, err := strconv.ParseUint(strings.TrimPrefix(hex, "#"), 16, 32)
	if err != nil {
		panic("report: bad plot colour " + hex)
	}
	a := uint8(math.Round(alpha * 255))
	// color.NRGBA is not premultiplied: the SVG gets the colour and its
	// opacity apart.
	return color.NRGBA{R: uint8(v >> 16), G: uint8(v >> 8), B: uint8(v), A: a}
}

// The page's palette (the same hues as its stylesheet).
const (
	colAlive   = "#1a73e8"
	colLatency = "#188038"
	colHold    = "#555555"
	colMark    = "#9334e6"
	colCluster = "#d93025"
	colGrid    = "#e6e6e6"
	colText    = "#333333"
)

// sansFont is the plots' typeface: Liberation Sans has Arial's metrics, so
// text measured here fits where a browser draws it in Arial or Helvetica
// (the page's stylesheet names the three, overriding the one family
// vgsvg writes).
var sansFont = font.Font{Typeface: "Liberation", Variant: "Sans"}

// newPlot returns an empty plot in the page's style with axis titles xt
// and yt.
func newPlot(xt, yt string) *plot.Plot {
	p := plot.New()
	txt := plotColor(colText, 1)
	style := func(s *text.Style, size vg.Length) {
		s.Font = font.From(sansFont, size)
		s.Color = txt
	}
	style(&p.X.Label.TextStyle, plotFont+1)
	style(&p.Y.Label.TextStyle, plotFont+1)
	style(&p.X.Tick.Label, plotFont)
	style(&p.Y.Tick.Label, plotFont)
	style(&p.Legend.TextStyle, plotFont)
	p.X.Label.Text, p.Y.Label.Text = xt, yt
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Padding = 0
		a.Color = plotColor("#999999", 1)
		a.Tick.Color = a.Color
	}
	grid := plotter.NewGrid()
	grid.Vertical.Color = plotColor(colGrid, 1)
	grid.Horizontal.Color = grid.Vertical.Color
	p.Add(grid)
	return p
}

// svgHead is what vgsvg writes before the drawing: an XML prolog, a
// comment and a standalone <svg> start tag with namespaces. Inline in HTML
// the element needs none of it, and the page must name no URL.
const svgHead = "<svg "

// renderSVG draws p and returns it as an inline <svg> element whose
// accessible name is title.
func renderSVG(p *plot.Plot, title string) (template.HTML, error) {
	c := vgsvg.New(plotW, plotH)
	// Slack on every side: a browser without Liberation Sans or Arial draws
	// the text wider than it was measured, and the last tick label is
	// centred on the right edge.
	p.Draw(draw.Crop(draw.New(c), 4, -18, 2, -4))
	var b bytes.Buffer
	if _, err := c.WriteTo(&b); err != nil {
		return "", err
	}
	out := b.String()
	start := strings.Index(out, svgHead)
	end := strings.IndexByte(out[max(start, 0):], '>')
	if start < 0 || end < 0 {
		return "", fmt.Errorf("unexpected SVG from the plotting library: %.80q", out)
	}
	open := fmt.Sprintf(`<svg viewBox="0 0 %d %d" role="img" aria-label="%s">`, plotW, plotH, html.EscapeString(title))
	return template.HTML(open + out[start+end+1:]), nil
}

// tickSpec is one axis's ticks: 0 up to the first tick at or above the
// data, n intervals or so, and its title's unit.
type tickSpec struct {
	ticks []plot.Tick
	last  float64
}

// niceTicks returns ticks from 0 to the first multiple of a 1-2-5 step at
// or above maxV, about n intervals; whole (a count) keeps the step at 1 or
// more. Each label is its value divided by div, written exactly with as
// many decimals as the step needs: never 0.6000000000000001.
func niceTicks(maxV float64, n int, whole bool, div float64) tickSpec {
	step := niceStep(maxV, n)
	if whole {
		step = math.Max(step, 1)
	}
	decimals := max(0, -int(math.Floor(math.Log10(step/div)+1e-9)))
	var ts tickSpec
	for i := 0; i <= 3*n+3; i++ {
		// i*step, not a running sum: no accumulated rounding.
		v := float64(i) * step
		ts.ticks = append(ts.ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v/div, 'f', decimals, 64)})
		ts.last = v
		if v >= maxV {
			break
		}
	}
	return ts
}

// niceStep is the 1-2-5 step that cuts span into about n intervals.
func niceStep(span float64, n int) float64 {
	if span <= 0 || n <= 0 {
		return 1
	}
	raw := span / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw*(1-1e-9) {
			return m * mag
		}
	}
	return 10 * mag
}

// timeUnit picks how a time axis of span seconds is labelled: ms below a
// second, seconds up to 5 minutes, minutes up to 5 hours, then hours.
func timeUnit(spanS float64) (name string, div float64) {
	switch {
	case spanS < 1:
		return "ms", 0.001
	case spanS <= 300:
		return "s", 1
	case spanS <= 5*3600:
		return "min", 60
	}
	return "h", 3600
}

// timeTicks are niceTicks for an axis in seconds, stepping in the unit it
// is labelled in (10 min, not 500 s); the unit is returned for the title.
func timeTicks(maxS float64, n int) (tickSpec, string) {
	unit, div := timeUnit(maxS)
	ts := niceTicks(maxS/div, n, false, 1)
	for i := range ts.ticks {
		ts.ticks[i].Value *= div
	}
	ts.last *= div
	return ts, unit
}

// useTicks fixes an axis to 0..last with exactly these ticks; top (≥ last)
// leaves headroom above the last tick.
func useTicks(a *plot.Axis, ts tickSpec, top float64) {
	a.Min, a.Max = 0, math.Max(ts.last, top)
	ticks := ts.ticks
	a.Tick.Marker = plot.TickerFunc(func(float64, float64) []plot.Tick { return ticks })
}

// vmark is a vertical line or band across the plot at data x (x0..x1) with
// a label: the hold, a --at command, a drop cluster.
type vmark struct {
	x0, x1 float64
	label  string
	color  string
	band   bool // a filled band x0..x1 rather than a dashed line at x0
}

// vmarks draws marks and lays their labels out in rows at the top of the
// data area (the y axis leaves room above the data: headroom) so that no
// two labels overlap: each goes into the first row where it clears
// the labels already there, right of its line, or left of it where it
// would run off the plot.
type vmarks []vmark

const (
	markRowH = plotFont + 3 // points per label row
	markGap  = 8            // points between two labels in one row
)

// markRows estimates how many label rows marks need on a plot xMax wide,
// for reserving headroom before the plot is laid out: the data area is
// about the plot less its y axis. Plot draws with the real width.
func markRows(marks []vmark, xMax float64) int {
	layout := layoutMarks(marks, func(x float64) float64 { return x / xMax * (plotW - 70) }, plotW-70)
	rows := 0
	for _, l := range layout {
		rows = max(rows, l.row+1)
	}
	return rows
}

type markLabel struct {
	x    float64 // canvas x of the text's anchor
	left bool    // right-aligned to x
	row  int
}

func markLabelStyle() text.Style {
	return text.Style{Font: font.From(sansFont, plotFont), Handler: plot.DefaultTextHandler}
}

// layoutMarks places each mark's label: canvasX maps data x to canvas x
// within a data area width wide (from 0).
func layoutMarks(marks []vmark, canvasX func(float64) float64, width float64) []markLabel {
	sty := markLabelStyle()
	order := make([]int, len(marks))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmpFloat(marks[a].x0, marks[b].x0) })
	out := make([]markLabel, len(marks))
	var rowEnds [][][2]float64 // per row, the extents taken
	for _, i := range order {
		m := marks[i]
		w := float64(sty.Width(m.label).Points())
		x0, x1 := canvasX(m.x0), canvasX(m.x1)
		l := markLabel{x: x1 + 3}
		lo, hi := x1+3, x1+3+w
		if hi > width {
			l = markLabel{x: x0 - 3, left: true}
			lo, hi = x0-3-w, x0-3
		}
		row := 0
		for ; row < len(rowEnds); row++ {
			free := true
			for _, e := range rowEnds[row] {
				if lo < e[1]+markGap && e[0] < hi+markGap {
					free = false
					break
				}
			}
			if free {
				break
			}
		}
		if row == len(rowEnds) {
			rowEnds = append(rowEnds, nil)
		}
		rowEnds[row] = append(rowEnds[row], [2]float64{lo, hi})
		l.row = row
		out[i] = l
	}
	return out
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Plot implements plot.Plotter.
func (v vmarks) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	left := float64(c.Min.X.Points())
	layout := layoutMarks(v, func(x float64) float64 { return float64(trX(x).Points()) - left }, float64((c.Max.X - c.Min.X).Points()))
	for i, m := range v {
		col := plotColor(m.color, 1)
		x0, x1 := trX(m.x0), trX(m.x1)
		if m.band {
			if x1-x0 < 2 {
				x1 = x0 + 2
			}
			c.SetColor(plotColor(m.color, 0.18))
			c.Fill(rectPath(x0, c.Min.Y, x1, c.Max.Y))
			c.StrokeLines(draw.LineStyle{Color: col, Width: 0.75}, []vg.Point{{X: x0, Y: c.Min.Y}, {X: x0, Y: c.Max.Y}}, []vg.Point{{X: x1, Y: c.Min.Y}, {X: x1, Y: c.Max.Y}})
		} else {
			c.StrokeLine2(draw.LineStyle{Color: col, Width: 1, Dashes: []vg.Length{4, 3}}, x0, c.Min.Y, x0, c.Max.Y)
		}
		l := layout[i]
		sty := markLabelStyle()
		sty.Color = col
		sty.YAlign = draw.YTop
		if l.left {
			sty.XAlign = draw.XRight
		}
		y := c.Max.Y - vg.Length(2+markRowH*l.row)
		c.FillText(sty, vg.Point{X: vg.Length(l.x + left), Y: y}, m.label)
	}
}

func rectPath(x0, y0, x1, y1 vg.Length) vg.Path {
	var p vg.Path
	p.Move(vg.Point{X: x0, Y: y0})
	p.Line(vg.Point{X: x1, Y: y0})
	p.Line(vg.Point{X: x1, Y: y1})
	p.Line(vg.Point{X: x0, Y: y1})
	p.Close()
	return p
}

// headroom returns the data value to put at the top of a y axis whose last
// tick is last so that rows of labels fit above it: the data area is about
// the plot less its x axis and margins.
func headroom(last float64, rows int) float64 {
	if rows == 0 {
		return last
	}
	area := float64(plotH - 45)
	room := float64(rows*markRowH + 4)
	return last * area / math.Max(area-room, area/3)
}

// rects draws filled rectangles in data coordinates: one colour's share of
// a stacked bar chart.
type rects struct {
	r     [][4]float64 // x0, y0, x1, y1
	color color.Color
}

// Plot implements plot.Plotter.
func (r rects) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	c.SetColor(r.color)
	for _, q := range r.r {
		x0, x1 := trX(q[0]), trX(q[2])
		if x1-x0 > 1 {
			x1 -= 0.5 // a hairline between neighbouring bars
		}
		c.Fill(rectPath(x0, trY(q[1]), x1, trY(q[3])))
	}
}
