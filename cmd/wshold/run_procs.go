package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/wshold/wshold/internal/metrics"
	"github.com/wshold/wshold/internal/procs"
	"github.com/wshold/wshold/internal/runner"
	"github.com/wshold/wshold/report"
	"github.com/wshold/wshold/scenario"
)

// runExtras are run's settings that only matter when the run is spread
// over worker processes.
type runExtras struct {
	ats    []string // --at as given: passed to the first worker only
	quiet  bool
	stderr io.Writer
	// mirror, with --metrics-addr, takes the workers' merged checkpoints
	// into the metrics: the connections are in the workers, not here.
	mirror *metrics.Mirror
}

// readHost reads this machine's limits for planning; a test narrows them.
var readHost = runner.ReadHost

// runOne runs one scenario: this process's shard of it, laid out over as
// many processes as the open-files limit needs (--procs), in this process
// when one is enough.
func runOne(ctx context.Context, rs *scenario.Resolved, shard runner.Shard, opts runner.Options, x runExtras) (*report.Result, error) {
	sc := *shard.Of(rs)
	if sc.Conns < 1 {
		return nil, &runner.StartError{Err: fmt.Errorf("--shard %s of %d connections leaves this shard none; use fewer shards than connections", shard, rs.Conns)}
	}
	host := readHost()
	plan, err := runner.PlanRun(&sc, host)
	if err != nil {
		return nil, &runner.StartError{Err: err}
	}
	sc.Procs = plan.Workers
	opts.Warnings = append(opts.Warnings, plan.Warnings...)
	if !x.quiet {
		// Before the ramp, not only in the report: a distorted run can be
		// stopped and started again the right way.
		for _, w := range plan.Warnings {
			fmt.Fprintln(x.stderr, "wshold: warning:", w)
		}
	}
	if !plan.Spawn {
		oneSchedulerThread(&sc, host)
		return runner.Run(ctx, &sc, opts)
	}
	if !x.quiet {
		where := "against " + sc.RedactURL(sc.Target)
		switch {
		case sc.Builtin() && plan.Servers == 0:
			where = "against the built-in target in this process"
		case sc.Builtin():
			where = fmt.Sprintf("against the built-in target in %d 'wshold serve' processes", plan.Servers)
		}
		fmt.Fprintf(x.stderr, "wshold: %d connections over %d worker processes (about %d each) %s\n",
			sc.Conns, plan.Workers, (sc.Conns+plan.Workers-1)/plan.Workers, where)
	}
	// The workers are spawned when the wait is over, so their start-up
	// delays this ramp (a single process waits after its setup instead).
	if err := runner.WaitUntil(ctx, opts.StartAt); err != nil {
		return nil, err
	}
	var live func(*report.Result)
	if x.mirror != nil {
		live = x.mirror.Update
	}
	progress := opts.Progress
	if x.quiet && x.mirror == nil {
		// Nothing shows it (the metrics' phase comes from it): the
		// workers checkpoint at --checkpoint-interval alone.
		progress = nil
	}
	res, err := procs.Run(ctx, &sc, procs.Options{
		Plan:               plan,
		Shard:              opts.Shard,
		RunID:              opts.RunID,
		Progress:           progress,
		ProgressInterval:   max(opts.ProgressInterval, time.Second),
		Live:               live,
		Checkpoint:         opts.Checkpoint,
		CheckpointInterval: opts.CheckpointInterval,
		Stderr:             x.stderr,
		Warnings:           opts.Warnings,
		WorkerArgs: func(i int) []string {
			if i != 0 {
				return nil
			}
			var args []string
			for _, a := range x.ats {
				args = append(args, "--at", a)
			}
			return args
		},
	})
	if err == nil && x.mirror != nil {
		x.mirror.Update(res)
	}
	return res, err
}

// oneSchedulerThread lets Go run this process's goroutines on one thread
// when it holds plain ws:// connections to a target elsewhere, unless
// GOMAXPROCS says otherwise. Their work is system calls and a little
// parsing, and with a second thread the scheduler hands goroutines across
// and spins looking for work every time one wakes: through nginx on this
// project's 2-core box two threads cost 15–40 % more CPU per connection at
// 2000/s and 10,000/s, and at full speed against `wshold serve` one thread
// opened as fast (18,000–19,000 upgrades/s) with lower latency. More cores
// are for more processes (--procs). Left alone: wss://, whose TLS
// handshakes are real computation; the embedded default, whose server
// shares this process; and a run that takes more than half of a source
// address's ports, where each connect() is a long search in the kernel
// and one thread fell behind 2000/s (handshake p99 200–700 ms against
// 250 ms with two).
func oneSchedulerThread(rs *scenario.Resolved, h runner.Host) {
	if os.Getenv("GOMAXPROCS") != "" || rs.Builtin() || rs.URL.Scheme != "ws" || runner.CrowdsPortRange(rs, h) {
		return
	}
	runtime.GOMAXPROCS(1)
}
