package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/pflag"

	"github.com/wshold/wshold/scenario"
)

const validateUsage = `Usage: wshold validate FILE...

Check scenario files without running anything: TOML syntax, unknown or
misspelled keys, wrong types ("60" where a duration like "60s" belongs),
impossible values (conns = 0, ping_fraction = 2), expectations that do not
parse or can never pass (drop-at=60s±2s with hold = "30s"), duplicate
names, and ca/proxy_configs files that do not exist. Every problem is
listed at once, as FILE:LINE: KEY: what is wrong.

Exit status: 0 every file is valid; 2 any problem (fix it and run again).

Example:
  wshold validate scenarios.example.toml
`

func cmdValidate(args []string, stdout, stderr io.Writer) error {
	fs := pflag.NewFlagSet("validate", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	if err := parseFlags(fs, args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			fmt.Fprint(stdout, validateUsage)
			return errHelp
		}
		return usagef("validate: %v; run 'wshold validate --help'", err)
	}
	if fs.NArg() == 0 {
		return usagef("validate: name a scenario file, e.g. wshold validate scenarios.example.toml")
	}
	bad := 0
	for _, path := range fs.Args() {
		f, err := scenario.LoadFile(path)
		if err != nil {
			bad++
			// Prefixed like every other error of wshold (and as run
			// reports the same file's problems).
			for _, line := range strings.Split(err.Error(), "\n") {
				fmt.Fprintln(stderr, "wshold: validate:", line)
			}
			continue
		}
		noun := "scenarios"
		if len(f.Scenarios) == 1 {
			noun = "scenario"
		}
		fmt.Fprintf(stdout, "%s: %d %s OK: %s\n", path, len(f.Scenarios), noun, strings.Join(f.Names(), ", "))
	}
	if bad > 0 {
		return usagef("validate: %d of %d files have problems (listed above); fix them and run 'wshold validate' again", bad, fs.NArg())
	}
	return nil
}
