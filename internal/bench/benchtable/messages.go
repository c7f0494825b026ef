package main

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

// msgSide is one wshold run with timed messages (--send-every): what the
// messages saw and what they cost the harness.
type msgSide struct {
	conns, sent, received, lost int64
	every                       time.Duration
	size                        int
	p50, p99, max               float64 // RTT, ms
	cpuHold, holdS, rssPerConn  float64
}

func readMessages(path string) (msgSide, error) {
	var r struct {
		Scenario struct {
			Conns       int64  `json:"conns"`
			SendEvery   string `json:"send_every"`
			MessageSize int    `json:"message_size"`
		} `json:"scenario"`
		HoldStart time.Time `json:"hold_start"`
		HoldEnd   time.Time `json:"hold_end"`
		Messages  *struct {
			Sent, Received, Lost int64
			RTT                  struct {
				P50 float64 `json:"p50_ms"`
				P99 float64 `json:"p99_ms"`
				Max float64 `json:"max_ms"`
			} `json:"rtt"`
		} `json:"messages"`
		Resources struct {
			HoldCPU    float64 `json:"hold_cpu_seconds"`
			RSSPerConn float64 `json:"rss_per_conn_bytes"`
		} `json:"resources"`
	}
	if err := readJSON(path, &r); err != nil {
		return msgSide{}, err
	}
	if r.Messages == nil {
		return msgSide{}, fmt.Errorf("%s: no messages: was it run with --send-every?", path)
	}
	every, err := time.ParseDuration(r.Scenario.SendEvery)
	if err != nil || every <= 0 {
		return msgSide{}, fmt.Errorf("%s: send_every %q is not a positive duration", path, r.Scenario.SendEvery)
	}
	if r.HoldStart.IsZero() || !r.HoldEnd.After(r.HoldStart) {
		return msgSide{}, fmt.Errorf("%s: the run never held its connections", path)
	}
	m := r.Messages
	return msgSide{
		conns: r.Scenario.Conns, sent: m.Sent, received: m.Received, lost: m.Lost,
		every: every, size: r.Scenario.MessageSize,
		p50: m.RTT.P50, p99: m.RTT.P99, max: m.RTT.Max,
		cpuHold: r.Resources.HoldCPU, holdS: r.HoldEnd.Sub(r.HoldStart).Seconds(), rssPerConn: r.Resources.RSSPerConn,
	}, nil
}

// writeMessages prints one column per run: the hold's CPU divided by the
// messages the hold carried (every connection sends one per interval;
// each is a send and its echo read back, RTT recorded).
func writeMessages(w io.Writer, runs []msgSide) {
	head := []string{"messages"}
	for _, r := range runs {
		head = append(head, fmt.Sprintf("%d conns, every %s", r.conns, r.every))
	}
	fmt.Fprintln(w, "| "+strings.Join(head, " | ")+" |")
	fmt.Fprintln(w, "|"+strings.Repeat(" --- |", len(head)))
	line := func(label string, f func(msgSide) string) {
		cells := []string{label}
		for _, r := range runs {
			cells = append(cells, f(r))
		}
		fmt.Fprintln(w, "| "+strings.Join(cells, " | ")+" |")
	}
	perHold := func(r msgSide) float64 { return float64(r.conns) * r.holdS / r.every.Seconds() }
	line("message size (bytes)", func(r msgSide) string { return fmt.Sprint(r.size) })
	line("messages per second (each way)", func(r msgSide) string { return fmt.Sprintf("%.0f", float64(r.conns)/r.every.Seconds()) })
	line("sent / received / lost", func(r msgSide) string { return fmt.Sprintf("%d / %d / %d", r.sent, r.received, r.lost) })
	line("RTT p50 / p99 / max (ms)", func(r msgSide) string { return fmt.Sprintf("%.2f / %.2f / %.1f", r.p50, r.p99, r.max) })
	line("CPU s over the hold", func(r msgSide) string {
		return fmt.Sprintf("%.2f (%.0f%% of a core)", r.cpuHold, 100*r.cpuHold/math.Max(r.holdS, 1e-9))
	})
	line("CPU per message, send + echo (µs)", func(r msgSide) string { return fmt.Sprintf("%.1f", 1e6*r.cpuHold/math.Max(perHold(r), 1)) })
	line("RSS per held connection (bytes)", func(r msgSide) string { return fmt.Sprintf("%.0f", r.rssPerConn) })
}
