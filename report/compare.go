package report

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/wshold/wshold/scenario"
)

// Thresholds of a handshake p99 change worth reporting: both must be
// exceeded, so that 0.4 ms → 0.6 ms (+50 %) and 400 ms → 406 ms (+1.5 %)
// stay quiet.
const (
	compareP99Ratio = 0.20
	compareP99Ms    = 5.0
)

// WriteCompare writes the results side by side, one column per run, and
// then the differences that matter (see Differences). names label the
// columns; a missing or empty name becomes "run N".
func WriteCompare(w io.Writer, results []*Result, names []string) error {
	if len(results) == 0 {
		return fmt.Errorf("compare: no results given")
	}
	for i, r := range results {
		if r == nil {
			return fmt.Errorf("compare: result %d is missing", i+1)
		}
	}
	names = compareNames(results, names)

	if err := compareTable(w, "Results", names, results, resultRows(results), false); err != nil {
		return fmt.Errorf("compare: %w", err)
	}
	// The settings the runs were made with, each differing cell marked:
	// a run with --ping or a shorter --hold is not the same experiment.
	title := fmt.Sprintf("\nSettings (* = not as in %s)", names[0])
	if err := compareTable(w, title, names, results, shownSettings(results), true); err != nil {
		return fmt.Errorf("compare: %w", err)
	}

	diffs := compareDifferences(results, names)
	if len(diffs) == 0 {
		_, err := fmt.Fprintln(w, "\nNo differences that matter.")
		return err
	}
	if _, err := fmt.Fprintln(w, "\nDifferences that matter:"); err != nil {
		return err
	}
	for _, d := range diffs {
		if _, err := fmt.Fprintf(w, "  - %s\n", d); err != nil {
			return err
		}
	}
	return nil
}

// compareRow is one row of a compare table: its label and each run's cell.
type compareRow struct {
	label string
	cell  func(*Result) string
}

// compareTable renders rows with one column per run in the ASCII tables of
// the other reports. With mark, a cell that differs from the first run's
// gets " *".
func compareTable(w io.Writer, title string, names []string, results []*Result, rows []compareRow, mark bool) error {
	table := make([][]string, 0, len(rows))
	for _, row := range rows {
		cells := []string{row.label}
		first := row.cell(results[0])
		for i, r := range results {
			c := row.cell(r)
			if mark && i > 0 && c != first {
				c += " *"
			}
			cells = append(cells, c)
		}
		table = append(table, cells)
	}
	return renderTable(w, title, append([]string{""}, names...), table, nil)
}

// compareSettings are the scenario settings compare shows. A row marked
// always is shown even when every run has the default; the others when
// some run set them, or (withPing) when some run pings.
var compareSettings = []struct {
	compareRow
	always, withPing bool
}{
	{compareRow{"rate", func(r *Result) string {
		if r.Scenario.Rate <= 0 {
			return "as fast as allowed"
		}
		return strconv.FormatFloat(r.Scenario.Rate, 'f', -1, 64) + "/s"
	}}, true, false},
	{compareRow{"hold", func(r *Result) string { return r.Scenario.Hold.String() }}, true, false},
	{compareRow{"proxy in front", func(r *Result) string {
		if r.Proxy == nil {
			return ""
		}
		return strings.TrimSpace(r.Proxy.Title() + " " + r.Proxy.Version)
	}}, false, false},
	{compareRow{"ping", func(r *Result) string {
		if r.Scenario.Ping <= 0 {
			return "off"
		}
		return "every " + r.Scenario.Ping.String()
	}}, true, false},
	{compareRow{"ping fraction", func(r *Result) string { return strconv.FormatFloat(100*r.Scenario.PingFraction, 'f', -1, 64) + "%" }}, false, true},
	{compareRow{"pong timeout", func(r *Result) string { return r.Scenario.PongTimeout.String() }}, false, true},
	{compareRow{"handshake timeout", func(r *Result) string { return r.Scenario.HandshakeTimeout.String() }}, true, false},
	{compareRow{"max in flight", func(r *Result) string { return strconv.Itoa(r.Scenario.MaxInFlight) }}, false, false},
	{compareRow{"source IPs", func(r *Result) string {
		if len(r.Scenario.SourceIPs) == 0 {
			return "kernel's choice"
		}
		return outOneLine(strings.Join(r.Scenario.SourceIPs, ", "))
	}}, true, false},
	{compareRow{"procs", func(r *Result) string {
		if r.Scenario.Procs == 0 {
			return "auto"
		}
		return strconv.Itoa(r.Scenario.Procs)
	}}, false, false},
	{compareRow{"headers", func(r *Result) string { return outOneLine(strings.Join(r.Scenario.Headers, "\n")) }}, false, false},
	{compareRow{"origin", func(r *Result) string { return outOneLine(r.Scenario.Origin) }}, false, false},
	{compareRow{"subprotocols", func(r *Result) string { return outOneLine(strings.Join(r.Scenario.Subprotocols, ", ")) }}, false, false},
	{compareRow{"TLS", func(r *Result) string {
		switch {
		case r.Scenario.Insecure:
			return "not verified (--insecure)"
		case r.Scenario.CA != "":
			return "verified, extra CA " + outOneLine(compareBase(r.Scenario.CA))
		}
		return ""
	}}, false, false},
	{compareRow{"expect", func(r *Result) string {
		if len(r.Scenario.Expect) == 0 {
			return strings.Join(scenario.DefaultExpectations, ", ") + " (default)"
		}
		return outOneLine(strings.Join(r.Scenario.Expect, ", "))
	}}, true, false},
}

// shownSettings are the settings rows worth a line for these runs.
func shownSettings(results []*Result) []compareRow {
	def := &Result{Scenario: scenario.Defaults()}
	var rows []compareRow
	for _, s := range compareSettings {
		show := s.always
		for _, r := range results {
			show = show || s.cell(r) != s.cell(def) || s.withPing && r.Scenario.Ping > 0
		}
		if show {
			rows = append(rows, s.compareRow)
		}
	}
	return rows
}

// resultRows are compareRows, then the rows of what some of the runs did
// beyond holding: timed messages, server pushes, reconnects.
func resultRows(results []*Result) []compareRow {
	rows := slices.Clone(compareRows)
	for _, extra := range compareExtraRows {
		for _, r := range results {
			if extra.present(r) {
				rows = append(rows, extra.rows...)
				break
			}
		}
	}
	return rows
}

// compareExtraRows are shown when any run has the section.
var compareExtraRows = []struct {
	present func(*Result) bool
	rows    []compareRow
}{
	{func(r *Result) bool { return r.Messages != nil }, []compareRow{
		{"messages sent / lost", func(r *Result) string {
			if r.Messages == nil {
				return "none sent"
			}
			return fmt.Sprintf("%d / %d", r.Messages.Sent, r.Messages.Lost)
		}},
		{"message RTT p50", func(r *Result) string { return messageLatency(r, func(m *Messages) Latency { return m.RTT }, false) }},
		{"message RTT p99", func(r *Result) string { return messageLatency(r, func(m *Messages) Latency { return m.RTT }, true) }},
	}},
	{func(r *Result) bool { return r.Push != nil }, []compareRow{
		{"push delay p99", func(r *Result) string {
			if r.Push == nil {
				return "none"
			}
			return outLatency(r.Push.Delay, r.Push.Delay.P99Ms)
		}},
		{"fan-out p99", func(r *Result) string {
			if r.Push == nil {
				return "none"
			}
			return outLatency(r.Push.Fanout, r.Push.Fanout.P99Ms)
		}},
	}},
	{func(r *Result) bool { return r.Reconnects != nil }, []compareRow{
		{"reconnects upgraded / failed", func(r *Result) string {
			if r.Reconnects == nil {
				return "off"
			}
			return fmt.Sprintf("%d / %d", r.Reconnects.Upgraded, r.Reconnects.Failed)
		}},
		{"recovery", func(r *Result) string {
			if s := slowestRecovery(r); s != "" {
				return s
			}
			return "–"
		}},
	}},
}

func messageLatency(r *Result, of func(*Messages) Latency, p99 bool) string {
	if r.Messages == nil {
		return "none"
	}
	l := of(r.Messages)
	if p99 {
		return outLatency(l, l.P99Ms)
	}
	return outLatency(l, l.P50Ms)
}

// compareRows are the results table's rows, top to bottom.
var compareRows = []compareRow{
	{"verdict", func(r *Result) string { return strings.ToUpper(r.Verdict) }},
	{"scenario", func(r *Result) string { return outOneLine(r.Scenario.Name) }},
	{"target", func(r *Result) string { return outOneLine(r.Target) }},
	{"conns", func(r *Result) string { return fmt.Sprint(r.Scenario.Conns) }},
	{"upgraded / failed", func(r *Result) string { return fmt.Sprintf("%d / %d", r.Counts.Upgraded, r.Counts.Failed) }},
	{"handshake p50", func(r *Result) string { return outLatency(r.Handshake, r.Handshake.P50Ms) }},
	{"handshake p99", func(r *Result) string { return outLatency(r.Handshake, r.Handshake.P99Ms) }},
	{"handshake max", func(r *Result) string { return outLatency(r.Handshake, r.Handshake.MaxMs) }},
	{"held", func(r *Result) string { return fmt.Sprint(r.Counts.Held) }},
	{"dropped", func(r *Result) string { return fmt.Sprint(r.Counts.Dropped) }},
	{"clusters", func(r *Result) string {
		if len(r.Drops.Clusters) == 0 {
			return "none"
		}
		lines := make([]string, len(r.Drops.Clusters))
		for i, c := range r.Drops.Clusters {
			lines[i] = compareCluster(c)
		}
		return strings.Join(lines, "\n")
	}},
	{"failures", func(r *Result) string {
		if len(r.Failures) == 0 {
			return "none"
		}
		lines := make([]string, len(r.Failures))
		for i, f := range r.Failures {
			lines[i] = fmt.Sprintf("%s ×%d", compareFailureKey(f), f.Count)
		}
		return strings.Join(lines, "\n")
	}},
	{"expectations", func(r *Result) string {
		pass := 0
		for _, e := range r.Expectations {
			if e.Pass {
				pass++
			}
		}
		return fmt.Sprintf("%d/%d held", pass, len(r.Expectations))
	}},
	{"proxy configs", func(r *Result) string {
		if len(r.ProxyConfigs) == 0 {
			return "none"
		}
		lines := make([]string, len(r.ProxyConfigs))
		for i, pc := range r.ProxyConfigs {
			lines[i] = fmt.Sprintf("%s %s", outOneLine(compareBase(pc.Path)), outShortHash(pc.SHA256))
		}
		return strings.Join(lines, "\n")
	}},
	{"shards", func(r *Result) string {
		s := fmt.Sprint(max(r.Shards, 1))
		if r.Interrupted {
			s += " (interrupted)"
		}
		return s
	}},
}

// compareOrNone names an empty setting.
func compareOrNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func compareCluster(c Cluster) string {
	s := fmt.Sprintf("%s %s %s ×%d", secText(c.AtMs), spreadText(c), c.Kind, c.Count)
	if c.Clock != "" && c.Clock != "age" {
		s += " (" + c.Clock + ")"
	}
	return s
}

func compareFailureKey(f Failure) string {
	if f.Status != 0 {
		return fmt.Sprintf("%s %d", f.Cause, f.Status)
	}
	return f.Cause
}

// compareBase is the last element of a slash-separated path.
func compareBase(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 && i < len(p)-1 {
		return p[i+1:]
	}
	return p
}

func compareNames(results []*Result, names []string) []string {
	out := make([]string, len(results))
	for i := range results {
		if i < len(names) && names[i] != "" {
			out[i] = outOneLine(names[i])
		} else {
			out[i] = fmt.Sprintf("run %d", i+1)
		}
	}
	return out
}

// Differences lists, in plain sentences, what differs between the runs in
// ways that change a conclusion: the verdict; a drop cluster present in one
// run and not another (or of another kind); a handshake p99 that moved by
// more than 20 % and 5 ms; a proxy config whose hash changed or that only
// one run used; the set of failure causes; the number of connections run;
// the settings it ran with (rate, hold, ping, …).
// Each run after the first is compared with the first; runs are called
// "run 1", "run 2", … (WriteCompare uses its column names instead).
func Differences(results []*Result) []string {
	return compareDifferences(results, compareNames(results, nil))
}

func compareDifferences(results []*Result, names []string) []string {
	var out []string
	if len(results) < 2 {
		return nil
	}
	a, an := results[0], names[0]
	for i, b := range results[1:] {
		if b == nil || a == nil {
			continue
		}
		out = append(out, compareDiffPair(a, b, an, names[i+1])...)
	}
	return out
}

func compareDiffPair(a, b *Result, an, bn string) []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }

	if a.Verdict != b.Verdict {
		add("verdict: %s %s, %s %s", an, strings.ToUpper(a.Verdict), bn, strings.ToUpper(b.Verdict))
	}
	if a.Scenario.Conns != b.Scenario.Conns {
		add("conns: %s ran %d, %s ran %d; counts are not directly comparable", an, a.Scenario.Conns, bn, b.Scenario.Conns)
	}
	out = append(out, compareDiffClusters(a, b, an, bn)...)

	pa, pb := a.Handshake.P99Ms, b.Handshake.P99Ms
	if a.Handshake.Count > 0 && b.Handshake.Count > 0 {
		lo, hi := math.Min(pa, pb), math.Max(pa, pb)
		if hi-lo > compareP99Ms && hi > lo*(1+compareP99Ratio) {
			dir := "higher"
			if pb < pa {
				dir = "lower"
			}
			add("handshake p99: %s %s, %s %s (%s, %+.0f %%)", an, msText(pa), bn, msText(pb), dir, (pb-pa)/pa*100)
		}
	}

	if a.Messages != nil && b.Messages != nil {
		ra, rb := a.Messages.RTT, b.Messages.RTT
		if ra.Count > 0 && rb.Count > 0 {
			lo, hi := math.Min(ra.P99Ms, rb.P99Ms), math.Max(ra.P99Ms, rb.P99Ms)
			if hi-lo > compareP99Ms && hi > lo*(1+compareP99Ratio) {
				add("message RTT p99: %s %s, %s %s (%+.0f %%)", an, msText(ra.P99Ms), bn, msText(rb.P99Ms), (rb.P99Ms-ra.P99Ms)/ra.P99Ms*100)
			}
		}
		if (a.Messages.Lost == 0) != (b.Messages.Lost == 0) {
			add("messages lost: %s %d, %s %d", an, a.Messages.Lost, bn, b.Messages.Lost)
		}
	}

	out = append(out, compareDiffConfigs(a, b, an, bn)...)

	var settings []string
	for _, st := range compareSettings {
		if ca, cb := st.cell(a), st.cell(b); ca != cb {
			settings = append(settings, fmt.Sprintf("%s %s in %s, %s in %s", st.label, compareOrNone(ca), an, compareOrNone(cb), bn))
		}
	}
	if len(settings) > 0 {
		add("settings: %s", strings.Join(settings, "; "))
	}

	fa, fb := compareFailureSet(a), compareFailureSet(b)
	if fa != fb {
		add("failure causes: %s %s, %s %s", an, fa, bn, fb)
	}
	return out
}

// compareDiffClusters pairs clusters on the same clock whose centres lie within
// tolerance of each other, and reports those left unpaired and pairs whose
// kind differs (FIN versus a close frame is a different proxy behaviour).
func compareDiffClusters(a, b *Result, an, bn string) []string {
	var out []string
	used := make([]bool, len(b.Drops.Clusters))
	for _, ca := range a.Drops.Clusters {
		j := -1
		for k, cb := range b.Drops.Clusters {
			if !used[k] && ca.Clock == cb.Clock && compareClustersMatch(ca, cb) {
				j = k
				break
			}
		}
		if j < 0 {
			out = append(out, fmt.Sprintf("drop cluster at %s (%s, %s ×%d) in %s, none near it in %s",
				secText(ca.AtMs), compareClockName(ca.Clock), ca.Kind, ca.Count, an, bn))
			continue
		}
		used[j] = true
		if cb := b.Drops.Clusters[j]; cb.Kind != ca.Kind {
			out = append(out, fmt.Sprintf("drop cluster at %s: %s drops by %s, %s by %s",
				secText(ca.AtMs), an, kindText(ca.Kind), bn, kindText(cb.Kind)))
		}
	}
	for k, cb := range b.Drops.Clusters {
		if !used[k] {
			out = append(out, fmt.Sprintf("drop cluster at %s (%s, %s ×%d) in %s, none near it in %s",
				secText(cb.AtMs), compareClockName(cb.Clock), cb.Kind, cb.Count, bn, an))
		}
	}
	return out
}

// compareClustersMatch: the same timeout seen twice lands within a second or 2 %
// of itself (more if the clusters themselves are wide); 60 s versus 75 s
// is a different timeout.
func compareClustersMatch(a, b Cluster) bool {
	tol := math.Max(1000, 0.02*math.Max(a.AtMs, b.AtMs))
	tol = math.Max(tol, a.SpreadMs+b.SpreadMs)
	return math.Abs(a.AtMs-b.AtMs) <= tol
}

func compareClockName(clock string) string {
	switch clock {
	case "age", "":
		return "since upgrade"
	case "idle":
		return "since last frame"
	case "wall":
		return "at the same moment"
	}
	return clock
}

func compareDiffConfigs(a, b *Result, an, bn string) []string {
	var out []string
	bByPath := map[string]string{}
	for _, pc := range b.ProxyConfigs {
		bByPath[pc.Path] = pc.SHA256
	}
	aPaths := map[string]bool{}
	for _, pc := range a.ProxyConfigs {
		aPaths[pc.Path] = true
		hb, ok := bByPath[pc.Path]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("proxy config %s (%s) only in %s", pc.Path, outShortHash(pc.SHA256), an))
		case hb != pc.SHA256:
			out = append(out, fmt.Sprintf("proxy config %s changed: %s %s, %s %s", pc.Path, an, outShortHash(pc.SHA256), bn, outShortHash(hb)))
		}
	}
	for _, pc := range b.ProxyConfigs {
		if !aPaths[pc.Path] {
			out = append(out, fmt.Sprintf("proxy config %s (%s) only in %s", pc.Path, outShortHash(pc.SHA256), bn))
		}
	}
	return out
}

// compareFailureSet names the distinct failure causes of a run, sorted.
func compareFailureSet(r *Result) string {
	if len(r.Failures) == 0 {
		return "none"
	}
	seen := map[string]bool{}
	var keys []string
	for _, f := range r.Failures {
		k := compareFailureKey(f)
		if !seen[k] {
			seen[k] = true
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return strings.Join(keys, ", ")
}
