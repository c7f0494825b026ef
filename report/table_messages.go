package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/olekukonko/tablewriter/tw"
)

// Sections of the terminal report for timed messages, pushes and
// reconnects.

// messageSections are the sections for what res has of them.
func messageSections(res *Result) []func(io.Writer, *Result) error {
	var out []func(io.Writer, *Result) error
	if res.Messages != nil {
		out = append(out, messagesSection)
	}
	if res.Push != nil {
		out = append(out, pushSection)
	}
	if res.Reconnects != nil {
		out = append(out, reconnectsSection)
	}
	return out
}

// latencyRow is the millisecond figures of a latency, "–" when it has none.
func latencyRow(name string, l Latency, n int64) []string {
	f := func(v float64) string {
		if l.Count == 0 {
			return "–"
		}
		return strconv.FormatFloat(v, 'f', 3, 64)
	}
	return []string{name, itoa(n), f(l.P50Ms), f(l.P90Ms), f(l.P99Ms), f(l.P999Ms), f(l.MaxMs)}
}

func messagesSection(w io.Writer, res *Result) error {
	m := res.Messages
	if m == nil {
		return nil
	}
	if err := renderTable(w, "Messages (sent every "+res.Scenario.SendEvery.String()+", "+strconv.Itoa(res.Scenario.MessageSize)+" B)",
		[]string{"sent", "received", "lost", "out of order", "corrupted"},
		[][]string{{itoa(m.Sent), itoa(m.Received), itoa(m.Lost), itoa(m.OutOfOrder), itoa(m.Corrupted)}},
		allRight(5)); err != nil {
		return err
	}
	return renderTable(w, "\nRound-trip time (ms)", []string{"", "count", "p50", "p90", "p99", "p99.9", "max"},
		[][]string{latencyRow("echo", m.RTT, m.RTT.Count)}, latencyAlign())
}

func latencyAlign() []tw.Align {
	return append([]tw.Align{tw.AlignLeft}, allRight(6)...)
}

func pushSection(w io.Writer, res *Result) error {
	p := res.Push
	if p == nil {
		return nil
	}
	rows := [][]string{}
	if p.Received > 0 || p.BroadcastReceived == 0 {
		rows = append(rows, latencyRow("push", p.Delay, p.Received))
	}
	if p.BroadcastReceived > 0 {
		rows = append(rows, latencyRow("broadcast (fan-out)", p.Fanout, p.BroadcastReceived))
	}
	if err := renderTable(w, "Server messages: one-way delay (ms)", []string{"", "received", "p50", "p90", "p99", "p99.9", "max"},
		rows, latencyAlign()); err != nil {
		return err
	}
	note := "  " + p.Clock
	if p.Corrupted > 0 {
		note = fmt.Sprintf("  %d arrived corrupted.\n%s", p.Corrupted, note)
	}
	_, err := fmt.Fprintln(w, wrapText(note, tableWidth))
	return err
}

func reconnectsSection(w io.Writer, res *Result) error {
	rc := res.Reconnects
	if rc == nil {
		return nil
	}
	hs := "–"
	if rc.Handshake.Count > 0 {
		hs = fmt.Sprintf("%s / %s", msText(rc.Handshake.P50Ms), msText(rc.Handshake.P99Ms))
	}
	if err := renderTable(w, "Reconnects (apart from the first wave)",
		[]string{"attempted", "upgraded", "failed", "handshake p50 / p99", "failed by cause"},
		[][]string{{itoa(rc.Attempted), itoa(rc.Upgraded), itoa(rc.Failed), hs, failureCauses(rc.Failures)}},
		[]tw.Align{tw.AlignRight, tw.AlignRight, tw.AlignRight, tw.AlignRight, tw.AlignLeft}); err != nil {
		return err
	}
	var rows [][]string
	for _, c := range res.Drops.Clusters {
		if c.Recovery == nil {
			continue
		}
		for i, wv := range c.Recovery.Waves {
			name := ""
			if i == 0 {
				name = fmt.Sprintf("%s %s (%s)", c.Clock, secText(c.AtMs), c.Kind)
			}
			rows = append(rows, []string{name, secText(wv.AtMs), itoa(wv.Drops), itoa(wv.AliveBefore), itoa(wv.AliveMin),
				ttrText(wv.TimeToRecoverMs), waveFailureText(wv.Failures)})
		}
		if n := c.Recovery.MoreWaves; n > 0 {
			rows = append(rows, []string{"", fmt.Sprintf("%d more waves, not listed", n), "", "", "", "", ""})
		}
	}
	if len(rows) == 0 {
		return nil
	}
	return renderTable(w, "\nRecovery after each drop cluster (back to 99% of the connections alive before it)",
		[]string{"cluster", "wave at", "drops", "alive before", "fewest alive", "time to recover", "failed reconnects meanwhile"}, rows,
		[]tw.Align{tw.AlignLeft, tw.AlignRight, tw.AlignRight, tw.AlignRight, tw.AlignRight, tw.AlignRight, tw.AlignLeft})
}

// ttrText is a time to recover, or why there is none.
func ttrText(ms *float64) string {
	if ms == nil {
		return "not back by the end"
	}
	if *ms == 0 {
		return "never below 99%"
	}
	return msText(*ms)
}

func failureCauses(fs []Failure) string {
	if len(fs) == 0 {
		return "–"
	}
	parts := make([]string, 0, len(fs))
	for _, f := range fs {
		parts = append(parts, fmt.Sprintf("%d %s", f.Count, failureLabel(f.Cause, f.Status)))
	}
	return strings.Join(parts, ", ")
}

func waveFailureText(fs []WaveFailure) string {
	if len(fs) == 0 {
		return "none"
	}
	parts := make([]string, 0, len(fs))
	for _, f := range fs {
		parts = append(parts, fmt.Sprintf("%d %s", f.Count, failureLabel(f.Cause, f.Status)))
	}
	return strings.Join(parts, ", ")
}

// messagePhrase is the verdict line's account of messages, pushes and
// recoveries, or "" when the run had none.
func messagePhrase(res *Result) string {
	var parts []string
	if m := res.Messages; m != nil {
		s := fmt.Sprintf("%d/%d messages echoed", m.Received, m.Sent)
		if m.RTT.Count > 0 {
			s += ", RTT p99 " + msText(m.RTT.P99Ms)
		}
		if m.Lost > 0 {
			s += fmt.Sprintf(", %d lost", m.Lost)
		}
		parts = append(parts, s)
	}
	if p := res.Push; p != nil && p.Fanout.Count > 0 {
		parts = append(parts, "fan-out p99 "+msText(p.Fanout.P99Ms))
	} else if p != nil && p.Delay.Count > 0 {
		parts = append(parts, "push delay p99 "+msText(p.Delay.P99Ms))
	}
	if rc := res.Reconnects; rc != nil && rc.Attempted > 0 {
		s := fmt.Sprintf("%d reconnected", rc.Upgraded)
		if ttr := slowestRecovery(res); ttr != "" {
			s += ", " + ttr
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// slowestRecovery is "back within 1.20 s" (the slowest recovered wave), or
// "N waves not back by the end" (of the run: never recovered, or still
// recovering when the hold ended), or "" with no wave.
func slowestRecovery(res *Result) string {
	var worst *float64
	open := 0
	for _, c := range res.Drops.Clusters {
		if c.Recovery == nil {
			continue
		}
		for _, w := range c.Recovery.Waves {
			switch {
			case w.TimeToRecoverMs == nil:
				open++
			case worst == nil || *w.TimeToRecoverMs > *worst:
				worst = w.TimeToRecoverMs
			}
		}
	}
	switch {
	case open > 0:
		return fmt.Sprintf("%d %s not back by the end", open, plural(open, "wave", "waves"))
	case worst != nil:
		return "back within " + msText(*worst)
	}
	return ""
}
