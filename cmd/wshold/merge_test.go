package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wshold/wshold/report"
	"github.com/wshold/wshold/scenario"
)

func TestMergeCommand(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	ok0 := repWrite(t, dir, "ok-0.json", repResult(t, "soak", t0, 40, false))
	ok1 := repWrite(t, dir, "ok-1.json", repResult(t, "soak", t0.Add(time.Second), 60, false))
	bad := repWrite(t, dir, "drops.json", repResult(t, "soak", t0, 30, true))
	broken := repResult(t, "soak", t0.Add(2*time.Second), 30, true)
	broken.Drops.Events = nil
	noEvents := repWrite(t, dir, "no-events.json", broken)
	if err := os.WriteFile(filepath.Join(dir, "notjson.json"), []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "merged.json")
	runCLICases(t, []cliCase{
		{"all shards pass", []string{"merge", "-o", out, ok0, ok1}, exitPass, "PASS: 100/100 upgraded", "merged 2 results (2 shards)"},
		{"a shard's drops fail the merged verdict", []string{"merge", "-o", out, ok0, ok1, bad}, exitFail, "FAIL: 130/130 upgraded; 30 dropped", ""},
		{"help", []string{"merge", "--help"}, exitPass, "Usage: wshold merge -o OUT.json", ""},
		{"no -o", []string{"merge", ok0, ok1}, exitUsage, "", "with -o"},
		{"no inputs", []string{"merge", "-o", out}, exitUsage, "", "give the shard result files"},
		{"same file twice", []string{"merge", "-o", out, ok0, ok1, ok0}, exitUsage, "", "are the same result"},
		{"not a result", []string{"merge", "-o", out, ok0, filepath.Join(dir, "notjson.json")}, exitUsage, "", "notjson.json"},
		{"missing file", []string{"merge", "-o", out, ok0, filepath.Join(dir, "nope.json")}, exitUsage, "", "nope.json does not exist"},
		{"cannot merge exactly", []string{"merge", "-o", out, ok0, noEvents}, exitUsage, "", "30 drops but 0 drop events"},
	})
}

// Results of different runs are refused (exit 2), naming the field and the
// file; a shard that did not finish (a checkpoint, an interrupt) makes the
// merge exit 1, as run would have.
func TestMergeCommandRefusesOtherRunsAndSaysWhatDidNotFinish(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	ok0 := repWrite(t, dir, "ok-0.json", repResult(t, "soak", t0, 40, false))
	longer := repResult(t, "soak", t0.Add(time.Second), 60, false)
	longer.Scenario.Hold = scenario.Duration(8 * time.Second)
	otherHold := repWrite(t, dir, "hold-8s.json", longer)
	elsewhere := repResult(t, "soak", t0.Add(time.Second), 60, false)
	elsewhere.Scenario.Target, elsewhere.Target = "ws://127.0.0.2:9/ws", "ws://127.0.0.2:9/ws"
	otherTarget := repWrite(t, dir, "elsewhere.json", elsewhere)
	cp := repResult(t, "soak", t0.Add(time.Second), 60, false)
	cp.EndReason, cp.HoldEnd, cp.End = "checkpoint", time.Time{}, cp.HoldStart.Add(2900*time.Millisecond)
	cp.Expectations, cp.Verdict = []report.Expectation{}, ""
	checkpoint := repWrite(t, dir, "shard-1.json", cp)
	stopped := repResult(t, "soak", t0.Add(time.Second), 60, false)
	stopped.Interrupted, stopped.EndReason = true, "interrupted"
	interrupted := repWrite(t, dir, "stopped.json", stopped)
	out := filepath.Join(dir, "merged.json")
	runCLICases(t, []cliCase{
		{"another hold", []string{"merge", "-o", out, ok0, otherHold}, exitUsage, "", "hold-8s.json has hold 8s where " + ok0 + " has 1m15s"},
		{"another target", []string{"merge", "-o", out, otherTarget, ok0}, exitUsage, "", "elsewhere.json has target"},
		{"a checkpoint", []string{"merge", "-o", out, ok0, checkpoint}, exitFail, "unmet: every shard finished", ""},
		{"a lone checkpoint", []string{"merge", "-o", out, checkpoint}, exitFail, "FAIL (unfinished: a checkpoint written at 12:00:04 UTC, 2.9 s into the 1m15s hold)", ""},
		{"an interrupted shard", []string{"merge", "-o", out, ok0, interrupted}, exitFail, "PASS (interrupted): 100/100 upgraded", ""},
	})

	var stdout, stderr bytes.Buffer
	if code := dispatch([]string{"merge", "-o", out, ok0, checkpoint}, &stdout, &stderr); code != exitFail {
		t.Fatalf("exit %d, want 1", code)
	}
	res, err := report.ReadResultFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if res.EndReason != "checkpoint" || res.Verdict != "fail" || res.Interrupted {
		t.Errorf("end reason %q, verdict %q, interrupted %v; want checkpoint, fail, false", res.EndReason, res.Verdict, res.Interrupted)
	}
	if w := strings.Join(res.Warnings, "\n"); !strings.Contains(w, checkpoint) {
		t.Errorf("no warning names %s:\n%s", checkpoint, w)
	}
}

func TestMergeCommandWritesTheMergedResult(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	a := repWrite(t, dir, "a.json", repResult(t, "soak", t0, 40, true))
	b := repWrite(t, dir, "b.json", repResult(t, "soak", t0, 60, false))
	out := filepath.Join(dir, "merged.json")
	var stdout, stderr bytes.Buffer
	if code := dispatch([]string{"merge", "-o", out, a, b}, &stdout, &stderr); code != exitFail {
		t.Fatalf("exit %d, want 1 (a shard dropped everything): %s", code, stderr.String())
	}
	res, err := report.ReadResultFile(out)
	if err != nil {
		t.Fatalf("the merged result must be written even when it fails: %v", err)
	}
	if res.Shards != 2 || res.Counts.Upgraded != 100 || res.Counts.Dropped != 40 || res.Scenario.Conns != 100 || res.Verdict != "fail" {
		t.Errorf("merged: shards %d upgraded %d dropped %d conns %d verdict %s; want 2, 100, 40, 100, fail",
			res.Shards, res.Counts.Upgraded, res.Counts.Dropped, res.Scenario.Conns, res.Verdict)
	}

	// Inputs in another order: the same bytes.
	out2 := filepath.Join(dir, "merged2.json")
	dispatch([]string{"merge", "-o", out2, b, a}, &stdout, &stderr)
	if x, y := must(os.ReadFile(out)), must(os.ReadFile(out2)); !bytes.Equal(x, y) {
		t.Error("merge output depends on the order of its inputs")
	}

	// -o - puts only the JSON on stdout.
	stdout.Reset()
	stderr.Reset()
	dispatch([]string{"merge", "-o", "-", a, b}, &stdout, &stderr)
	if _, err := report.ReadResult(&stdout); err != nil {
		t.Errorf("-o -: stdout is not a result: %v", err)
	}
	if !strings.Contains(stderr.String(), "FAIL:") {
		t.Errorf("-o -: the verdict belongs on stderr, got %q", stderr.String())
	}
}
