package report

import (
	"bytes"
	"encoding/xml"
	"io"
	"regexp"
	"strings"
	"testing"
)

func htmlRender(t *testing.T, res *Result) string {
	t.Helper()
	var b bytes.Buffer
	if err := WriteHTML(&b, res); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestWriteHTMLIsSelfContained(t *testing.T) {
	page := htmlRender(t, outNginxDefault(t))
	if n := strings.Count(page, "<svg"); n != 3 {
		t.Errorf("%d <svg> plots, want 3 (alive, latency, drops by age)", n)
	}
	for _, external := range []string{"http://", "https://", "<script", "<link", "<img", "src=", "href=", "@import", "url("} {
		if strings.Contains(page, external) {
			t.Errorf("page contains %q: it must reference nothing outside itself", external)
		}
	}
	for _, want := range []string{
		"FAIL: 1000/1000 upgraded",
		`class="verdict fail"`,
		"stroke:" + strings.ToUpper(colAlive), // the alive line
		"fill:" + strings.ToUpper(colCluster), // the 60 s cluster band on it
		"1000 dropped at 60.0 s — nginx proxy_read_timeout default",
		"hold starts", // the hold marked
		"hold ends",
		"stroke:" + strings.ToUpper(colLatency), // percentile curve
		">99%<",                                 // log percentile axis
		">max<",                                 // ending at the slowest
		"fill:" + strings.ToUpper(kindColor("eof")), // drops by age, coloured by kind
		"FIN, no close frame: 1000",                 // legend
		"nginx proxy_read_timeout default",          // hint in the clusters table
		"scripts/nginx/default.conf",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

// Every plot must be well-formed XML on its own: a stray '<' or an
// unclosed element breaks the whole figure in a browser.
func TestWriteHTMLPlotsAreWellFormed(t *testing.T) {
	page := htmlRender(t, outNginxDefault(t))
	svgs := regexp.MustCompile(`(?s)<svg.*?</svg>`).FindAllString(page, -1)
	if len(svgs) != 3 {
		t.Fatalf("found %d plots, want 3", len(svgs))
	}
	for i, s := range svgs {
		d := xml.NewDecoder(strings.NewReader(s))
		for range 100_000 {
			_, err := d.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("plot %d is not well-formed: %v", i+1, err)
			}
		}
		if strings.Contains(s, "NaN") || strings.Contains(s, "Inf") {
			t.Errorf("plot %d has a non-finite coordinate", i+1)
		}
	}
}

func TestWriteHTMLEscapesHostileText(t *testing.T) {
	res := outBroken(t)
	res.Scenario.Name = `<script>alert("name")</script>`
	res.Target = `ws://x/"><img src=x onerror=alert(1)>`
	res.Warnings = []string{"<iframe>"}
	page := htmlRender(t, res)
	for _, bad := range []string{"<script", "<img", "<iframe", "<b>missing"} {
		if strings.Contains(page, bad) {
			t.Errorf("hostile text reached the page as markup: %q", bad)
		}
	}
	for _, want := range []string{"&lt;script&gt;alert(&#34;name&#34;)&lt;/script&gt;", "&lt;b&gt;missing"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks the escaped form %q", want)
		}
	}
}

func TestWriteHTMLWithNothingToPlot(t *testing.T) {
	res := outBroken(t) // no upgrade, no drop
	res.Timeline = nil
	page := htmlRender(t, res)
	for _, want := range []string{"No timeline was recorded.", "No handshake completed, so there is no handshake latency to plot.", "No connection dropped.",
		"No handshake completed, so there is no latency to show."} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "<svg") {
		t.Error("empty plots should be a sentence, not an empty chart")
	}
	if strings.Contains(page, ">0 ms<") {
		t.Error("the page shows a latency of 0 ms when no handshake completed")
	}
	if err := WriteHTML(io.Discard, nil); err == nil {
		t.Error("WriteHTML(nil) succeeded")
	}
}

func TestWriteHTMLGolden(t *testing.T) {
	outGolden(t, "html_nginx_default.golden", []byte(htmlRender(t, outNginxDefault(t))))
}

func TestNiceStepAndPercentileLabels(t *testing.T) {
	for _, tc := range []struct {
		span float64
		n    int
		want float64
	}{
		{100, 5, 20}, {76, 8, 10}, {1, 5, 0.2}, {60_000, 40, 2000}, {7, 5, 2}, {0, 5, 1}, {0.6, 6, 0.1},
	} {
		if got := niceStep(tc.span, tc.n); got != tc.want {
			t.Errorf("niceStep(%v, %d) = %v, want %v", tc.span, tc.n, got, tc.want)
		}
	}
	for k, want := range []string{"0%", "90%", "99%", "99.9%", "99.99%"} {
		if got := percentileLabel(float64(k)); got != want {
			t.Errorf("percentileLabel(%d) = %q, want %q", k, got, want)
		}
	}
}
