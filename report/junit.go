package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
)

// JUnit XML as CI systems (GitHub, GitLab, Jenkins) read it: each result is
// a test suite and each expectation a test case, so a timeout regression
// shows up in CI as a named failing test with want and got.

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
	SystemOut  string          `xml:"system-out,omitempty"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes the results as one JUnit <testsuites> document: one
// <testsuite> per result (named after its scenario, timed by its wall
// clock) and one <testcase> per expectation, named by the expectation as
// written; a failed one carries want and got in its <failure>. A result
// without evaluated expectations gets a single "verdict" case, so CI never
// reads an empty suite as a pass. encoding/xml does the escaping.
func WriteJUnit(w io.Writer, results ...*Result) error {
	doc := junitSuites{Name: "wshold", Time: "0.000"}
	var total float64
	for i, res := range results {
		if res == nil {
			return fmt.Errorf("write junit: result %d is missing", i+1)
		}
		s := junitSuiteOf(res)
		doc.Tests += s.Tests
		doc.Failures += s.Failures
		total += junitSeconds(res)
		doc.Suites = append(doc.Suites, s)
	}
	doc.Time = junitTime(total)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func junitSuiteOf(res *Result) junitSuite {
	name := res.Scenario.Name
	if name == "" {
		name = "wshold"
	}
	s := junitSuite{
		Name: name,
		Time: junitTime(junitSeconds(res)),
		Properties: []junitProperty{
			{"target", res.Target},
			{"verdict", res.Verdict},
			{"conns", strconv.Itoa(res.Scenario.Conns)},
			{"upgraded", strconv.FormatInt(res.Counts.Upgraded, 10)},
			{"dropped", strconv.FormatInt(res.Counts.Dropped, 10)},
			{"handshake_p99_ms", junitP99(res.Handshake)},
			{"shards", strconv.Itoa(res.Shards)},
			{"interrupted", strconv.FormatBool(res.Interrupted)},
			{"wshold_version", res.Version},
		},
		SystemOut: VerdictLine(res),
	}
	if !res.Start.IsZero() {
		s.Timestamp = res.Start.UTC().Format("2006-01-02T15:04:05")
	}
	for _, pc := range res.ProxyConfigs {
		s.Properties = append(s.Properties, junitProperty{"proxy_config", pc.Path + " sha256:" + pc.SHA256})
	}
	s.Properties = append(s.Properties, junitMessageProperties(res)...)
	for _, e := range res.Expectations {
		s.Cases = append(s.Cases, junitCaseOf(name, e.Want, e.Got, e.Pass))
	}
	if len(res.Expectations) == 0 {
		s.Cases = append(s.Cases, junitCaseOf(name, "verdict", res.Verdict, res.Verdict == "pass"))
	}
	s.Tests = len(s.Cases)
	for _, c := range s.Cases {
		if c.Failure != nil {
			s.Failures++
		}
	}
	return s
}

// junitP99 is the handshake p99 in ms, or that there is none: a p99 of 0
// would read as a very fast proxy when every upgrade failed.
func junitP99(h Latency) string {
	if h.Count == 0 {
		return "none (no handshake completed)"
	}
	return strconv.FormatFloat(h.P99Ms, 'f', -1, 64)
}

func junitCaseOf(suite, want, got string, pass bool) junitCase {
	c := junitCase{Name: want, Classname: "wshold." + suite, Time: "0.000"}
	if !pass {
		c.Failure = &junitFailure{
			Message: fmt.Sprintf("want %s, got %s", want, got),
			Type:    "expectation",
			Text:    fmt.Sprintf("want: %s\ngot:  %s", want, got),
		}
	}
	return c
}

func junitSeconds(res *Result) float64 {
	if res.Start.IsZero() || res.End.Before(res.Start) {
		return 0
	}
	return res.End.Sub(res.Start).Seconds()
}

func junitTime(sec float64) string { return strconv.FormatFloat(sec, 'f', 3, 64) }

// junitMessageProperties are the figures of timed messages, pushes and
// reconnects that a CI dashboard may chart; none for a run without them.
func junitMessageProperties(res *Result) []junitProperty {
	var ps []junitProperty
	i := func(name string, v int64) { ps = append(ps, junitProperty{name, strconv.FormatInt(v, 10)}) }
	f := func(name string, v float64) {
		ps = append(ps, junitProperty{name, strconv.FormatFloat(v, 'f', -1, 64)})
	}
	if m := res.Messages; m != nil {
		i("messages_sent", m.Sent)
		i("messages_received", m.Received)
		i("messages_lost", m.Lost)
		f("rtt_p99_ms", m.RTT.P99Ms)
	}
	if p := res.Push; p != nil {
		i("pushes_received", p.Received)
		f("push_p99_ms", p.Delay.P99Ms)
		i("broadcasts_received", p.BroadcastReceived)
		f("fanout_p99_ms", p.Fanout.P99Ms)
	}
	if rc := res.Reconnects; rc != nil {
		i("reconnects_attempted", rc.Attempted)
		i("reconnects_upgraded", rc.Upgraded)
		i("reconnects_failed", rc.Failed)
	}
	return ps
}
