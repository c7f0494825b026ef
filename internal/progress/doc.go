// Package progress shows a run while it goes on, on stderr: on a terminal a
// live area of two bars (connections opened of --conns; the hold's time)
// with the phase, the counts, the open rate and the handshake p99 so far;
// anywhere else (CI logs, files) one plain line per interval with no
// control characters, so logs stay greppable.
//
// It knows nothing of the runner: the caller converts its progress value
// into a Snapshot and calls Update.
package progress
