// Package procs runs one scenario as several worker processes and merges
// what they observed into one result: the way past one process's
// open-files limit (wshold run --procs), and the local form of the
// shard-and-merge path that distributed runs use (each worker is an
// ordinary 'wshold run --shard I/N -o FILE', and the merge is
// report.Merge, exactly as 'wshold merge' does it).
//
// The parent process holds no connections. It writes the resolved scenario
// to a private temporary file, starts the built-in target when the
// scenario has none, starts the workers, shows progress read from their
// checkpoint files, forwards an interrupt to every worker, and reports a
// worker that died with the shard it ran and its exit status.
package procs
