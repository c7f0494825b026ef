// Package runner turns a scenario into a result: it resolves the target
// (starting the built-in server for the embedded default), builds the
// engine's configuration, records events with the report's recorder while
// watching the harness's own cost, and evaluates the expectations. It is the
// one place where scenario, engine and report meet; the CLI only parses
// flags and renders.
package runner
