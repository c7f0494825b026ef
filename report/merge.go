package report

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Merge combines shard results (the processes of one --procs run, or the
// pods of an Indexed Job) into one result, losslessly: counts add, HDR
// histograms are merged bucket by bucket and summarised again (never
// averaged), drop events are re-based onto the earliest shard's clock and
// clustered again, timelines are summed second by wall-clock second, and
// the expectations of the scenario are evaluated again on the whole.
//
// The output does not depend on the order of results: merging the same
// inputs in any order gives byte-identical JSON. Merge does not modify its
// inputs. It fails when a result cannot be merged exactly: a wrong schema,
// a latency summary without its histogram, drop events missing, histogram
// values beyond the merged histogram's range, or results that are not
// shards of one run (they differ in something besides their share of
// conns, rate, max_in_flight and source_ips: another target, hold, ping…).
//
// A result that is a checkpoint (end_reason "checkpoint": its shard did
// not finish) is merged as it is, but the merged result says so: its
// end_reason is "checkpoint" (unless one is "error"), a warning names it,
// and a failed expectation WantEveryShardFinished makes the verdict fail.
// Expectations that the inputs carry besides their scenario's (such as
// that one, or "every worker finished" from a --procs run) are kept.
func Merge(results []*Result) (*Result, error) {
	return MergeNamed(results, nil)
}

// WantEveryShardFinished is the Want of the expectation that a merge adds
// when an input is a checkpoint, not a finished result.
const WantEveryShardFinished = "every shard finished"

// MergeNamed is Merge with names for the results (e.g. their files),
// used in its errors, warnings and expectations; names[i] names
// results[i]. With no names, results are called by their position.
func MergeNamed(results []*Result, names []string) (*Result, error) {
	out, rs, names, err := mergeParts(results, names)
	if err != nil {
		return nil, err
	}
	if unfinished, warnings := mergeUnfinished(rs, names); unfinished != nil {
		out.Warnings = mergeUnique(append(out.Warnings, warnings...))
		out.Expectations = mergeExpectationList(append(out.Expectations, *unfinished))
	}
	return out, Reevaluate(out)
}

// MergeParts is MergeNamed without its account of the inputs that are
// checkpoints, for a caller that gives its own: the --procs parent knows
// which worker died, and how, and merges its running workers' checkpoints
// as a checkpoint of the whole run.
func MergeParts(results []*Result, names []string) (*Result, error) {
	out, _, _, err := mergeParts(results, names)
	if err != nil {
		return nil, err
	}
	return out, Reevaluate(out)
}

// mergeParts merges results, leaving the expectations unjudged; it
// returns the inputs in merge order and their names.
func mergeParts(results []*Result, names []string) (*Result, []*Result, []string, error) {
	if len(results) == 0 {
		return nil, nil, nil, fmt.Errorf("merge: no results given; pass the result files of every shard")
	}
	if names != nil && len(names) != len(results) {
		return nil, nil, nil, fmt.Errorf("merge: %d names for %d results (a bug in the caller)", len(names), len(results))
	}
	rs, names, err := mergeOrder(results, names)
	if err != nil {
		return nil, nil, nil, err
	}
	identity, err := mergeIdentity(rs, names)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := mergeSameRun(rs, names); err != nil {
		return nil, nil, nil, err
	}
	first := rs[0]
	t0 := first.Start // mergeOrder sorts by Start, so this is the earliest

	out := &Result{
		Schema:    Schema,
		Version:   first.Version,
		Scenario:  first.Scenario,
		Target:    first.Target,
		RunID:     mergeRunID(rs),
		Start:     t0,
		EndReason: mergeEndReason(rs),
	}
	// Shards split conns, rate, the in-flight bound and the source
	// addresses: the whole run had their sums (and union).
	out.Scenario.Conns, out.Scenario.Rate, out.Scenario.MaxInFlight = 0, 0, 0
	out.Scenario.SourceIPs = nil
	var warnings []string
	var events []DropEvent
	byKind := map[string]int64{}
	var byRule map[string]int64
	for i, r := range rs {
		out.Scenario.Conns += r.Scenario.Conns
		out.Scenario.Rate += r.Scenario.Rate
		out.Scenario.MaxInFlight += r.Scenario.MaxInFlight
		for _, ip := range r.Scenario.SourceIPs {
			if !slices.Contains(out.Scenario.SourceIPs, ip) {
				out.Scenario.SourceIPs = append(out.Scenario.SourceIPs, ip)
			}
		}
		if r.End.After(out.End) {
			out.End = r.End
		}
		if r.HoldStart.After(out.HoldStart) {
			out.HoldStart = r.HoldStart
		}
		if r.HoldEnd.After(out.HoldEnd) {
			out.HoldEnd = r.HoldEnd
		}
		out.Interrupted = out.Interrupted || r.Interrupted
		out.Shards += max(r.Shards, 1)
		out.Counts.Attempted += r.Counts.Attempted
		out.Counts.Upgraded += r.Counts.Upgraded
		out.Counts.Failed += r.Counts.Failed
		out.Counts.Held += r.Counts.Held
		out.Counts.Dropped += r.Counts.Dropped
		out.Drops.Count += r.Drops.Count
		for k, n := range r.Drops.ByKind {
			byKind[k] += n
		}
		for k, n := range r.Drops.ProtocolErrors {
			if byRule == nil {
				byRule = map[string]int64{}
			}
			byRule[k] += n
		}
		if int64(len(r.Drops.Events)) != r.Drops.Count {
			return nil, nil, nil, fmt.Errorf("merge: %s has %d drops but %d drop events; merge needs every drop event to cluster them again (was the file edited or written by an older wshold?)",
				names[i], r.Drops.Count, len(r.Drops.Events))
		}
		shift := mergeMsBetween(t0, r.Start)
		for _, e := range r.Drops.Events {
			e.AtMs = roundMs(e.AtMs + shift)
			events = append(events, e)
		}
		for _, m := range r.Marks {
			m.AtMs = roundMs(m.AtMs + shift)
			out.Marks = append(out.Marks, m)
		}
		if r.Version != first.Version {
			warnings = append(warnings, fmt.Sprintf("merged results of different wshold versions (%s, %s)", first.Version, r.Version))
		}
		if r.Target != first.Target {
			// Only with the built-in target (mergeSameRun refuses
			// different targets): each shard started its own.
			warnings = append(warnings, fmt.Sprintf("merged shards dialled different built-in targets (%s, %s)", first.Target, r.Target))
		}
	}
	out.Drops.ByKind = byKind
	out.Drops.ProtocolErrors = byRule

	if out.Handshake, err = mergeLatency("handshake", rs, names, func(r *Result) Latency { return r.Handshake }); err != nil {
		return nil, nil, nil, err
	}
	if out.Phases, err = mergePhases(rs, names); err != nil {
		return nil, nil, nil, err
	}
	if out.Drops.Age, err = mergeLatency("drop age", rs, names, func(r *Result) Latency { return r.Drops.Age }); err != nil {
		return nil, nil, nil, err
	}
	if out.Drops.Idle, err = mergeLatency("drop idle", rs, names, func(r *Result) Latency { return r.Drops.Idle }); err != nil {
		return nil, nil, nil, err
	}

	// Every shard of a run records the same --at marks: keep each once.
	slices.SortFunc(out.Marks, func(a, b Mark) int {
		return cmp.Or(cmp.Compare(a.AtMs, b.AtMs), strings.Compare(a.Label, b.Label))
	})
	out.Marks = slices.Compact(out.Marks)
	slices.SortFunc(events, mergeCmpDropEvents)
	out.Drops.Events = events
	// Before clustering: the proxy in front ranks its defaults first.
	out.ProxyConfigs = mergeProxyConfigs(rs)
	out.Answers = mergeAnswers(rs)
	DeriveProxy(out)
	Recluster(out) // after Marks: a cluster right after a mark is attributed to it
	AttributeMarks(out)

	out.Failures = mergeFailures(rs)
	out.Timeline = mergeTimeline(rs, t0)
	if out.Messages, err = mergeMessages(rs, names); err != nil {
		return nil, nil, nil, err
	}
	if out.Push, err = mergePush(rs, names); err != nil {
		return nil, nil, nil, err
	}
	if out.Reconnects, err = mergeReconnects(rs, names, func(r *Result) float64 { return mergeMsBetween(t0, r.Start) }); err != nil {
		return nil, nil, nil, err
	}
	Recoveries(out) // after the clusters, the timeline and the reconnects
	out.Resources = mergeResources(rs)
	warnings = append(warnings, identity...)
	var redacted []string
	for _, r := range rs {
		warnings = append(warnings, withoutClockWarning(r)...)
		redacted = append(redacted, r.Redacted...)
	}
	if out.Push != nil && out.Push.BelowZero > 0 {
		warnings = append(warnings, out.Push.Clock) // the whole run's, not a shard's
	}
	out.Warnings = mergeUnique(warnings)
	out.Redacted = mergeUnique(redacted)

	// Every input's expectations, one per Want: Reevaluate judges the
	// scenario's again and keeps the others (they cannot be judged from
	// the figures), such as "every worker finished".
	var exps []Expectation
	for _, r := range rs {
		exps = append(exps, r.Expectations...)
	}
	out.Expectations = mergeExpectationList(exps)
	return out, rs, names, nil
}

// Reevaluate evaluates the scenario's expectations (or the defaults) on
// res again, after its figures changed, and sets the verdict. The
// expectations res has besides the scenario's (e.g. "every worker
// finished", "every shard finished": facts about the run that no figure
// shows) are kept after them as they are, and fail the verdict if they
// failed.
func Reevaluate(res *Result) error {
	exps, err := res.Scenario.Expectations()
	if err != nil {
		return fmt.Errorf("merge: the merged scenario's %w", err)
	}
	own := map[string]bool{}
	for _, e := range exps {
		own[e.Raw] = true
	}
	var kept []Expectation
	for _, e := range res.Expectations {
		if !own[e.Want] {
			kept = append(kept, e)
		}
	}
	Evaluate(res, exps)
	for _, e := range kept {
		res.Expectations = append(res.Expectations, e)
		if !e.Pass {
			res.Verdict = "fail"
		}
	}
	return nil
}

// mergeExpectationList merges entries with the same Want, keeping the
// order in which each Want first appears: one passes only if it passed in
// every entry, and its Got joins theirs.
func mergeExpectationList(es []Expectation) []Expectation {
	var out []Expectation
	idx := map[string]int{}
	for _, e := range es {
		i, ok := idx[e.Want]
		if !ok {
			idx[e.Want] = len(out)
			out = append(out, e)
			continue
		}
		out[i].Pass = out[i].Pass && e.Pass
		if e.Got != "" && !slices.Contains(strings.Split(out[i].Got, "; "), e.Got) {
			if out[i].Got != "" {
				out[i].Got += "; "
			}
			out[i].Got += e.Got
		}
	}
	return out
}

// mergeUnfinished finds the inputs that are checkpoints: their shard did
// not finish (it was killed, or is still running), so what it saw after
// the checkpoint is not in the merge. It returns the failed expectation
// that says so (nil if every input finished) and a warning for each.
func mergeUnfinished(rs []*Result, names []string) (*Expectation, []string) {
	var gots, warnings []string
	for i, r := range rs {
		if r.EndReason != "checkpoint" {
			continue
		}
		when := fmt.Sprintf("%s after its start, during the ramp", mergeSecs(r.End.Sub(r.Start)))
		if !r.HoldStart.IsZero() {
			when = fmt.Sprintf("%s after its start, %s into the %s hold", mergeSecs(r.End.Sub(r.Start)),
				mergeSecs(r.End.Sub(r.HoldStart)), r.Scenario.Hold)
		}
		gots = append(gots, fmt.Sprintf("%s is a checkpoint written %s, not a finished result (%d of its %d connections upgraded by then)",
			names[i], when, r.Counts.Upgraded, r.Scenario.Conns))
		warnings = append(warnings, fmt.Sprintf("merged a checkpoint, not a finished result: %s (written %s); what that shard saw after it is not in this result",
			names[i], when))
	}
	if gots == nil {
		return nil, nil
	}
	return &Expectation{Want: WantEveryShardFinished, Got: strings.Join(gots, "; "), Pass: false}, warnings
}

// mergeSecs is d in seconds with one decimal, "2.9 s".
func mergeSecs(d time.Duration) string {
	return fmt.Sprintf("%.1f s", d.Seconds())
}

// mergeSameRun refuses results that are not shards of one run: shards
// differ only in their share of conns, rate, max_in_flight and
// source_ips (and in how many processes each used); everything else the
// scenario says, and the target dialled, is the run's.
func mergeSameRun(rs []*Result, names []string) error {
	type field struct {
		name string
		val  func(r *Result) string
	}
	q := strconv.Quote
	list := func(ss []string) string {
		qs := make([]string, len(ss))
		for i, s := range ss {
			qs[i] = q(s)
		}
		return "[" + strings.Join(qs, ", ") + "]"
	}
	fields := []field{
		{"scenario name", func(r *Result) string { return q(r.Scenario.Name) }},
		{"target", func(r *Result) string { return q(r.Scenario.Target) }},
		{"hold", func(r *Result) string { return r.Scenario.Hold.String() }},
		{"ping", func(r *Result) string { return r.Scenario.Ping.String() }},
		{"ping_fraction", func(r *Result) string { return strconv.FormatFloat(r.Scenario.PingFraction, 'g', -1, 64) }},
		{"send_every", func(r *Result) string { return r.Scenario.SendEvery.String() }},
		{"message_size", func(r *Result) string { return strconv.Itoa(r.Scenario.MessageSize) }},
		{"send_fraction", func(r *Result) string { return strconv.FormatFloat(r.Scenario.SendFraction, 'g', -1, 64) }},
		{"reconnect", func(r *Result) string { return strconv.FormatBool(r.Scenario.Reconnect) }},
		{"reconnect_min", func(r *Result) string { return r.Scenario.ReconnectMin.String() }},
		{"reconnect_max", func(r *Result) string { return r.Scenario.ReconnectMax.String() }},
		{"pong_timeout", func(r *Result) string { return r.Scenario.PongTimeout.String() }},
		{"handshake_timeout", func(r *Result) string { return r.Scenario.HandshakeTimeout.String() }},
		{"headers", func(r *Result) string { return list(r.Scenario.Headers) }},
		{"origin", func(r *Result) string { return q(r.Scenario.Origin) }},
		{"subprotocols", func(r *Result) string { return list(r.Scenario.Subprotocols) }},
		{"insecure", func(r *Result) string { return strconv.FormatBool(r.Scenario.Insecure) }},
		{"tls_resume", func(r *Result) string { return strconv.FormatBool(r.Scenario.TLSResume) }},
		{"expect", func(r *Result) string { return list(r.Scenario.Expect) }},
		{"target dialled", func(r *Result) string {
			if r.Scenario.Target == "" {
				return "" // the built-in target: each shard may have started its own
			}
			return q(r.Target)
		}},
	}
	first := rs[0]
	for i, r := range rs[1:] {
		for _, f := range fields {
			if a, b := f.val(first), f.val(r); a != b {
				return fmt.Errorf("merge: %s has %s %s where %s has %s: they are not shards of one run, "+
					"which differ only in their share of conns, rate, max_in_flight and source_ips; merge the results of one run only",
					names[i+1], f.name, b, names[0], a)
			}
		}
	}
	return nil
}

// mergeOrder checks the inputs and returns them in a canonical order
// (earliest Start first, then by content), which is what makes Merge
// independent of the order it was given, with the names that errors call
// them by (given, or their positions as given).
func mergeOrder(results []*Result, given []string) ([]*Result, []string, error) {
	type keyed struct {
		r    *Result
		key  []byte
		name string
	}
	ks := make([]keyed, len(results))
	for i, r := range results {
		name := ""
		if given != nil {
			name = given[i]
		}
		if name == "" {
			name = mergeName(r, i)
		}
		if r == nil {
			return nil, nil, fmt.Errorf("merge: %s is missing", name)
		}
		if r.Schema != Schema {
			return nil, nil, fmt.Errorf("merge: %s has schema %q, not %q; merge only results written by 'wshold run -o' or 'wshold merge'",
				name, r.Schema, Schema)
		}
		if err := CheckInvariants(r); err != nil {
			return nil, nil, fmt.Errorf("merge: %s: %w", name, err)
		}
		b, err := json.Marshal(r)
		if err != nil {
			return nil, nil, fmt.Errorf("merge: %s: %w", name, err)
		}
		ks[i] = keyed{r, b, name}
	}
	slices.SortStableFunc(ks, func(a, b keyed) int {
		return cmp.Or(a.r.Start.Compare(b.r.Start), bytes.Compare(a.key, b.key))
	})
	rs, names := make([]*Result, len(ks)), make([]string, len(ks))
	for i, k := range ks {
		rs[i], names[i] = k.r, k.name
	}
	return rs, names, nil
}

// mergeName names the i-th result given (from 0; r may be nil) when no
// name was given.
func mergeName(r *Result, i int) string {
	if r != nil && r.Scenario.Name != "" {
		return fmt.Sprintf("result %d (scenario %q, started %s)", i+1, r.Scenario.Name, r.Start.Format(time.RFC3339))
	}
	return fmt.Sprintf("result %d", i+1)
}

// mergeMsBetween is b-a in milliseconds.
func mergeMsBetween(a, b time.Time) float64 { return float64(b.Sub(a)) / float64(time.Millisecond) }

func mergeCmpDropEvents(a, b DropEvent) int {
	return cmp.Or(
		cmp.Compare(a.AtMs, b.AtMs),
		cmp.Compare(a.AgeMs, b.AgeMs),
		cmp.Compare(a.IdleMs, b.IdleMs),
		strings.Compare(a.Kind, b.Kind),
		mergeCmpBool(a.Pinging, b.Pinging),
		cmp.Compare(a.QuietMs, b.QuietMs),
		cmp.Compare(a.PongWaitMs, b.PongWaitMs),
	)
}

func mergeCmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

// mergeIdentity refuses inputs that are not the shards of one run, naming
// the files: results of different runs (their run ids differ); a whole
// run (a run id, no --shard label: a plain run, a --procs run, or a
// merge) beside anything else, since two separate runs are not shards of
// one; shard labels of different splits, not of the I/N form, or one
// share given twice (a retried pod: its connections would count twice).
// It returns warnings for what is still worth a merge: shares missing (the
// result then covers part of the run), and inputs without run ids
// (written by an older wshold), whose identity cannot be checked.
func mergeIdentity(rs []*Result, names []string) ([]string, error) {
	var warnings []string
	id, idOf, noID := "", "", 0
	for i, r := range rs {
		switch {
		case r.RunID == "":
			noID++
		case id == "":
			id, idOf = r.RunID, names[i]
		case r.RunID != id:
			return nil, fmt.Errorf("merge: %s is of run %s and %s of run %s: they are not shards of one run; merge the shards of one run only (its shards share a run id: --run-id, the one --start-at gives, or the one --procs gives its workers)",
				idOf, id, names[i], r.RunID)
		}
	}
	if len(rs) > 1 {
		for i, r := range rs {
			if r.RunID != "" && r.Shard == "" {
				return nil, fmt.Errorf("merge: %s is a whole run (run %s, written without --shard), not a shard of one: merge combines the shards of one run (each written with --shard I/N); to see separate runs side by side use 'wshold compare'",
					names[i], r.RunID)
			}
		}
		if noID > 0 {
			warnings = append(warnings, fmt.Sprintf("%d of the %d results carry no run id (written by an older wshold?): whether they are of one run could not be checked", noID, len(rs)))
		}
	}
	count, countOf := 0, ""
	given := map[int]string{}
	for i, r := range rs {
		if r.Shard == "" {
			continue
		}
		var idx, n int
		if _, err := fmt.Sscanf(r.Shard, "%d/%d", &idx, &n); err != nil || n < 1 || idx < 0 || idx >= n || fmt.Sprintf("%d/%d", idx, n) != r.Shard {
			return nil, fmt.Errorf("merge: %s has shard label %q, which is not I/N (shard I of N, counted from 0)", names[i], r.Shard)
		}
		if count != 0 && n != count {
			return nil, fmt.Errorf("merge: %s is shard %s and %s a shard of %d: one run is split one way; merge the shards of one split", names[i], r.Shard, countOf, count)
		}
		count, countOf = n, names[i]
		if prev, twice := given[idx]; twice {
			return nil, fmt.Errorf("merge: %s and %s are both shard %s (a retried pod?): its connections would count twice; give each shard once", prev, names[i], r.Shard)
		}
		given[idx] = names[i]
	}
	var missing []string
	for i := range count {
		if _, ok := given[i]; !ok {
			missing = append(missing, fmt.Sprintf("%d/%d", i, count))
		}
	}
	if len(missing) > 0 {
		warnings = append(warnings, fmt.Sprintf("shard %s missing: the merged result covers %d of %d shares of the run",
			strings.Join(missing, ", "), count-len(missing), count))
	}
	return warnings, nil
}

// mergeRunID is the inputs' run id (mergeIdentity made sure there is at
// most one), or "".
func mergeRunID(rs []*Result) string {
	for _, r := range rs {
		if r.RunID != "" {
			return r.RunID
		}
	}
	return ""
}

// mergeEndReason: one shard's error, unfinished run (a checkpoint) or
// interruption is the whole run's.
func mergeEndReason(rs []*Result) string {
	reason := ""
	rank := map[string]int{"": 0, "completed": 1, "interrupted": 2, "checkpoint": 3, "error": 4}
	for _, r := range rs {
		why := r.EndReason
		if r.Interrupted && rank[why] < rank["interrupted"] {
			why = "interrupted"
		}
		if rank[why] > rank[reason] || (reason == "" && why != "") {
			reason = why
		}
	}
	return reason
}

// mergeLatency merges the histograms of one latency field of every result
// and summarises the sum. Results that recorded nothing (no count, no
// histogram) are skipped; if none recorded anything the zero Latency is
// returned.
func mergeLatency(what string, rs []*Result, names []string, get func(*Result) Latency) (Latency, error) {
	var sum *hdrhistogram.Histogram
	for i, r := range rs {
		l := get(r)
		if l.Histogram == "" {
			if l.Count == 0 {
				continue
			}
			return Latency{}, fmt.Errorf("merge: %s: %s has %d values but no histogram; merge needs the encoded histogram to stay exact",
				names[i], what, l.Count)
		}
		h, err := DecodeHistogram(l.Histogram)
		if err != nil {
			return Latency{}, fmt.Errorf("merge: %s: %s histogram: %w", names[i], what, err)
		}
		if sum == nil {
			sum = hdrhistogram.New(h.LowestTrackableValue(), h.HighestTrackableValue(), int(h.SignificantFigures()))
		}
		if dropped := sum.Merge(h); dropped != 0 {
			return Latency{}, fmt.Errorf("merge: %s: %d %s values lie outside the range of the first histogram (1..%d µs); the shards were recorded with different histogram bounds",
				names[i], dropped, what, sum.HighestTrackableValue())
		}
	}
	if sum == nil {
		return Latency{}, nil
	}
	return Summarize(sum), nil
}

// mergePhases merges the handshake phases of the inputs that have them;
// nil when none has.
func mergePhases(rs []*Result, names []string) (*Phases, error) {
	phase := func(get func(*Phases) Latency) func(*Result) Latency {
		return func(r *Result) Latency {
			if r.Phases == nil {
				return Latency{}
			}
			return get(r.Phases)
		}
	}
	var p Phases
	var err error
	if p.Connect, err = mergeLatency("connect phase", rs, names, phase(func(p *Phases) Latency { return p.Connect })); err != nil {
		return nil, err
	}
	if p.TLS, err = mergeLatency("TLS phase", rs, names, phase(func(p *Phases) Latency { return p.TLS })); err != nil {
		return nil, err
	}
	if p.Upgrade, err = mergeLatency("upgrade phase", rs, names, phase(func(p *Phases) Latency { return p.Upgrade })); err != nil {
		return nil, err
	}
	if p.Connect.Count == 0 {
		return nil, nil
	}
	for _, r := range rs {
		if r.Phases != nil {
			p.TLSResumed += r.Phases.TLSResumed
		}
	}
	return &p, nil
}

// mergeFailures groups failures again by cause and status; the example and
// hint are the first seen in canonical order.
func mergeFailures(rs []*Result) []Failure {
	type key struct {
		cause  string
		status int
	}
	idx := map[key]int{}
	out := []Failure{}
	for _, r := range rs {
		for _, f := range r.Failures {
			k := key{f.Cause, f.Status}
			i, ok := idx[k]
			if !ok {
				idx[k] = len(out)
				out = append(out, f)
				continue
			}
			out[i].Count += f.Count
			if out[i].Example == "" {
				out[i].Example = f.Example
			}
			if out[i].Hint == "" {
				out[i].Hint = f.Hint
			}
		}
	}
	SortFailures(out)
	return out
}

// mergeTimeline sums the shards' timelines by wall-clock second: each
// timeline counts whole wall-clock seconds from the one its shard started
// in, so a shard whose start's second is k seconds after the earliest's
// contributes its second T to merged second T+k, exactly, whatever the
// fraction of a second between their starts. A shard counts as zero alive
// outside its own timeline; inside, a missing second repeats the alive
// count before it.
func mergeTimeline(rs []*Result, t0 time.Time) []Second {
	out := []Second{}
	at := func(t int) *Second {
		for len(out) <= t {
			out = append(out, Second{T: len(out)})
		}
		return &out[t]
	}
	for _, r := range rs {
		if len(r.Timeline) == 0 {
			continue
		}
		shift := int(r.Start.Truncate(time.Second).Sub(t0.Truncate(time.Second)) / time.Second)
		tl := slices.Clone(r.Timeline)
		slices.SortStableFunc(tl, func(a, b Second) int { return cmp.Compare(a.T, b.T) })
		for i, s := range tl {
			if s.T < 0 {
				continue
			}
			m := at(s.T + shift)
			m.Alive += s.Alive
			m.Upgraded += s.Upgraded
			m.Failed += s.Failed
			m.Dropped += s.Dropped
			m.Reconnected += s.Reconnected
			m.ReconnectFailed += s.ReconnectFailed
			if i+1 < len(tl) {
				for gap := s.T + 1; gap < tl[i+1].T; gap++ {
					at(gap + shift).Alive += s.Alive
				}
			}
		}
	}
	return out
}

// mergeProxyConfigs is the union of the configs, in canonical order.
func mergeProxyConfigs(rs []*Result) []ProxyConfig {
	type key struct{ path, sha string }
	seen := map[key]bool{}
	out := []ProxyConfig{}
	for _, r := range rs {
		for _, pc := range r.ProxyConfigs {
			if k := (key{pc.Path, pc.SHA256}); !seen[k] {
				seen[k] = true
				out = append(out, pc)
			}
		}
	}
	return out
}

// mergeResources adds the shards' costs. Each shard contributes its
// per-process list, or itself as one process when it has none. Peak RSS is
// the sum of the per-process peaks (processes on different machines or
// cores peak independently, so this bounds the real peak from above); RSS
// per connection is weighted by the connections each process held.
func mergeResources(rs []*Result) Resources {
	var out Resources
	var growth float64
	var held int64
	for _, r := range rs {
		out.CPUSeconds += r.Resources.CPUSeconds
		out.HoldCPUSeconds += r.Resources.HoldCPUSeconds
		procs := r.Resources.Procs
		if len(procs) == 0 {
			procs = []ProcResources{{
				Shard:             r.Shard,
				PeakRSSBytes:      r.Resources.PeakRSSBytes,
				CPUSeconds:        r.Resources.CPUSeconds,
				HoldCPUSeconds:    r.Resources.HoldCPUSeconds,
				RSSPerConnBytes:   r.Resources.RSSPerConnBytes,
				HoldStartRSSBytes: r.Resources.HoldStartRSSBytes,
				HoldEndRSSBytes:   r.Resources.HoldEndRSSBytes,
				Held:              r.Counts.Held,
			}}
		}
		for _, p := range procs {
			out.PeakRSSBytes += p.PeakRSSBytes
			out.HoldStartRSSBytes += p.HoldStartRSSBytes
			out.HoldEndRSSBytes += p.HoldEndRSSBytes
			growth += p.RSSPerConnBytes * float64(p.Held)
			held += p.Held
			out.Procs = append(out.Procs, p)
		}
	}
	if held > 0 {
		out.RSSPerConnBytes = growth / float64(held)
	}
	return out
}

func mergeUnique(ss []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
