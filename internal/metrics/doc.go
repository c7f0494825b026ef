// Package metrics exposes a running test to Prometheus: counters for
// attempted, upgraded, failed (by cause) and dropped (by kind) connections,
// gauges for the connections alive and the run's phase, and a histogram of
// handshake latency, all named wshold_*, served on /metrics in the standard
// exposition format so that an existing Prometheus and Grafana can watch a
// long soak or the shards of a Kubernetes Job.
//
// The counts come from the engine's events: Sink wraps the report's
// recorder and counts each event on its way through, allocating nothing on
// the hot paths (an upgrade, a drop of a known kind).
package metrics
