package main

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"github.com/wshold/wshold/report"
)

const compareUsage = `Usage: wshold compare [flags] A.json B.json [C.json …]

Put two or more saved results side by side, one column per run (verdict,
target, connections, upgraded/failed, handshake p50/p99/max, drops, drop
clusters, failures, proxy config hashes), then the settings they ran with
(rate, hold, ping, timeouts, source IPs, expectations, …; a cell not as in
the first run is marked *), then list the differences that matter, each run
against the first: another verdict; a drop cluster in one run and not the
other, or of another kind (FIN versus a close frame); a handshake p99 more
than 20 %% and 5 ms apart; a proxy config whose SHA-256 changed; other
failure causes; other settings.

Columns are named after the files, without .json, unless --names is given.

Examples:
  wshold compare nginx-default.json nginx-timeout-86400.json
  wshold compare --names before,after main/result.json pr/result.json

Flags:
%s
Exit status: 0 the comparison was printed (a difference is not a failure:
gate on the verdicts of 'wshold run'); 2 bad usage, or a file that is not a
wshold result.
`

func cmdCompare(args []string, stdout, stderr io.Writer) error {
	var names []string
	fset := pflag.NewFlagSet("compare", pflag.ContinueOnError)
	fset.SetOutput(io.Discard)
	fset.Usage = func() {}
	fset.StringSliceVar(&names, "names", nil, "column `NAMES`, comma-separated, one per file (default: the file names)")
	if err := parseFlags(fset, args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprintf(stdout, compareUsage, fset.FlagUsages())
			return errHelp
		}
		return usagef("compare: %v; run 'wshold compare --help'", err)
	}
	paths := fset.Args()
	if len(paths) < 2 {
		return usagef("compare: give at least two result files, e.g. wshold compare a.json b.json (got %d)", len(paths))
	}
	if fset.Changed("names") && len(names) != len(paths) {
		return usagef("compare: --names gives %d names for %d files; give one per file, in the same order", len(names), len(paths))
	}
	results := make([]*report.Result, len(paths))
	for i, p := range paths {
		res, _, err := loadResult("compare", p)
		if err != nil {
			return err
		}
		if err := report.JudgeUnfinished(res); err != nil {
			return usagef("compare: %s: %w", p, err)
		}
		results[i] = res
	}
	if !fset.Changed("names") {
		names = compareColumnNames(paths)
	}
	return report.WriteCompare(stdout, results, names)
}

// compareColumnNames names columns after the files without their .json;
// when two files share a name (a/result.json, b/result.json) the paths as
// given tell them apart.
func compareColumnNames(paths []string) []string {
	names := make([]string, len(paths))
	seen := map[string]int{}
	for i, p := range paths {
		names[i] = strings.TrimSuffix(filepath.Base(p), ".json")
		seen[names[i]]++
	}
	for i, p := range paths {
		if seen[names[i]] > 1 {
			names[i] = strings.TrimSuffix(p, ".json")
		}
	}
	return names
}
