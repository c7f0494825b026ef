package report

import (
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/wshold/wshold/internal/labtest"
)

// The plots as a browser draws them: headless Chromium renders the report
// of runs of the three lengths (1 s, 60 s, 1 h), of a sub-second
// and a 1.5 s run and of a run where every upgrade failed, and takes
// screenshots. Each plot must come out as an image of its size with its
// data drawn in it (the line, the bars), not a blank or clipped box; the
// page without plots must still show its sentences. Set
// WSHOLD_SCREENSHOTS=DIR to keep the pictures for a look.
func TestHTMLPlotsRenderInChromium(t *testing.T) {
	t.Parallel()
	labtest.RequireBinary(t, "chromium")
	keep := os.Getenv("WSHOLD_SCREENSHOTS")
	runs := synthRuns(t)
	for _, tc := range []struct {
		run string
		// figures drawn, and the colour of the data in each
		colours []string
	}{
		{"0.7 s, sub-second", []string{colAlive, colLatency, kindColor("eof")}},
		{"1 s", []string{colAlive, colLatency}},
		{"1.5 s", []string{colAlive, colLatency, kindColor("reset")}},
		{"60 s", []string{colAlive, colLatency, kindColor("eof")}},
		{"1 h", []string{colAlive, colLatency, kindColor("reset")}},
		{"all failed", nil},
	} {
		t.Run(tc.run, func(t *testing.T) {
			dir := t.TempDir()
			page := htmlRender(t, runs[tc.run])
			svgs := svgElement.FindAllString(page, -1)
			if len(svgs) != len(tc.colours) {
				t.Fatalf("%d plots on the page, want %d", len(svgs), len(tc.colours))
			}
			name := strings.NewReplacer(" ", "", ",", "-", ".", "_").Replace(tc.run)
			shot := func(file, html string, w, h int) image.Image {
				t.Helper()
				src := filepath.Join(dir, file+".html")
				if err := os.WriteFile(src, []byte(html), 0o644); err != nil {
					t.Fatal(err)
				}
				out := filepath.Join(dir, file+".png")
				labtest.Chromium(t, dir, "--screenshot="+out, fmt.Sprintf("--window-size=%d,%d", w, h), "file://"+src)
				img := readPNG(t, out)
				if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
					t.Fatalf("%s: screenshot %dx%d, want %dx%d", file, b.Dx(), b.Dy(), w, h)
				}
				if keep != "" {
					b, _ := os.ReadFile(out)
					_ = os.WriteFile(filepath.Join(keep, name+"-"+file+".png"), b, 0o644)
				}
				return img
			}

			// The whole report: more than a blank page.
			full := shot("page", page, 1280, 2400)
			if n := colours(full, full.Bounds()); n < 12 {
				t.Errorf("the page screenshot has %d colours: blank?", n)
			}
			if len(tc.colours) == 0 {
				for _, want := range []string{"No connection was upgraded", "No handshake completed", "No connection dropped.", "Failed upgrades"} {
					if !strings.Contains(page, want) {
						t.Errorf("page without plots lacks %q", want)
					}
				}
				return
			}

			// Each plot alone at its natural size (1 pt = 4/3 px), one
			// under the other.
			w, h := plotW*4/3, plotH*4/3
			style := regexpFind(t, page, `svg text \{[^}]*\}`)
			plots := fmt.Sprintf(`<!DOCTYPE html><html><head><meta charset="utf-8"><style>body { margin: 0; } svg { display: block; width: %dpx; height: %dpx; } %s</style></head><body>%s</body></html>`,
				w, h, style, strings.Join(svgs, "\n"))
			img := shot("plots", plots, w, h*len(svgs))
			for i, col := range tc.colours {
				area := image.Rect(0, i*h, w, (i+1)*h)
				if n := colours(img, area); n < 8 {
					t.Errorf("plot %d: %d colours: an empty box?", i+1, n)
				}
				// The data itself: at least a line's worth of pixels of
				// its colour, away from the edges (a plot clipped to its
				// frame has none there).
				inner := image.Rect(area.Min.X+w/10, area.Min.Y+h/20, area.Max.X-w/50, area.Max.Y-h/8)
				if n := pixelsNear(img, inner, col); n < 150 {
					t.Errorf("plot %d has %d pixels of its data colour %s inside the frame, want 150 or more", i+1, n, col)
				}
			}
		})
	}
}

func readPNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s is not a PNG: %v", path, err)
	}
	return img
}

// colours counts the distinct colours in r, up to 64.
func colours(img image.Image, r image.Rectangle) int {
	seen := map[[3]uint32]bool{}
	for y := r.Min.Y; y < r.Max.Y && len(seen) < 64; y += 2 {
		for x := r.Min.X; x < r.Max.X; x += 2 {
			c0, c1, c2, _ := img.At(x, y).RGBA()
			seen[[3]uint32{c0 >> 8, c1 >> 8, c2 >> 8}] = true
		}
	}
	return len(seen)
}

// pixelsNear counts the pixels of r within a small distance of the colour
// hex ("#rrggbb"): antialiasing blends a line's edges, not its core.
func pixelsNear(img image.Image, r image.Rectangle, hex string) int {
	v, _ := strconv.ParseUint(strings.TrimPrefix(hex, "#"), 16, 32)
	want := [3]int{int(v >> 16), int(v >> 8 & 0xff), int(v & 0xff)}
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c0, c1, c2, _ := img.At(x, y).RGBA()
			got := [3]int{int(c0 >> 8), int(c1 >> 8), int(c2 >> 8)}
			d := 0
			for i := range got {
				d += max(got[i]-want[i], want[i]-got[i])
			}
			if d <= 40 {
				n++
			}
		}
	}
	return n
}

func regexpFind(t *testing.T, s, expr string) string {
	t.Helper()
	m := regexp.MustCompile(expr).FindString(s)
	if m == "" {
		t.Fatalf("page lacks %s", expr)
	}
	return m
}
