package integration

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/wshold/wshold/report"
)

// Hostile and broken servers, through the whole path (scenario → runner →
// engine → report) against the built-in target's scripted misbehaviour:
// every connection ends as a classified failure or drop with a stable code,
// nothing crashes or stalls, and the count invariants hold (run checks
// them).
func TestHostileServersEndAsClassifiedFailuresOrDrops(t *testing.T) {
	t.Parallel()
	const n = 20
	tests := []struct {
		name  string
		query string
		// Exactly one of: every attempt fails with cause (and status), or
		// every connection upgrades and drops with kind.
		cause  string
		status int
		kind   string
	}{
		// Legal (lengths go to 2^63-1): discarded as it comes, until the FIN.
		{"frame header announcing 2^62 bytes", "bigframe=1&fin_after=1s", "", 0, "eof"},
		{"reserved opcode", "badopcode=1", "", 0, "protocol_error"},
		{"reserved bit without an extension", "rsv=1", "", 0, "protocol_error"},
		{"masked server frame", "masked=1", "", 0, "protocol_error"},
		{"close code 999", "closecode=999", "", 0, "protocol_error"},
		{"close code 1006, which must not be sent", "closecode=1006", "", 0, "protocol_error"},
		{"101 then an immediate close frame", "close=1001", "", 0, "close_1001"},
		{"101 then an immediate FIN", "fin_after=1ms", "", 0, "eof"},
		{"data flood, then FIN", "flood=1&fin_after=1s", "", 0, "eof"},
		{"garbage instead of HTTP", "garbage=1", "bad_response", 0, ""},
		{"101 with a wrong Sec-WebSocket-Accept", "badaccept=1", "bad_accept", 0, ""},
		{"101 without Upgrade: websocket", "noupgradehdr=1", "bad_upgrade", 0, ""},
		{"never answers the upgrade", "noupgrade=1", "timeout", 0, ""},
		{"403 instead of 101", "status=403", "http", 403, ""},
	}
	target := backend(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// Every case ends every connection, and the run ends with the
			// last: the hold only bounds a harness that missed an end.
			const hold = 10 * time.Second
			sc := scenarioFor("ws://"+target+"/ws?"+tc.query, n, 1000, hold)
			sc.HandshakeTimeout = scenarioDuration(time.Second)
			began := time.Now()
			res := run(t, sc)
			// No stall: at most the hold, the closing handshake's bound
			// and a generous margin for a loaded machine.
			if took := time.Since(began); took > hold+30*time.Second {
				t.Fatalf("the run took %v", took)
			}
			if res.Verdict != "fail" {
				t.Errorf("verdict %q, want fail", res.Verdict)
			}
			if tc.cause != "" {
				if res.Counts.Failed != n || len(res.Failures) != 1 || res.Failures[0].Cause != tc.cause || res.Failures[0].Status != tc.status {
					t.Fatalf("failures %+v counts %+v, want all %d attempts failed with cause %q status %d", res.Failures, res.Counts, n, tc.cause, tc.status)
				}
				return
			}
			if res.Counts.Upgraded != n || res.Drops.ByKind[tc.kind] != n {
				t.Fatalf("counts %+v by kind %v failures %+v, want all %d upgraded and dropped as %s", res.Counts, res.Drops.ByKind, res.Failures, n, tc.kind)
			}
		})
	}
}

// A reset right behind the 101 may overtake the harness reading the 101:
// then the attempt fails instead of dropping. Either way it is a reset.
func TestHostileResetRightAfterUpgradeIsAReset(t *testing.T) {
	t.Parallel()
	const n = 20
	res := run(t, scenarioFor("ws://"+backend(t)+"/ws?rst_after=1ms", n, 1000, 10*time.Second))
	var failedReset int64
	for _, f := range res.Failures {
		if f.Cause == "reset" {
			failedReset = f.Count
		}
	}
	if got := res.Drops.ByKind["reset"] + failedReset; got != n || res.Counts.Held != 0 {
		t.Fatalf("counts %+v, by kind %v, failures %+v: want all %d ended by a reset", res.Counts, res.Drops.ByKind, res.Failures, n)
	}
}

// Data is discarded as it arrives, never buffered: against a server that
// floods every connection, and one that announces a (legal) 2^62-byte
// frame, the harness's peak RSS stays within 50 MiB of a quiet run's, and
// the run ends with classified drops and exit status 1. The harness runs as a process of
// its own, against `wshold serve` in another, so that its peak RSS is its
// alone.
func TestHostileFloodAndHugeFrameKeepHarnessMemoryFlat(t *testing.T) {
	t.Parallel()
	bin := buildWsholdForTest(t)
	addr := startServeProcess(t, bin)
	dir := t.TempDir()
	// The hold outlasts the flood's end by far: the harness reads a flooded
	// connection's queued data before it sees the FIN, and a FIN seen after
	// the hold is no drop. The run ends once every connection has dropped.
	runOne := func(name, query string, wantCode int) *report.Result {
		t.Helper()
		out := filepath.Join(dir, name+".json")
		got := runCLI(t, bin, 2*time.Minute, "run", "-c", "200", "-r", "1000", "--hold", "15s", "--progress", "never", "-q",
			"-o", out, "ws://"+addr+"/ws"+query)
		if got.Code != wantCode {
			t.Fatalf("%s: exit %d, want %d\nstderr:\n%s", name, got.Code, wantCode, got.Stderr)
		}
		return mustReadResult(t, out)
	}
	quiet := runOne("quiet", "?fin_after=2s", 1) // the same run without the flood
	if quiet.Drops.ByKind["eof"] != 200 || quiet.Resources.PeakRSSBytes <= 0 {
		t.Fatalf("quiet run: counts %+v resources %+v", quiet.Counts, quiet.Resources)
	}
	const budget = 50 << 20
	for _, tc := range []struct{ name, query, kind string }{
		{"flood", "?flood=1&fin_after=2s", "eof"},
		{"bigframe", "?bigframe=1&fin_after=2s", "eof"},
	} {
		res := runOne(tc.name, tc.query, 1)
		if res.Drops.ByKind[tc.kind] != 200 {
			t.Errorf("%s: by kind %v, want 200 %s", tc.name, res.Drops.ByKind, tc.kind)
		}
		if grew := res.Resources.PeakRSSBytes - quiet.Resources.PeakRSSBytes; grew > budget {
			t.Errorf("%s: peak RSS %d MiB against %d MiB quiet: grew %d MiB, want at most 50",
				tc.name, res.Resources.PeakRSSBytes>>20, quiet.Resources.PeakRSSBytes>>20, grew>>20)
		}
		t.Logf("%s: peak RSS %d KiB (quiet %d KiB)", tc.name, res.Resources.PeakRSSBytes>>10, quiet.Resources.PeakRSSBytes>>10)
	}
}
