package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"

	"github.com/spf13/pflag"

	"github.com/wshold/wshold/internal/safefile"
	"github.com/wshold/wshold/report"
)

const reportUsage = `Usage: wshold report [flags] IN.json

Render a saved result (written by 'wshold run -o' or 'wshold merge') again,
in another format:

  table     the terminal report, verdict first (the default)
  json      the result itself (schema %s)
  markdown  a compact summary for a pull-request comment or a GitHub step
            summary: verdict, counts, handshake p50/p99/max, expectations,
            drop clusters with their hints, failures
  junit     JUnit XML for CI test reports: one test case per expectation,
            failures carry want and got
  html      one self-contained page with plots (alive over time, handshake
            latency percentiles, drops by age); it loads nothing from the
            network, so it can be attached to a CI run

Examples:
  wshold report result.json
  wshold report result.json --format markdown >> "$GITHUB_STEP_SUMMARY"
  wshold report result.json --format html -o report.html
  wshold report result.json --format junit -o junit.xml

Flags:
%s
A checkpoint (the -o file of a run that was killed, or is still running)
is rendered as unfinished: UNFINISHED and the moment it was written, and a
failed expectation "the run finished" in every format.

Exit status: 0 the result was rendered, whatever its verdict: report shows a
run, it does not judge it again (the exit status of 'wshold run' and
'wshold merge' does); 1 the file is a checkpoint of a run that did not
finish (rendered all the same); 2 bad usage, or a file that is not a
consistent wshold result.
`

// reportFormats maps --format values to renderers.
var reportFormats = map[string]func(io.Writer, *report.Result) error{
	"table":    report.WriteTable,
	"json":     report.WriteJSON,
	"markdown": report.WriteMarkdown,
	"junit":    func(w io.Writer, r *report.Result) error { return report.WriteJUnit(w, r) },
	"html":     report.WriteHTML,
}

func reportFormatNames() string {
	names := make([]string, 0, len(reportFormats))
	for n := range reportFormats {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

func cmdReport(args []string, stdout, stderr io.Writer) error {
	var format, out string
	fset := pflag.NewFlagSet("report", pflag.ContinueOnError)
	fset.SetOutput(io.Discard)
	fset.Usage = func() {}
	fset.StringVar(&format, "format", "table", "output `FORMAT`: table, json, markdown, junit or html")
	fset.StringVarP(&out, "out", "o", "", "write to `FILE` (replaced atomically) instead of standard output")
	if err := parseFlags(fset, args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprintf(stdout, reportUsage, report.Schema, fset.FlagUsages())
			return errHelp
		}
		return usagef("report: %v; run 'wshold report --help'", err)
	}
	render, ok := reportFormats[format]
	if !ok {
		return usagef("report: --format %q is not one of %s", format, reportFormatNames())
	}
	switch fset.NArg() {
	case 1:
	case 0:
		return usagef("report: give the result file to render, e.g. wshold report result.json (write one with 'wshold run -o result.json')")
	default:
		return usagef("report: give one result file, got %d (%s); to see several side by side use 'wshold compare'",
			fset.NArg(), strings.Join(fset.Args(), " "))
	}
	res, _, err := loadResult("report", fset.Arg(0))
	if err != nil {
		return err
	}
	if err := report.JudgeUnfinished(res); err != nil {
		return usagef("report: %s: %w", fset.Arg(0), err)
	}
	var buf bytes.Buffer
	if err := render(&buf, res); err != nil {
		return fmt.Errorf("report: rendering %s as %s: %w", fset.Arg(0), format, err)
	}
	if err := writeOutput(out, buf.Bytes(), stdout); err != nil {
		return err
	}
	if report.Unfinished(res) {
		// The file is a checkpoint of a run that did not finish (killed,
		// or still running): rendered, but not a result to pass CI on.
		fmt.Fprintf(stderr, "wshold: report: %s is a checkpoint written %s, not a finished result\n", fset.Arg(0), report.CheckpointMoment(res))
		return errFail
	}
	return nil
}

// loadResult reads one result file for command cmd, with errors that say
// which file was wrong and what to pass instead. It also returns the raw
// bytes, so callers can tell a file given twice.
func loadResult(cmd, path string) (*report.Result, []byte, error) {
	data, err := safefile.ReadFile(path, safefile.MaxResult)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil, usagef("%s: %s does not exist; pass a result file written by 'wshold run -o FILE'", cmd, path)
	case err != nil:
		return nil, nil, usagef("%s: %w", cmd, err)
	}
	res, err := report.ReadResult(bytes.NewReader(data))
	if err != nil {
		return nil, nil, usagef("%s: %s: %w", cmd, path, err)
	}
	return res, data, nil
}

// writeOutput writes data to path atomically, or to stdout when path is
// empty.
func writeOutput(path string, data []byte, stdout io.Writer) error {
	if path == "" || path == "-" {
		_, err := stdout.Write(data)
		return err
	}
	return report.WriteFileAtomic(path, data, 0o644) // its errors name the path
}
