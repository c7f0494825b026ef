// Command wshold load- and soak-tests persistent WebSocket connections
// through reverse proxies. This file only dispatches; each subcommand lives
// in its own file and turns flags into a call to the engine, a renderer and
// an exit code.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/pflag"

	"github.com/wshold/wshold/scenario"
)

// Exit codes (PRODUCT.md): 0 every expectation held, 1 ran and an
// expectation failed, 2 bad usage / bad scenario / could not start.
const (
	exitPass  = 0
	exitFail  = 1
	exitUsage = 2
)

// usageError marks an error as the user's input being wrong (exit 2).
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// failError means the command ran and found something wrong (exit 1), with
// its explanation already printed.
var errFail = errors.New("an expectation failed")

type command struct {
	name    string
	summary string
	run     func(args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"run", "open, hold and count connections; print the report", cmdRun},
		{"serve", "the built-in WebSocket target (echo/hold server)", cmdServe},
		{"check", "one upgrade, explained: what was sent, what came back, the fix", cmdCheck},
		{"validate", "check a scenario file without running it", cmdValidate},
		{"report", "re-render a saved result (table, json, markdown, junit, html)", cmdReport},
		{"compare", "results side by side, with the differences that matter", cmdCompare},
		{"merge", "merge shard results losslessly", cmdMerge},
	}
}

func main() {
	os.Exit(wshold(os.Args[1:]))
}

// wshold is the process's whole life. A reader that goes away (`wshold
// run … | head -1`) must not kill the run with SIGPIPE between its printed
// report and its result files: ignored, the signal becomes an EPIPE error
// that run reports after writing -o, --html and --junit.
func wshold(args []string) int {
	signal.Ignore(syscall.SIGPIPE)
	return dispatch(args, os.Stdout, os.Stderr)
}

func dispatch(args []string, stdout, stderr io.Writer) int {
	if len(args) >= 2 && args[0] == "help" {
		return helpFor(args[1], stdout, stderr)
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		printUsage(stdout)
		if len(args) == 0 {
			return exitUsage
		}
		return exitPass
	}
	if args[0] == "--version" || args[0] == "version" {
		fmt.Fprintln(stdout, "wshold", version)
		return exitPass
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return exitCode(c.run(args[1:], stdout, stderr), stderr)
		}
	}
	fmt.Fprintf(stderr, "wshold: unknown command %q; run 'wshold --help' for the list\n", args[0])
	return exitUsage
}

// helpFor answers 'wshold help CMD': the command's own help, as
// 'wshold CMD --help' prints it.
func helpFor(name string, stdout, stderr io.Writer) int {
	var names []string
	for _, c := range commands() {
		if c.name == name {
			return exitCode(c.run([]string{"--help"}, stdout, stderr), stderr)
		}
		names = append(names, c.name)
	}
	fmt.Fprintf(stderr, "wshold: help: no command %q; the commands are %s (e.g. wshold help run)\n", name, strings.Join(names, ", "))
	return exitUsage
}

func exitCode(err error, stderr io.Writer) int {
	switch {
	case err == nil:
		return exitPass
	case errors.Is(err, errHelp):
		return exitPass
	case errors.Is(err, errFail):
		return exitFail
	default: // usage errors and runs that could not start alike
		fmt.Fprintln(stderr, "wshold:", err)
		return exitUsage
	}
}

// parseFlags parses args into fs. An unknown flag that is a typo of a known
// one gets it suggested: "unknown flag: --hodl (did you mean --hold?)", as
// a misspelt key in a scenario file does.
func parseFlags(fs *pflag.FlagSet, args []string) error {
	err := fs.Parse(args)
	var unknown *pflag.NotExistError
	if !errors.As(err, &unknown) || unknown.GetSpecifiedShortnames() != "" {
		return err
	}
	var names []string
	fs.VisitAll(func(f *pflag.Flag) { names = append(names, f.Name) })
	if best := scenario.Closest(unknown.GetSpecifiedName(), names); best != "" {
		return fmt.Errorf("%w (did you mean --%s?)", err, best)
	}
	return err
}

// errHelp is returned after --help was printed.
var errHelp = errors.New("help printed")

var version = "dev"

func printUsage(w io.Writer) {
	fmt.Fprint(w, `wshold: load- and soak-test WebSocket connections through reverse proxies.

Usage: wshold <command> [flags] [args]

Commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Run 'wshold <command> --help' or 'wshold help <command>' for a command's flags.

Exit status: 0 every expectation held; 1 the run finished and an expectation
failed; 2 bad usage, a bad scenario file, or the run could not start.
`)
}
