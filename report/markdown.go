package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"
)

// WriteMarkdown writes a compact GitHub-flavoured Markdown summary of res,
// sized for a pull-request comment or $GITHUB_STEP_SUMMARY: the verdict in
// bold, one table of counts and handshake latency, then expectations, drop
// clusters, failures and warnings. Every string that came from the user or
// the network (names, URLs, response excerpts) is escaped, so a hostile
// 400 body cannot inject markup or links into the comment.
func WriteMarkdown(w io.Writer, res *Result) error {
	if res == nil {
		return fmt.Errorf("write markdown: no result")
	}
	bw := bufio.NewWriter(w)
	p := func(format string, a ...any) { fmt.Fprintf(bw, format, a...) }

	p("**%s %s**\n\n", mdMark(res.Verdict == "pass"), mdEscape(VerdictLine(res)))
	p("%s\n\n", mdRunLine(res))
	if line := proxyLine(res); line != "" {
		p("Proxy in front: %s\n\n", mdEscape(line))
	}

	p("| attempted | upgraded | failed | held | dropped | handshake p50 | p99 | max |\n")
	p("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	c := res.Counts
	p("| %d | %d | %d | %d | %d | %s | %s | %s |\n\n", c.Attempted, c.Upgraded, c.Failed, c.Held, c.Dropped,
		outLatency(res.Handshake, res.Handshake.P50Ms), outLatency(res.Handshake, res.Handshake.P99Ms), outLatency(res.Handshake, res.Handshake.MaxMs))
	if res.Phases != nil {
		var parts []string
		for _, ph := range phaseRows(res.Phases) {
			parts = append(parts, fmt.Sprintf("%s p50 %s, p99 %s", ph.name, outLatency(ph.l, ph.l.P50Ms), outLatency(ph.l, ph.l.P99Ms)))
		}
		p("Handshake phases: %s.\n\n", strings.Join(parts, "; "))
	}

	writeMarkdownMessages(bw, res)

	if len(res.Expectations) > 0 {
		p("**Expectations**\n\n")
		for _, e := range res.Expectations {
			p("- %s %s — got %s\n", mdMark(e.Pass), mdCode(e.Want), mdEscape(e.Got))
		}
		p("\n")
	}

	if len(res.Drops.Clusters) > 0 {
		p("**Drop clusters**\n\n")
		p("| at | spread | count | kind | clock | hint |\n")
		p("| ---: | ---: | ---: | --- | --- | --- |\n")
		for _, cl := range res.Drops.Clusters {
			p("| %s | %s | %d | %s | %s | %s |\n", secText(cl.AtMs), spreadText(cl), cl.Count,
				mdEscape(kindText(cl.Kind)), mdEscape(cl.Clock), mdEscape(cl.Hint))
		}
		p("\n")
		for _, cl := range res.Drops.Clusters {
			if len(cl.Evidence) == 0 {
				continue
			}
			p("Evidence for the %d drops at %s:\n\n", cl.Count, secText(cl.AtMs))
			for _, e := range cl.Evidence {
				p("- %s\n", mdEscape(e))
			}
			p("\n")
		}
	} else if res.Drops.Count > 0 {
		p("**Drops**: %d, scattered (no cluster); by kind: %s\n\n", res.Drops.Count, mdEscape(outByKind(res.Drops.ByKind)))
	}

	if len(res.Failures) > 0 {
		p("**Failures**\n\n")
		p("| cause | status | count | example | hint |\n")
		p("| --- | ---: | ---: | --- | --- |\n")
		for _, f := range res.Failures {
			p("| %s | %s | %d | %s | %s |\n", mdEscape(f.Cause), outStatus(f.Status), f.Count,
				mdEscape(outClip(f.Example, 120)), mdEscape(f.Hint))
		}
		p("\n")
	}

	for _, warn := range res.Warnings {
		p("> ⚠️ %s\n", mdEscape(warn))
	}
	if len(res.Warnings) > 0 {
		p("\n")
	}
	return bw.Flush()
}

// mdRunLine says what was run, where, for how long, in one line.
func mdRunLine(res *Result) string {
	sc := res.Scenario
	parts := []string{
		"scenario " + mdCode(sc.Name),
		"target " + mdCode(res.Target),
		fmt.Sprintf("%d conns", sc.Conns),
		"hold " + sc.Hold.String(),
	}
	if sc.Ping > 0 {
		parts = append(parts, "ping "+sc.Ping.String())
	} else {
		parts = append(parts, "no pings")
	}
	if res.Shards > 1 {
		parts = append(parts, fmt.Sprintf("%d shards", res.Shards))
	}
	if !res.Start.IsZero() && !res.End.IsZero() {
		parts = append(parts, "ran "+outRunTime(res.End.Sub(res.Start)))
	}
	if res.Interrupted {
		parts = append(parts, "**interrupted**")
	}
	return strings.Join(parts, " · ")
}

func mdMark(pass bool) string {
	if pass {
		return "✅"
	}
	return "❌"
}

// mdEscape makes s literal text in a Markdown paragraph or table cell:
// markup characters are backslash-escaped (CommonMark allows that for any
// ASCII punctuation), '|' cannot end a cell, and line breaks become spaces
// so a multi-line response body stays in its cell.
func mdEscape(s string) string {
	var b strings.Builder
	for _, r := range outOneLine(s) {
		switch r {
		case '\\', '`', '*', '_', '[', ']', '<', '>', '|', '~', '&', '#', '!':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// mdCode wraps s in a code span whose fence is longer than any backtick run
// inside it, the CommonMark way of quoting arbitrary text. '|' stays escaped
// because GFM splits table cells before it parses code spans.
func mdCode(s string) string {
	s = strings.ReplaceAll(outOneLine(s), "|", `\|`)
	if s == "" {
		return "(none)"
	}
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return fence + s + fence
}

// outOneLine replaces control characters (line breaks, tabs, escapes) with
// spaces: every renderer shows network text on one line.
func outOneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}

// outClip shortens s to at most n runes, marking the cut.
func outClip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// outRunTime formats a run's wall-clock length.
func outRunTime(d time.Duration) string {
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(100 * time.Millisecond).String()
}

// outLatency formats one statistic of l, or a dash when nothing was
// measured: "0 ms" would claim an instant handshake.
func outLatency(l Latency, ms float64) string {
	if l.Count == 0 {
		return "–"
	}
	return msText(ms)
}

func outStatus(status int) string {
	if status == 0 {
		return "–"
	}
	return fmt.Sprint(status)
}

// outByKind lists drop counts per kind, most frequent first.
func outByKind(m map[string]int64) string {
	kinds := sortedKinds(m)
	parts := make([]string, 0, len(kinds))
	for _, k := range kinds {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// outShortHash keeps enough of a SHA-256 to tell configs apart at a glance.
func outShortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
