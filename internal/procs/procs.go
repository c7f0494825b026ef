package procs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/wshold/wshold/internal/runner"
	"github.com/wshold/wshold/report"
	"github.com/wshold/wshold/scenario"
)

// Options are the settings of a multi-process run that are not part of
// the scenario.
type Options struct {
	// Exe is the wshold binary the workers run; default os.Executable().
	Exe string
	// Plan is the layout from runner.PlanRun: Workers (at least 1) and,
	// for the embedded default, Servers.
	Plan runner.Plan
	// Shard is this whole run's own shard ("I/N", "" for none), recorded
	// on the merged result: a shard of a distributed run may itself be
	// split over processes.
	Shard string
	// WorkerArgs, if set, returns extra 'wshold run' arguments for worker
	// i (e.g. --at for worker 0 only, so a command runs once).
	WorkerArgs func(i int) []string
	// Progress receives merged progress every ProgressInterval (default
	// 2 s), read from the workers' checkpoints; nil = none.
	Progress         func(runner.Progress)
	ProgressInterval time.Duration
	// Checkpoint, if set, receives the merged checkpoint at the same
	// pace, so a parent killed outright leaves a result too.
	Checkpoint func(*report.Result)
	// Stderr receives the workers' own messages, each line prefixed with
	// its shard, and nothing else; nil discards them.
	Stderr io.Writer
	// Warnings are added to the merged result's (e.g. Plan.Warnings).
	Warnings []string
}

// Run runs sc over o.Plan.Workers worker processes, each 'wshold run
// --shard I/N' of the same resolved scenario, and returns their merged,
// evaluated result. Cancelling ctx interrupts every worker; they close
// their connections and write their results, which are merged as usual
// (the result says interrupted). A worker that dies is named in the
// result's warnings with its exit status, its last checkpoint is merged in
// its place, and EndReason is "error".
//
// It returns a *runner.StartError when the run could not start: the
// target or no worker could.
func Run(ctx context.Context, sc scenario.Scenario, o Options) (*report.Result, error) {
	n := max(o.Plan.Workers, 1)
	exe := o.Exe
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return nil, &runner.StartError{Err: fmt.Errorf("finding wshold's own binary to start workers: %w", err)}
		}
	}
	stderr := &lockedWriter{w: io.Discard}
	if o.Stderr != nil {
		stderr.w = o.Stderr
	}
	every := o.ProgressInterval
	if every <= 0 {
		every = 2 * time.Second
	}
	dir, err := os.MkdirTemp("", "wshold-procs-")
	if err != nil {
		return nil, &runner.StartError{Err: fmt.Errorf("a directory for the workers' results: %w", err)}
	}
	defer os.RemoveAll(dir)

	full := sc
	started := time.Now()
	var tgt *target
	if sc.Target == "" {
		if tgt, err = startTarget(exe, o.Plan.Servers); err != nil {
			return nil, &runner.StartError{Err: err}
		}
		defer tgt.stop()
		sc.Target = tgt.url
	}
	wsc := sc
	wsc.Procs = 1 // a worker holds its share itself
	file := filepath.Join(dir, "scenario.toml")
	if err := writeScenarioFile(file, wsc); err != nil {
		return nil, &runner.StartError{Err: err}
	}

	workers := make([]*worker, n)
	for i := range workers {
		w := &worker{shard: runner.Shard{Index: i, Count: n}, out: filepath.Join(dir, fmt.Sprintf("shard-%d.json", i))}
		workers[i] = w
		args := []string{"run", "-f", file, "--shard", w.shard.String(), "-o", w.out, "-q",
			"--checkpoint-interval", max(every, time.Second).String()}
		if o.WorkerArgs != nil {
			args = append(args, o.WorkerArgs(i)...)
		}
		if err := startWorker(exe, args, w, stderr); err != nil {
			stopAll(workers[:i])
			return nil, &runner.StartError{Err: err}
		}
	}

	ps := &progressState{full: full, o: o, n: n, workers: workers, started: started}
	tick := time.NewTicker(every)
	defer tick.Stop()
	interrupt := ctx.Done()
	for _, w := range workers {
		for waiting := true; waiting; {
			select {
			case <-w.done:
				waiting = false
			case <-interrupt:
				interrupt = nil
				for _, w := range workers {
					w.signal(syscall.SIGINT)
				}
			case <-tick.C:
				ps.report(ctx.Err() != nil)
			}
		}
	}
	ps.report(true) // the final figures, and a live progress line ends
	return collect(ps, tgt)
}

// collect reads every worker's result (or last checkpoint) and merges them.
func collect(ps *progressState, tgt *target) (*report.Result, error) {
	var (
		results   []*report.Result
		warnings  []string
		notStart  []string
		died      bool
		lostConns int
	)
	for _, w := range ps.workers {
		res, rerr := report.ReadResultFile(w.out)
		code, how := w.status()
		complete := rerr == nil && res.EndReason != "checkpoint"
		switch {
		case complete && (code == 0 || code == 1):
		case rerr != nil && code == 2:
			notStart = append(notStart, fmt.Sprintf("shard %s: %s", w.shard, w.lastWords()))
			fallthrough
		default:
			died = true
			share := runner.ShareOf(ps.full.Conns, w.shard)
			msg := fmt.Sprintf("worker for shard %s (pid %d) ended with %s", w.shard, w.cmd.Process.Pid, how)
			if last := w.lastWords(); last != "" && code != 0 && code != 1 {
				msg += " (" + last + ")"
			}
			if rerr == nil {
				msg += fmt.Sprintf("; merged its last checkpoint, from %s into the run (%d of its %d connections upgraded by then)",
					res.End.Sub(res.Start).Round(time.Second), res.Counts.Upgraded, share)
			} else {
				msg += fmt.Sprintf("; it left no checkpoint, so its %d connections are missing from this result", share)
				lostConns += share
			}
			warnings = append(warnings, msg)
		}
		if rerr == nil {
			results = append(results, res)
		}
	}
	if tgt != nil {
		if err := tgt.lost(); err != nil {
			warnings = append(warnings, err.Error())
		}
	}
	if len(results) == 0 {
		if len(notStart) == len(ps.workers) {
			return nil, &runner.StartError{Err: fmt.Errorf("no worker could start: %s", strings.Join(dedupe(notStart), "; "))}
		}
		return nil, errors.New("no worker left a result: " + strings.Join(warnings, "; "))
	}
	merged, err := ps.merge(results)
	if err != nil {
		return nil, err
	}
	if died {
		merged.EndReason = "error"
	}
	merged.Warnings = append(merged.Warnings, warnings...)
	return merged, nil
}

// merge merges shard results and puts back what the shards only had a
// share of, so the result describes the whole run.
func (ps *progressState) merge(results []*report.Result) (*report.Result, error) {
	m, err := report.Merge(results)
	if err != nil {
		return nil, fmt.Errorf("merging the workers' results: %w", err)
	}
	s := &m.Scenario
	s.Conns = ps.full.Conns
	s.Rate = ps.full.Rate
	s.MaxInFlight = ps.full.MaxInFlight
	s.SourceIPs = ps.full.SourceIPs
	s.Procs = ps.n
	if ps.full.Target == "" {
		s.Target = ""
	}
	m.Shard = ps.o.Shard
	m.Warnings = dedupeWarnings(slices.Concat(ps.o.Warnings, m.Warnings))
	return m, nil
}

func dedupe(ss []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range ss {
		// "shard I/N: message": the same message from every shard once.
		_, msg, _ := strings.Cut(s, ": ")
		if !seen[msg] {
			seen[msg] = true
			out = append(out, s)
		}
	}
	return out
}

func dedupeWarnings(ws []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, w := range ws {
		if !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	return out
}
