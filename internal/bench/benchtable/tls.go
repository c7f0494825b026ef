package main

import (
	"fmt"
	"io"
	"math"
	"os"
	"strings"
)

// The -tls table: at each size, wshold over ws:// and wss:// through the
// same nginx, in one run of bench.sh, so that the machine's load weighs on
// both alike; CPU is read as ratios to the ws:// run.

// tlsRun is one size's four runs.
type tlsRun struct {
	ws, wss, resumed, baseline side
}

func mainTLS(args []string) {
	if len(args) == 0 || len(args)%4 != 0 {
		fmt.Fprintln(os.Stderr, "usage: benchtable -tls WS.json WSS.json WSS-RESUMED.json BASELINE-WSS.json [...]")
		os.Exit(2)
	}
	var runs []tlsRun
	for i := 0; i < len(args); i += 4 {
		var r tlsRun
		var err error
		for j, dst := range []*side{&r.ws, &r.wss, &r.resumed} {
			if *dst, err = readWshold(args[i+j]); err != nil {
				fail(err)
			}
		}
		if r.baseline, err = readBaseline(args[i+3]); err != nil {
			fail(err)
		}
		r.baseline.rate = r.ws.rate
		runs = append(runs, r)
	}
	for _, r := range runs {
		writeTLS(os.Stdout, r)
		fmt.Println()
	}
}

// cpuPerConn is client CPU per connection opened, in µs: the ramp's and
// the close's, not the hold's.
func cpuPerConn(s side) float64 {
	return 1e6 * (s.cpuTotal - s.cpuHold) / math.Max(float64(s.upgraded), 1)
}

var tlsRows = []row{
	{"connections upgraded", func(s side) float64 { return float64(s.upgraded) }, "%.0f", false},
	{"TLS handshakes resumed", func(s side) float64 { return float64(s.resumed) }, "%.0f", false},
	{"failed + dropped", func(s side) float64 { return float64(s.failed + s.dropped) }, "%.0f", false},
	{"upgrades/s reached", func(s side) float64 { return float64(s.upgraded) / math.Max(s.rampS, 1e-9) }, "%.0f", true},
	{"handshake p50 (ms)", func(s side) float64 { return s.p50 }, "%.1f", true},
	{"handshake p99 (ms)", func(s side) float64 { return s.p99 }, "%.1f", true},
	{"TCP connect p50 / p99 (ms)", nil, "", false},
	{"TLS handshake p50 / p99 (ms)", nil, "", false},
	{"upgrade p50 / p99 (ms)", nil, "", false},
	{"RSS per held connection (bytes)", func(s side) float64 { return s.rssPerConn }, "%.0f", true},
	{"peak RSS (MiB)", func(s side) float64 { return s.peakRSS / (1 << 20) }, "%.1f", true},
	{"client CPU per connection opened (µs)", cpuPerConn, "%.0f", true},
	{"idle CPU (% of a core)", func(s side) float64 { return 100 * s.cpuHold / math.Max(s.holdS, 1e-9) }, "%.2f", true},
}

// phaseCell prints a phase's p50 / p99, or – where the run did not time it.
func phaseCell(label string, s side, isBaseline bool) string {
	var p50, p99 float64
	switch {
	case isBaseline:
		return "–"
	case strings.HasPrefix(label, "TCP"):
		p50, p99 = s.connectP50, s.connectP99
	case strings.HasPrefix(label, "TLS"):
		p50, p99 = s.tlsP50, s.tlsP99
	default:
		p50, p99 = s.upgradeP50, s.upgradeP99
	}
	if p50 == 0 && p99 == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f / %.1f", p50, p99)
}

func writeTLS(w io.Writer, r tlsRun) {
	n := r.ws.conns
	cols := []side{r.ws, r.wss, r.resumed, r.baseline}
	fmt.Fprintf(w, "| %d connections through nginx | wshold ws:// | wshold wss:// | wss:// resumed | baseline wss:// | wss ÷ ws | resumed ÷ ws | baseline ÷ wss |\n", n)
	fmt.Fprintln(w, "| --- | --- | --- | --- | --- | --- | --- | --- |")
	for _, row := range tlsRows {
		cells := []string{row.label}
		if row.value == nil {
			for i, s := range cols {
				cells = append(cells, phaseCell(row.label, s, i == 3))
			}
			cells = append(cells, "", "", "")
		} else {
			for _, s := range cols {
				cells = append(cells, fmt.Sprintf(row.unit, row.value(s)))
			}
			cells = append(cells, tlsRatio(row, r.wss, r.ws), tlsRatio(row, r.resumed, r.ws), tlsRatio(row, r.baseline, r.wss))
		}
		fmt.Fprintln(w, "| "+strings.Join(cells, " | ")+" |")
	}
	ws, full, res := cpuPerConn(r.ws), cpuPerConn(r.wss), cpuPerConn(r.resumed)
	fmt.Fprintf(w, "\nClient CPU per connection opened: ws:// %.0f µs, wss:// %.0f µs with full TLS handshakes "+
		"(the TLS handshake's share %.0f %%), %.0f µs resumed (%.0f %%).\n",
		ws, full, share(ws, full), res, share(ws, res))
}

// share is the part of b that a does not account for, in percent.
func share(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return 100 * (b - a) / b
}

func tlsRatio(r row, num, den side) string {
	if !r.ratio {
		return ""
	}
	d := r.value(den)
	if d == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f×", r.value(num)/d)
}
