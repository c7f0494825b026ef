package report

import (
	"bytes"
	"encoding/xml"
	"strconv"
	"strings"
	"testing"
)

// junitDoc is how a CI system reads the document back.
type junitDoc struct {
	XMLName  xml.Name `xml:"testsuites"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Suites   []struct {
		Name     string `xml:"name,attr"`
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Time     string `xml:"time,attr"`
		Props    []struct {
			Name  string `xml:"name,attr"`
			Value string `xml:"value,attr"`
		} `xml:"properties>property"`
		Cases []struct {
			Name    string `xml:"name,attr"`
			Failure *struct {
				Message string `xml:"message,attr"`
				Text    string `xml:",chardata"`
			} `xml:"failure"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func junitParse(t *testing.T, b []byte) junitDoc {
	t.Helper()
	var doc junitDoc
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("output is not valid XML: %v\n%s", err, b)
	}
	return doc
}

func TestWriteJUnitCountsSuitesAndFailures(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJUnit(&b, outNginxDefault(t), outFixed(t), outBroken(t)); err != nil {
		t.Fatal(err)
	}
	doc := junitParse(t, b.Bytes())
	if doc.Tests != 5 || doc.Failures != 1 {
		t.Errorf("testsuites tests=%d failures=%d, want 5 and 1", doc.Tests, doc.Failures)
	}
	if len(doc.Suites) != 3 {
		t.Fatalf("got %d suites, want one per result (3)", len(doc.Suites))
	}
	want := []struct {
		name            string
		tests, failures int
		time            string
	}{
		{"nginx-default", 2, 1, "76.000"},
		{"nginx-fixed", 2, 0, "76.000"},
		{"nginx-no-upgrade-headers", 1, 0, "2.000"},
	}
	for i, w := range want {
		s := doc.Suites[i]
		if s.Name != w.name || s.Tests != w.tests || s.Failures != w.failures || s.Time != w.time {
			t.Errorf("suite %d = %q tests=%d failures=%d time=%s, want %q %d %d %s",
				i, s.Name, s.Tests, s.Failures, s.Time, w.name, w.tests, w.failures, w.time)
		}
		if len(s.Cases) != w.tests {
			t.Errorf("suite %q has %d testcases, want %d", s.Name, len(s.Cases), w.tests)
		}
	}
	nd := doc.Suites[0].Cases[1]
	if nd.Name != "no-drops" || nd.Failure == nil {
		t.Fatalf("second case of nginx-default = %+v, want failed no-drops", nd)
	}
	if !strings.Contains(nd.Failure.Message, "want no-drops") || !strings.Contains(nd.Failure.Message, "1000 dropped") {
		t.Errorf("failure message %q should carry want and got", nd.Failure.Message)
	}
	if doc.Suites[0].Cases[0].Failure != nil {
		t.Errorf("the passing upgraded>=100%% case carries a failure")
	}
}

func TestWriteJUnitGolden(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJUnit(&b, outNginxDefault(t), outBroken(t)); err != nil {
		t.Fatal(err)
	}
	outGolden(t, "junit_two_suites.golden", b.Bytes())
}

func TestWriteJUnitEscapes(t *testing.T) {
	res := outFixed(t)
	res.Scenario.Name = "a<b & \"c\" ]]> \x01"
	res.Expectations = []Expectation{{Want: `handshake-p99<5ms`, Got: "<&>\"'\x00", Pass: false}}
	var b bytes.Buffer
	if err := WriteJUnit(&b, res); err != nil {
		t.Fatal(err)
	}
	doc := junitParse(t, b.Bytes())
	s := doc.Suites[0]
	// A control character cannot appear in XML 1.0 at all; encoding/xml
	// writes U+FFFD in its place rather than an unreadable document.
	if want := "a<b & \"c\" ]]> \uFFFD"; s.Name != want {
		t.Errorf("suite name read back as %q, want %q", s.Name, want)
	}
	if c := s.Cases[0]; c.Name != "handshake-p99<5ms" || c.Failure == nil || !strings.Contains(c.Failure.Text, `<&>"'`) {
		t.Errorf("case read back as %+v", c)
	}
}

func TestWriteJUnitWithoutExpectationsStillFails(t *testing.T) {
	for _, verdict := range []string{"pass", "fail"} {
		res := outFixed(t)
		res.Expectations = nil
		res.Verdict = verdict
		var b bytes.Buffer
		if err := WriteJUnit(&b, res); err != nil {
			t.Fatal(err)
		}
		doc := junitParse(t, b.Bytes())
		if doc.Tests != 1 || doc.Suites[0].Cases[0].Name != "verdict" {
			t.Fatalf("verdict %s: want a single 'verdict' case, got %+v", verdict, doc.Suites[0].Cases)
		}
		if failed := doc.Failures == 1; failed != (verdict == "fail") {
			t.Errorf("verdict %s: failures=%d", verdict, doc.Failures)
		}
	}
}

func TestWriteJUnitSadPaths(t *testing.T) {
	if err := WriteJUnit(&bytes.Buffer{}, outFixed(t), nil); err == nil {
		t.Error("a nil result was accepted")
	}
	var b bytes.Buffer
	if err := WriteJUnit(&b); err != nil {
		t.Fatal(err)
	}
	if doc := junitParse(t, b.Bytes()); doc.Tests != 0 || len(doc.Suites) != 0 {
		t.Errorf("no results should give an empty <testsuites>, got %+v", doc)
	}
}

// Every upgrade failed: the p99 property says none completed, not 0 ms.
func TestWriteJUnitSaysNoHandshakeCompleted(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJUnit(&b, outBroken(t), outFixed(t)); err != nil {
		t.Fatal(err)
	}
	doc := junitParse(t, b.Bytes())
	p99 := func(s int) string {
		for _, p := range doc.Suites[s].Props {
			if p.Name == "handshake_p99_ms" {
				return p.Value
			}
		}
		return ""
	}
	if got := p99(0); got != "none (no handshake completed)" {
		t.Errorf("all failed: handshake_p99_ms %q, want none", got)
	}
	if got, want := p99(1), strconv.FormatFloat(outFixed(t).Handshake.P99Ms, 'f', -1, 64); got != want {
		t.Errorf("all upgraded: handshake_p99_ms %q, want %q", got, want)
	}
}
