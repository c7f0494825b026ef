// Package runner turns a scenario into a result: it resolves the target
// (starting the built-in server for the embedded default), builds the
// engine's configuration, records events with the report's recorder while
// watching the harness's own cost, and evaluates the expectations. It is the
// one place where scenario, engine and report meet; the CLI only parses
// flags and renders.
//
// It also knows what a run needs from the host before it starts: PlanRun
// lays a run out over processes for the open-files limit and checks the
// ephemeral ports per source address, and Shard.Of gives one shard its
// share of a scenario (internal/procs runs the shards as processes).
package runner
