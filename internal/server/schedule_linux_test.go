package server

import (
	"math/rand/v2"
	"testing"
)

func TestScheduleFiresInTimeOrderAndOnlyWhenDue(t *testing.T) {
	t.Parallel()
	var s schedule
	if s.waitMs(0) != -1 {
		t.Errorf("empty schedule waits %d ms, want -1 (forever)", s.waitMs(0))
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 1000 {
		s.push(timer{at: r.Int64N(1e9)})
	}
	s.push(timer{at: 2e9 + 1}) // not due below
	if _, ok := s.popDue(-1); ok {
		t.Fatal("popped a timer before it was due")
	}
	last := int64(-1)
	for i := range 1000 {
		tm, ok := s.popDue(2e9)
		if !ok {
			t.Fatalf("timer %d not popped though due", i)
		}
		if tm.at < last {
			t.Fatalf("timer %d at %d after one at %d", i, tm.at, last)
		}
		last = tm.at
	}
	if _, ok := s.popDue(2e9); ok {
		t.Error("popped the timer due later")
	}
	if got := s.waitMs(2e9); got != 1 {
		t.Errorf("wait for a timer 1 ns away: %d ms, want 1 (rounded up, never early)", got)
	}
}
