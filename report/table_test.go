package report

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/wshold/wshold/internal/event"
	"github.com/wshold/wshold/scenario"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// fixtureResult is a run through nginx: 1000 upgrades over 0.5 s, 20
// answered 400, 990 cut at idle 60 s, 10 held to the end: every section of
// the report has something to show.
func fixtureResult() *Result {
	s := scenario.Defaults()
	s.Name = "nginx-default"
	s.Target = "ws://127.0.0.1:18084/"
	s.Conns = 1020
	s.Rate = 2000
	s.ProxyConfigs = []string{"scripts/nginx/default.conf"}
	r := NewRecorder(t0, 1020)
	for i := range 1000 {
		up := int64(i) * ms / 2
		r.Upgraded(event.Upgraded{AtNs: up + 2*ms, LatencyNs: (2 + int64(i%7)) * ms})
		if i < 990 {
			age := 60_000*ms - 12*ms + int64(i%25)*ms
			r.Dropped(event.Dropped{AtNs: up + 2*ms + age, AgeNs: age, IdleNs: age, Kind: event.EOF})
		}
	}
	for i := range 20 {
		r.Failed(event.Failed{AtNs: int64(i) * ms, Cause: "http", Status: 400,
			Example: "HTTP/1.1 400 Bad Request: missing \"Upgrade: websocket\""})
	}
	res := r.Result(Meta{
		Scenario:     s,
		Version:      "v0.1.0-test",
		Target:       s.Target,
		HoldStart:    t0.Add(510 * time.Millisecond),
		End:          t0.Add(75510 * time.Millisecond),
		ProxyConfigs: []ProxyConfig{{Path: "scripts/nginx/default.conf", SHA256: "3f79bb7b435b05321651daefd374cdc681dc06faa65e374e38337b88ca046dea"}},
		Resources: Resources{PeakRSSBytes: 48 << 20, CPUSeconds: 1.25, RSSPerConnBytes: 9830,
			Procs: []ProcResources{{PID: 4242, PeakRSSBytes: 48 << 20, CPUSeconds: 1.25, RSSPerConnBytes: 9830, Held: 10}}},
		Warnings: []string{"the rate of 2000/s was not reached (1980/s)"},
	})
	Evaluate(res, []scenario.Expectation{
		{Raw: "upgraded>=100%", Kind: scenario.ExpectUpgraded, Ratio: 1},
		{Raw: "no-drops", Kind: scenario.ExpectNoDrops},
		{Raw: "drop-at=60s±2s,share>=95%", Kind: scenario.ExpectDropAt, Dur: time.Minute, Tol: 2 * time.Second, Share: 0.95},
		{Raw: "handshake-p99<5ms", Kind: scenario.ExpectHandshake, Percentile: "p99", Dur: 5 * time.Millisecond},
	})
	return res
}

func TestWriteTableGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteTable(&buf, fixtureResult()); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "table.golden", buf.Bytes())
	for i, line := range strings.Split(buf.String(), "\n") {
		// The verdict is one line by contract, however long.
		if n := utf8.RuneCountInString(line); n > tableWidth && i > 0 {
			t.Errorf("line %d is %d columns wide, want at most %d:\n%s", i+1, n, tableWidth, line)
		}
		if strings.Contains(line, "\x1b[") {
			t.Errorf("line %d has a terminal escape code", i+1)
		}
	}
}

func TestWriteTableEmptyResult(t *testing.T) {
	res := NewRecorder(t0, 0).Result(Meta{Scenario: scenario.Defaults()})
	var buf bytes.Buffer
	if err := WriteTable(&buf, res); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"DONE: 0/0 upgraded", "Handshake: none completed", "Failures: none", "Drops: none", "Expectations: none evaluated"} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("empty report lacks %q:\n%s", want, buf.String())
		}
	}
}

type failingWriter struct{ n int }

func (f *failingWriter) Write(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("disk full")
	}
	f.n--
	return len(p), nil
}

func TestWriteTableReportsWriteErrors(t *testing.T) {
	for n := range 4 {
		err := WriteTable(&failingWriter{n: n}, fixtureResult())
		if err == nil || !strings.Contains(err.Error(), "disk full") {
			t.Errorf("after %d good writes: err = %v, want the write error", n, err)
		}
	}
}

func TestVerdictLine(t *testing.T) {
	holdRes := func(r *Result) *Result {
		r.HoldStart = t0
		r.End = t0.Add(3 * time.Second)
		r.Verdict = "pass"
		return r
	}
	idle3 := func() *Result {
		r := resultWith(1000, 1000)
		r.Verdict = "fail"
		r.Counts.Dropped, r.Counts.Held, r.Drops.Count = 1000, 0, 1000
		r.Drops.Clusters = []Cluster{{Clock: "idle", AtMs: 3001, SpreadMs: 24, Count: 1000, Kind: "eof", Cause: "idle_timeout"}}
		return r
	}
	nginx60 := func() *Result {
		r := idle3()
		r.Counts = Counts{Attempted: 10000, Upgraded: 10000, Dropped: 10000}
		r.Drops.Count = 10000
		r.Drops.Clusters = []Cluster{{Clock: "idle", AtMs: 60_002, SpreadMs: 8, Count: 10000, Kind: "eof", Cause: "idle_timeout"}}
		return r
	}
	tests := []struct {
		name string
		res  *Result
		want string
	}{
		{"idle timeout of no known default", idle3(),
			"FAIL: 1000/1000 upgraded; 1000 dropped at 3.0 s ±12 ms (FIN, no close frame) — idle timeout: no known default matches"},
		{"nginx default", nginx60(),
			"FAIL: 10000/10000 upgraded; 10000 dropped at 60.0 s ±4 ms (FIN, no close frame) — idle timeout: matches nginx proxy_read_timeout default (60 s); " +
				"also matches the defaults of ingress-nginx, Apache, lighttpd, Varnish, nghttpx, AWS ALB"},
		{"clean hold", holdRes(resultWith(2000, 2000)),
			"PASS: 2000/2000 upgraded; 0 dropped over a 3s hold"},
		{"all failed 400", func() *Result {
			r := withFailures(resultWith(200, 0), Failure{Cause: "http", Status: 400, Count: 200})
			r.Verdict = "fail"
			return r
		}(), "FAIL: 0/200 upgraded; 200 failed: HTTP 400 (proxy stripped Upgrade/Connection?)"},
		{"mixed failures", func() *Result {
			r := withFailures(resultWith(300, 100), Failure{Cause: "refused", Count: 150}, Failure{Cause: "timeout", Count: 50})
			r.Verdict = "fail"
			r.Interrupted = true
			return r
		}(), "FAIL (interrupted): 100/300 upgraded; 200 failed, 150 of them: refused (nothing listening?) (+1 other cause); 0 dropped before the interrupt"},
		{"reload event, partial", func() *Result {
			r := resultWith(100, 100, repeat(40, 9000)...)
			r.Verdict = "fail"
			r.Drops.Clusters = []Cluster{
				{Clock: "wall", AtMs: 12_500, SpreadMs: 4, Count: 30, Kind: "close_1001", Cause: "event"},
				{Clock: "idle", AtMs: 9_000, SpreadMs: 4, Count: 10, Kind: "eof", Cause: "idle_timeout"},
			}
			return r
		}(), "FAIL: 100/100 upgraded; 40 dropped, 30 of them at 12.5 s into the run ±2 ms (close frame 1001) — an event (reload, restart, backend death?); 1 more cluster"},
		{"scattered drops", func() *Result {
			r := resultWith(10, 10, 1200, 70_000)
			r.Verdict = "fail"
			return r
		}(), "FAIL: 10/10 upgraded; 2 dropped at scattered times (ages 1.2 s to 70.0 s)"},
		{"the hold is the hold, not the closing after it", func() *Result {
			r := holdRes(resultWith(10, 10))
			r.HoldEnd = t0.Add(time.Second)
			return r
		}(), "PASS: 10/10 upgraded; 0 dropped over a 1s hold"},
		{"unmet expectations are named", func() *Result {
			r := holdRes(resultWith(10, 10))
			r.Verdict = "fail"
			r.Expectations = []Expectation{{Want: "no-drops", Pass: true}, {Want: "handshake-p99<5ms", Pass: false}}
			return r
		}(), "FAIL: 10/10 upgraded; 0 dropped over a 3s hold; unmet: handshake-p99<5ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := VerdictLine(tt.res); got != tt.want {
				t.Errorf("VerdictLine =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./report -run %s -update to create it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run with -update if the change is intended):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}
