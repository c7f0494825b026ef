package report

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wshold/wshold/internal/event"
)

// markedResult clusters events the way a Recorder does and attributes marks.
func markedResult(events []DropEvent, marks ...Mark) *Result {
	res := &Result{Verdict: "fail", Marks: marks}
	res.Counts = Counts{Attempted: int64(len(events)), Upgraded: int64(len(events)), Dropped: int64(len(events))}
	res.Drops = Drops{Count: int64(len(events)), Events: events, ByKind: map[string]int64{}}
	for _, e := range events {
		res.Drops.ByKind[e.Kind]++
	}
	Recluster(res)
	AttributeMarks(res)
	return res
}

const caddyReload = "--at 2s: caddy reload --config Caddyfile --force"

func TestAttributeMarks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		events []DropEvent
		marks  []Mark
		// wantCause and wantHint are checked on the largest cluster.
		wantCause string
		wantHint  []string
		// wantVerdict must be in the verdict line, notVerdict must not.
		wantVerdict, notVerdict string
	}{{
		name: "caddy reload: wall cluster just after the mark",
		// 300 connections opened over 150 ms, all closed 100 ms after the
		// reload at 2.65 s.
		events:      dropGen{n: 300, openSpan: 150, wallMs: 2750, jitter: 3, kind: "close_1001", seed: 1}.events(),
		marks:       []Mark{{AtMs: 2650, Label: caddyReload}},
		wantCause:   "event",
		wantHint:    []string{"follows " + caddyReload, "at 2.6 s", "close 1001"},
		wantVerdict: "— event: --at 2s: caddy reload",
	}, {
		name:        "nginx worker_shutdown_timeout: 3.1 s after the reload",
		events:      dropGen{n: 200, openSpan: 400, wallMs: 4150, jitter: 4, kind: "eof", seed: 2}.events(),
		marks:       []Mark{{AtMs: 1000, Label: "--at 1s: kill -HUP 4242"}},
		wantCause:   "event",
		wantHint:    []string{"follows --at 1s: kill -HUP 4242", "3.15 s before the drops"},
		wantVerdict: "event: --at 1s: kill -HUP 4242",
	}, {
		name:   "the latest of two earlier marks is named",
		events: dropGen{n: 100, openSpan: 400, wallMs: 5100, jitter: 2, kind: "eof", seed: 3}.events(),
		marks: []Mark{
			{AtMs: 5000, Label: "--at 4s: kill -KILL 99"},
			{AtMs: 1000, Label: "--at 0s: true"},
		},
		wantCause:   "event",
		wantHint:    []string{"follows --at 4s: kill -KILL 99"},
		wantVerdict: "event: --at 4s: kill -KILL 99",
		notVerdict:  "--at 0s",
	}, {
		name: "connections opened together: the age cluster ties with the wall clock, the mark decides",
		// Ten connections opened within 2 ms, all cut 1.5 s after a kill.
		events:      dropGen{n: 10, openFrom: 500, openSpan: 2, wallMs: 3000, jitter: 1, kind: "eof", seed: 4}.events(),
		marks:       []Mark{{AtMs: 1500, Label: "--at 1s: kill -KILL 77"}},
		wantCause:   "event",
		wantHint:    []string{"follows --at 1s: kill -KILL 77"},
		wantVerdict: "event: --at 1s: kill -KILL 77",
	}, {
		name: "an idle timeout after a harmless reload stays an idle timeout",
		// Opened over 800 ms, each cut at age 3 s: tight in age, 800 ms
		// wide on the wall clock, 1 to 2 s after the mark.
		events:      dropGen{n: 400, openFrom: 100, openSpan: 800, ageMs: 3000, jitter: 3, kind: "eof", seed: 5}.events(),
		marks:       []Mark{{AtMs: 1500, Label: "--at 1s: kill -HUP 4242"}},
		wantCause:   "idle_timeout",
		wantHint:    []string{"idle timeout of 3.00 s"},
		wantVerdict: "idle timeout",
		notVerdict:  "kill -HUP",
	}, {
		name:        "drops before the mark do not follow it",
		events:      dropGen{n: 100, openSpan: 300, wallMs: 2000, jitter: 2, kind: "eof", seed: 6}.events(),
		marks:       []Mark{{AtMs: 2500, Label: "--at 2s: kill -HUP 1"}},
		wantCause:   "event",
		wantHint:    []string{"an event at that moment"},
		notVerdict:  "kill -HUP",
		wantVerdict: "an event (reload, restart, backend death?)",
	}, {
		name:        "drops long after the mark do not follow it",
		events:      dropGen{n: 100, openSpan: 300, wallMs: 30_000, jitter: 2, kind: "eof", seed: 7}.events(),
		marks:       []Mark{{AtMs: 2000, Label: "--at 1s: kill -HUP 1"}},
		wantCause:   "event",
		wantHint:    []string{"an event at that moment"},
		notVerdict:  "kill -HUP",
		wantVerdict: "an event (reload, restart, backend death?)",
	}, {
		name:        "no marks: nothing changes",
		events:      dropGen{n: 100, openSpan: 300, wallMs: 2000, jitter: 2, kind: "eof", seed: 8}.events(),
		wantCause:   "event",
		wantHint:    []string{"an event at that moment"},
		wantVerdict: "an event (reload, restart, backend death?)",
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res := markedResult(tc.events, tc.marks...)
			if len(res.Drops.Clusters) == 0 {
				t.Fatal("no cluster found")
			}
			c := res.Drops.Clusters[0]
			if c.Cause != tc.wantCause {
				t.Errorf("cause %q, want %q; cluster %+v", c.Cause, tc.wantCause, c)
			}
			for _, want := range tc.wantHint {
				if !strings.Contains(c.Hint, want) {
					t.Errorf("hint %q lacks %q", c.Hint, want)
				}
			}
			line := VerdictLine(res)
			if !strings.Contains(line, tc.wantVerdict) {
				t.Errorf("verdict %q lacks %q", line, tc.wantVerdict)
			}
			if tc.notVerdict != "" && strings.Contains(line, tc.notVerdict) {
				t.Errorf("verdict %q names %q, which the drops do not follow", line, tc.notVerdict)
			}

			// Attributing again (as merge does after the recorder) is a no-op.
			before := append([]Cluster(nil), res.Drops.Clusters...)
			AttributeMarks(res)
			for i := range before {
				if !reflect.DeepEqual(before[i], res.Drops.Clusters[i]) {
					t.Errorf("second AttributeMarks changed cluster %d: %+v -> %+v", i, before[i], res.Drops.Clusters[i])
				}
			}
		})
	}
}

// A long command is cut in the verdict line, which stays one line; the
// hint keeps it whole.
func TestVerdictLineShortensALongMark(t *testing.T) {
	t.Parallel()
	label := "--at 2s: XDG_CONFIG_HOME=/tmp/wshold-labtest-Caddyfile-123456 caddy reload --config /tmp/wshold-labtest-Caddyfile-123456/Caddyfile --adapter caddyfile --force"
	res := markedResult(dropGen{n: 50, openSpan: 100, wallMs: 2200, jitter: 2, kind: "close_1001", seed: 9}.events(),
		Mark{AtMs: 2100, Label: label})
	line := VerdictLine(res)
	if !strings.Contains(line, "event: --at 2s: XDG_CONFIG_HOME") || !strings.Contains(line, "…") || strings.Contains(line, "--force") {
		t.Errorf("verdict %q: want the label cut with an ellipsis", line)
	}
	if !strings.Contains(res.Drops.Clusters[0].Hint, label) {
		t.Errorf("hint %q lacks the whole label", res.Drops.Clusters[0].Hint)
	}
}

// The Recorder attributes marks in every Result it builds, so a run's
// terminal verdict, JSON and checkpoints all say it.
func TestRecorderResultAttributesMarks(t *testing.T) {
	t.Parallel()
	start := time.Unix(1_700_000_000, 0)
	rec := NewRecorder(start, 20)
	for i := range 20 {
		up := int64(100+i) * int64(time.Millisecond)
		rec.Upgraded(event.Upgraded{AtNs: up, LatencyNs: int64(time.Millisecond)})
		at := int64(2100+i%3) * int64(time.Millisecond)
		rec.Dropped(event.Dropped{AtNs: at, AgeNs: at - up, IdleNs: at - up, Kind: event.CloseFrame, CloseCode: 1001})
	}
	res := rec.Result(Meta{Marks: []Mark{{AtMs: 2000, Label: "--at 1.5s: caddy reload"}}})
	if len(res.Drops.Clusters) != 1 {
		t.Fatalf("clusters %+v, want one", res.Drops.Clusters)
	}
	if c := res.Drops.Clusters[0]; c.Cause != "event" || !strings.Contains(c.Hint, "follows --at 1.5s: caddy reload") {
		t.Fatalf("cluster %+v: want cause event and a hint naming the mark", c)
	}
}

// Merged shards keep the attribution: Merge reclusters, then attributes.
func TestMergeAttributesMarks(t *testing.T) {
	t.Parallel()
	start := time.Unix(1_700_000_000, 0)
	var shards []*Result
	for s := range 2 {
		rec := NewRecorder(start, 10)
		for i := range 10 {
			up := int64(100+10*s+i) * int64(time.Millisecond)
			rec.Upgraded(event.Upgraded{AtNs: up, LatencyNs: int64(time.Millisecond)})
			at := int64(3000+i%2) * int64(time.Millisecond)
			rec.Dropped(event.Dropped{AtNs: at, AgeNs: at - up, IdleNs: at - up, Kind: event.EOF})
		}
		res := rec.Result(Meta{Start: start, End: start.Add(5 * time.Second), Marks: []Mark{{AtMs: 2900, Label: "--at 2s: kill -KILL 12"}}})
		Evaluate(res, nil)
		shards = append(shards, res)
	}
	out, err := Merge(shards)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Drops.Clusters) != 1 {
		t.Fatalf("clusters %+v, want one", out.Drops.Clusters)
	}
	if c := out.Drops.Clusters[0]; c.Cause != "event" || !strings.Contains(c.Hint, "follows --at 2s: kill -KILL 12") {
		t.Fatalf("merged cluster %+v: want cause event and a hint naming the mark", c)
	}
}

// Connections opened within 100 ms of each other that all drop within
// 80 ms: a timer and an event are equally good stories (the moments are a
// little tighter than the ages, not clearly). The cluster says both, and
// how to tell them apart; an --at mark right before them settles it.
func TestBatchOfConnectionsOpenedTogetherIsAnEventOrATimer(t *testing.T) {
	t.Parallel()
	ev := dropGen{n: 100, openSpan: 100, wallMs: 3440, jitter: 40, kind: "eof", seed: 10}.events()
	res := markedResult(ev)
	c := res.Drops.Clusters[0]
	if c.Count != 100 || c.Cause != "event" || c.Alternative != "idle_timeout" {
		t.Fatalf("cluster %+v: want all 100 as an event with an idle timeout as the close alternative", c)
	}
	if line := VerdictLine(res); !strings.Contains(line, "an event, or an idle timeout of 3.39 s: open over a longer ramp (-r) to tell") {
		t.Errorf("verdict %q should name both and how to tell them apart", line)
	}
	// The same drops right after an --at command are that command's.
	res = markedResult(ev, Mark{AtMs: 3300, Label: "--at 3s: kill -KILL 5"})
	if c := res.Drops.Clusters[0]; c.Cause != "event" || c.Alternative != "" || !strings.Contains(c.Hint, "follows --at 3s: kill -KILL 5") {
		t.Fatalf("cluster %+v: want the drops attributed to the mark, with no alternative", c)
	}
}

// At 60 s, 300 connections opened over 0.3 s and cut in one 0.1 s batch:
// a busy nginx firing its 60 s timers late, or a reload at that moment.
// Three times tighter in time than in age is not enough to rule out the
// timer: the verdict names the event and the timer, and claims no match.
func TestLateBatchAtSixtySecondsNamesBothAndClaimsNoMatch(t *testing.T) {
	t.Parallel()
	ev := dropGen{n: 300, openSpan: 300, wallMs: 60_250, jitter: 50, kind: "eof", seed: 11}.events()
	res := markedResult(ev)
	c := res.Drops.Clusters[0]
	if c.Count != 300 || c.Cause != "event" || c.Alternative != "idle_timeout" {
		t.Fatalf("cluster %+v: want all 300 as an event, with the idle timeout as the close alternative", c)
	}
	if !strings.Contains(c.Hint, "if it is a timer it matches nginx proxy_read_timeout default (60 s)") {
		t.Errorf("hint should say which default the timer would be: %s", c.Hint)
	}
	if line := VerdictLine(res); strings.Contains(line, "matches") || !strings.Contains(line, "an event, or an idle timeout of 60.10 s") {
		t.Errorf("verdict %q should name both and claim no match", line)
	}
}

// The same late batch with nginx known to be in front: its 60 s default
// matches the timer, which is then the reading, the event its alternative.
func TestLateBatchIsTheTimerOfTheProxyInFront(t *testing.T) {
	t.Parallel()
	ev := dropGen{n: 300, openSpan: 300, wallMs: 60_250, jitter: 50, kind: "eof", seed: 11}.events()
	cl := findClusters(ev, clusterContext{proxy: "nginx"})
	if len(cl) != 1 || cl[0].Cause != "idle_timeout" || cl[0].Alternative != "event" || cl[0].Clock == "wall" {
		t.Fatalf("clusters %+v: want nginx's idle timeout, with an event as the alternative", cl)
	}
	if len(cl[0].Matches) == 0 || cl[0].Matches[0] != "nginx proxy_read_timeout default (60 s)" {
		t.Errorf("matches %q: want nginx's default first", cl[0].Matches)
	}
	// A proxy in front whose defaults do not match changes nothing.
	if cl := findClusters(ev, clusterContext{proxy: "caddy"}); len(cl) != 1 || cl[0].Cause != "event" {
		t.Errorf("clusters %+v: with Caddy in front, still an event", cl)
	}
}
