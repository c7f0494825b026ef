package report

import (
	"encoding/xml"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wshold/wshold/internal/event"
)

// A run with messages, broadcasts and a reconnect storm: the page shows
// each section, the latencies by percentile as one plot with a curve per
// kind, and on the alive plot where each wave had recovered.
func TestWriteHTMLShowsMessagesAndRecovery(t *testing.T) {
	res := stormRun(t, 10*time.Second)
	rec := NewRecorder(t0, 1)
	for i := range int64(500) {
		rec.Message(event.Message{Kind: event.Sent})
		rec.Message(event.Message{Kind: event.Echoed, DelayNs: 100_000 + i*1000})
		rec.Message(event.Message{Kind: event.Broadcast, DelayNs: 200_000 + i*20_000})
	}
	res.Messages, res.Push = rec.msg.messagesResult(true), rec.msg.pushResult()
	page := htmlRender(t, res)
	if os.Getenv("WSHOLD_HTML_OUT") != "" {
		_ = os.WriteFile(os.Getenv("WSHOLD_HTML_OUT"), []byte(page), 0o644)
	}
	if n := strings.Count(page, "<svg"); n != 4 {
		t.Errorf("%d <svg> plots, want 4 (alive, handshake, drops by age, messages)", n)
	}
	for _, want := range []string{
		"<h2>Messages</h2>", "<h2>Reconnects</h2>",
		"round trip (echo)", "broadcast fan-out",
		"Message latency by percentile (RTT p99",
		"stroke:" + strings.ToUpper(colRTT), "stroke:" + strings.ToUpper(colFanout),
		"back at 99% after 1.13 s", // the first wave's recovery, marked on the alive plot
		"stroke:" + strings.ToUpper(colRecover),
		"20 HTTP 503",            // the wave's failed reconnects
		"one-way delays compare", // the clock caveat
		"200 reconnected, back within 1.13 s",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for i, svg := range regexp.MustCompile(`(?s)<svg.*?</svg>`).FindAllString(page, -1) {
		d := xml.NewDecoder(strings.NewReader(svg))
		for range 100_000 {
			_, err := d.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("plot %d is not well-formed: %v", i+1, err)
			}
		}
		if strings.Contains(svg, "NaN") || strings.Contains(svg, "Inf") {
			t.Errorf("plot %d has a non-finite coordinate", i+1)
		}
	}
}
