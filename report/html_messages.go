package report

import (
	"fmt"
	"math"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
)

// The HTML report's parts for timed messages, pushes and reconnects: the
// message latencies by percentile, and a mark on the alive plot where
// each wave of drops had recovered.

const (
	colRTT     = "#188038"
	colPush    = "#1a73e8"
	colFanout  = "#e37400"
	colRecover = "#137333"
)

// messagesPlot: the round-trip time of echoed messages, and the one-way
// and fan-out delays of server pushes and broadcasts, against percentile
// on the latency plot's log axis.
func messagesPlot(res *Result) (string, *plot.Plot, string, []legendEntry) {
	type curve struct {
		name, color string
		l           Latency
	}
	var curves []curve
	var parts []string
	if m := res.Messages; m != nil && m.RTT.Count > 0 {
		curves = append(curves, curve{"round trip (echo)", colRTT, m.RTT})
		parts = append(parts, "RTT p99 "+msText(m.RTT.P99Ms))
	}
	if p := res.Push; p != nil {
		if p.Delay.Count > 0 {
			curves = append(curves, curve{"push, one way", colPush, p.Delay})
			parts = append(parts, "push p99 "+msText(p.Delay.P99Ms))
		}
		if p.Fanout.Count > 0 {
			curves = append(curves, curve{"broadcast fan-out", colFanout, p.Fanout})
			parts = append(parts, "fan-out p99 "+msText(p.Fanout.P99Ms))
		}
	}
	title := "Message latency by percentile"
	if len(parts) > 0 {
		title += " (" + strings.Join(parts, ", ") + ")"
	}
	if len(curves) == 0 {
		return title, nil, "No echo, push or broadcast arrived, so there is no message latency to plot.", nil
	}
	// The axis goes as many nines deep as the largest count allows; each
	// curve ends at its own maximum.
	var most int64
	for _, c := range curves {
		most = max(most, c.l.Count)
	}
	end := math.Max(math.Log10(float64(most)), 2)
	p := newPlot("percentile (log scale: each tick one more nine)", "latency (ms)")
	yMax := 0.001
	var legend []legendEntry
	for _, c := range curves {
		h, err := DecodeHistogram(c.l.Histogram)
		if err != nil || h.TotalCount() == 0 {
			return title, nil, "A message histogram could not be read.", nil
		}
		own := math.Max(math.Log10(float64(h.TotalCount())), 2)
		const steps = 240
		pts := make(plotter.XYs, steps+1)
		for i := range pts {
			x := own * float64(i) / steps
			q := 100 * (1 - math.Pow(10, -x))
			pts[i] = plotter.XY{X: x, Y: usToMs(h.ValueAtQuantile(math.Min(q, 100)))}
			yMax = math.Max(yMax, pts[i].Y)
		}
		line, err := plotter.NewLine(pts)
		if err != nil {
			return title, nil, "The latency curve could not be drawn: " + err.Error(), nil
		}
		line.Color = plotColor(c.color, 1)
		line.Width = 1.75
		p.Add(line)
		legend = append(legend, legendEntry{Color: c.color, Label: fmt.Sprintf("%s: %d, p50 %s, p99 %s, max %s",
			c.name, c.l.Count, msText(c.l.P50Ms), msText(c.l.P99Ms), msText(c.l.MaxMs))})
	}
	var xt tickSpec
	for k := 0.0; k <= 4 && k < end-0.3; k++ {
		xt.ticks = append(xt.ticks, plot.Tick{Value: k, Label: percentileLabel(k)})
	}
	for k := float64(len(xt.ticks)); k < end; k++ {
		xt.ticks = append(xt.ticks, plot.Tick{Value: k})
	}
	xt.ticks = append(xt.ticks, plot.Tick{Value: end, Label: "max"})
	xt.last = end
	yt := niceTicks(yMax, 5, false, 1)
	useTicks(&p.X, xt, end)
	useTicks(&p.Y, yt, yt.last)
	return title, p, "", legend
}

// recoveryMarks marks, on the alive plot, the moment each wave of drops
// had recovered (back at 99 % of the connections alive before it).
func recoveryMarks(res *Result) []vmark {
	var out []vmark
	for _, c := range res.Drops.Clusters {
		if c.Recovery == nil {
			continue
		}
		for _, w := range c.Recovery.Waves {
			if w.TimeToRecoverMs == nil || *w.TimeToRecoverMs == 0 {
				continue
			}
			out = append(out, vmark{x0: (w.AtMs + *w.TimeToRecoverMs) / 1000,
				label: "back at 99% after " + msText(*w.TimeToRecoverMs), color: colRecover})
		}
	}
	return out
}
