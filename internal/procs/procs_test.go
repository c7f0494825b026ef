package procs

import (
	"testing"
	"time"

	"github.com/wshold/wshold/internal/runner"
	"github.com/wshold/wshold/report"
)

// The workers checkpoint at the user's --checkpoint-interval, sooner only
// when the parent's progress or live figures need it.
func TestWorkerCheckpointInterval(t *testing.T) {
	progress := func(runner.Progress) {}
	live := func(*report.Result) {}
	for _, tc := range []struct {
		name string
		o    Options
		want time.Duration
	}{
		{"default", Options{}, 10 * time.Second},
		{"as asked, no progress", Options{CheckpointInterval: 30 * time.Second, ProgressInterval: time.Second}, 30 * time.Second},
		{"sooner than progress", Options{CheckpointInterval: time.Second, ProgressInterval: 5 * time.Second, Progress: progress}, time.Second},
		{"progress needs it sooner", Options{CheckpointInterval: 30 * time.Second, ProgressInterval: 5 * time.Second, Progress: progress}, 5 * time.Second},
		{"metrics need it sooner", Options{CheckpointInterval: 30 * time.Second, ProgressInterval: 2 * time.Second, Live: live}, 2 * time.Second},
		{"never below a second for progress", Options{CheckpointInterval: 30 * time.Second, ProgressInterval: 250 * time.Millisecond, Progress: progress}, time.Second},
		{"below a second when asked", Options{CheckpointInterval: 500 * time.Millisecond, ProgressInterval: 5 * time.Second, Progress: progress}, 500 * time.Millisecond},
	} {
		if got := workerCheckpointInterval(tc.o); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
