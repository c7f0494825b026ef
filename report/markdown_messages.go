package report

import (
	"fmt"
	"io"
)

// writeMarkdownMessages writes the Markdown summary's lines for timed
// messages, pushes and reconnects: nothing for a run that had none.
func writeMarkdownMessages(w io.Writer, res *Result) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	lat := func(name string, l Latency, n int64) {
		p("| %s | %d | %s | %s | %s | %s |\n", name, n, outLatency(l, l.P50Ms), outLatency(l, l.P90Ms),
			outLatency(l, l.P99Ms), outLatency(l, l.MaxMs))
	}
	if m, pu := res.Messages, res.Push; m != nil || pu != nil {
		p("| messages | count | p50 | p90 | p99 | max |\n")
		p("| --- | ---: | ---: | ---: | ---: | ---: |\n")
		if m != nil {
			lat("echo round trip", m.RTT, m.Received)
		}
		if pu != nil && (pu.Received > 0 || pu.BroadcastReceived == 0) {
			lat("push one-way delay", pu.Delay, pu.Received)
		}
		if pu != nil && pu.BroadcastReceived > 0 {
			lat("broadcast fan-out", pu.Fanout, pu.BroadcastReceived)
		}
		p("\n")
		if m != nil {
			p("Messages: %d sent, %d received, %d lost, %d out of order, %d corrupted.\n\n",
				m.Sent, m.Received, m.Lost, m.OutOfOrder, m.Corrupted)
		}
		if pu != nil {
			p("> %s\n\n", mdEscape(pu.Clock))
		}
	}
	rc := res.Reconnects
	if rc == nil {
		return
	}
	p("**Reconnects**: %d attempted, %d upgraded, %d failed (%s); handshake p99 %s\n\n",
		rc.Attempted, rc.Upgraded, rc.Failed, mdEscape(failureCauses(rc.Failures)), outLatency(rc.Handshake, rc.Handshake.P99Ms))
	header := false
	for _, c := range res.Drops.Clusters {
		if c.Recovery == nil {
			continue
		}
		for _, wv := range c.Recovery.Waves {
			if !header {
				p("| wave at | drops | alive before | fewest alive | time to recover | failed reconnects |\n")
				p("| ---: | ---: | ---: | ---: | ---: | --- |\n")
				header = true
			}
			p("| %s | %d | %d | %d | %s | %s |\n", secText(wv.AtMs), wv.Drops, wv.AliveBefore, wv.AliveMin,
				ttrText(wv.TimeToRecoverMs), mdEscape(waveFailureText(wv.Failures)))
		}
	}
	if header {
		p("\n")
	}
}
