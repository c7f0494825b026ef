package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/wshold/wshold/scenario"
)

// evalMessageLatency checks rtt-, push- and fanout- bounds. With nothing
// measured there is no latency to vouch for, so they fail.
func evalMessageLatency(res *Result, e scenario.Expectation) (string, bool) {
	switch e.Kind {
	case scenario.ExpectRTT:
		if res.Messages == nil || res.Messages.RTT.Count == 0 {
			return "no echo came back", false
		}
		return evalLatency(res.Messages.RTT, e, "echoes")
	case scenario.ExpectPush:
		if res.Push == nil || res.Push.Delay.Count == 0 {
			return "no pushed message arrived (serve --push-every, or ?push= in the URL)", false
		}
		return evalLatency(res.Push.Delay, e, "pushes")
	default:
		if res.Push == nil || res.Push.Fanout.Count == 0 {
			return "no broadcast arrived (serve --broadcast-every)", false
		}
		return evalLatency(res.Push.Fanout, e, "broadcast copies")
	}
}

// evalMessagesLost: at least one message sent, and every one echoed.
func evalMessagesLost(res *Result) (string, bool) {
	m := res.Messages
	if m == nil || m.Sent == 0 {
		return "no message was sent", false
	}
	got := fmt.Sprintf("%d lost of %d sent", m.Lost, m.Sent)
	if m.Corrupted > 0 {
		got += fmt.Sprintf(", %d corrupted", m.Corrupted)
	}
	return got, m.Lost == 0
}

// evalRecover: every wave of every drop cluster was back at 99 % of the
// connections alive before it within the bound. A wave that began less
// than the bound before the run stopped watching (the end of the hold)
// and had not recovered yet cannot be judged; it is named, not failed.
func evalRecover(res *Result, e scenario.Expectation) (string, bool) {
	bound := durMs(e.Dur)
	within := func(ms float64) bool { return ms < bound || (e.Inclusive && ms == bound) }
	watchedMs := watchedUntilMs(res)
	var waves, slow, open, cut int
	var worst float64
	recovered, unlisted := 0, 0
	for _, c := range res.Drops.Clusters {
		if c.Recovery == nil {
			continue
		}
		unlisted += c.Recovery.MoreWaves
		for _, w := range c.Recovery.Waves {
			waves++
			switch {
			case w.TimeToRecoverMs != nil:
				recovered++
				worst = max(worst, *w.TimeToRecoverMs)
				if !within(*w.TimeToRecoverMs) {
					slow++
				}
			case watchedMs > 0 && watchedMs-w.AtMs < bound:
				cut++
			default:
				open++
			}
		}
	}
	if waves == 0 {
		if res.Drops.Count > 0 {
			return fmt.Sprintf("%d dropped, in no cluster: no wave to recover from", res.Drops.Count), true
		}
		return "no drop to recover from", true
	}
	parts := []string{fmt.Sprintf("%d %s, none recovered", waves, plural(waves, "wave", "waves"))}
	if recovered > 0 {
		parts[0] = fmt.Sprintf("%d %s, slowest recovered in %s", waves, plural(waves, "wave", "waves"), msText(worst))
	}
	if slow > 0 {
		parts = append(parts, fmt.Sprintf("%d slower than %s", slow, msText(bound)))
	}
	if open > 0 {
		parts = append(parts, fmt.Sprintf("%d never recovered", open))
	}
	if cut > 0 {
		parts = append(parts, fmt.Sprintf("%d still recovering when the hold ended", cut))
	}
	if unlisted > 0 {
		parts = append(parts, fmt.Sprintf("%d more not judged (only the first %d of a cluster are listed)", unlisted, maxWaves))
	}
	return strings.Join(parts, "; "), slow == 0 && open == 0
}

// watchedUntilMs is when the run stopped watching, in ms since Start: the end of
// the hold, or the end of the run; 0 if unknown.
func watchedUntilMs(res *Result) float64 {
	end := res.HoldEnd
	if end.IsZero() {
		end = res.End
	}
	if end.IsZero() || res.Start.IsZero() {
		return 0
	}
	return float64(end.Sub(res.Start)) / float64(time.Millisecond)
}
