package report

import (
	"bytes"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wshold/wshold/scenario"
)

func TestWriteCompareGolden(t *testing.T) {
	var b bytes.Buffer
	err := WriteCompare(&b, []*Result{outNginxDefault(t), outFixed(t), outBroken(t)},
		[]string{"default", "timeout-86400"})
	if err != nil {
		t.Fatal(err)
	}
	outGolden(t, "compare_three_runs.golden", b.Bytes())
}

func TestWriteCompareColumns(t *testing.T) {
	var b bytes.Buffer
	if err := WriteCompare(&b, []*Result{outNginxDefault(t), outFixed(t)}, []string{"default", "timeout-86400"}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	header := strings.SplitN(out, "\n", 4)[2] // after the title and the top border
	if !strings.Contains(header, "default") || !strings.Contains(header, "timeout-86400") {
		t.Errorf("header row %q should name each run's column as given", header)
	}
	for _, want := range []string{"FAIL", "PASS", "60.0 s ±4 ms eof ×1000", "3f2a9c1b5d7e", "9b1c77e0aa3f", "Differences that matter:"} {
		if !strings.Contains(out, want) {
			t.Errorf("compare output lacks %q:\n%s", want, out)
		}
	}
}

// Runs made with other settings say so: a Settings table marks each cell
// that is not as in the first run, and the differences name the settings.
func TestWriteCompareShowsTheSettingsThatDiffer(t *testing.T) {
	a, b := outFixed(t), outFixed(t)
	b.Scenario.Ping = scenario.Duration(30 * time.Second)
	b.Scenario.Hold = scenario.Duration(90 * time.Second)
	b.Scenario.Rate = 500
	var out bytes.Buffer
	if err := WriteCompare(&out, []*Result{a, b}, []string{"before", "after"}); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	settings := text[strings.Index(text, "Settings (* = not as in before)"):]
	for _, want := range []string{
		"| rate              | 1000/s", "500/s *",
		"| hold              | 1m15s", "1m30s *",
		"| ping              | off", "every 30s *",
		"| pong timeout      | 10s", // shown once a run pings
		"settings: rate 1000/s in before, 500/s in after; hold 1m15s in before, 1m30s in after; ping off in before, every 30s in after",
		"+-------------------+", // the ASCII tables of the other reports
	} {
		if !strings.Contains(settings, want) {
			t.Errorf("compare output lacks %q:\n%s", want, text)
		}
	}
	if !regexp.MustCompile(`\| handshake timeout \| 10s +\| 10s +\|`).MatchString(settings) {
		t.Errorf("equal settings should be shown unmarked:\n%s", settings)
	}
	if strings.Contains(text, "─") || strings.Contains(text, "│") {
		t.Errorf("compare draws box characters, not the ASCII tables of the other reports:\n%s", text)
	}
}

func TestWriteCompareSadPaths(t *testing.T) {
	if err := WriteCompare(&bytes.Buffer{}, nil, nil); err == nil {
		t.Error("no results accepted")
	}
	if err := WriteCompare(&bytes.Buffer{}, []*Result{outFixed(t), nil}, nil); err == nil {
		t.Error("a nil result accepted")
	}
}

func TestWriteCompareIdenticalRuns(t *testing.T) {
	var b bytes.Buffer
	if err := WriteCompare(&b, []*Result{outFixed(t), outFixed(t)}, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "run 1") || !strings.Contains(b.String(), "No differences that matter.") {
		t.Errorf("identical runs: want default names and no differences:\n%s", b.String())
	}
}

// compareEdit derives runs A and B from the same base result.
type compareEdit func(a, b *Result)

func TestDifferences(t *testing.T) {
	cluster := func(at float64, kind string) Cluster {
		return Cluster{Clock: "age", AtMs: at, SpreadMs: 8, Count: 1000, Kind: kind}
	}
	proto := outFixed(t)
	proto.Handshake.P99Ms = 12
	proto.Drops.Clusters = []Cluster{cluster(60000, "eof")}
	proto.Failures = []Failure{{Cause: "http", Status: 502, Count: 3}}
	proto.Counts.Failed += 3
	proto.Counts.Attempted += 3
	base := func() *Result { return outClone(t, proto) }
	for _, tc := range []struct {
		name string
		edit compareEdit
		want []string // substrings, one per expected difference, in order
	}{
		{"identical", func(_, _ *Result) {}, nil},
		{"verdict", func(_, r *Result) { r.Verdict = "fail" }, []string{"verdict: run 1 PASS, run 2 FAIL"}},
		{"cluster gone", func(_, r *Result) { r.Drops.Clusters = nil },
			[]string{"drop cluster at 60.0 s (since upgrade, eof ×1000) in run 1, none near it in run 2"}},
		{"cluster new", func(_, r *Result) { r.Drops.Clusters = append(r.Drops.Clusters, cluster(100000, "close_1001")) },
			[]string{"drop cluster at 100.0 s (since upgrade, close_1001 ×1000) in run 2, none near it in run 1"}},
		{"cluster moved 60 s to 75 s", func(_, r *Result) { r.Drops.Clusters = []Cluster{cluster(75000, "eof")} },
			[]string{"at 60.0 s", "at 75.0 s"}},
		{"same timeout, jitter", func(_, r *Result) { r.Drops.Clusters = []Cluster{cluster(60400, "eof")} }, nil},
		{"same timeout on another clock", func(_, r *Result) {
			c := cluster(60000, "eof")
			c.Clock = "wall"
			r.Drops.Clusters = []Cluster{c}
		}, []string{"in run 1, none near it in run 2", "at the same moment"}},
		{"cluster kind changed", func(_, r *Result) { r.Drops.Clusters = []Cluster{cluster(60000, "close_1001")} },
			[]string{"drop cluster at 60.0 s: run 1 drops by FIN, no close frame, run 2 by close frame 1001"}},
		{"p99 regression", func(_, r *Result) { r.Handshake.P99Ms = 40 },
			[]string{"handshake p99: run 1 12.0 ms, run 2 40.0 ms (higher, +233 %)"}},
		{"p99 improvement", func(_, r *Result) { r.Handshake.P99Ms = 3 },
			[]string{"handshake p99: run 1 12.0 ms, run 2 3.00 ms (lower, -75 %)"}},
		{"p99 +40 % but under 5 ms", func(_, r *Result) { r.Handshake.P99Ms = 16.8 }, nil},
		{"p99 +6 ms but under 20 %", func(a, b *Result) { a.Handshake.P99Ms, b.Handshake.P99Ms = 400, 406 }, nil},
		{"p99 without upgrades", func(_, r *Result) { r.Handshake.Count, r.Handshake.P99Ms = 0, 0 }, nil},
		{"config hash changed", func(_, r *Result) { r.ProxyConfigs[0].SHA256 = "aaaabbbbccccdddd" },
			[]string{"proxy config scripts/nginx/default.conf changed: run 1 9b1c77e0aa3f, run 2 aaaabbbbcccc"}},
		{"config only in one", func(_, r *Result) {
			r.ProxyConfigs = append(r.ProxyConfigs, ProxyConfig{Path: "haproxy.cfg", SHA256: "0123456789abcdef0123"})
		}, []string{"proxy config haproxy.cfg (0123456789ab) only in run 2"}},
		{"failure causes differ", func(_, r *Result) { r.Failures = []Failure{{Cause: "http", Status: 400, Count: 3}} },
			[]string{"failure causes: run 1 http 502, run 2 http 400"}},
		{"failure counts differ, causes same", func(_, r *Result) { r.Failures[0].Count = 300 }, nil},
		{"conns differ", func(_, r *Result) { r.Scenario.Conns = 5000 }, []string{"conns: run 1 ran 1000, run 2 ran 5000"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := base(), base()
			tc.edit(a, b)
			got := Differences([]*Result{a, b})
			if len(got) != len(tc.want) {
				t.Fatalf("got %d differences, want %d:\n%s", len(got), len(tc.want), strings.Join(got, "\n"))
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("difference %d = %q, want it to contain %q", i, got[i], w)
				}
			}
		})
	}
}

func TestDifferencesComparesEachRunWithTheFirst(t *testing.T) {
	a, b, c := outFixed(t), outFixed(t), outFixed(t)
	c.Verdict = "fail"
	got := Differences([]*Result{a, b, c})
	if !slices.Equal(got, []string{"verdict: run 1 PASS, run 3 FAIL"}) {
		t.Errorf("got %q", got)
	}
	if d := Differences([]*Result{a}); d != nil {
		t.Errorf("one run has no differences, got %q", d)
	}
}

// Runs that sent timed messages are compared on them too: counts, RTT, and
// a p99 that moved past the thresholds, or messages lost in only one run.
// Runs without messages get no such rows.
func TestWriteCompareShowsMessagesWhenARunSentThem(t *testing.T) {
	a, b := outFixed(t), outFixed(t)
	a.Messages = &Messages{Sent: 9000, Received: 9000, RTT: Latency{Count: 9000, P50Ms: 0.4, P99Ms: 3}}
	b.Messages = &Messages{Sent: 9000, Received: 8990, Lost: 10, RTT: Latency{Count: 8990, P50Ms: 0.5, P99Ms: 40}}
	var out bytes.Buffer
	if err := WriteCompare(&out, []*Result{a, b}, []string{"before", "after"}); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{"messages sent / lost", "9000 / 0", "9000 / 10", "message RTT p99",
		"message RTT p99: before 3.00 ms, after 40.0 ms (+1233 %)", "messages lost: before 0, after 10"} {
		if !strings.Contains(text, want) {
			t.Errorf("compare output lacks %q:\n%s", want, text)
		}
	}

	var plain bytes.Buffer
	if err := WriteCompare(&plain, []*Result{outFixed(t), outFixed(t)}, nil); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(plain.String(), "messages") || strings.Contains(plain.String(), "reconnects") {
		t.Errorf("runs without messages or reconnects got rows for them:\n%s", plain.String())
	}
}
