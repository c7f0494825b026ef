package integration

import (
	"bytes"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wshold/wshold/internal/labtest"
	"github.com/wshold/wshold/report"
)

// assetRef finds anything a browser would fetch from the network: a
// src/href/action/poster attribute, a CSS url() or @import, or a <link>,
// pointing at http(s) or a protocol-relative //host.
var assetRef = regexp.MustCompile(`(?i)((src|href|action|poster|srcset|xlink:href)\s*=\s*["']?\s*(https?:)?//|url\(\s*["']?\s*(https?:)?//|@import|<link\b|<script\b[^>]*\bsrc\s*=)`)

// The HTML report of a real nginx 3 s timeout run is one self-contained
// file: its plots are inline SVG, nothing is fetched from the network, and
// headless Chromium loads it, builds the plots into its DOM and draws it
// without a script error.
func TestHTMLReportOfARealNginxTimeoutRunLoadsInChromium(t *testing.T) {
	t.Parallel()
	labtest.RequireBinary(t, "chromium") // before the run: fail at once when it is missing
	nginx := labtest.Nginx(t, "nginx-timeout.conf", map[string]string{"UPSTREAM": backend(t), "TIMEOUT": "3"})
	res := run(t, scenarioFor(nginx.URL("/ws"), 1000, 2000, 6*time.Second))
	if res.Counts.Upgraded != 1000 || res.Counts.Dropped == 0 {
		t.Fatalf("upgraded %d dropped %d, want 1000 upgraded and drops to plot", res.Counts.Upgraded, res.Counts.Dropped)
	}

	var buf bytes.Buffer
	if err := report.WriteHTML(&buf, res); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	if n := strings.Count(page, "<svg"); n < 2 {
		t.Errorf("%d <svg elements, want at least 2 plots", n)
	}
	if m := assetRef.FindString(page); m != "" {
		t.Errorf("the report references an outside asset (%q): it must work offline", m)
	}
	if strings.Contains(page, "http://") || strings.Contains(page, "https://") {
		t.Errorf("the report contains an http(s) URL; nothing in it should need the network")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "report.html")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	dom, _ := labtest.Chromium(t, dir, "--dump-dom", "file://"+path)
	if n := strings.Count(dom, "<svg"); n < 2 {
		t.Errorf("Chromium's DOM has %d <svg elements, want at least 2; DOM starts %.300q", n, dom)
	}
	if !strings.Contains(dom, "FAIL") {
		t.Errorf("Chromium's DOM lacks the verdict FAIL")
	}

	shot := filepath.Join(dir, "report.png")
	_, logs := labtest.Chromium(t, dir, "--screenshot="+shot, "--window-size=1280,2000", "file://"+path)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v\n%s", err, logs)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	// A blank page is one colour; a drawn report has text and plots.
	colours := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y && len(colours) < 16; y += 7 {
		for x := b.Min.X; x < b.Max.X; x += 7 {
			r, g, bl, a := img.At(x, y).RGBA()
			colours[[4]uint32{r, g, bl, a}] = true
		}
	}
	if b.Dx() != 1280 || len(colours) < 16 {
		t.Errorf("screenshot %dx%d with %d colours sampled: want 1280 wide and more than a blank page", b.Dx(), b.Dy(), len(colours))
	}
}
