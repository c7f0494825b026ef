package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
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

func TestStartAtRefusesWhatIsNotATime(t *testing.T) {
	for _, bad := range []string{"10:00", "tomorrow", time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)} {
		var out, errb bytes.Buffer
		if code := dispatch([]string{"run", "--start-at", bad}, &out, &errb); code != exitUsage || !strings.Contains(errb.String(), "--start-at") {
			t.Errorf("--start-at %q: exit %d, stderr %q; want 2 naming the flag", bad, code, errb.String())
		}
	}
}
