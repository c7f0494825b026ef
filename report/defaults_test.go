package report

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wshold/wshold/internal/identify"
)

// defaultsTable is the table of known defaults as docs/proxies.md shows it.
func defaultsTable() string {
	var b strings.Builder
	b.WriteString("| product | setting | default | what it times | on the wire when it fires | granularity | verified in | in the answers it relays |\n")
	b.WriteString("| --- | --- | --- | --- | --- | --- | --- | --- |\n")
	times := map[Timer]string{
		TimesIdle:       "idle: since the last byte either way",
		TimesClientIdle: "since the last byte from the client (its pongs to server pings count)",
		TimesLifetime:   "lifetime: since the upgrade, whatever the traffic",
		TimesNever:      "not an open WebSocket",
	}
	for _, d := range Defaults {
		def := "none (set it)"
		if d.Seconds > 0 {
			def = secondsText(d.Seconds)
		}
		gran := "per connection, to the ms"
		if d.GranularityMs > 0 {
			gran = fmt.Sprintf("checked every %s: matches %s to %s", secText(d.GranularityMs),
				secondsText(d.Seconds), secondsText(d.Seconds+2*d.GranularityMs/1000))
		}
		presence := map[Presence]string{
			Unseen:                        "does not name itself",
			Announced:                     "names itself",
			AnnouncedWithoutBackendServer: "names itself unless the backend does",
		}[d.Presence]
		fmt.Fprintf(&b, "| %s | `%s` | %s | %s | %s | %s | %s | %s: %s (%s) |\n", d.Title, d.Setting, def, times[d.Times], d.WireText,
			gran, d.Source, presence, d.Shows, d.ShowsSource)
	}
	return b.String()
}

// docs/proxies.md shows the table of known defaults exactly as the code
// has it (refresh with go test ./report -run TestDocsShowTheDefaults -update).
func TestDocsShowTheDefaults(t *testing.T) {
	path := filepath.Join("..", "docs", "proxies.md")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- defaults: generated from report/defaults.go -->\n", "<!-- /defaults -->"
	doc := string(b)
	i, j := strings.Index(doc, begin), strings.Index(doc, end)
	if i < 0 || j < i {
		t.Fatalf("%s has no %q … %q section", path, begin, end)
	}
	want := defaultsTable()
	if got := doc[i+len(begin) : j]; got != want {
		if *update {
			if err := os.WriteFile(path, []byte(doc[:i+len(begin)]+want+doc[j:]), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("%s's defaults table differs from report.Defaults; run with -update:\n%s", path, want)
	}
}

// Every row says where it was verified, and a row with a default says what
// goes on the wire (or that its documentation does not say).
func TestEveryDefaultHasItsProvenance(t *testing.T) {
	for _, d := range Defaults {
		if d.Product == "" || d.Title == "" || d.Setting == "" || d.Source == "" || d.WireText == "" || d.Fix == "" || d.Times == "" ||
			d.Shows == "" || d.ShowsSource == "" {
			t.Errorf("row %+v lacks a field", d)
		}
	}
}

// A row that says its product names itself in the answers gives the header
// it writes, and that header names the product the way run reads answers:
// what lets a hint leave the row out when the answers do not show it.
func TestAnnouncedRowsNameTheirProduct(t *testing.T) {
	for _, d := range Defaults {
		if d.Presence == Unseen {
			continue
		}
		h := d.Shows
		if i := strings.IndexAny(h, ",;"); i >= 0 {
			h = h[:i]
		}
		h, _, _ = strings.Cut(h, " when ")
		h = strings.ReplaceAll(h, "VERSION", "1.0")
		name, value, ok := strings.Cut(h, ": ")
		if !ok || (!strings.EqualFold(name, "Server") && !strings.EqualFold(name, "Via")) {
			t.Errorf("%s %s: Shows %q does not start with the Server or Via header it writes", d.Title, d.Setting, d.Shows)
			continue
		}
		a := identify.FromHeaders(101, []string{name}, []string{value}, "")
		g := identify.Guesses(a)
		if len(g) == 0 || g[0].Name != d.Product {
			t.Errorf("%s %s: %q names %+v, not %s", d.Title, d.Setting, h, g, d.Product)
		}
	}
}
