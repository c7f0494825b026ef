// Package report turns what the engine observed into a result and renders it.
//
// A Recorder is the engine's event.Sink: it counts upgrades, failures and
// drops without allocating per event, and builds a Result (the JSON schema
// wshold.result/v1) when the run ends. FindClusters finds the moments the
// drops share (an idle timeout at 60 s, a reload at 12:00:03) and hints name
// the proxy default they match. Evaluate checks a Result against the
// scenario's expectations; the renderers (table, JSON, and the others in
// this package) only read a Result.
//
// The package never dials: everything it knows arrives as events or as a
// saved Result, so a result renders the same on any machine.
package report
