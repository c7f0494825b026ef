package scenario

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// expectForms is the grammar in one line, quoted by errors about an
// expectation whose form is not recognised.
const expectForms = "no-drops, no-drop-before=DUR, drop-at=DUR±TOL[,share>=PCT%] (or DUR+-TOL), " +
	"handshake-p99<DUR (p50, p90, p99, p999, max; <= allowed), upgraded>=PCT%, failed-status=CODE, " +
	"rtt-p99<DUR, push-p99<DUR, fanout-p99<DUR (percentiles as for handshake), messages-lost=0, recover<DUR"

// ParseExpectation parses one expectation as written in --expect or a
// scenario file's expect list. Surrounding spaces are ignored; Raw keeps s
// exactly. The error says what was wrong and shows the form to write.
func ParseExpectation(s string) (Expectation, error) {
	e, err := parseExpectation(strings.TrimSpace(s))
	if err != nil {
		return Expectation{}, fmt.Errorf("expectation %q: %w", s, err)
	}
	e.Raw = s
	return e, nil
}

// ParseExpectations parses every entry and reports every bad one at once.
func ParseExpectations(list []string) ([]Expectation, error) {
	out := make([]Expectation, 0, len(list))
	var errs []error
	for _, s := range list {
		e, err := ParseExpectation(s)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, e)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

func parseExpectation(t string) (Expectation, error) {
	// The word is everything before the first operator; it names the form,
	// so a known word with a wrong operator gets that form's syntax back.
	word, rest := t, ""
	if i := strings.IndexAny(t, "=<>!,+±"); i >= 0 {
		word, rest = t[:i], t[i:]
	}
	switch {
	case word == "no-drops":
		if rest != "" {
			return Expectation{}, errors.New(`"no-drops" takes no value; for a bound write no-drop-before=DUR, e.g. no-drop-before=55s`)
		}
		return Expectation{Kind: ExpectNoDrops}, nil
	case word == "no-drop-before":
		v, ok := strings.CutPrefix(rest, "=")
		if !ok {
			return Expectation{}, errors.New("write it as no-drop-before=DUR, e.g. no-drop-before=55s")
		}
		d, err := positiveDuration(v, "no-drop-before=55s")
		if err != nil {
			return Expectation{}, err
		}
		return Expectation{Kind: ExpectNoDropBefore, Dur: d}, nil
	case word == "drop-at":
		v, ok := strings.CutPrefix(rest, "=")
		if !ok {
			return Expectation{}, errors.New("write it as drop-at=DUR±TOL, e.g. drop-at=60s±2s or drop-at=60s+-2s,share>=90%")
		}
		return parseDropAt(v)
	case strings.HasPrefix(word, "handshake-"):
		return parseLatency(ExpectHandshake, "handshake", strings.TrimPrefix(word, "handshake-"), rest)
	case strings.HasPrefix(word, "rtt-"):
		return parseLatency(ExpectRTT, "rtt", strings.TrimPrefix(word, "rtt-"), rest)
	case strings.HasPrefix(word, "push-"):
		return parseLatency(ExpectPush, "push", strings.TrimPrefix(word, "push-"), rest)
	case strings.HasPrefix(word, "fanout-"):
		return parseLatency(ExpectFanout, "fanout", strings.TrimPrefix(word, "fanout-"), rest)
	case word == "messages-lost":
		if rest != "=0" {
			return Expectation{}, errors.New("write it as messages-lost=0 (every message sent was echoed)")
		}
		return Expectation{Kind: ExpectMessagesLost}, nil
	case word == "recover":
		e := Expectation{Kind: ExpectRecover}
		v, ok := strings.CutPrefix(rest, "<=")
		if ok {
			e.Inclusive = true
		} else if v, ok = strings.CutPrefix(rest, "<"); !ok {
			return Expectation{}, errors.New("write it as recover<DUR or recover<=DUR, e.g. recover<5s")
		}
		d, err := positiveDuration(v, "recover<5s")
		if err != nil {
			return Expectation{}, err
		}
		e.Dur = d
		return e, nil
	case word == "upgraded":
		v, ok := strings.CutPrefix(rest, ">=")
		if !ok {
			return Expectation{}, errors.New("write it as upgraded>=PCT%, e.g. upgraded>=99.9%")
		}
		r, err := percent(v, "upgraded>=99.9%", true)
		if err != nil {
			return Expectation{}, err
		}
		return Expectation{Kind: ExpectUpgraded, Ratio: r}, nil
	case word == "failed-status":
		v, ok := strings.CutPrefix(rest, "=")
		if !ok {
			return Expectation{}, errors.New("write it as failed-status=CODE, e.g. failed-status=400")
		}
		code, err := failedStatus(v)
		if err != nil {
			return Expectation{}, err
		}
		return Expectation{Kind: ExpectFailedStatus, Status: code}, nil
	case t == "":
		return Expectation{}, errors.New("empty; accepted forms: " + expectForms)
	}
	return Expectation{}, errors.New("unknown form; accepted forms: " + expectForms)
}

func parseDropAt(v string) (Expectation, error) {
	const example = "drop-at=60s±2s"
	window, opt, hasOpt := strings.Cut(v, ",")
	centre, tol, ok := strings.Cut(window, "±")
	if !ok {
		centre, tol, ok = strings.Cut(window, "+-")
	}
	if !ok {
		return Expectation{}, fmt.Errorf("%q needs a tolerance: write DUR±TOL or DUR+-TOL, e.g. %s", window, example)
	}
	d, err := positiveDuration(centre, example)
	if err != nil {
		return Expectation{}, err
	}
	tl, err := positiveDuration(tol, example)
	if err != nil {
		return Expectation{}, fmt.Errorf("tolerance: %w", err)
	}
	e := Expectation{Kind: ExpectDropAt, Dur: d, Tol: tl}
	if hasOpt {
		p, ok := strings.CutPrefix(opt, "share>=")
		if !ok {
			return Expectation{}, fmt.Errorf("%q: the only option is share>=PCT%%, e.g. %s,share>=90%%", opt, example)
		}
		if e.Share, err = percent(p, example+",share>=90%", false); err != nil {
			return Expectation{}, fmt.Errorf("share: %w", err)
		}
	}
	return e, nil
}

// parseLatency reads the percentile and bound of a latency expectation,
// "NAME-p99<DUR" with NAME handshake, rtt, push or fanout.
func parseLatency(kind ExpectKind, name, pct, rest string) (Expectation, error) {
	switch pct {
	case "p50", "p90", "p99", "p999", "max":
	default:
		return Expectation{}, fmt.Errorf("%q is not a recorded percentile; use %s-p50, -p90, -p99, -p999 or -max", pct, name)
	}
	e := Expectation{Kind: kind, Percentile: pct}
	v, ok := strings.CutPrefix(rest, "<=")
	if ok {
		e.Inclusive = true
	} else if v, ok = strings.CutPrefix(rest, "<"); !ok {
		return Expectation{}, fmt.Errorf("write it as %s-%s<DUR or %s-%s<=DUR, e.g. %s-%s<250ms", name, pct, name, pct, name, pct)
	}
	d, err := positiveDuration(v, name+"-"+pct+"<250ms")
	if err != nil {
		return Expectation{}, err
	}
	e.Dur = d
	return e, nil
}

// positiveDuration reads a Go duration that must be above zero: every bound
// in the grammar is an age or a latency, and a zero or negative one can only
// be a typo.
func positiveDuration(s, example string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		if _, numErr := strconv.ParseFloat(s, 64); numErr == nil {
			return 0, fmt.Errorf("%q has no unit; write e.g. %ss or %sms (as in %s)", s, s, s, example)
		}
		return 0, fmt.Errorf("%q is not a duration; write e.g. 60s, 1m30s, 250ms (as in %s)", s, example)
	}
	if d <= 0 {
		return 0, fmt.Errorf("%q must be above zero (as in %s)", s, example)
	}
	if d > maxExpectDuration {
		return 0, fmt.Errorf("%q is more than a year (%s); no run holds that long (as in %s)", s, maxExpectDuration, example)
	}
	return d, nil
}

// maxExpectDuration bounds every duration in an expectation: far beyond
// any hold, and small enough that a window's ends (drop-at=DUR±TOL) can
// be computed without overflowing.
const maxExpectDuration = 365 * 24 * time.Hour

// percent reads "99.9%" as 0.999. Only digits and one dot are accepted, so
// strconv's hex floats, exponents, "Inf" and "NaN" never sneak in.
func percent(s, example string, zeroOK bool) (float64, error) {
	num, ok := strings.CutSuffix(s, "%")
	if !ok {
		return 0, fmt.Errorf("%q needs a %% sign (as in %s)", s, example)
	}
	if num == "" || strings.Trim(num, "0123456789.") != "" || strings.Count(num, ".") > 1 {
		return 0, fmt.Errorf("%q is not a percentage (as in %s)", s, example)
	}
	// Parsing "99.9e-2" rounds once, to the float nearest 0.999; dividing
	// 99.9 by 100 would round twice and miss it.
	r, err := strconv.ParseFloat(num+"e-2", 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not a percentage (as in %s)", s, example)
	}
	if r > 1 || (!zeroOK && r == 0) {
		lo := "0"
		if !zeroOK {
			lo = "above 0"
		}
		return 0, fmt.Errorf("%q is out of range: write %s to 100%% (as in %s)", s, lo, example)
	}
	return r, nil
}

func failedStatus(s string) (int, error) {
	if s == "" || strings.Trim(s, "0123456789") != "" || len(s) > 3 {
		return 0, fmt.Errorf("%q is not an HTTP status code; write e.g. failed-status=400", s)
	}
	code, _ := strconv.Atoi(s) // digits only, at most three: cannot fail
	switch {
	case code < 100 || code > 599:
		return 0, fmt.Errorf("%d is not an HTTP status code (100..599); write e.g. failed-status=400", code)
	case code == 101:
		return 0, errors.New("101 is a successful upgrade, not a failure; to require upgrades write upgraded>=100%")
	}
	return code, nil
}

// Expectations parses s.Expect, or DefaultExpectations when s names none:
// what the run will be judged by.
// Resolve gives the same list with the checks of the whole set; merge and
// report, which judge a result whose files may be elsewhere, use this.
func (s Scenario) Expectations() ([]Expectation, error) {
	return ParseExpectations(s.expectList())
}

// expectList is the expectations as written, or the defaults.
func (s Scenario) expectList() []string {
	if len(s.Expect) == 0 {
		return DefaultExpectations
	}
	return s.Expect
}
