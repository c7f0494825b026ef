package report

import (
	"fmt"
	"slices"
	"time"
)

// WantRunFinished is the Want of the expectation that JudgeUnfinished adds
// to a checkpoint: the run it is a checkpoint of did not finish (it was
// killed, or is still running), which no figure in it shows.
const WantRunFinished = "the run finished"

// Unfinished reports whether res is a checkpoint, not a finished result:
// written during the run (every --checkpoint-interval) and left as it was
// because the run was killed, or read while the run still goes on.
func Unfinished(res *Result) bool { return res.EndReason == "checkpoint" }

// CheckpointMoment says when a checkpoint was written, in the run's terms:
// "at 12:00:07 UTC, 5.9 s into the 20s hold" or "…, 2.1 s after the
// start, during the ramp".
func CheckpointMoment(res *Result) string {
	at := "at " + res.End.UTC().Format("15:04:05 MST")
	if !res.HoldStart.IsZero() {
		return fmt.Sprintf("%s, %s into the %s hold", at, secsText(res.End.Sub(res.HoldStart)), res.Scenario.Hold)
	}
	return fmt.Sprintf("%s, %s after the start, during the ramp", at, secsText(res.End.Sub(res.Start)))
}

func secsText(d time.Duration) string { return fmt.Sprintf("%.1f s", max(d, 0).Seconds()) }

// JudgeUnfinished judges a checkpoint for a reader (report, compare): its
// scenario's expectations are evaluated on the figures so far, and a
// failed expectation WantRunFinished says it is unfinished and when it was
// written, so that every format shows FAIL and that moment, never a blank
// verdict or a pass. A finished result, or a merge that already says a
// shard did not finish, is left as it is.
func JudgeUnfinished(res *Result) error {
	if !Unfinished(res) {
		return nil
	}
	said := func(e Expectation) bool {
		return !e.Pass && (e.Want == WantRunFinished || e.Want == WantEveryShardFinished || e.Want == WantEveryWorkerFinished)
	}
	if err := Reevaluate(res); err != nil {
		return err
	}
	if !slices.ContainsFunc(res.Expectations, said) {
		res.Expectations = append(res.Expectations, Expectation{Want: WantRunFinished, Pass: false,
			Got: "no: this is a checkpoint written " + CheckpointMoment(res) + "; the run was killed or is still running, and what came after is not in it"})
	}
	res.Verdict = "fail"
	return nil
}
