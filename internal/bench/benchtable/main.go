// Command benchtable prints scripts/bench.sh's comparison: for each size, a
// wshold result (-o JSON) next to a baseline client's JSON line, with the
// ratio baseline ÷ wshold, as one Markdown table.
//
//	benchtable WSHOLD-N1.json BASELINE-N1.json [WSHOLD-N2.json BASELINE-N2.json ...]
//	benchtable -tls WS.json WSS.json WSS-RESUMED.json BASELINE-WSS.json [...]
//
// With -tls (bench.sh --wss) each size has four runs through one nginx:
// wshold over ws://, over wss:// with full handshakes and with resumed
// ones, and the baseline over wss://; each is set against the ws:// run of
// the same size, and the TLS handshake's share of the client's CPU per
// connection is named.
//
// Both sides are measured alike: handshake latency from each attempt's
// intended start, RSS growth from before the first connection to the hold's
// start (after a GC) per connection held, CPU as user + system time.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"time"
)

// side is one client's figures at one size.
type side struct {
	conns, upgraded, failed, dropped int64
	rate                             float64 // asked, per second (0: as fast as it goes)
	rampS                            float64
	p50, p99                         float64 // ms
	rssPerConn                       float64 // bytes
	peakRSS                          float64 // bytes
	cpuTotal, cpuHold, holdS         float64
	// handshake phases (wshold only; 0 when not measured), ms
	connectP50, connectP99, tlsP50, tlsP99, upgradeP50, upgradeP99 float64
	resumed                                                        int64
}

func main() {
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "-tls" {
		mainTLS(args[1:])
		return
	}
	if len(args) == 0 || len(args)%2 != 0 {
		fmt.Fprintln(os.Stderr, "usage: benchtable WSHOLD.json BASELINE.json [WSHOLD.json BASELINE.json ...]")
		os.Exit(2)
	}
	var pairs [][2]side
	for i := 0; i < len(args); i += 2 {
		w, err := readWshold(args[i])
		if err != nil {
			fail(err)
		}
		b, err := readBaseline(args[i+1])
		if err != nil {
			fail(err)
		}
		b.rate = w.rate // the baseline ran with the same -r
		pairs = append(pairs, [2]side{w, b})
	}
	write(os.Stdout, pairs)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "benchtable:", err)
	os.Exit(1)
}

func readWshold(path string) (side, error) {
	var r struct {
		Scenario struct {
			Conns int64   `json:"conns"`
			Rate  float64 `json:"rate"`
			Hold  string  `json:"hold"`
		} `json:"scenario"`
		Start     time.Time `json:"start"`
		HoldStart time.Time `json:"hold_start"`
		Counts    struct {
			Upgraded, Failed, Dropped int64
		} `json:"counts"`
		Handshake struct {
			P50 float64 `json:"p50_ms"`
			P99 float64 `json:"p99_ms"`
		} `json:"handshake"`
		Phases struct {
			Connect, TLS, Upgrade struct {
				P50 float64 `json:"p50_ms"`
				P99 float64 `json:"p99_ms"`
			}
			TLSResumed int64 `json:"tls_resumed"`
		} `json:"handshake_phases"`
		Resources struct {
			PeakRSS    float64 `json:"peak_rss_bytes"`
			CPU        float64 `json:"cpu_seconds"`
			RSSPerConn float64 `json:"rss_per_conn_bytes"`
			HoldCPU    float64 `json:"hold_cpu_seconds"`
		} `json:"resources"`
	}
	if err := readJSON(path, &r); err != nil {
		return side{}, err
	}
	hold, err := time.ParseDuration(r.Scenario.Hold)
	if err != nil {
		return side{}, fmt.Errorf("%s: hold %q: %w", path, r.Scenario.Hold, err)
	}
	if r.HoldStart.IsZero() {
		return side{}, fmt.Errorf("%s: the run never reached its hold", path)
	}
	return side{
		conns: r.Scenario.Conns, upgraded: r.Counts.Upgraded, failed: r.Counts.Failed, dropped: r.Counts.Dropped,
		rate: r.Scenario.Rate, rampS: r.HoldStart.Sub(r.Start).Seconds(),
		p50: r.Handshake.P50, p99: r.Handshake.P99,
		rssPerConn: r.Resources.RSSPerConn, peakRSS: r.Resources.PeakRSS,
		cpuTotal: r.Resources.CPU, cpuHold: r.Resources.HoldCPU, holdS: hold.Seconds(),
		connectP50: r.Phases.Connect.P50, connectP99: r.Phases.Connect.P99,
		tlsP50: r.Phases.TLS.P50, tlsP99: r.Phases.TLS.P99,
		upgradeP50: r.Phases.Upgrade.P50, upgradeP99: r.Phases.Upgrade.P99,
		resumed: r.Phases.TLSResumed,
	}, nil
}

func readBaseline(path string) (side, error) {
	var b struct {
		Conns      int64   `json:"conns"`
		Upgraded   int64   `json:"upgraded"`
		Failed     int64   `json:"failed"`
		Dropped    int64   `json:"dropped"`
		RampS      float64 `json:"ramp_s"`
		P50        float64 `json:"handshake_p50_ms"`
		P99        float64 `json:"handshake_p99_ms"`
		PeakRSS    float64 `json:"peak_rss_bytes"`
		RSSPerConn float64 `json:"rss_per_conn_bytes"`
		CPUTotal   float64 `json:"cpu_total_s"`
		CPUHold    float64 `json:"cpu_hold_s"`
		HoldS      float64 `json:"hold_s"`
	}
	if err := readJSON(path, &b); err != nil {
		return side{}, err
	}
	return side{
		conns: b.Conns, upgraded: b.Upgraded, failed: b.Failed, dropped: b.Dropped, rampS: b.RampS,
		p50: b.P50, p99: b.P99, rssPerConn: b.RSSPerConn, peakRSS: b.PeakRSS,
		cpuTotal: b.CPUTotal, cpuHold: b.CPUHold, holdS: b.HoldS,
	}, nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// row is one line of the table: a label and how to get and print the
// figure from a side.
type row struct {
	label string
	value func(side) float64
	unit  string // printf verb and suffix for the value
	ratio bool   // print baseline ÷ wshold
}

var rows = []row{
	{"connections upgraded", func(s side) float64 { return float64(s.upgraded) }, "%.0f", false},
	{"failed + dropped", func(s side) float64 { return float64(s.failed + s.dropped) }, "%.0f", false},
	{"open rate asked (/s)", func(s side) float64 { return s.rate }, "%.0f", false},
	{"upgrades/s reached", func(s side) float64 { return float64(s.upgraded) / math.Max(s.rampS, 1e-9) }, "%.0f", true},
	{"handshake p50 (ms)", func(s side) float64 { return s.p50 }, "%.1f", true},
	{"handshake p99 (ms)", func(s side) float64 { return s.p99 }, "%.1f", true},
	{"RSS per held connection (bytes)", func(s side) float64 { return s.rssPerConn }, "%.0f", true},
	{"peak RSS (MiB)", func(s side) float64 { return s.peakRSS / (1 << 20) }, "%.1f", true},
	{"CPU s, ramp and close", func(s side) float64 { return s.cpuTotal - s.cpuHold }, "%.2f", true},
	{"CPU s, idle hold", func(s side) float64 { return s.cpuHold }, "%.3f", true},
	{"idle CPU (% of a core)", func(s side) float64 { return 100 * s.cpuHold / math.Max(s.holdS, 1e-9) }, "%.2f", true},
}

func write(w io.Writer, pairs [][2]side) {
	head := []string{"figure"}
	for _, p := range pairs {
		n := p[0].conns
		head = append(head, fmt.Sprintf("wshold %d", n), fmt.Sprintf("baseline %d", n), "baseline ÷ wshold")
	}
	fmt.Fprintln(w, "| "+strings.Join(head, " | ")+" |")
	fmt.Fprintln(w, "|"+strings.Repeat(" --- |", len(head)))
	for _, r := range rows {
		cells := []string{r.label}
		for _, p := range pairs {
			wv, bv := r.value(p[0]), r.value(p[1])
			cells = append(cells, fmt.Sprintf(r.unit, wv), fmt.Sprintf(r.unit, bv), ratio(r, wv, bv))
		}
		fmt.Fprintln(w, "| "+strings.Join(cells, " | ")+" |")
	}
}

func ratio(r row, wv, bv float64) string {
	if !r.ratio {
		return ""
	}
	if wv == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f×", bv/wv)
}
