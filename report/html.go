package report

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// WriteHTML writes res as one self-contained HTML page: the verdict, the
// scenario as run, the tables of the terminal report, and three inline SVG
// plots (connections alive over time with the drop clusters and the hold
// marked; the handshake latency percentile distribution; drops by age,
// coloured by kind). It references nothing outside itself (no script,
// font, stylesheet or image), so it can be attached to a CI run and still
// open offline years later. html/template escapes every value by its
// context, so a scenario name or a 400 body full of markup stays text.
func WriteHTML(w io.Writer, res *Result) error {
	if res == nil {
		return fmt.Errorf("write html: no result")
	}
	page := htmlPage{
		R:       res,
		Verdict: VerdictLine(res),
		Pass:    res.Verdict == "pass",
		Plots:   []svgPlot{alivePlot(res), latencyPlot(res), agePlot(res)},
	}
	for _, k := range sortedKinds(res.Drops.ByKind) {
		page.Kinds = append(page.Kinds, htmlKindCount{k, res.Drops.ByKind[k]})
	}
	if !res.Start.IsZero() && !res.End.IsZero() {
		page.Duration = outRunTime(res.End.Sub(res.Start))
	}
	if err := htmlTemplate.Execute(w, page); err != nil {
		return fmt.Errorf("write html: %w", err)
	}
	return nil
}

// htmlPage is what the template sees.
type htmlPage struct {
	R        *Result
	Verdict  string
	Pass     bool
	Duration string
	Plots    []svgPlot
	Kinds    []htmlKindCount
}

type htmlKindCount struct {
	Kind  string
	Count int64
}

// svgPlot is a chart already laid out in viewBox units; the template only
// writes its elements. Coordinates are preformatted strings so the output
// is stable across platforms.
type svgPlot struct {
	Title  string
	W, H   int
	Empty  string // shown instead of the plot when there is nothing to draw
	Paths  []svgPath
	Rects  []svgRect
	Lines  []svgLine
	Texts  []svgText
	Legend []svgLegend
}

type svgPath struct{ D, Class string }
type svgRect struct{ X, Y, W, H, Class, Tip string }
type svgLine struct{ X1, Y1, X2, Y2, Class string }
type svgText struct{ X, Y, Anchor, Class, Text string }
type svgLegend struct{ Class, Label string }

// Plot geometry in viewBox units: the drawing area is inset by margins
// that leave room for tick labels.
const (
	svgW, svgH                         = 760, 280
	svgLeft, svgRight, svgTop, svgBott = 64, 40, 28, 40
)

// svgFrame maps data coordinates [x0,x1]×[y0,y1] onto the drawing area.
type svgFrame struct{ x0, x1, y0, y1 float64 }

func (f svgFrame) X(v float64) float64 {
	return svgLeft + (v-f.x0)/(f.x1-f.x0)*(svgW-svgLeft-svgRight)
}

func (f svgFrame) Y(v float64) float64 {
	return svgH - svgBott - (v-f.y0)/(f.y1-f.y0)*(svgH-svgTop-svgBott)
}

type svgTick struct {
	V     float64
	Label string
}

// axes draws the grid, the tick labels and the axis titles.
func (f svgFrame) axes(p *svgPlot, xs, ys []svgTick, xTitle, yTitle string) {
	for _, t := range ys {
		y := svgNum(f.Y(t.V))
		p.Lines = append(p.Lines, svgLine{svgNum(svgLeft), y, svgNum(svgW - svgRight), y, "grid"})
		p.Texts = append(p.Texts, svgText{svgNum(svgLeft - 6), svgNum(f.Y(t.V) + 4), "end", "tick", t.Label})
	}
	for _, t := range xs {
		x := svgNum(f.X(t.V))
		p.Lines = append(p.Lines, svgLine{x, svgNum(svgTop), x, svgNum(svgH - svgBott), "grid"})
		p.Texts = append(p.Texts, svgText{x, svgNum(svgH - svgBott + 16), "middle", "tick", t.Label})
	}
	p.Lines = append(p.Lines, svgLine{svgNum(svgLeft), svgNum(svgH - svgBott), svgNum(svgW - svgRight), svgNum(svgH - svgBott), "axis"})
	p.Texts = append(p.Texts,
		svgText{svgNum((svgLeft + svgW - svgRight) / 2), svgNum(svgH - 6), "middle", "axis-title", xTitle},
		svgText{svgNum(svgLeft), svgNum(svgTop - 10), "start", "axis-title", yTitle})
}

func svgNum(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }

// niceStep is the 1-2-5 step that cuts span into about n intervals.
func niceStep(span float64, n int) float64 {
	if span <= 0 || n <= 0 {
		return 1
	}
	raw := span / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			return m * mag
		}
	}
	return 10 * mag
}

// linTicks returns ticks from 0 to the first step at or above maxV.
func linTicks(maxV float64, n int, label func(float64) string) []svgTick {
	step := niceStep(maxV, n)
	var out []svgTick
	for i := 0; i <= n*3; i++ {
		v := float64(i) * step
		out = append(out, svgTick{v, label(v)})
		if v >= maxV {
			break
		}
	}
	return out
}

func lastTick(ts []svgTick) float64 { return ts[len(ts)-1].V }

func svgCount(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func svgAge(ms float64) string {
	if ms == 0 {
		return "0"
	}
	return secText(ms)
}

func svgSeconds(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) + " s" }

// alivePlot: connections alive at the end of each second of the run, with
// the hold start, the marks and the drop clusters (as bands over the
// seconds in which their drops happened).
func alivePlot(res *Result) svgPlot {
	p := svgPlot{Title: "Connections alive over time", W: svgW, H: svgH}
	tl := res.Timeline
	if len(tl) == 0 {
		p.Empty = "No timeline was recorded."
		return p
	}
	xMax := float64(tl[len(tl)-1].T + 1)
	if !res.Start.IsZero() && res.End.After(res.Start) {
		xMax = math.Max(xMax, res.End.Sub(res.Start).Seconds())
	}
	yMax := float64(max(res.Counts.Upgraded, 1))
	for _, s := range tl {
		yMax = math.Max(yMax, float64(s.Alive))
	}
	xs := linTicks(xMax, 8, svgSeconds)
	ys := linTicks(yMax, 5, svgCount)
	f := svgFrame{0, lastTick(xs), 0, lastTick(ys)}
	f.axes(&p, xs, ys, "seconds since start", "alive")

	var line strings.Builder
	fmt.Fprintf(&line, "M%s %s", svgNum(f.X(0)), svgNum(f.Y(0)))
	for _, s := range tl {
		fmt.Fprintf(&line, " L%s %s", svgNum(f.X(float64(s.T+1))), svgNum(f.Y(float64(s.Alive))))
	}
	last := float64(tl[len(tl)-1].T + 1)
	p.Paths = append(p.Paths,
		svgPath{line.String() + fmt.Sprintf(" L%s %s Z", svgNum(f.X(last)), svgNum(f.Y(0))), "area"},
		svgPath{line.String(), "alive"})

	vmark := func(atS float64, class, label string, row int) {
		x := f.X(atS)
		p.Lines = append(p.Lines, svgLine{svgNum(x), svgNum(svgTop), svgNum(x), svgNum(svgH - svgBott), class})
		lx, anchor := labelBeside(x, x)
		p.Texts = append(p.Texts, svgText{svgNum(lx), svgNum(svgTop + 12 + 12*float64(row)), anchor, class + "-label", label})
	}
	if !res.HoldStart.IsZero() && !res.Start.IsZero() {
		vmark(res.HoldStart.Sub(res.Start).Seconds(), "hold", "hold starts", 0)
	}
	if !res.HoldEnd.IsZero() && !res.Start.IsZero() {
		vmark(res.HoldEnd.Sub(res.Start).Seconds(), "hold", "hold ends", 0)
	}
	for _, m := range res.Marks {
		vmark(m.AtMs/1000, "mark", outOneLine(m.Label), 1)
	}
	for i, c := range res.Drops.Clusters {
		lo, hi, ok := clusterWallSpan(res, c)
		if !ok {
			continue
		}
		x0, x1 := f.X(lo/1000), f.X(hi/1000)
		label := plotLabel(c)
		p.Rects = append(p.Rects, svgRect{svgNum(x0), svgNum(svgTop), svgNum(math.Max(x1-x0, 2)),
			svgNum(svgH - svgTop - svgBott), "cluster", label + " " + c.Hint})
		lx, anchor := labelBeside(x0, x1)
		p.Texts = append(p.Texts, svgText{svgNum(lx), svgNum(svgTop + 36 + 12*float64(i%4)), anchor, "cluster-label", label})
	}
	return p
}

// labelBeside places the label of a line or band spanning x0..x1: to its
// right, or in the plot's right half to its left, where a label on the
// right would run off the picture.
func labelBeside(x0, x1 float64) (x float64, anchor string) {
	if x1 > (svgLeft+svgW-svgRight)/2 {
		return x0 - 3, "end"
	}
	return x1 + 3, "start"
}

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
		return c.AtMs - c.SpreadMs/2, c.AtMs + c.SpreadMs/2, true
	}
	tol := math.Max(c.SpreadMs/2, math.Max(50, 0.01*c.AtMs))
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, e := range res.Drops.Events {
		v := e.AgeMs
		if c.Clock == "idle" {
			v = e.IdleMs
		}
		if math.Abs(v-c.AtMs) <= tol {
			lo, hi = math.Min(lo, e.AtMs), math.Max(hi, e.AtMs)
		}
	}
	return lo, hi, lo <= hi
}

// latencyPlot: handshake latency against percentile on a log axis (0 %,
// 90 %, 99 %, 99.9 %, …), the HdrHistogram way of showing a tail.
func latencyPlot(res *Result) svgPlot {
	hs := res.Handshake
	p := svgPlot{
		Title: fmt.Sprintf("Handshake latency by percentile (p50 %s, p99 %s, max %s)", msText(hs.P50Ms), msText(hs.P99Ms), msText(hs.MaxMs)),
		W:     svgW, H: svgH,
	}
	if hs.Histogram == "" || hs.Count == 0 {
		p.Empty = "No upgrade succeeded, so there is no handshake latency to plot."
		return p
	}
	h, err := DecodeHistogram(hs.Histogram)
	if err != nil || h.TotalCount() == 0 {
		p.Empty = "The handshake histogram could not be read."
		return p
	}
	// x = log10(1/(1-q)): each unit is one more nine. Past log10(count)
	// nines every value is the maximum, so the axis stops there.
	nines := math.Min(math.Max(math.Ceil(math.Log10(float64(h.TotalCount()))), 2), 6)
	const steps = 240
	xs := make([]float64, steps+1)
	vs := make([]float64, steps+1)
	yMax := 0.001
	for i := range xs {
		xs[i] = nines * float64(i) / steps
		q := 100 * (1 - math.Pow(10, -xs[i]))
		vs[i] = usToMs(h.ValueAtQuantile(q))
		yMax = math.Max(yMax, vs[i])
	}
	var xt []svgTick
	for k := 0.0; k <= nines; k++ {
		xt = append(xt, svgTick{k, percentileLabel(k)})
	}
	yt := linTicks(yMax, 5, func(v float64) string { return svgCount(v) + " ms" })
	f := svgFrame{0, nines, 0, lastTick(yt)}
	f.axes(&p, xt, yt, "percentile", "handshake latency")
	var d strings.Builder
	for i := range xs {
		op := " L"
		if i == 0 {
			op = "M"
		}
		fmt.Fprintf(&d, "%s%s %s", op, svgNum(f.X(xs[i])), svgNum(f.Y(vs[i])))
	}
	p.Paths = append(p.Paths, svgPath{d.String(), "latency"})
	return p
}

// percentileLabel names the percentile k nines deep: 0 %, 90 %, 99 %, …
func percentileLabel(k float64) string {
	if k == 0 {
		return "0%"
	}
	return strconv.FormatFloat(100*(1-math.Pow(10, -k)), 'f', max(int(k)-2, 0), 64) + "%"
}

// agePlot: how long connections lived before they dropped, one stacked bar
// per age bin, coloured by how they ended.
func agePlot(res *Result) svgPlot {
	p := svgPlot{Title: "Drops by connection age, by kind", W: svgW, H: svgH}
	ev := res.Drops.Events
	if len(ev) == 0 {
		p.Empty = "No connection dropped."
		if res.Drops.Count > 0 {
			p.Empty = "This result does not list its drop events."
		}
		return p
	}
	maxAge := 0.0
	totals := map[string]int64{}
	for _, e := range ev {
		maxAge = math.Max(maxAge, e.AgeMs)
		totals[e.Kind]++
	}
	// Bins are centred on multiples of the width: proxy timeouts are round
	// numbers, and a cluster at 60 s must not straddle a bin edge.
	width := math.Max(niceStep(maxAge, 40), 1)
	bins := int(math.Round(maxAge/width)) + 1
	kinds := sortedKinds(totals)
	counts := make(map[string][]int64, len(kinds))
	for _, k := range kinds {
		counts[k] = make([]int64, bins)
	}
	for _, e := range ev {
		counts[e.Kind][min(int(math.Round(e.AgeMs/width)), bins-1)]++
	}
	var yMax int64 = 1
	for b := range bins {
		var sum int64
		for _, k := range kinds {
			sum += counts[k][b]
		}
		yMax = max(yMax, sum)
	}
	xt := linTicks((float64(bins)-0.5)*width, 8, svgAge)
	yt := linTicks(float64(yMax), 5, svgCount)
	f := svgFrame{0, lastTick(xt), 0, lastTick(yt)}
	f.axes(&p, xt, yt, "age at drop (time since upgrade)", "drops")
	for b := range bins {
		var below int64
		lo, hi := math.Max(float64(b)-0.5, 0)*width, (float64(b)+0.5)*width
		x0, x1 := f.X(lo), f.X(hi)
		for _, k := range kinds {
			n := counts[k][b]
			if n == 0 {
				continue
			}
			top := f.Y(float64(below + n))
			p.Rects = append(p.Rects, svgRect{svgNum(x0), svgNum(top), svgNum(math.Max(x1-x0-0.5, 0.5)),
				svgNum(f.Y(float64(below)) - top), kindClass(k),
				fmt.Sprintf("%d %s at age %s–%s", n, k, secText(lo), secText(hi))})
			below += n
		}
	}
	for _, k := range kinds {
		p.Legend = append(p.Legend, svgLegend{kindClass(k), fmt.Sprintf("%s: %d", kindText(k), totals[k])})
	}
	return p
}

// kindClass picks a drop kind's colour (see the stylesheet): FIN red,
// RST purple, close frames blues and greens, harness timeouts orange.
func kindClass(kind string) string {
	switch kind {
	case "eof":
		return "k-eof"
	case "reset":
		return "k-reset"
	case "pong_timeout":
		return "k-pong"
	case "protocol_error":
		return "k-proto"
	case "close_1000":
		return "k-c1000"
	case "close_1001":
		return "k-c1001"
	}
	if strings.HasPrefix(kind, "close_") {
		return "k-close"
	}
	return "k-other"
}

func htmlTime(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.UTC().Format("2006-01-02 15:04:05.000 UTC")
}

var htmlTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"ms":      msText,
	"sec":     secText,
	"spread":  func(ms float64) string { return "±" + pmText(ms/2) },
	"bytes":   bytesText,
	"status":  outStatus,
	"kind":    kindText,
	"hash":    outShortHash,
	"mark":    htmlMark,
	"perconn": perConnText,
	"cause":   causeText,
	"clock":   compareClockName,
	"cpu":     secondsCPU,
	"pct":     func(f float64) string { return strconv.FormatFloat(f*100, 'f', -1, 64) + "%" },
	"time":    htmlTime,
	"upper":   strings.ToUpper,
}).Parse(htmlSource))

const htmlSource = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>wshold: {{.R.Scenario.Name}} — {{upper .R.Verdict}}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 64em; padding: 0 1em; color: #222; }
h1 { font-size: 1.4em; margin-bottom: .2em; } h2 { font-size: 1.15em; margin-top: 1.8em; border-bottom: 1px solid #ddd; }
.verdict { padding: .7em 1em; border-radius: 4px; font-weight: 600; }
.pass { background: #e6f4ea; border-left: 6px solid #1e8e3e; } .fail { background: #fce8e6; border-left: 6px solid #d93025; }
table { border-collapse: collapse; margin: .5em 0; } th, td { padding: .25em .8em; border-bottom: 1px solid #eee; text-align: left; vertical-align: top; }
td.n { text-align: right; font-variant-numeric: tabular-nums; } code { background: #f4f4f4; padding: 0 .25em; }
.warn { background: #fff8e1; border-left: 6px solid #f9a825; padding: .4em 1em; }
figure { margin: 1em 0; } figcaption { font-weight: 600; } svg { width: 100%; height: auto; background: #fff; }
.empty { color: #777; font-style: italic; }
.grid { stroke: #eee; } .axis { stroke: #999; } .tick { font-size: 11px; fill: #555; } .axis-title { font-size: 12px; fill: #333; }
.alive { fill: none; stroke: #1a73e8; stroke-width: 2; } .area { fill: #1a73e8; fill-opacity: .12; stroke: none; }
.latency { fill: none; stroke: #188038; stroke-width: 2; }
.hold { stroke: #555; stroke-dasharray: 4 3; } .hold-label { fill: #555; font-size: 11px; }
.mark { stroke: #9334e6; stroke-dasharray: 2 2; } .mark-label { fill: #9334e6; font-size: 11px; }
.cluster { fill: #d93025; fill-opacity: .18; stroke: #d93025; stroke-width: 1; } .cluster-label { fill: #b3261e; font-size: 11px; }
.k-eof { fill: #d93025; background: #d93025; } .k-reset { fill: #8e24aa; background: #8e24aa; } .k-pong { fill: #f29900; background: #f29900; }
.k-proto { fill: #795548; background: #795548; } .k-c1000 { fill: #1a73e8; background: #1a73e8; } .k-c1001 { fill: #12b5cb; background: #12b5cb; }
.k-close { fill: #188038; background: #188038; } .k-other { fill: #80868b; background: #80868b; }
.legend span.sw { display: inline-block; width: .9em; height: .9em; margin: 0 .3em 0 1em; vertical-align: -.1em; }
</style>
</head>
<body>
<h1>wshold: {{.R.Scenario.Name}}</h1>
<p>{{.R.Target}}{{if .Duration}} · ran {{.Duration}}{{end}} · {{time .R.Start}}{{if gt .R.Shards 1}} · {{.R.Shards}} shards{{end}}</p>
<p class="verdict {{if .Pass}}pass{{else}}fail{{end}}">{{mark .Pass}} {{.Verdict}}</p>
{{- if .R.Interrupted}}
<p class="warn">The run was interrupted; the numbers cover the part that ran.</p>{{end}}
{{- range .R.Warnings}}
<p class="warn">⚠ {{.}}</p>{{end}}
{{with .R.Expectations}}<h2>Expectations</h2>
<table><tr><th></th><th>want</th><th>got</th></tr>
{{range .}}<tr><td>{{mark .Pass}}</td><td><code>{{.Want}}</code></td><td>{{.Got}}</td></tr>
{{end}}</table>{{end}}
<h2>Connections</h2>
<table><tr><th>attempted</th><th>upgraded</th><th>failed</th><th>held</th><th>dropped</th></tr>
<tr><td class="n">{{.R.Counts.Attempted}}</td><td class="n">{{.R.Counts.Upgraded}}</td><td class="n">{{.R.Counts.Failed}}</td><td class="n">{{.R.Counts.Held}}</td><td class="n">{{.R.Counts.Dropped}}</td></tr></table>
{{with index .Plots 0}}{{template "plot" .}}{{end}}
<h2>Handshake latency</h2>
{{with .R.Handshake}}<table><tr><th>count</th><th>min</th><th>mean</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th></tr>
<tr><td class="n">{{.Count}}</td><td class="n">{{ms .MinMs}}</td><td class="n">{{ms .MeanMs}}</td><td class="n">{{ms .P50Ms}}</td><td class="n">{{ms .P90Ms}}</td><td class="n">{{ms .P99Ms}}</td><td class="n">{{ms .P999Ms}}</td><td class="n">{{ms .MaxMs}}</td></tr></table>{{end}}
{{with index .Plots 1}}{{template "plot" .}}{{end}}
<h2>Drops</h2>
{{if .Kinds}}<table><tr><th>kind</th><th>count</th></tr>
{{range .Kinds}}<tr><td>{{kind .Kind}}</td><td class="n">{{.Count}}</td></tr>
{{end}}</table>{{else}}<p>No connection dropped before the hold ended.</p>{{end}}
{{with .R.Drops.Clusters}}<table><tr><th>at</th><th>spread</th><th>count</th><th>kind</th><th>clock</th><th>cause</th><th>hint</th></tr>
{{range .}}<tr><td class="n">{{sec .AtMs}}</td><td class="n">{{spread .SpreadMs}}</td><td class="n">{{.Count}}</td><td>{{kind .Kind}}</td><td>{{clock .Clock}}</td><td>{{cause .Cause}}</td><td>{{.Hint}}</td></tr>
{{end}}</table>{{end}}
{{with index .Plots 2}}{{template "plot" .}}{{end}}
{{- with .R.Failures}}<h2>Failed upgrades</h2>
<table><tr><th>cause</th><th>status</th><th>count</th><th>example</th><th>what it usually means</th></tr>
{{range .}}<tr><td>{{.Cause}}</td><td class="n">{{status .Status}}</td><td class="n">{{.Count}}</td><td><code>{{.Example}}</code></td><td>{{.Hint}}</td></tr>
{{end}}</table>{{end}}
<h2>Scenario as run</h2>
{{with .R.Scenario}}<table>
<tr><th>conns</th><td>{{.Conns}}</td></tr>
<tr><th>rate</th><td>{{if gt .Rate 0.0}}{{.Rate}}/s{{else}}as fast as {{.MaxInFlight}} handshakes in flight allow{{end}}</td></tr>
<tr><th>hold</th><td>{{.Hold}}</td></tr>
<tr><th>ping</th><td>{{if gt .Ping 0}}every {{.Ping}}, {{pct .PingFraction}} of connections{{else}}none (pure idle){{end}}</td></tr>
<tr><th>handshake timeout</th><td>{{.HandshakeTimeout}}</td></tr>
<tr><th>procs</th><td>{{if .Procs}}{{.Procs}}{{else}}auto{{end}}</td></tr>
{{- with .SourceIPs}}
<tr><th>source IPs</th><td>{{range $i, $ip := .}}{{if $i}}, {{end}}{{$ip}}{{end}}</td></tr>{{end}}
{{- with .Headers}}
<tr><th>headers</th><td>{{range .}}<code>{{.}}</code> {{end}}</td></tr>{{end}}
{{- with .Origin}}
<tr><th>origin</th><td>{{.}}</td></tr>{{end}}
{{- with .Expect}}
<tr><th>expect</th><td>{{range .}}<code>{{.}}</code> {{end}}</td></tr>{{end}}
</table>{{end}}
{{with .R.ProxyConfigs}}<table><tr><th>proxy config</th><th>sha256</th></tr>
{{range .}}<tr><td>{{.Path}}</td><td><code>{{.SHA256}}</code></td></tr>
{{end}}</table>{{end}}
<table><tr><th>start</th><td>{{time .R.Start}}</td></tr><tr><th>hold start</th><td>{{time .R.HoldStart}}</td></tr>{{if not .R.HoldEnd.IsZero}}<tr><th>hold end</th><td>{{time .R.HoldEnd}}</td></tr>{{end}}<tr><th>end</th><td>{{time .R.End}} ({{.R.EndReason}})</td></tr></table>
<h2>Harness resources</h2>
{{with .R.Resources}}<table><tr><th>process</th><th>peak RSS</th><th>CPU</th><th>RSS per held connection</th><th>held</th></tr>
<tr><td>total</td><td class="n">{{bytes .PeakRSSBytes}}</td><td class="n">{{cpu .CPUSeconds}}</td><td class="n">{{perconn .RSSPerConnBytes}}</td><td class="n">{{$.R.Counts.Held}}</td></tr>
{{range .Procs}}<tr><td>pid {{.PID}}</td><td class="n">{{bytes .PeakRSSBytes}}</td><td class="n">{{cpu .CPUSeconds}}</td><td class="n">{{perconn .RSSPerConnBytes}}</td><td class="n">{{.Held}}</td></tr>
{{end}}</table>{{end}}
<p class="empty">wshold {{.R.Version}} · result schema {{.R.Schema}}</p>
</body>
</html>
{{define "plot"}}<figure>
<figcaption>{{.Title}}</figcaption>
{{if .Empty}}<p class="empty">{{.Empty}}</p>{{else}}<svg viewBox="0 0 {{.W}} {{.H}}" role="img" aria-label="{{.Title}}">
{{range .Lines}}<line x1="{{.X1}}" y1="{{.Y1}}" x2="{{.X2}}" y2="{{.Y2}}" class="{{.Class}}"/>
{{end}}{{range .Paths}}<path d="{{.D}}" class="{{.Class}}"/>
{{end}}{{range .Rects}}<rect x="{{.X}}" y="{{.Y}}" width="{{.W}}" height="{{.H}}" class="{{.Class}}"><title>{{.Tip}}</title></rect>
{{end}}{{range .Texts}}<text x="{{.X}}" y="{{.Y}}" text-anchor="{{.Anchor}}" class="{{.Class}}">{{.Text}}</text>
{{end}}</svg>
{{with .Legend}}<div class="legend">{{range .}}<span class="sw {{.Class}}"></span>{{.Label}}{{end}}</div>{{end}}{{end}}
</figure>
{{end}}`

// htmlMark is a pass/fail mark that common text fonts have (DejaVu,
// Liberation, the system UI fonts): the page is read offline, where an
// emoji font may be missing and Markdown's ✅/❌ would show as empty boxes.
func htmlMark(pass bool) string {
	if pass {
		return "✓"
	}
	return "✗"
}
