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
	// RunID names the run; every worker is given it (--run-id), and the
	// merged result carries it.
	RunID string
	// WorkerArgs, if set, returns extra 'wshold run' arguments for worker
	// i (e.g. --at for worker 0 only, so a command runs once).
	WorkerArgs func(i int) []string
	// Progress receives merged progress every ProgressInterval (default
	// 2 s), read from the workers' checkpoints; nil = none.
	Progress         func(runner.Progress)
	ProgressInterval time.Duration
	// Live, if set, receives the merged checkpoint at the same pace as
	// Progress (e.g. for metrics).
	Live func(*report.Result)
	// Checkpoint, if set, receives the merged checkpoint every
	// CheckpointInterval (default 10 s, as 'wshold run'), so a parent
	// killed outright leaves a result too. The workers write their own
	// checkpoints at that interval too, or at the progress interval
	// (at least 1 s) when Progress or Live needs them sooner: a worker
	// that dies loses at most that much.
	Checkpoint         func(*report.Result)
	CheckpointInterval time.Duration
	// Stderr receives the workers' own messages, each line prefixed with
	// its shard, and nothing else; nil discards them.
	Stderr io.Writer
	// Warnings are added to the merged result's (e.g. Plan.Warnings).
	Warnings []string
}

// WantEveryWorkerFinished is the Want of the expectation a multi-process
// run adds when a worker died: no figure shows it, and it fails the run.
const WantEveryWorkerFinished = report.WantEveryWorkerFinished

// FailureWorkerDied is the failure cause under which the connections of a
// worker that died are counted when it had not reported them (not yet
// attempted at its last checkpoint, or no checkpoint at all): attempted
// stays the scenario's conns, and what became of them is not known.
const FailureWorkerDied = "worker_died"

// Run runs sc over o.Plan.Workers worker processes, each 'wshold run
// --shard I/N' of the same resolved scenario, and returns their merged,
// evaluated result. Cancelling ctx interrupts every worker; they close
// their connections and write their results, which are merged as usual
// (the result says interrupted).
//
// A worker that dies (killed, crashed, or exited otherwise than with 0 or
// 1 and a finished result) fails the run: its last checkpoint, if any, is
// merged in its place, EndReason is "error", and a failed expectation
// WantEveryWorkerFinished says which worker died, when, how, and what of
// its connections is not in the result. Its connections not in its last
// checkpoint count as attempted and failed (FailureWorkerDied), and those
// it held at its last checkpoint are not counted as held: they closed
// when it died.
//
// It returns a *runner.StartError when the run could not start: the
// target or no worker could.
func Run(ctx context.Context, rs *scenario.Resolved, o Options) (*report.Result, error) {
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
	dir, err := os.MkdirTemp("", "wshold-procs-")
	if err != nil {
		return nil, &runner.StartError{Err: fmt.Errorf("a directory for the workers' results: %w", err)}
	}
	defer os.RemoveAll(dir)

	full := rs.Scenario
	started := time.Now()
	wsc := rs.Scenario
	wsc.Procs = 1 // a worker holds its share itself
	var tgt *target
	if rs.Builtin() {
		if tgt, err = startTarget(exe, o.Plan.Servers); err != nil {
			return nil, &runner.StartError{Err: err}
		}
		defer tgt.stop()
		wsc.Target = tgt.url
	}
	spec, err := scenarioTOML(wsc)
	if err != nil {
		return nil, &runner.StartError{Err: err}
	}

	workers := make([]*worker, n)
	cpWorker := workerCheckpointInterval(o).String()
	for i := range workers {
		w := &worker{shard: runner.Shard{Index: i, Count: n}, out: filepath.Join(dir, fmt.Sprintf("shard-%d.json", i))}
		workers[i] = w
		args := []string{"run", "-f", fmt.Sprintf("/dev/fd/%d", scenarioFD), "--shard", w.shard.String(), "-o", w.out, "-q",
			"--checkpoint-interval", cpWorker, "--run-id", o.RunID}
		if o.WorkerArgs != nil {
			args = append(args, o.WorkerArgs(i)...)
		}
		if err := startWorker(exe, args, spec, w, stderr); err != nil {
			stopAll(workers[:i])
			return nil, &runner.StartError{Err: err}
		}
	}

	ps := &progressState{full: full, o: o, n: n, workers: workers, started: started}
	tick := time.NewTicker(o.progressEvery())
	defer tick.Stop()
	cpTick := time.NewTicker(o.checkpointEvery())
	defer cpTick.Stop()
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
			case <-cpTick.C:
				ps.checkpoint()
			}
		}
	}
	ps.report(true) // the final figures, and a live progress line ends
	return collect(ps, tgt)
}

// workerCheckpointInterval is how often the workers write their
// checkpoints: the user's --checkpoint-interval, or the progress interval
// (at least 1 s) when the parent's progress or live figures need them
// sooner.
func workerCheckpointInterval(o Options) time.Duration {
	cp := o.checkpointEvery()
	if o.Progress != nil || o.Live != nil {
		cp = min(cp, max(o.progressEvery(), time.Second))
	}
	return cp
}

// progressEvery is o.ProgressInterval, or its default.
func (o Options) progressEvery() time.Duration {
	if o.ProgressInterval <= 0 {
		return 2 * time.Second
	}
	return o.ProgressInterval
}

// checkpointEvery is o.CheckpointInterval, or its default.
func (o Options) checkpointEvery() time.Duration {
	if o.CheckpointInterval <= 0 {
		return 10 * time.Second
	}
	return o.CheckpointInterval
}

// death is what is known of a worker that did not finish.
type death struct {
	w   *worker
	how string         // "killed by SIGKILL", "exited with status 3 (…)"
	res *report.Result // its last checkpoint or result; nil if none
}

// collect reads every worker's result (or last checkpoint) and merges them.
func collect(ps *progressState, tgt *target) (*report.Result, error) {
	var (
		results  []*report.Result
		names    []string
		warnings []string
		notStart []string
		deaths   []death
	)
	for _, w := range ps.workers {
		res, rerr := report.ReadResultFile(w.out)
		code, how := w.status()
		finished := rerr == nil && res.EndReason != "checkpoint" && (code == 0 || code == 1)
		if !finished {
			if rerr != nil && code == 2 {
				notStart = append(notStart, fmt.Sprintf("shard %s: %s", w.shard, w.lastWords()))
			}
			if last := w.lastWords(); last != "" && code != 0 && code != 1 {
				how += " (" + last + ")"
			}
			deaths = append(deaths, death{w: w, how: how, res: res}) // res is nil when it left none
		}
		if rerr == nil {
			results = append(results, res)
			names = append(names, ps.name(w))
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
		var said []string
		for _, d := range deaths {
			said = append(said, fmt.Sprintf("%s %s before its first checkpoint", ps.name(d.w), d.how))
		}
		return nil, errors.New("no worker left a result: " + strings.Join(slices.Concat(said, warnings), "; "))
	}
	merged, err := ps.merge(results, names)
	if err != nil {
		return nil, err
	}
	if len(deaths) > 0 {
		ps.account(merged, deaths)
		if err := report.Reevaluate(merged); err != nil {
			return nil, err
		}
	}
	merged.Warnings = dedupeWarnings(append(merged.Warnings, warnings...))
	return merged, nil
}

// account puts the workers that died into the merged result: their
// connections that are not in it, an expectation that fails, a warning
// each, and EndReason "error". The caller evaluates again.
func (ps *progressState) account(m *report.Result, deaths []death) {
	var gots, lostBy []string
	lost := report.Failure{
		Cause: FailureWorkerDied,
		Hint: "the wshold worker process that had these connections died (killed, e.g. by the OOM killer, or crashed) " +
			"before it reported them: whether they upgraded is not known; see the warnings and the '" + WantEveryWorkerFinished + "' expectation",
	}
	t0 := m.Start
	for _, d := range deaths {
		share := int64(runner.ShareOf(ps.full.Conns, d.w.shard))
		died := fmt.Sprintf("%s %s at %.1f s", ps.name(d.w), d.how, max(0, d.w.ended.Sub(t0)).Seconds())
		got := died
		var missing int64
		switch {
		case d.res == nil:
			missing = share
			got += fmt.Sprintf(" before its first checkpoint; none of its %d connections are in this result (counted as failed: %s)",
				share, FailureWorkerDied)
		case d.res.EndReason == "checkpoint":
			cp := d.res
			missing = max(0, share-cp.Counts.Attempted)
			got += fmt.Sprintf("; its %d connections are not in this result after its last checkpoint at %.1f s (%d upgraded by then, %d open then and not counted as held)",
				share, max(0, cp.End.Sub(t0)).Seconds(), cp.Counts.Upgraded, cp.Counts.Held)
			if missing > 0 {
				got += fmt.Sprintf("; the %d it had not attempted by then are counted as failed: %s", missing, FailureWorkerDied)
			}
			// They were open at the checkpoint, not when the hold ended:
			// the worker's sockets closed with it.
			m.Counts.Held -= cp.Counts.Held
			for i := range m.Resources.Procs {
				if m.Resources.Procs[i].PID == d.w.cmd.Process.Pid {
					m.Resources.Procs[i].Held = 0
				}
			}
		default:
			got += " after writing its result; its connections are in this result"
		}
		if missing > 0 {
			m.Counts.Attempted += missing
			m.Counts.Failed += missing
			lost.Count += missing
			lostBy = append(lostBy, died)
		}
		gots = append(gots, got)
		m.Warnings = append(m.Warnings, got)
	}
	if lost.Count > 0 {
		// One entry for every worker's, in the order a result keeps them.
		// (The workers' own results have none: each is one process.)
		lost.Example = strings.Join(lostBy, "; ")
		m.Failures = append(m.Failures, lost)
		report.SortFailures(m.Failures)
	}
	m.Expectations = append(m.Expectations, report.Expectation{Want: WantEveryWorkerFinished, Got: strings.Join(gots, "; "), Pass: false})
	m.EndReason = "error"
}

// name is how results, warnings and expectations call worker w.
func (ps *progressState) name(w *worker) string {
	pid := 0
	if w.cmd != nil && w.cmd.Process != nil {
		pid = w.cmd.Process.Pid
	}
	return fmt.Sprintf("worker %d of %d (shard %s, pid %d)", w.shard.Index+1, ps.n, w.shard, pid)
}

// merge merges shard results and puts back what the shards only had a
// share of, so the result describes the whole run.
func (ps *progressState) merge(results []*report.Result, names []string) (*report.Result, error) {
	// The workers' checkpoints are accounted for by account (a worker
	// that died) or are the live state of workers still running: not
	// shards that failed to finish.
	m, err := report.MergeParts(results, names)
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
	m.Shard, m.RunID = ps.o.Shard, ps.o.RunID
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
