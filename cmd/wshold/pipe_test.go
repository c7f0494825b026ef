package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/wshold/wshold/report"
)

// `wshold run … -o r.json | head -1`: the reader is gone before the report
// is printed, and the result file is still written (the broken pipe is an
// EPIPE, not a SIGPIPE that kills the run before its files) and the exit
// status is the verdict's.
func TestRunWritesItsResultWhenStdoutIsABrokenPipe(t *testing.T) {
	t.Parallel()
	out := filepath.Join(t.TempDir(), "r.json")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close() // the reader has gone: every write to w fails
	cmd := exec.Command(os.Args[0], "run", "-c", "3", "--hold", "200ms", "--progress", "never", "-o", out)
	cmd.Stdout = w
	runErr := cmd.Run()
	w.Close()
	if runErr != nil {
		t.Fatalf("run ended with %v; a reader that stopped reading is not a failure, the verdict (pass) decides", runErr)
	}
	res, err := report.ReadResultFile(out)
	if err != nil {
		t.Fatalf("no result file after a broken stdout: %v (run: %v)", err, runErr)
	}
	if res.Counts.Upgraded != 3 {
		t.Errorf("result has %d upgraded, want 3", res.Counts.Upgraded)
	}
}
