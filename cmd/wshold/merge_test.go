package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wshold/wshold/report"
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
