package integration

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wshold/wshold/internal/runner"
	"github.com/wshold/wshold/internal/server"
	"github.com/wshold/wshold/report"
	"github.com/wshold/wshold/scenario"
)

// childEnv, set in the environment of this test binary, makes it the
// built-in target instead of running tests: a backend in a process of its
// own, which a test can kill as a crash would (SIGKILL) without taking
// the test down. childListenEnv, if set, is its address (default: a free
// loopback port), so that a test can start it again where it was.
const (
	childEnv       = "WSHOLD_INTEGRATION_CHILD"
	childListenEnv = "WSHOLD_INTEGRATION_LISTEN"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "serve" {
		serveChild()
		return
	}
	os.Exit(m.Run())
}

// serveChild runs the built-in target on a free loopback port, prints the
// address on stdout, and serves until stdin closes or it is killed.
func serveChild() {
	listen := os.Getenv(childListenEnv)
	if listen == "" {
		listen = "127.0.0.1:0"
	}
	srv, err := server.Start(server.Config{Listen: []string{listen}})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child backend:", err)
		os.Exit(1)
	}
	fmt.Println(srv.Addrs()[0].String())
	// The parent holds stdin open; EOF means it is gone.
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	srv.Close()
	os.Exit(0)
}

// childBackend starts the built-in target in a child process and returns
// its loopback host:port and its pid. The cleanup kills it if the test has
// not.
func childBackend(t *testing.T) (addr string, pid int) {
	t.Helper()
	addr, cmd := childBackendOn(t, "")
	return addr, cmd.Process.Pid
}

// childBackendOn starts the child backend listening on listen (empty: a
// free loopback port) and returns its address and its process.
func childBackendOn(t *testing.T, listen string) (addr string, cmd *exec.Cmd) {
	t.Helper()
	cmd = exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=serve", childListenEnv+"="+listen)
	cmd.Stderr = os.Stderr
	// Dies with the test binary even if that is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the child backend: %v", err)
	}
	t.Cleanup(func() {
		stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	select {
	case addr = <-line:
	case <-time.After(20 * time.Second):
		t.Fatal("the child backend did not print its address within 20 s")
	}
	if addr == "" {
		t.Fatal("the child backend exited without printing its address")
	}
	return addr, cmd
}

// runAt runs sc with --at commands, bounded like run, and checks the
// count invariants.
func runAt(t *testing.T, sc scenario.Scenario, ats ...runner.At) *report.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), sc.Hold.D()+2*time.Minute)
	defer cancel()
	res, err := runner.Run(ctx, resolved(t, sc), runner.Options{At: ats})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	keepIfFailed(t, res)
	checkInvariants(t, res)
	return res
}

// largestCluster returns the result's largest drop cluster, which must
// hold at least min drops, or fails with what there is.
func largestCluster(t *testing.T, res *report.Result, min int64) report.Cluster {
	t.Helper()
	if len(res.Drops.Clusters) == 0 || res.Drops.Clusters[0].Count < min {
		t.Fatalf("clusters %+v, want the largest to hold at least %d drops; counts %+v, by kind %v",
			res.Drops.Clusters, min, res.Counts, res.Drops.ByKind)
	}
	return res.Drops.Clusters[0]
}

// followedWithin asserts that every drop came fromMs to toMs after the mark
// (50 ms of slack before: the drop and the mark read their clocks
// separately), and that clusters attributed to the mark hold at least
// three quarters of the drops. It returns those clusters. (On a busy
// machine the harness reads a few of the drops late, and those may form a
// small cluster of their own on another clock.)
func followedWithin(t *testing.T, res *report.Result, mark report.Mark, fromMs, toMs float64) []report.Cluster {
	t.Helper()
	for _, e := range res.Drops.Events {
		if d := e.AtMs - mark.AtMs; d < fromMs-50 || d > toMs {
			t.Fatalf("a drop %.1f ms after %q, want every one %.0f to %.0f ms after it: %+v", d, mark.Label, fromMs, toMs, e)
		}
	}
	var ours []report.Cluster
	var n int64
	for _, c := range res.Drops.Clusters {
		if c.Cause == "event" && strings.Contains(c.Hint, "follows "+mark.Label) {
			ours = append(ours, c)
			n += c.Count
		}
	}
	if 4*n < 3*res.Counts.Dropped {
		t.Fatalf("clusters attributed to %q hold %d of %d drops, want at least three quarters; clusters %+v",
			mark.Label, n, res.Counts.Dropped, res.Drops.Clusters)
	}
	return ours
}

// near reports whether got is within tol of want (all in ms).
func near(got, want, tol float64) bool { return math.Abs(got-want) <= tol }

// theMark returns the run's one mark (from one --at), or fails.
func theMark(t *testing.T, res *report.Result) report.Mark {
	t.Helper()
	if len(res.Marks) != 1 {
		t.Fatalf("marks %+v, want the one --at", res.Marks)
	}
	if strings.Contains(res.Marks[0].Label, "failed") {
		t.Fatalf("the --at command failed: %s", res.Marks[0].Label)
	}
	return res.Marks[0]
}
