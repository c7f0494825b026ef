package main

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wshold/wshold/report"
)

// --start-at holds the first connection back until a wall-clock time, so
// shards started seconds apart ramp together.
func TestStartAtWaitsForTheWallClock(t *testing.T) {
	at := time.Now().Add(1500 * time.Millisecond).UTC().Format(time.RFC3339) // whole seconds: 0.5–1.5 s ahead
	var out, errb bytes.Buffer
	began := time.Now()
	code := dispatch([]string{"run", "-c", "5", "--hold", "100ms", "--progress", "never", "--start-at", at}, &out, &errb)
	waited := time.Since(began)
	if code != exitPass || waited < 400*time.Millisecond || !strings.Contains(errb.String(), "waiting") {
		t.Fatalf("exit %d after %v; stderr:\n%s", code, waited, errb.String())
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
	for _, procs := range []string{"1", "2"} {
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
				done <- dispatch([]string{"run", "--procs", procs, "-c", "50", "--hold", "4s", "-q",
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
			deadline := time.Now().Add(15 * time.Second)
			seen := ""
			for time.Now().Before(deadline) && !has(seen) {
				time.Sleep(100 * time.Millisecond)
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
			if code := <-done; code != exitPass {
				t.Fatalf("run exit %d", code)
			}
		})
	}
}
