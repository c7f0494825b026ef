package report

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/pkg/twwidth"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
)

// tableWidth is the widest a rendered table may be: readable in a 100
// column terminal, a CI log or a pasted issue.
const tableWidth = 100

// VerdictLine is the report's first line: the verdict and what decided it,
// e.g. "FAIL: 1000/1000 upgraded; 1000 dropped at 3.0 s ±12 ms (FIN, no
// close frame) — idle timeout".
func VerdictLine(res *Result) string {
	c := res.Counts
	head := strings.ToUpper(res.Verdict)
	if head == "" {
		head = "DONE"
	}
	if Unfinished(res) {
		// Whatever its figures say so far, the run did not end here: never
		// DONE or PASS.
		if res.Verdict != "fail" {
			head = "UNFINISHED"
		}
		if head == "UNFINISHED" {
			head += " (a checkpoint written " + CheckpointMoment(res) + ")"
		} else {
			head += " (unfinished: a checkpoint written " + CheckpointMoment(res) + ")"
		}
	}
	if res.Interrupted {
		head += " (interrupted)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d/%d upgraded", head, c.Upgraded, c.Attempted)
	if c.Failed > 0 {
		b.WriteString("; " + failurePhrase(res))
	}
	if p := dropPhrase(res); p != "" {
		b.WriteString("; " + p)
	}
	if p := messagePhrase(res); p != "" {
		b.WriteString("; " + p)
	}
	// The phrases above already show why no-drops or upgraded>= failed;
	// any other unmet expectation must be named or the FAIL is a riddle.
	var unmet []string
	for _, e := range res.Expectations {
		if !e.Pass && e.Want != "no-drops" && !strings.HasPrefix(e.Want, "upgraded") {
			unmet = append(unmet, e.Want)
		}
	}
	if len(unmet) > 0 {
		b.WriteString("; unmet: " + strings.Join(unmet, ", "))
	}
	return b.String()
}

func failurePhrase(res *Result) string {
	c := res.Counts
	if len(res.Failures) == 0 {
		return fmt.Sprintf("%d failed", c.Failed)
	}
	top := res.Failures[0]
	for _, f := range res.Failures[1:] {
		if f.Count > top.Count {
			top = f
		}
	}
	var s string
	if top.Count == c.Failed {
		s = fmt.Sprintf("%d failed: %s", c.Failed, failureSummary(top, res.Proxy))
	} else {
		s = fmt.Sprintf("%d failed, %d of them: %s", c.Failed, top.Count, failureSummary(top, res.Proxy))
	}
	if n := len(res.Failures) - 1; n > 0 {
		s += fmt.Sprintf(" (+%d other %s)", n, plural(n, "cause", "causes"))
	}
	return s
}

func dropPhrase(res *Result) string {
	c := res.Counts
	if c.Dropped == 0 {
		switch {
		case c.Upgraded == 0:
			return ""
		case res.Interrupted:
			return "0 dropped before the interrupt"
		case Unfinished(res):
			return "0 dropped by then"
		}
		return "0 dropped over a " + holdText(res) + " hold"
	}
	if len(res.Drops.Clusters) == 0 {
		lo, hi := res.Drops.Age.MinMs, res.Drops.Age.MaxMs
		if hasAllEvents(res) {
			// Exact, where the histogram rounds to its bucket.
			lo, hi = math.Inf(1), math.Inf(-1)
			for _, e := range res.Drops.Events {
				lo, hi = min(lo, e.AgeMs), max(hi, e.AgeMs)
			}
		}
		return fmt.Sprintf("%d dropped at scattered times (ages %s to %s)", c.Dropped, secText(lo), secText(hi))
	}
	cl := res.Drops.Clusters[0]
	var b strings.Builder
	if cl.Count == c.Dropped {
		fmt.Fprintf(&b, "%d dropped", c.Dropped)
	} else {
		fmt.Fprintf(&b, "%d dropped, %d of them", c.Dropped, cl.Count)
	}
	switch cl.Clock {
	case "wall":
		fmt.Fprintf(&b, " at %s into the run", secText(cl.AtMs))
	case "pong":
		fmt.Fprintf(&b, " %s after a ping that got no pong", secText(cl.AtMs))
	default:
		fmt.Fprintf(&b, " at %s", secText(cl.AtMs))
	}
	fmt.Fprintf(&b, " %s (%s)", spreadText(cl), kindTextIn(res, cl.Kind))
	if mark := verdictMark(res, cl); mark != "" {
		b.WriteString(" — event: " + mark)
	} else if why := clusterWhy(res, cl); why != "" {
		b.WriteString(" — " + why)
	}
	if n := len(res.Drops.Clusters) - 1; n > 0 {
		fmt.Fprintf(&b, "; %d more %s", n, plural(n, "cluster", "clusters"))
	}
	return b.String()
}

// perConnText is the RSS per held connection, or "–" when it was not
// measured (the hold was never reached, or nothing was up at its start).
func perConnText(b float64) string {
	if b <= 0 {
		return "–"
	}
	return bytesText(int64(b))
}

// holdText is the hold as it happened (HoldEnd - HoldStart; End for
// results without HoldEnd, which counts the closing too) when known, else
// as configured.
func holdText(res *Result) string {
	end := res.HoldEnd
	if end.IsZero() {
		end = res.End
	}
	if !res.HoldStart.IsZero() && end.After(res.HoldStart) {
		d := end.Sub(res.HoldStart)
		if d >= 10*time.Second {
			return d.Round(time.Second).String()
		}
		return d.Round(10 * time.Millisecond).String()
	}
	return res.Scenario.Hold.String()
}

// WriteTable writes the terminal report: the verdict line, then one table
// per section. Sections with nothing to show say so in one line.
func WriteTable(w io.Writer, res *Result) error {
	ew := &errWriter{w: w}
	fmt.Fprintln(ew, VerdictLine(res))
	sections := []func(io.Writer, *Result) error{
		runSection, countsSection, handshakeSection, failuresSection,
		dropsSection, clustersSection,
	}
	sections = append(sections, messageSections(res)...)
	sections = append(sections, expectationsSection, resourcesSection)
	for _, s := range sections {
		if ew.err != nil {
			break
		}
		fmt.Fprintln(ew)
		if err := s(ew, res); err != nil {
			return fmt.Errorf("write table: %w", err)
		}
	}
	if len(res.Warnings) > 0 && ew.err == nil {
		fmt.Fprintln(ew, "\nWarnings")
		for _, warn := range res.Warnings {
			fmt.Fprintln(ew, "  - "+warn)
		}
	}
	if ew.err != nil {
		return fmt.Errorf("write table: %w", ew.err)
	}
	return nil
}

// errWriter keeps the first write error so the sections need not check
// every Fprintln.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}

func runSection(w io.Writer, res *Result) error {
	s := res.Scenario
	target := res.Target
	if target == "" {
		target = s.Target
	}
	rows := [][]string{
		{"scenario", s.Name},
		{"target", target},
		{"load", loadText(res)},
	}
	if len(s.SourceIPs) > 0 {
		rows = append(rows, []string{"source IPs", strings.Join(s.SourceIPs, ", ")})
	}
	if len(res.Redacted) > 0 {
		rows = append(rows, []string{"redacted", strings.Join(res.Redacted, ", ")})
	}
	if !res.Start.IsZero() {
		when := res.Start.UTC().Format("2006-01-02 15:04:05 MST")
		if !res.End.IsZero() {
			when += fmt.Sprintf(", ran %s", secText(float64(res.End.Sub(res.Start))/1e6))
		}
		rows = append(rows, []string{"started", when + ", " + res.EndReason})
	}
	if res.Shards > 1 {
		rows = append(rows, []string{"shards", strconv.Itoa(res.Shards)})
	}
	if line := proxyLine(res); line != "" {
		rows = append(rows, []string{"proxy in front", line})
	}
	for _, p := range res.ProxyConfigs {
		line := p.Path + " sha256:" + p.SHA256
		if p.Product != "" {
			line += " (" + identifyTitle(p.Product) + configuredText(p.Timeouts) + ")"
		} else {
			line += " (follows no proxy configuration grammar wshold reads: kept as a digest)"
		}
		rows = append(rows, []string{"proxy config", line})
	}
	for _, a := range res.Answers {
		rows = append(rows, []string{"answers", answerText(a)})
	}
	for _, m := range res.Marks {
		rows = append(rows, []string{"mark", fmt.Sprintf("%s at %s", m.Label, secText(m.AtMs))})
	}
	if res.Version != "" {
		rows = append(rows, []string{"wshold", res.Version})
	}
	return renderTable(w, "Run", nil, rows, nil)
}

func loadText(res *Result) string {
	s := res.Scenario
	rate := "as fast as allowed"
	if s.Rate > 0 {
		rate = strconv.FormatFloat(s.Rate, 'f', -1, 64) + "/s"
	}
	ping := "ping off"
	if s.Ping > 0 {
		ping = "ping every " + s.Ping.String()
		if s.PingFraction > 0 && s.PingFraction < 1 {
			ping += fmt.Sprintf(" from %g%% of connections", 100*s.PingFraction)
		}
	}
	text := fmt.Sprintf("%d conns at %s, hold %s, %s", s.Conns, rate, s.Hold, ping)
	if s.SendEvery > 0 {
		text += fmt.Sprintf(", a %d B message every %s", s.MessageSize, s.SendEvery)
		if s.SendFraction > 0 && s.SendFraction < 1 {
			text += fmt.Sprintf(" from %g%% of connections", 100*s.SendFraction)
		}
	}
	if s.Reconnect {
		text += fmt.Sprintf(", reconnect after %s–%s", s.ReconnectMin, s.ReconnectMax)
	}
	if s.Procs > 1 {
		text += fmt.Sprintf(", %d processes", s.Procs)
	}
	return text
}

func countsSection(w io.Writer, res *Result) error {
	c := res.Counts
	return renderTable(w, "Connections",
		[]string{"attempted", "upgraded", "failed", "held", "dropped"},
		[][]string{{itoa(c.Attempted), itoa(c.Upgraded), itoa(c.Failed), itoa(c.Held), itoa(c.Dropped)}},
		allRight(5))
}

func handshakeSection(w io.Writer, res *Result) error {
	h := res.Handshake
	if h.Count == 0 {
		_, err := fmt.Fprintln(w, "Handshake: none completed")
		return err
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }
	if err := renderTable(w, "Handshake latency (ms)",
		[]string{"count", "min", "mean", "p50", "p90", "p99", "p99.9", "max"},
		[][]string{{itoa(h.Count), f(h.MinMs), f(h.MeanMs), f(h.P50Ms), f(h.P90Ms), f(h.P99Ms), f(h.P999Ms), f(h.MaxMs)}},
		allRight(8)); err != nil || res.Phases == nil {
		return err
	}
	var rows [][]string
	for _, ph := range phaseRows(res.Phases) {
		l := ph.l
		rows = append(rows, []string{ph.name, f(l.P50Ms), f(l.P90Ms), f(l.P99Ms), f(l.MaxMs)})
	}
	return renderTable(w, "Handshake phases (ms)", []string{"phase", "p50", "p90", "p99", "max"}, rows,
		[]tw.Align{tw.AlignLeft, tw.AlignRight, tw.AlignRight, tw.AlignRight, tw.AlignRight})
}

// namedLatency is a distribution with its name for readers.
type namedLatency struct {
	name string
	l    Latency
}

// phaseRows are the measured phases in order.
func phaseRows(p *Phases) []namedLatency {
	rows := []namedLatency{{"TCP connect", p.Connect}}
	if p.TLS.Count > 0 {
		name := "TLS handshake"
		if p.TLSResumed > 0 {
			name = fmt.Sprintf("TLS handshake (%d resumed)", p.TLSResumed)
		}
		rows = append(rows, namedLatency{name, p.TLS})
	}
	return append(rows, namedLatency{"upgrade (request to 101)", p.Upgrade})
}

func failuresSection(w io.Writer, res *Result) error {
	if len(res.Failures) == 0 {
		_, err := fmt.Fprintln(w, "Failures: none")
		return err
	}
	rows := make([][]string, 0, len(res.Failures))
	for _, f := range res.Failures {
		status := ""
		if f.Status != 0 {
			status = strconv.Itoa(f.Status)
		}
		rows = append(rows, []string{f.Cause, status, itoa(f.Count), f.Example, f.Hint})
	}
	return renderTable(w, "Failures", []string{"cause", "status", "count", "example", "hint"}, rows,
		[]tw.Align{tw.AlignLeft, tw.AlignRight, tw.AlignRight, tw.AlignLeft, tw.AlignLeft})
}

func dropsSection(w io.Writer, res *Result) error {
	d := res.Drops
	if d.Count == 0 {
		_, err := fmt.Fprintln(w, "Drops: none")
		return err
	}
	rows := make([][]string, 0, len(d.ByKind)+2)
	for _, k := range sortedKinds(d.ByKind) {
		rows = append(rows, []string{k, kindTextIn(res, k), itoa(d.ByKind[k]), pct(d.ByKind[k], d.Count)})
	}
	if err := renderTable(w, "Drops by kind", []string{"kind", "meaning", "count", "share"}, rows,
		[]tw.Align{tw.AlignLeft, tw.AlignLeft, tw.AlignRight, tw.AlignRight}); err != nil {
		return err
	}
	f := func(v float64) string { return secText(v) }
	return renderTable(w, "\nDrop times",
		[]string{"since", "min", "p50", "p90", "p99", "max"},
		[][]string{
			{"upgrade (age)", f(d.Age.MinMs), f(d.Age.P50Ms), f(d.Age.P90Ms), f(d.Age.P99Ms), f(d.Age.MaxMs)},
			{"last frame (idle)", f(d.Idle.MinMs), f(d.Idle.P50Ms), f(d.Idle.P90Ms), f(d.Idle.P99Ms), f(d.Idle.MaxMs)},
		},
		[]tw.Align{tw.AlignLeft, tw.AlignRight, tw.AlignRight, tw.AlignRight, tw.AlignRight, tw.AlignRight})
}

func clustersSection(w io.Writer, res *Result) error {
	if res.Drops.Count == 0 {
		return nil
	}
	cl := res.Drops.Clusters
	if len(cl) == 0 {
		_, err := fmt.Fprintln(w, "Drop clusters: none (the drops share no moment on any clock)")
		return err
	}
	rows := make([][]string, 0, len(cl))
	for _, c := range cl {
		cause := c.Cause
		if c.Alternative != "" {
			cause += " or " + c.Alternative
		}
		rows = append(rows, []string{c.Clock, secText(c.AtMs), spreadText(c), itoa(c.Count), c.Kind, cause, c.Hint})
	}
	if err := renderTable(w, "Drop clusters",
		[]string{"clock", "at", "spread", "count", "kind", "cause", "hint"}, rows,
		[]tw.Align{tw.AlignLeft, tw.AlignRight, tw.AlignRight, tw.AlignRight, tw.AlignLeft, tw.AlignLeft, tw.AlignLeft}); err != nil {
		return err
	}
	for _, c := range cl {
		if len(c.Evidence) == 0 {
			continue
		}
		if _, err := fmt.Fprintf(w, "\nEvidence for the %d drops at %s (%s clock):\n", c.Count, secText(c.AtMs), c.Clock); err != nil {
			return err
		}
		for _, e := range c.Evidence {
			if _, err := fmt.Fprintln(w, wrapIndent(e, "  - ", "    ", tableWidth)); err != nil {
				return err
			}
		}
	}
	return nil
}

func expectationsSection(w io.Writer, res *Result) error {
	if len(res.Expectations) == 0 {
		_, err := fmt.Fprintln(w, "Expectations: none evaluated")
		return err
	}
	rows := make([][]string, 0, len(res.Expectations))
	for _, e := range res.Expectations {
		pass := "FAIL"
		if e.Pass {
			pass = "pass"
		}
		rows = append(rows, []string{e.Want, e.Got, pass})
	}
	return renderTable(w, "Expectations", []string{"want", "got", "result"}, rows, nil)
}

func resourcesSection(w io.Writer, res *Result) error {
	r := res.Resources
	if r.PeakRSSBytes == 0 && r.CPUSeconds == 0 && len(r.Procs) == 0 {
		_, err := fmt.Fprintln(w, "Resources: not measured")
		return err
	}
	rows := [][]string{{"total", bytesText(r.PeakRSSBytes), secondsCPU(r.CPUSeconds), perConnText(r.RSSPerConnBytes), itoa(res.Counts.Held)}}
	for _, p := range r.Procs {
		rows = append(rows, []string{p.Label(), bytesText(p.PeakRSSBytes), secondsCPU(p.CPUSeconds), perConnText(p.RSSPerConnBytes), itoa(p.Held)})
	}
	if err := renderTable(w, "Harness resources", []string{"process", "peak RSS", "CPU", "RSS per conn", "held"}, rows,
		[]tw.Align{tw.AlignLeft, tw.AlignRight, tw.AlignRight, tw.AlignRight, tw.AlignRight}); err != nil {
		return err
	}
	if line := HoldRSSText(r); line != "" {
		_, err := fmt.Fprintln(w, line)
		return err
	}
	return nil
}

// HoldRSSText says how the harness's RSS changed over the hold ("RSS over
// the hold: 41.2 MiB at its start, 41.5 MiB at its end (+0.7%)"), or ""
// when it was not measured.
func HoldRSSText(r Resources) string {
	if r.HoldStartRSSBytes <= 0 || r.HoldEndRSSBytes <= 0 {
		return ""
	}
	change := 100 * float64(r.HoldEndRSSBytes-r.HoldStartRSSBytes) / float64(r.HoldStartRSSBytes)
	return fmt.Sprintf("RSS over the hold: %s at its start, %s at its end (%+.1f%%)",
		bytesText(r.HoldStartRSSBytes), bytesText(r.HoldEndRSSBytes), change)
}

// renderTable writes a titled ASCII table no wider than tableWidth. Long
// cells are wrapped here, at word boundaries, rather than by tablewriter:
// its wrapping of narrow columns in wide tables cuts words off.
func renderTable(w io.Writer, title string, header []string, rows [][]string, align []tw.Align) error {
	if _, err := fmt.Fprintln(w, title); err != nil {
		return err
	}
	widths := fitWidths(header, rows)
	wrapped := make([][]string, len(rows))
	for i, r := range rows {
		wrapped[i] = make([]string, len(r))
		for j, c := range r {
			wrapped[i][j] = wrapText(c, widths[j]-cellPadding)
		}
	}
	opts := []tablewriter.Option{
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{Symbols: tw.NewSymbols(tw.StyleASCII)})),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAutoWrap(tw.WrapNone),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
	}
	if align != nil {
		opts = append(opts, tablewriter.WithRowAlignmentConfig(tw.CellAlignment{PerColumn: align}))
	} else {
		opts = append(opts, tablewriter.WithRowAlignment(tw.AlignLeft))
	}
	t := tablewriter.NewTable(w, opts...)
	if header != nil {
		t.Header(header)
	}
	for _, r := range wrapped {
		if err := t.Append(r); err != nil {
			return err
		}
	}
	return t.Render()
}

// cellPadding is the blank tablewriter puts on each side of a cell.
const cellPadding = 2

// fitWidths gives each column its natural width (content plus padding)
// when the table fits in tableWidth, and otherwise shrinks the widest
// columns, evenly, until it does. No column shrinks below 10 cells so a
// word or a number still fits.
func fitWidths(header []string, rows [][]string) []int {
	const minCol = 10
	var widths []int
	measure := func(col int, s string) {
		for len(widths) <= col {
			widths = append(widths, 0)
		}
		for _, line := range strings.Split(s, "\n") {
			widths[col] = max(widths[col], twwidth.Width(line)+cellPadding)
		}
	}
	for i, h := range header {
		measure(i, h)
	}
	for _, r := range rows {
		for i, c := range r {
			measure(i, c)
		}
	}
	budget := tableWidth - (len(widths) + 1) // one border per column plus one
	total := 0
	for _, v := range widths {
		total += v
	}
	// Take one cell at a time from the widest column: simple, and the
	// columns are few and at most a few hundred cells wide.
	for total > budget {
		widest := 0
		for i, v := range widths {
			if v > widths[widest] {
				widest = i
			}
		}
		if widths[widest] <= minCol {
			break
		}
		widths[widest]--
		total--
	}
	return widths
}

// wrapText breaks s into lines at most width cells wide, at spaces where
// it can and inside words (a hash, a URL) where it must.
func wrapText(s string, width int) string {
	if width < 1 || twwidth.Width(s) <= width && !strings.Contains(s, "\n") {
		return s
	}
	var lines []string
	for _, para := range strings.Split(s, "\n") {
		line, lineW := "", 0
		flush := func() {
			lines = append(lines, line)
			line, lineW = "", 0
		}
		for _, word := range strings.Fields(para) {
			ww := twwidth.Width(word)
			if lineW > 0 && lineW+1+ww <= width {
				line += " " + word
				lineW += 1 + ww
				continue
			}
			if lineW > 0 {
				flush()
			}
			for ww > width {
				head, rest := splitAtWidth(word, width)
				lines = append(lines, head)
				word, ww = rest, twwidth.Width(rest)
			}
			line, lineW = word, ww
		}
		flush()
	}
	return strings.Join(lines, "\n")
}

// splitAtWidth cuts s after the last rune that keeps the head within width
// cells (at least one rune, so wrapping always progresses).
func splitAtWidth(s string, width int) (string, string) {
	w := 0
	for i, r := range s {
		rw := twwidth.Width(string(r))
		if w+rw > width && i > 0 {
			return s[:i], s[i:]
		}
		w += rw
	}
	return s, ""
}

func allRight(n int) []tw.Align {
	a := make([]tw.Align, n)
	for i := range a {
		a[i] = tw.AlignRight
	}
	return a
}

func sortedKinds(m map[string]int64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	// Most frequent first; names break ties so the output is stable.
	slices.SortFunc(keys, func(a, b string) int { return cmp.Or(cmp.Compare(m[b], m[a]), cmp.Compare(a, b)) })
	return keys
}

// wrapIndent wraps text to width, the first line after first, the others
// after rest.
func wrapIndent(text, first, rest string, width int) string {
	var b strings.Builder
	line := first
	for _, w := range strings.Fields(text) {
		if len(line) > len(rest) && len(line)+1+len(w) > width {
			b.WriteString(line + "\n")
			line = rest
		}
		if len(line) > len(rest) || (line == first && len(line) > len(first)) {
			line += " "
		}
		line += w
	}
	b.WriteString(line)
	return b.String()
}

// proxyLine is the proxy in front and what named it, or, when nothing
// named one, what the answers' form says ("" when neither).
func proxyLine(res *Result) string {
	if res.Proxy != nil {
		return proxyText(res.Proxy)
	}
	if len(res.ProxyClues) > 0 {
		return "not named by the answers — " + strings.Join(res.ProxyClues, "; ")
	}
	return ""
}

// proxyText is the proxy in front and what named it: "lighttpd 1.4.69
// (Server: lighttpd/1.4.69 (200 of 200 answers))".
func proxyText(p *Proxy) string {
	s := p.Title()
	if p.Version != "" {
		s += " " + p.Version
	}
	if !p.Known {
		s += " (a product wshold has no defaults for)"
	}
	s += " — " + strings.Join(p.Evidence, "; ")
	if len(p.Also) > 0 {
		s += "; also on the path: " + strings.Join(p.Also, "; ")
	}
	return s
}

func configuredText(ts []ConfiguredTimeout) string {
	var parts []string
	for _, t := range ts {
		parts = append(parts, fmt.Sprintf("%s %s", t.Setting, secondsText(t.Seconds)))
	}
	if len(parts) == 0 {
		return ""
	}
	return ": " + strings.Join(parts, ", ")
}

// answerText is one distinct answer identity on a line: "200 × 101,
// Server: lighttpd/1.4.69, headers Upgrade Sec-WebSocket-Accept …".
func answerText(a Answer) string {
	if a.Other {
		return fmt.Sprintf("%d × more distinct answers (not described)", a.Count)
	}
	parts := []string{fmt.Sprintf("%d × %d", a.Count, a.Status)}
	if a.Server != "" {
		parts = append(parts, "Server: "+a.Server)
	}
	if a.Via != "" {
		parts = append(parts, "Via: "+a.Via)
	}
	parts = append(parts, a.Extra...)
	parts = append(parts, "headers "+strings.Join(a.Headers, " "))
	if a.Body != "" {
		parts = append(parts, fmt.Sprintf("body %q", a.Body))
	}
	return strings.Join(parts, ", ")
}
