package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wshold/wshold/internal/event"
	"github.com/wshold/wshold/report"
	"github.com/wshold/wshold/scenario"
)

// repResult records a small run: conns upgrades starting at start, and,
// when drops is set, every connection cut at 60 s by a FIN (so the
// default expectations fail).
func repResult(t *testing.T, name string, start time.Time, conns int, drops bool) *report.Result {
	t.Helper()
	sc := scenario.Defaults()
	sc.Name, sc.Conns = name, conns
	rec := report.NewRecorder(start, conns)
	for i := range conns {
		up := int64(i) * int64(time.Millisecond)
		rec.Upgraded(event.Upgraded{AtNs: up, LatencyNs: int64(1000+i) * 1000})
		if drops {
			age := 60*int64(time.Second) + int64(i%5)*int64(time.Millisecond)
			rec.Dropped(event.Dropped{AtNs: up + age, AgeNs: age, IdleNs: age, Kind: event.EOF})
		}
	}
	res := rec.Result(report.Meta{
		Scenario: sc, Version: "test", Target: "ws://127.0.0.1:9/ws",
		Start: start, HoldStart: start.Add(time.Second), End: start.Add(76 * time.Second),
	})
	exps, err := scenario.ParseExpectations(scenario.DefaultExpectations)
	if err != nil {
		t.Fatal(err)
	}
	report.Evaluate(res, exps)
	return res
}

// repWrite saves res as dir/file and returns the path.
func repWrite(t *testing.T, dir, file string, res *report.Result) string {
	t.Helper()
	var b bytes.Buffer
	if err := report.WriteJSON(&b, res); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, file)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// repFiles writes a failing and a passing result plus three broken files.
func repFiles(t *testing.T) (dir, failing, passing string) {
	t.Helper()
	dir = t.TempDir()
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	failing = repWrite(t, dir, "nginx-default.json", repResult(t, "nginx-default", t0, 50, true))
	passing = repWrite(t, dir, "nginx-fixed.json", repResult(t, "nginx-fixed", t0, 50, false))
	for name, body := range map[string]string{
		"notjson.json":   "<html>502 Bad Gateway</html>",
		"other.json":     `{"hello": "world"}`,
		"future.json":    `{"schema": "wshold.result/v9"}`,
		"truncated.json": `{"schema": "wshold.result/v1", "counts": {`,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, failing, passing
}

type cliCase struct {
	name   string
	args   []string
	code   int
	stdout string // substring of stdout, if set
	stderr string // substring of stderr, if set
}

func runCLICases(t *testing.T, cases []cliCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := dispatch(tc.args, &out, &errb)
			if code != tc.code {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tc.code, out.String(), errb.String())
			}
			if tc.stdout != "" && !strings.Contains(out.String(), tc.stdout) {
				t.Errorf("stdout lacks %q:\n%s", tc.stdout, out.String())
			}
			if tc.stderr != "" && !strings.Contains(errb.String(), tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, errb.String())
			}
		})
	}
}

func TestReportCommand(t *testing.T) {
	dir, failing, passing := repFiles(t)
	runCLICases(t, []cliCase{
		{"table by default, exit 0 for a failed run", []string{"report", failing}, exitPass, "FAIL: 50/50 upgraded", ""},
		{"table of a pass", []string{"report", passing}, exitPass, "PASS: 50/50 upgraded", ""},
		{"json", []string{"report", failing, "--format", "json"}, exitPass, `"schema": "wshold.result/v1"`, ""},
		{"markdown", []string{"report", "--format=markdown", failing}, exitPass, "**❌ FAIL", ""},
		{"junit", []string{"report", failing, "--format", "junit"}, exitPass, `<testcase name="no-drops"`, ""},
		{"html", []string{"report", failing, "--format", "html"}, exitPass, "<!DOCTYPE html>", ""},
		{"help", []string{"report", "--help"}, exitPass, "Usage: wshold report", ""},
		{"help teaches by example", []string{"report", "-h"}, exitPass, "--format markdown >> \"$GITHUB_STEP_SUMMARY\"", ""},
		{"no file", []string{"report"}, exitUsage, "", "give the result file"},
		{"two files", []string{"report", failing, passing}, exitUsage, "", "wshold compare"},
		{"missing file", []string{"report", filepath.Join(dir, "nope.json")}, exitUsage, "", "nope.json does not exist"},
		{"not JSON", []string{"report", filepath.Join(dir, "notjson.json")}, exitUsage, "", "notjson.json: read result: not JSON"},
		{"JSON but not a result", []string{"report", filepath.Join(dir, "other.json")}, exitUsage, "", "other.json: read result: no \"schema\""},
		{"another schema version", []string{"report", filepath.Join(dir, "future.json")}, exitUsage, "", "wshold.result/v9"},
		{"truncated", []string{"report", filepath.Join(dir, "truncated.json")}, exitUsage, "", "truncated.json"},
		{"directory", []string{"report", dir}, exitUsage, "", "is a directory"},
		{"unknown format", []string{"report", failing, "--format", "pdf"}, exitUsage, "", `"pdf" is not one of html, json, junit, markdown, table`},
		{"unknown flag", []string{"report", failing, "--colour"}, exitUsage, "", "wshold report --help"},
	})
}

func TestReportWritesFile(t *testing.T) {
	_, failing, _ := repFiles(t)
	out := filepath.Join(t.TempDir(), "r.json")
	var stdout, stderr bytes.Buffer
	if code := dispatch([]string{"report", failing, "--format", "json", "-o", out}, &stdout, &stderr); code != exitPass {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if stdout.Len() != 0 {
		t.Errorf("with -o nothing belongs on stdout, got %q", stdout.String())
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(failing)
	if err != nil {
		t.Fatal(err)
	}
	var g, w any
	if json.Unmarshal(got, &g) != nil || json.Unmarshal(want, &w) != nil {
		t.Fatal("not JSON")
	}
	if gb, _ := json.Marshal(g); !bytes.Equal(gb, must(json.Marshal(w))) {
		t.Error("re-rendering a result as JSON changed it")
	}
	var errb bytes.Buffer
	if code := dispatch([]string{"report", failing, "-o", filepath.Join(t.TempDir(), "no", "such", "dir", "x")}, &stdout, &errb); code != exitUsage || !strings.Contains(errb.String(), "no/such/dir") {
		t.Errorf("unwritable -o: exit %d, stderr %q; want 2 naming the path", code, errb.String())
	}
	// A device, a FIFO or a link at -o is refused, not replaced.
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/dev/null", fifo} {
		errb.Reset()
		if code := dispatch([]string{"report", failing, "-o", path}, &stdout, &errb); code != exitUsage || !strings.Contains(errb.String(), "not a regular file") {
			t.Errorf("report -o %s: exit %d, stderr %q; want 2, refused as not a regular file", path, code, errb.String())
		}
		errb.Reset()
		if code := dispatch([]string{"merge", "-o", path, failing}, &stdout, &errb); code != exitUsage || !strings.Contains(errb.String(), "not a regular file") {
			t.Errorf("merge -o %s: exit %d, stderr %q; want 2, refused as not a regular file", path, code, errb.String())
		}
		if fi, err := os.Lstat(path); err != nil || fi.Mode().IsRegular() {
			t.Errorf("%s became a regular file", path)
		}
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// Every input file is bounded: a device is refused without reading it, a
// file past its kind's limit is refused with the limit named, each with
// exit 2, at once.
func TestInputFilesAreBounded(t *testing.T) {
	dir := t.TempDir()
	bigScenario := filepath.Join(dir, "big.toml")
	if err := os.WriteFile(bigScenario, bytes.Repeat([]byte("# padding\n"), 200_000), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"report", "/dev/zero"},
		{"merge", "-o", filepath.Join(dir, "m.json"), "/dev/zero"},
		{"compare", "/dev/zero", "/dev/zero"},
		{"check", "--ca", "/dev/zero", "wss://127.0.0.1:1/"},
		{"validate", "/dev/zero"},
		{"run", "-f", "/dev/zero"},
		{"validate", bigScenario},
		{"run", "--proxy-config", "/dev/zero", "--hold", "0s", "-c", "1"},
	} {
		var out, errb bytes.Buffer
		began := time.Now()
		code := dispatch(args, &out, &errb)
		if code != exitUsage || time.Since(began) > 5*time.Second {
			t.Errorf("%v: exit %d after %v; want 2 at once", args, code, time.Since(began))
		}
		if msg := errb.String(); !strings.Contains(msg, "character device") && !strings.Contains(msg, "larger than 1 MiB") && !strings.Contains(msg, "not a regular file") {
			t.Errorf("%v: stderr does not say what is wrong with the file:\n%s", args, msg)
		}
	}
}

// A run killed outright leaves its last checkpoint; report renders it as
// unfinished, with its moment, in every format, and exits 1: never DONE
// or PASS, never an empty JUnit verdict (the issue: "DONE … over a 5.95s
// hold" of a 20 s hold, exit 0).
func TestReportOfAKilledRunsCheckpointSaysUnfinished(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "r.json")
	cmd := exec.Command(os.Args[0], "run", "-c", "5", "--hold", "20s", "-o", out, "--checkpoint-interval", "200ms", "-q")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	held := false
	for range 300 { // 30 s at most
		if r, err := report.ReadResultFile(out); err == nil && !r.HoldStart.IsZero() && r.End.Sub(r.HoldStart) > 500*time.Millisecond {
			held = true
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !held {
		t.Fatal("the run never checkpointed its hold")
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	for _, format := range []string{"table", "json", "markdown", "junit", "html"} {
		var stdout, stderr bytes.Buffer
		code := dispatch([]string{"report", out, "--format", format}, &stdout, &stderr)
		if code != exitFail {
			t.Errorf("%s: exit %d, want 1; stderr:\n%s", format, code, stderr.String())
		}
		text := stdout.String()
		if strings.Contains(text, "DONE") || strings.Contains(text, "PASS") || strings.Contains(text, `"verdict": "pass"`) {
			t.Errorf("%s: says DONE or PASS:\n%s", format, text)
		}
		if !strings.Contains(text, "the run finished") || !strings.Contains(text, "into the 20s hold") {
			t.Errorf("%s: does not say the run did not finish, and when the checkpoint was written:\n%s", format, text)
		}
		if format == "junit" && !strings.Contains(text, `<failure message="want the run finished, got no: this is a checkpoint`) {
			t.Errorf("junit: no failed test case for the unfinished run:\n%s", text)
		}
		if !strings.Contains(stderr.String(), "is a checkpoint written at") {
			t.Errorf("%s: stderr does not say why the exit is 1: %q", format, stderr.String())
		}
	}
}
