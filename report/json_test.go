package report

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wshold/wshold/internal/event"
	"github.com/wshold/wshold/scenario"
)

func roundTrip(t *testing.T, res *Result) *Result {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteJSON(&buf, res); err != nil {
		t.Fatal(err)
	}
	back, err := ReadResult(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return back
}

func TestJSONRoundTripFixture(t *testing.T) {
	res := fixtureResult()
	if back := roundTrip(t, res); !reflect.DeepEqual(back, res) {
		t.Errorf("round trip changed the result:\n got %+v\nwant %+v", back, res)
	}
}

// Any result a Recorder builds must survive WriteJSON and ReadResult
// unchanged, histograms included: merge and report re-read saved files.
func TestJSONRoundTripRandomRuns(t *testing.T) {
	for seed := range uint64(12) {
		rng := rand.New(rand.NewPCG(seed, 3))
		r := NewRecorder(t0, 64)
		s := scenario.Defaults()
		s.Ping = scenario.Duration(time.Duration(rng.IntN(3)) * 10 * time.Second)
		s.PingFraction = 0.5
		alive := 0
		for range rng.IntN(300) {
			at := rng.Int64N(90 * int64(time.Second))
			switch k := rng.IntN(3); {
			case k == 0 || (k == 2 && alive == 0): // only an upgraded connection drops
				r.Upgraded(event.Upgraded{AtNs: at, LatencyNs: rng.Int64N(int64(time.Second))})
				alive++
			case k == 1:
				r.Failed(event.Failed{AtNs: at, Cause: []string{"http", "refused", "timeout"}[rng.IntN(3)], Status: 400 + rng.IntN(3), Example: "x <b>&"})
			default:
				alive--
				age := rng.Int64N(at + 1)
				r.Dropped(event.Dropped{AtNs: at, AgeNs: age, IdleNs: rng.Int64N(age + 1), Kind: event.DropKind(1 + rng.IntN(5)),
					CloseCode: uint16(1000 + rng.IntN(12)), Pinging: rng.IntN(2) == 0})
			}
		}
		res := r.Result(Meta{Scenario: s, End: t0.Add(95 * time.Second), HoldStart: t0.Add(time.Second)})
		Evaluate(res, []scenario.Expectation{{Raw: "no-drops", Kind: scenario.ExpectNoDrops}})
		if back := roundTrip(t, res); !reflect.DeepEqual(back, res) {
			t.Errorf("seed %d: round trip changed the result", seed)
		}
		for _, l := range []Latency{res.Handshake, res.Drops.Age, res.Drops.Idle} {
			h, err := DecodeHistogram(l.Histogram)
			if err != nil || h.TotalCount() != l.Count {
				t.Errorf("seed %d: histogram decodes to %v values (err %v), want %d", seed, h.TotalCount(), err, l.Count)
			}
		}
	}
}

func TestWriteJSONKeepsMarkupReadable(t *testing.T) {
	res := &Result{Schema: Schema, Failures: []Failure{{Cause: "http", Status: 502, Example: "<html>502 Bad Gateway</html>"}}}
	var buf bytes.Buffer
	if err := WriteJSON(&buf, res); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "<html>502") {
		t.Errorf("HTML escaped in the result file:\n%s", buf.String())
	}
	if !strings.Contains(buf.String(), "\n  \"schema\": \"wshold.result/v1\"") {
		t.Errorf("not indented, or schema missing:\n%s", buf.String())
	}
}

func TestReadResultRejects(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"not JSON", "hello", "not JSON"},
		{"an array", `[{"schema":"wshold.result/v1"}]`, "JSON, but not an object, so not a wshold result"},
		{"no schema", `{"counts":{}}`, `no "schema" field`},
		{"other version", `{"schema":"wshold.result/v2"}`, `schema "wshold.result/v2" is not "wshold.result/v1"`},
		{"other tool", `{"schema":"vegeta"}`, "not a wshold result"},
		{"wrong type", `{"schema":"wshold.result/v1","counts":{"attempted":"many"}}`, "read result"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadResult(strings.NewReader(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestReadResultAcceptsUnknownFields(t *testing.T) {
	// A newer v1 may add fields; an older reader must not choke on them.
	res, err := ReadResult(strings.NewReader(`{"schema":"wshold.result/v1","counts":{"attempted":3,"upgraded":3,"held":3},"handshake":{"count":3},"new_field":{"x":1}}`))
	if err != nil || res.Counts.Upgraded != 3 {
		t.Fatalf("res %+v, err %v", res, err)
	}
}

func TestReadResultFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r.json")
	var buf bytes.Buffer
	if err := WriteJSON(&buf, fixtureResult()); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := ReadResultFile(path)
	if err != nil || res.Scenario.Name != "nginx-default" {
		t.Fatalf("res %v, err %v", res, err)
	}
	if _, err := ReadResultFile(filepath.Join(dir, "missing.json")); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("missing file: err = %v, want it to name the file", err)
	}
	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte(`{"schema":"x"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadResultFile(bad); err == nil || !strings.Contains(err.Error(), "bad.json") {
		t.Errorf("bad file: err = %v, want it to name the file", err)
	}
}
