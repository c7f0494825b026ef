package report

import (
	"fmt"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
)

// htmlFigures are the page's plots by name; the template places each in
// its section with {{template "figure" index .Figures "NAME"}}. Adding a
// plot is a row here, a drawing function, and that one line in the
// template. A drawing function returns the plot's caption and either the
// plot or, when the result has nothing to draw, the sentence shown instead;
// the legend, if any, is written under the plot.
var htmlFigures = []struct {
	name string
	draw func(res *Result) (title string, p *plot.Plot, empty string, legend []legendEntry)
}{
	{"alive", alivePlot},
	{"latency", latencyPlot},
	{"age", agePlot},
	{"messages", messagesPlot},
}

// drawFigures draws every figure of the page.
func drawFigures(res *Result) (map[string]figure, error) {
	out := make(map[string]figure, len(htmlFigures))
	for _, f := range htmlFigures {
		title, p, empty, legend := f.draw(res)
		fig := figure{Title: title, Empty: empty, Legend: legend}
		if p != nil && empty == "" {
			svg, err := renderSVG(p, title)
			if err != nil {
				return nil, fmt.Errorf("plot %s: %w", f.name, err)
			}
			fig.SVG = svg
		}
		out[f.name] = fig
	}
	return out, nil
}

// alivePlot: connections alive at the end of each second of the run, as
// steps (a count holds for its whole second; a drop at 60 s is a cliff at
// 60 s, not a slope to 61 s), with the hold, the --at marks and the drop
// clusters as bands over the time their drops happened.
func alivePlot(res *Result) (string, *plot.Plot, string, []legendEntry) {
	tl := res.Timeline
	// A long run is drawn in steps of several seconds, each the count at
	// its end: a week of seconds would make a page of megabytes.
	group := max(1, (len(tl)+maxSteps-1)/maxSteps)
	title := "Connections alive over time (each step: the count at the end of that second)"
	if group > 1 {
		title = fmt.Sprintf("Connections alive over time (each step: the count at the end of its %d s)", group)
	}
	if len(tl) == 0 {
		return title, nil, "No timeline was recorded.", nil
	}
	if res.Counts.Upgraded == 0 {
		return title, nil, "No connection was upgraded, so none was alive: see Failed upgrades below.", nil
	}
	pts, xMax := aliveSteps(res, group)
	yMax := float64(res.Counts.Upgraded)
	for _, p := range pts {
		yMax = math.Max(yMax, p.Y)
	}

	var marks []vmark
	if !res.Start.IsZero() && !res.HoldStart.IsZero() {
		marks = append(marks, vmark{x0: res.HoldStart.Sub(res.Start).Seconds(), label: "hold starts", color: colHold})
	}
	if !res.Start.IsZero() && !res.HoldEnd.IsZero() {
		marks = append(marks, vmark{x0: res.HoldEnd.Sub(res.Start).Seconds(), label: "hold ends", color: colHold})
	}
	for _, m := range res.Marks {
		marks = append(marks, vmark{x0: m.AtMs / 1000, label: outOneLine(m.Label), color: colMark})
	}
	for _, c := range res.Drops.Clusters {
		if lo, hi, ok := clusterWallSpan(res, c); ok {
			marks = append(marks, vmark{x0: lo / 1000, x1: hi / 1000, label: plotLabel(c), color: colCluster, band: true})
		}
	}
	marks = append(marks, recoveryMarks(res)...)
	for i := range marks {
		marks[i].x1 = math.Max(marks[i].x1, marks[i].x0)
	}

	xt, unit := timeTicks(xMax, 8)
	yt := niceTicks(yMax, 5, true, 1)
	p := newPlot("time since start ("+unit+")", "connections alive")
	useTicks(&p.X, xt, xt.last)
	rows := markRows(marks, xt.last)
	useTicks(&p.Y, yt, headroom(yt.last, rows))
	line, err := plotter.NewLine(pts)
	if err != nil {
		return title, nil, "The timeline could not be drawn: " + err.Error(), nil
	}
	line.StepStyle = plotter.PostStep
	line.Color = plotColor(colAlive, 1)
	line.Width = 1.75
	line.FillColor = plotColor(colAlive, 0.12)
	p.Add(vmarks(marks), line)
	return title, p, "", nil
}

// aliveSteps are the points of the alive line in seconds since the run's
// start, to be drawn as post-steps (each holds until the next; the last
// closes the last step), and the end of the time axis. Timeline second T
// is the T-th wall-clock second from the one the run started in, so on the
// run's clock it begins T - f seconds in, f being how far into its
// wall-clock second the run started; the first step begins at the start,
// the last ends with the run (a 0.75 s run has no sample at 1 s).
func aliveSteps(res *Result, group int) (pts plotter.XYs, xMax float64) {
	tl := res.Timeline
	f := 0.0
	if !res.Start.IsZero() {
		f = float64(res.Start.Nanosecond()) / 1e9
	}
	last := tl[len(tl)-1]
	end := float64(last.T+1) - f
	xMax = end
	if !res.Start.IsZero() && res.End.After(res.Start) {
		d := res.End.Sub(res.Start).Seconds()
		if d > float64(last.T)-f {
			end = math.Min(end, d)
		}
		xMax = math.Max(end, d)
	}
	pts = make(plotter.XYs, 0, len(tl)/group+2)
	for i := 0; i < len(tl); i += group {
		s := tl[min(i+group, len(tl))-1] // the group's last second
		pts = append(pts, plotter.XY{X: math.Max(float64(tl[i].T)-f, 0), Y: float64(s.Alive)})
	}
	return append(pts, plotter.XY{X: end, Y: float64(last.Alive)}), xMax
}

// maxSteps bounds the points of the alive line.
const maxSteps = 1200

// plotLabel annotates a cluster on the plot: "1000 dropped at 60.0 s —
// nginx proxy_read_timeout default", or its cause when no default matches.
func plotLabel(c Cluster) string {
	why := causeText(c.Cause)
	if len(c.Matches) > 0 {
		why = c.Matches[0]
	}
	at := secText(c.AtMs)
	if c.Clock == "wall" {
		at += " into the run"
	}
	if why == "" {
		return fmt.Sprintf("%d dropped at %s (%s)", c.Count, at, c.Kind)
	}
	return fmt.Sprintf("%d dropped at %s — %s", c.Count, at, why)
}

// clusterWallSpan finds when (ms since Start) a cluster's drops happened:
// a cluster on the age or idle clock is a set of drops whose wall times
// are spread over the run.
func clusterWallSpan(res *Result, c Cluster) (lo, hi float64, ok bool) {
	if c.Clock == "wall" {
		lo, hi := c.span()
		return lo, hi, true
	}
	from, to := c.span()
	tol := math.Max(50, 0.01*c.AtMs)
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, e := range res.Drops.Events {
		v := e.AgeMs
		if c.Clock == "idle" {
			v = e.IdleMs
		}
		if v >= from-tol && v <= to+tol {
			lo, hi = math.Min(lo, e.AtMs), math.Max(hi, e.AtMs)
		}
	}
	return lo, hi, lo <= hi
}

// latencyPlot: handshake latency against percentile on a log axis (0 %,
// 90 %, 99 %, 99.9 %, …), the HdrHistogram way of showing a tail. The axis
// ends at the maximum, one in count deep.
func latencyPlot(res *Result) (string, *plot.Plot, string, []legendEntry) {
	hs := res.Handshake
	title := fmt.Sprintf("Handshake latency by percentile (p50 %s, p99 %s, max %s)", msText(hs.P50Ms), msText(hs.P99Ms), msText(hs.MaxMs))
	if hs.Histogram == "" || hs.Count == 0 {
		return "Handshake latency by percentile", nil, "No handshake completed, so there is no handshake latency to plot.", nil
	}
	h, err := DecodeHistogram(hs.Histogram)
	if err != nil || h.TotalCount() == 0 {
		return title, nil, "The handshake histogram could not be read.", nil
	}
	// x = log10(1/(1-q)): each unit is one more nine. At log10(count)
	// nines the quantile is the slowest handshake, so the axis ends there.
	end := math.Max(math.Log10(float64(h.TotalCount())), 2)
	const steps = 240
	pts := make(plotter.XYs, steps+1)
	yMax := 0.0
	for i := range pts {
		x := end * float64(i) / steps
		q := 100 * (1 - math.Pow(10, -x))
		pts[i] = plotter.XY{X: x, Y: usToMs(h.ValueAtQuantile(math.Min(q, 100)))}
		yMax = math.Max(yMax, pts[i].Y)
	}
	// The labelled nines stop at 99.99 % (four digits) and leave room
	// for "max" at the end.
	var xt tickSpec
	for k := 0.0; k <= 4 && k < end-0.3; k++ {
		xt.ticks = append(xt.ticks, plot.Tick{Value: k, Label: percentileLabel(k)})
	}
	for k := float64(len(xt.ticks)); k < end; k++ {
		xt.ticks = append(xt.ticks, plot.Tick{Value: k}) // a nine too deep to name: a minor tick
	}
	xt.ticks = append(xt.ticks, plot.Tick{Value: end, Label: "max"})
	xt.last = end
	yt := niceTicks(math.Max(yMax, 0.001), 5, false, 1)

	p := newPlot("percentile (log scale: each tick one more nine)", "handshake latency (ms)")
	useTicks(&p.X, xt, end)
	useTicks(&p.Y, yt, yt.last)
	line, err := plotter.NewLine(pts)
	if err != nil {
		return title, nil, "The latency curve could not be drawn: " + err.Error(), nil
	}
	line.Color = plotColor(colLatency, 1)
	line.Width = 1.75
	p.Add(line)
	return title, p, "", nil
}

// percentileLabel names the percentile k nines deep: 0%, 90%, 99%, …
func percentileLabel(k float64) string {
	if k == 0 {
		return "0%"
	}
	return strconv.FormatFloat(100*(1-math.Pow(10, -k)), 'f', max(int(k)-2, 0), 64) + "%"
}

// agePlot: how long connections lived before they dropped, one stacked bar
// per age bin, coloured by how they ended.
func agePlot(res *Result) (string, *plot.Plot, string, []legendEntry) {
	const title = "Drops by connection age, by kind"
	ev := res.Drops.Events
	if len(ev) == 0 {
		if res.Drops.Count > 0 {
			return title, nil, "This result does not list its drop events.", nil
		}
		return title, nil, "No connection dropped.", nil
	}
	maxAge := 0.0
	totals := map[string]int64{}
	for _, e := range ev {
		maxAge = math.Max(maxAge, e.AgeMs/1000)
		totals[e.Kind]++
	}
	// Bins are centred on multiples of the width: proxy timeouts are round
	// numbers, and a cluster at 60 s must not straddle a bin edge.
	width := math.Max(niceStep(maxAge, 40), 0.001)
	bins := int(math.Round(maxAge/width)) + 1
	kinds := sortedKinds(totals)
	counts := make(map[string][]int64, len(kinds))
	for _, k := range kinds {
		counts[k] = make([]int64, bins)
	}
	for _, e := range ev {
		counts[e.Kind][min(int(math.Round(e.AgeMs/1000/width)), bins-1)]++
	}
	var yMax int64 = 1
	below := make([]int64, bins)
	layers := make([]rects, len(kinds))
	for i, k := range kinds {
		layers[i].color = plotColor(kindColor(k), 1)
		for b := range bins {
			n := counts[k][b]
			if n == 0 {
				continue
			}
			lo, hi := math.Max(float64(b)-0.5, 0)*width, (float64(b)+0.5)*width
			layers[i].r = append(layers[i].r, [4]float64{lo, float64(below[b]), hi, float64(below[b] + n)})
			below[b] += n
			yMax = max(yMax, below[b])
		}
	}
	xt, unit := timeTicks((float64(bins)-0.5)*width, 8)
	yt := niceTicks(float64(yMax), 5, true, 1)
	p := newPlot("age at drop, time since upgrade ("+unit+")", "drops")
	useTicks(&p.X, xt, xt.last)
	useTicks(&p.Y, yt, yt.last)
	var legend []legendEntry
	for i, k := range kinds {
		p.Add(layers[i])
		legend = append(legend, legendEntry{Color: kindColor(k), Label: fmt.Sprintf("%s: %d", kindText(k), totals[k])})
	}
	return title, p, "", legend
}

// kindColor is a drop kind's colour: FIN red, RST purple, close frames
// blues and greens, the harness's pong timeout orange.
func kindColor(kind string) string {
	switch kind {
	case "eof":
		return "#d93025"
	case "reset":
		return "#8e24aa"
	case "pong_timeout":
		return "#f29900"
	case "protocol_error":
		return "#795548"
	case "close_1000":
		return "#1a73e8"
	case "close_1001":
		return "#12b5cb"
	}
	if len(kind) > 6 && kind[:6] == "close_" {
		return "#188038"
	}
	return "#80868b"
}
