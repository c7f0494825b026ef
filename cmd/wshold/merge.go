package main

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/pflag"

	"github.com/wshold/wshold/report"
)

const mergeUsage = `Usage: wshold merge -o OUT.json IN.json [IN.json …]

Merge the results of the shards of one run (the worker processes of
--procs, or the pods of a Kubernetes Indexed Job, each of which wrote its
own result) into one result, losslessly: counts add up, HDR histograms are
merged bucket by bucket (percentiles are never averaged), drop events are
put on one wall clock and clustered again, timelines are summed second by
second, and the scenario's expectations are evaluated again on the whole.
The output does not depend on the order of the inputs.

Only shards of one run merge: each result names its run (run_id: given
with --run-id, derived from --start-at, or handed to its workers by
--procs), and results of different runs are refused, as are whole runs
(written without --shard: two separate runs are 'wshold compare's
business), shards of different splits, a shard given twice, and results
that differ in anything besides their share of conns, rate,
max_in_flight and source_ips (another target, hold, ping, scenario,
expectations…). A missing shard is a warning. A result whose figures do
not add up (counts, histograms) is refused, naming the field. A checkpoint (the -o
file of a shard that did not finish) is merged, but the result says so:
end_reason "checkpoint", a warning naming the file, and a failed
expectation "every shard finished".

It prints the merged verdict; 'wshold report OUT.json' shows the rest.

Examples:
  wshold merge -o merged.json shard-0.json shard-1.json shard-2.json
  wshold merge -o - shard-*.json | jq .counts
  wshold report merged.json --format html -o merged.html

Flags:
%s
Exit status: 0 merged, and every expectation held; 1 merged, and an
expectation failed or a shard did not finish (interrupted, a checkpoint,
or an error), as 'wshold run' would have exited; 2 bad usage, or inputs
that cannot be merged exactly (not a result, drop events or histograms
missing, the same file twice, results of different runs, figures that do
not add up).
`

func cmdMerge(args []string, stdout, stderr io.Writer) error {
	var out string
	fset := pflag.NewFlagSet("merge", pflag.ContinueOnError)
	fset.SetOutput(io.Discard)
	fset.Usage = func() {}
	fset.StringVarP(&out, "out", "o", "", "write the merged result to `FILE` (required; replaced atomically; - for standard output)")
	if err := parseFlags(fset, args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprintf(stdout, mergeUsage, fset.FlagUsages())
			return errHelp
		}
		return usagef("merge: %v; run 'wshold merge --help'", err)
	}
	if out == "" {
		return usagef("merge: say where to write the merged result with -o, e.g. wshold merge -o merged.json shard-*.json")
	}
	paths := fset.Args()
	if len(paths) == 0 {
		return usagef("merge: give the shard result files to merge, e.g. wshold merge -o merged.json shard-*.json")
	}
	results := make([]*report.Result, len(paths))
	seen := map[[sha256.Size]byte]string{}
	for i, p := range paths {
		res, data, err := loadResult("merge", p)
		if err != nil {
			return err
		}
		// No two shards write the same bytes (start times and pids
		// differ), so identical files are one shard given twice, which
		// would count its connections twice.
		sum := sha256.Sum256(data)
		if prev, dup := seen[sum]; dup {
			return usagef("merge: %s and %s are the same result; give each shard once", prev, p)
		}
		seen[sum] = p
		results[i] = res
	}
	merged, err := report.MergeNamed(results, paths)
	if err != nil {
		return usagef("%w", err)
	}
	var buf bytes.Buffer
	if err := report.WriteJSON(&buf, merged); err != nil {
		return err
	}
	if err := writeOutput(out, buf.Bytes(), stdout); err != nil {
		return err
	}
	verdictTo := stdout
	if out == "-" {
		verdictTo = stderr // stdout carries the JSON
	}
	fmt.Fprintln(verdictTo, report.VerdictLine(merged))
	fmt.Fprintf(stderr, "wshold: merged %d results (%d shards) into %s\n", len(results), merged.Shards, out)
	// As 'wshold run' exits for the same result.
	if merged.Verdict != "pass" || merged.Interrupted || merged.EndReason == "error" || merged.EndReason == "checkpoint" {
		return errFail
	}
	return nil
}
