package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/wshold/wshold/internal/runner"
	"github.com/wshold/wshold/report"
)

// --start-at holds the first connection back until a wall-clock time, so
// shards started seconds apart ramp together: the run's clock starts at
// that time, its setup done before it (on a Kubernetes node, reading the
// host's sockets took some shards 2 s, which used to come after the wait).
func TestStartAtWaitsForTheWallClock(t *testing.T) {
	// 3–4 s ahead: the setup between the message and the wait (the
	// built-in target, the host's sockets, settling the heap) must end
	// before it, which on a loaded machine under -race took more than the
	// 0.5 s an earlier 0.5–1.5 s lead left at worst (the run started up to
	// 4 s late), and once 3.6 s.
	at := time.Now().Add(4 * time.Second).UTC().Truncate(time.Second)
	out := filepath.Join(t.TempDir(), "r.json")
	var stdout, errb bytes.Buffer
	began := time.Now()
	code := dispatch([]string{"run", "-c", "5", "--hold", "100ms", "--progress", "never", "-o", out, "--start-at", at.Format(time.RFC3339)}, &stdout, &errb)
	waited := time.Since(began)
	if code != exitPass || waited < 400*time.Millisecond || !strings.Contains(errb.String(), "waiting") {
		t.Fatalf("exit %d after %v; stderr:\n%s", code, waited, errb.String())
	}
	res, err := report.ReadResultFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if late := res.Start.Sub(at); late < 0 || late > time.Second {
		t.Errorf("the run started %v after --start-at %v; want at it, well within 1 s", late, at)
	}
}

// A shard that cannot start says so at once, not after waiting for
// --start-at: a Job's pods fail on a bad flag in seconds (exit 2 stops the
// Job), not when every shard was due to ramp.
func TestStartAtChecksTheRunBeforeWaiting(t *testing.T) {
	at := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	done := make(chan int, 1)
	var out, errb bytes.Buffer
	go func() {
		done <- dispatch([]string{"run", "-c", "1", "--progress", "never", "--start-at", at,
			"--source-ip", "192.0.2.254", "ws://127.0.0.1:1/"}, &out, &errb)
	}()
	select {
	case code := <-done:
		if code != exitUsage || !strings.Contains(errb.String(), "--source-ip 192.0.2.254") {
			t.Errorf("exit %d, stderr %q; want 2 naming the address", code, errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("still waiting for --start-at after 30 s: the unusable --source-ip was not checked first")
	}
}

// The result says when the hold began and ended; the closing handshake
// after it is not part of the hold the report names.
func TestResultBoundsTheHold(t *testing.T) {
	out := filepath.Join(t.TempDir(), "r.json")
	var stdout, errb bytes.Buffer
	if code := dispatch([]string{"run", "-c", "20", "--hold", "300ms", "--progress", "never", "-o", out}, &stdout, &errb); code != exitPass {
		t.Fatalf("exit %d; stderr:\n%s", code, errb.String())
	}
	res, err := report.ReadResultFile(out)
	if err != nil {
		t.Fatal(err)
	}
	held := res.HoldEnd.Sub(res.HoldStart)
	if held < 300*time.Millisecond || held > 2*time.Second || res.End.Before(res.HoldEnd) {
		t.Fatalf("hold %v → %v, end %v: want a 300 ms hold that ends before the run does", res.HoldStart, res.HoldEnd, res.End)
	}
	if !strings.Contains(stdout.String(), "over a "+held.Round(10*time.Millisecond).String()+" hold") {
		t.Errorf("the verdict line does not name the hold's own length %v:\n%s", held, stdout.String())
	}
}

func TestStartAtRefusesWhatIsNotATime(t *testing.T) {
	for _, bad := range []string{"10:00", "tomorrow", time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)} {
		var out, errb bytes.Buffer
		if code := dispatch([]string{"run", "--start-at", bad}, &out, &errb); code != exitUsage || !strings.Contains(errb.String(), "--start-at") {
			t.Errorf("--start-at %q: exit %d, stderr %q; want 2 naming the flag", bad, code, errb.String())
		}
	}
}

// --metrics-addr serves Prometheus metrics while the run goes on; during
// the hold the alive gauge is the number of held connections — also when
// worker processes hold them (--procs 2), and the handshake histogram
// counts every upgrade.
func TestMetricsAddrServesTheAliveGaugeDuringTheHold(t *testing.T) {
	// Worker processes write their checkpoints every second and the parent
	// reads them every second: it says "holding" only once every worker's
	// checkpoint shows the hold, up to 2 s in (more on a loaded machine,
	// where the workers start and write later), and "closing" when the
	// hold is over. A hold of 4 s left a window so short that a loaded
	// machine closed it before the parent saw it open; 10 s leaves 8.
	for _, tc := range []struct{ procs, hold string }{{"1", "4s"}, {"2", "10s"}} {
		procs, hold := tc.procs, tc.hold
		t.Run("procs="+procs, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			ln.Close()
			done := make(chan int, 1)
			go func() {
				var out, errb bytes.Buffer
				done <- dispatch([]string{"run", "--procs", procs, "-c", "50", "--hold", hold, "-q",
					"--progress-interval", "1s", "--metrics-addr", addr}, &out, &errb)
			}()
			want := []string{"\nwshold_connections_alive 50\n", `wshold_phase{phase="holding"} 1`,
				"\nwshold_connections_upgraded_total 50\n", "\nwshold_handshake_seconds_count 50\n"}
			has := func(s string) bool {
				for _, w := range want {
					if !strings.Contains(s, w) {
						return false
					}
				}
				return true
			}
			// Scraped until seen or until the run is over, however long
			// a loaded machine takes to start it (bounded at 2 minutes).
			seen, code, ended := "", 0, false
			for deadline := time.Now().Add(2 * time.Minute); !ended && !has(seen) && time.Now().Before(deadline); {
				select {
				case code = <-done:
					ended = true
					continue
				case <-time.After(100 * time.Millisecond):
				}
				resp, err := http.Get("http://" + addr + "/metrics")
				if err != nil {
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				seen = string(b)
			}
			if !has(seen) {
				t.Fatalf("never saw 50 upgraded, alive and timed while holding; last scrape:\n%s", seen)
			}
			if !ended {
				code = <-done
			}
			if code != exitPass {
				t.Fatalf("run exit %d", code)
			}
		})
	}
}

// countingTarget is a loopback listener that only counts the connections
// made to it: a run refused before its first connection leaves it at 0.
func countingTarget(t *testing.T) (url string, accepted *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	accepted = new(atomic.Int64)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	return "ws://" + ln.Addr().String() + "/ws", accepted
}

// An output file that cannot be written is refused before the first
// connection (not after the hold), exit 2, naming the flag, the path
// and the fix.
func TestRunRefusesAnUnwritableOutputBeforeTheFirstConnection(t *testing.T) {
	dir := t.TempDir()
	inTheWay := filepath.Join(dir, "a-file")
	if err := os.WriteFile(inTheWay, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "no", "such", "dir")
	fifo := filepath.Join(dir, "fifo.json")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.json")
	if err := os.Symlink(inTheWay, link); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"-o in a missing directory", []string{"-o", filepath.Join(missing, "r.json")},
			[]string{"-o " + filepath.Join(missing, "r.json"), "does not exist", "mkdir -p " + missing}},
		{"--html in a missing directory", []string{"--html", filepath.Join(missing, "r.html")},
			[]string{"--html " + filepath.Join(missing, "r.html"), "mkdir -p " + missing}},
		{"--junit under a file", []string{"--junit", filepath.Join(inTheWay, "j.xml")},
			[]string{"--junit " + filepath.Join(inTheWay, "j.xml"), inTheWay + " is not a directory"}},
		{"-o naming a directory", []string{"-o", dir},
			[]string{"-o " + dir, "is a directory", filepath.Join(dir, "result.json")}},
		// Renaming a new file over these would replace the node itself.
		{"-o at a FIFO", []string{"-o", fifo}, []string{"-o " + fifo, "is a FIFO", "not a regular file"}},
		{"--html at a symbolic link", []string{"--html", link}, []string{"--html " + link, "is a symbolic link to " + inTheWay}},
		{"--junit at a character device", []string{"--junit", "/dev/null"}, []string{"--junit /dev/null", "is a character device"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			target, accepted := countingTarget(t)
			var out, errb bytes.Buffer
			began := time.Now()
			args := append([]string{"run", "-c", "3", "--hold", "3s", "--progress", "never"}, tc.args...)
			code := dispatch(append(args, target), &out, &errb)
			if took := time.Since(began); took > 2*time.Second {
				t.Errorf("refused after %v; want before the run starts", took)
			}
			if code != exitUsage {
				t.Errorf("exit %d; want 2", code)
			}
			for _, w := range tc.want {
				if !strings.Contains(errb.String(), w) {
					t.Errorf("stderr does not say %q:\n%s", w, errb.String())
				}
			}
			time.Sleep(50 * time.Millisecond)
			if n := accepted.Load(); n != 0 {
				t.Errorf("%d connections reached the target; want none", n)
			}
		})
	}
	for path, mode := range map[string]os.FileMode{fifo: os.ModeNamedPipe, link: os.ModeSymlink, "/dev/null": os.ModeCharDevice} {
		if fi, err := os.Lstat(path); err != nil || fi.Mode()&mode == 0 {
			t.Errorf("%s is now %v (%v); want it left as it was", path, fi.Mode(), err)
		}
	}
}

// With several scenarios, -o and --html get one file per scenario: each of
// them is checked before the first one runs.
func TestRunChecksEachScenariosOutputFileBeforeTheFirstScenario(t *testing.T) {
	target, accepted := countingTarget(t)
	dir := t.TempDir()
	toml := filepath.Join(dir, "s.toml")
	src := "[defaults]\nconns = 2\nhold = \"2s\"\ntarget = \"" + target + "\"\n\n[[scenario]]\nname = \"a\"\n\n[[scenario]]\nname = \"b\"\n"
	if err := os.WriteFile(toml, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	blocked := filepath.Join(dir, "r-b.json") // a directory where b's result must go
	if err := os.Mkdir(blocked, 0o755); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := dispatch([]string{"run", "-f", toml, "--progress", "never", "-o", filepath.Join(dir, "r.json")}, &out, &errb)
	if code != exitUsage || !strings.Contains(errb.String(), "scenario b writes "+blocked) || !strings.Contains(errb.String(), "is a directory") {
		t.Fatalf("exit %d; want 2 naming scenario b's file %s; stderr:\n%s", code, blocked, errb.String())
	}
	if n := accepted.Load(); n != 0 {
		t.Errorf("scenario a ran (%d connections); want nothing run", n)
	}
}

// The check before the run leaves a file already at the path as it was,
// and leaves no file of its own behind.
func TestRunOutputCheckKeepsAnExistingFile(t *testing.T) {
	dir := t.TempDir()
	kept := filepath.Join(dir, "r.json")
	if err := os.WriteFile(kept, []byte("yesterday's result"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := dispatch([]string{"run", "-c", "3", "--hold", "1s", "--progress", "never", "-o", kept, "--html", filepath.Join(dir, "missing", "r.html")}, &out, &errb)
	if code != exitUsage {
		t.Fatalf("exit %d; want 2 for --html; stderr:\n%s", code, errb.String())
	}
	if b, err := os.ReadFile(kept); err != nil || string(b) != "yesterday's result" {
		t.Errorf("%s now holds %q (%v); want it untouched", kept, b, err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("the directory holds %v; want only r.json", names)
	}
}

// A write that fails at the end (here the directory is removed during the
// hold) loses no numbers: the report is on stdout before the error, and
// the failed checkpoints are warned about once, while the run goes on.
// With --quiet the verdict goes into the error instead.
func TestRunPrintsTheReportWhenTheResultCannotBeWrittenAtTheEnd(t *testing.T) {
	for _, quiet := range []bool{false, true} {
		t.Run(fmt.Sprintf("quiet=%v", quiet), func(t *testing.T) {
			sub := filepath.Join(t.TempDir(), "sub")
			if err := os.Mkdir(sub, 0o755); err != nil {
				t.Fatal(err)
			}
			res := filepath.Join(sub, "r.json")
			args := []string{"run", "-c", "5", "--hold", "1500ms", "--progress", "never", "--checkpoint-interval", "100ms",
				// Retried: a checkpoint's temporary file created while rm
				// walks the directory makes it "not empty".
				"-o", res, "--at", "300ms=until rm -rf " + sub + " 2>/dev/null; do sleep 0.01; done"}
			if quiet {
				args = append(args, "-q")
			}
			var out, errb bytes.Buffer
			code := dispatch(args, &out, &errb)
			if code != exitUsage {
				t.Errorf("exit %d; want 2", code)
			}
			verdict := "PASS: 5/5 upgraded"
			if got := out.String(); quiet != !strings.Contains(got, verdict) {
				t.Errorf("stdout (quiet=%v):\n%s", quiet, got)
			}
			stderr := errb.String()
			if !strings.Contains(stderr, "writing its results failed") || !strings.Contains(stderr, res) {
				t.Errorf("stderr does not say that %s could not be written:\n%s", res, stderr)
			}
			if quiet && !strings.Contains(stderr, verdict) {
				t.Errorf("with -q, stderr does not keep the verdict:\n%s", stderr)
			}
			if n := strings.Count(stderr, "warning: checkpoint to -o "+res+" failed"); n != 1 {
				t.Errorf("the failed checkpoints were warned about %d times; want once:\n%s", n, stderr)
			}
		})
	}
}

// A warning about the plan (here: one source address takes more than half
// of its ephemeral ports) is printed before the first connection, not only
// in the final report: a run that will be distorted can be stopped at once.
func TestPlanWarningComesBeforeTheRamp(t *testing.T) {
	real := readHost
	t.Cleanup(func() { readHost = real })
	readHost = func() runner.Host {
		h := real()
		h.PortLo, h.PortHi = 40000, 40099 // 100 ports: 60 connections are past half
		return h
	}
	var both bytes.Buffer
	code := dispatch([]string{"run", "-c", "60", "--hold", "200ms", "--progress", "always", "--progress-interval", "100ms"}, &both, &both)
	if code != exitPass {
		t.Fatalf("exit %d:\n%s", code, both.String())
	}
	out := both.String()
	warn := strings.Index(out, "wshold: warning: 60 connections from one source address")
	first := strings.Index(out, "\n") + 1 // the first progress line follows the warning
	if !strings.Contains(out[first:], "up 0") {
		first = -1
	}
	verdict := strings.Index(out, "PASS")
	if warn < 0 || verdict < 0 || warn > verdict || (first >= 0 && warn > first) {
		t.Fatalf("warning at %d, first progress at %d, verdict at %d: want the warning first:\n%s", warn, first, verdict, out)
	}
	if !strings.Contains(out, "--source-ip 127.0.0.1-127.0.0.2") {
		t.Errorf("the warning does not give the fix:\n%s", out)
	}
}

// A --metrics-addr that cannot be listened on is a usage error that names
// the flag and the address once, and what to give instead.
func TestRunMetricsAddrErrorNamesTheFlagOnce(t *testing.T) {
	for _, addr := range []string{"bad", "127.0.0.1:99999"} {
		var out, errb bytes.Buffer
		code := dispatch([]string{"run", "-c", "1", "--hold", "1s", "--progress", "never", "--metrics-addr", addr}, &out, &errb)
		msg := errb.String()
		if code != exitUsage || strings.Count(msg, "--metrics-addr") != 1 || !strings.Contains(msg, "--metrics-addr "+addr) || !strings.Contains(msg, "127.0.0.1:9464") {
			t.Errorf("--metrics-addr %s: exit %d, stderr:\n%s\nwant exit 2 naming the flag and the address once, with an example", addr, code, msg)
		}
	}
}
