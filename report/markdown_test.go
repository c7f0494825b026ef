package report

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wshold/wshold/internal/event"
	"github.com/wshold/wshold/scenario"
)

// The -update flag rewrites golden files. It is registered here only if no
// other test file of the package already did: package variables run before
// init functions, so a `var update = flag.Bool("update", …)` elsewhere wins.
func init() {
	if flag.Lookup("update") == nil {
		flag.Bool("update", false, "rewrite the golden files in testdata/")
	}
}

func outUpdating() bool {
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

// outGolden compares got with testdata/name, or rewrites it with -update.
func outGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if outUpdating() {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run 'go test ./report -run %s -update' to create it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		gl, wl := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := range max(len(gl), len(wl)) {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("%s differs at line %d:\n got: %q\nwant: %q\n(run with -update if the change is intended)", path, i+1, g, w)
			}
		}
	}
}

// outClone deep-copies r: fixtures are recorded once and edited per case.
func outClone(t testing.TB, r *Result) *Result {
	t.Helper()
	var b bytes.Buffer
	if err := WriteJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	c, err := ReadResult(&b)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// outT0 is the start of every fixture run.
var outT0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// outBuild runs events through a real Recorder and evaluates the
// scenario's expectations, as the runner does.
func outBuild(t testing.TB, sc scenario.Scenario, meta Meta, feed func(*Recorder)) *Result {
	t.Helper()
	rec := NewRecorder(meta.Start, sc.Conns)
	feed(rec)
	meta.Scenario = sc
	res := rec.Result(meta)
	raw := sc.Expect
	if len(raw) == 0 {
		raw = scenario.DefaultExpectations
	}
	exps, err := scenario.ParseExpectations(raw)
	if err != nil {
		t.Fatal(err)
	}
	Evaluate(res, exps)
	return res
}

func outMeta(start time.Time, holdAt, endAt time.Duration) Meta {
	return Meta{
		Version:   "v0.0.0-test",
		Target:    "ws://127.0.0.1:8080/ws",
		Start:     start,
		HoldStart: start.Add(holdAt),
		End:       start.Add(endAt),
	}
}

// outNginxDefault is the seed's story: 1000 connections through nginx's
// default proxy_read_timeout, all cut at 60 s by a FIN.
func outNginxDefault(t testing.TB) *Result {
	sc := scenario.Defaults()
	sc.Name = "nginx-default"
	sc.Target = "ws://127.0.0.1:8080/ws"
	meta := outMeta(outT0, time.Second, 76*time.Second)
	meta.HoldEnd = outT0.Add(76 * time.Second)
	meta.ProxyConfigs = []ProxyConfig{{Path: "scripts/nginx/default.conf", SHA256: "3f2a9c1b5d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9012a3b4c5d6e7f8091"}}
	meta.Resources = Resources{PeakRSSBytes: 48 << 20, CPUSeconds: 1.25, RSSPerConnBytes: 9800}
	return outBuild(t, sc, meta, func(r *Recorder) {
		for i := range 1000 {
			up := int64(i) * int64(time.Millisecond)
			lat := int64(800+i*7919%3000) * 1000
			if i%100 == 0 {
				lat = 25 * int64(time.Millisecond)
			}
			r.Upgraded(event.Upgraded{AtNs: up, LatencyNs: lat})
			age := 60*int64(time.Second) + int64(i*13%9-4)*int64(time.Millisecond)
			r.Dropped(event.Dropped{AtNs: up + age, AgeNs: age, IdleNs: age, Kind: event.EOF})
		}
	})
}

// outFixed is the seed's fix (proxy_read_timeout 86400): nothing drops.
func outFixed(t testing.TB) *Result {
	sc := scenario.Defaults()
	sc.Name = "nginx-fixed"
	sc.Target = "ws://127.0.0.1:8081/ws"
	meta := outMeta(outT0.Add(time.Hour), time.Second, 76*time.Second)
	meta.Target = sc.Target
	meta.ProxyConfigs = []ProxyConfig{{Path: "scripts/nginx/default.conf", SHA256: "9b1c77e0aa3f5d2e1c0b9a8f7e6d5c4b3a2918f7e6d5c4b3a29180f7e6d5c4b3"}}
	meta.Resources = Resources{PeakRSSBytes: 47 << 20, CPUSeconds: 1.1, RSSPerConnBytes: 9700}
	return outBuild(t, sc, meta, func(r *Recorder) {
		for i := range 1000 {
			up := int64(i) * int64(time.Millisecond)
			r.Upgraded(event.Upgraded{AtNs: up, LatencyNs: int64(900+i*7919%3000) * 1000})
		}
	})
}

// outBroken is the seed's broken config: the proxy strips Upgrade, the
// backend answers 400 with a body that is full of markup.
func outBroken(t testing.TB) *Result {
	sc := scenario.Defaults()
	sc.Name = "nginx-no-upgrade-headers"
	sc.Conns = 200
	sc.Expect = []string{"failed-status=400"}
	meta := outMeta(outT0, time.Second, 2*time.Second)
	meta.Warnings = []string{"rate not reached: 180/s of 1000/s"}
	return outBuild(t, sc, meta, func(r *Recorder) {
		for i := range 200 {
			r.Failed(event.Failed{AtNs: int64(i) * int64(time.Millisecond), Cause: "http", Status: 400,
				Example: "HTTP/1.1 400 Bad Request | <b>missing `Upgrade: websocket`</b>\r\n[click](javascript:x)"})
		}
	})
}

func TestWriteMarkdownGolden(t *testing.T) {
	for _, tc := range []struct {
		golden string
		res    func(testing.TB) *Result
	}{
		{"markdown_nginx_default.golden", outNginxDefault},
		{"markdown_fixed.golden", outFixed},
		{"markdown_broken.golden", outBroken},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteMarkdown(&b, tc.res(t)); err != nil {
				t.Fatal(err)
			}
			outGolden(t, tc.golden, b.Bytes())
		})
	}
}

func TestWriteMarkdownSays(t *testing.T) {
	var b bytes.Buffer
	if err := WriteMarkdown(&b, outNginxDefault(t)); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{
		"**❌ FAIL: 1000/1000 upgraded",   // verdict first, bold
		"| 1000 | 1000 | 0 | 0 | 1000 |", // counts
		"- ✅ `upgraded>=100%`",           // expectation marks
		"- ❌ `no-drops`",
		"| 60.0 s |", // the cluster
		"proxy\\_read\\_timeout",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q:\n%s", want, md)
		}
	}
	if !strings.HasPrefix(md, "**❌ FAIL") {
		t.Errorf("markdown must lead with the verdict:\n%s", md)
	}
}

func TestWriteMarkdownEscapesNetworkText(t *testing.T) {
	var b bytes.Buffer
	if err := WriteMarkdown(&b, outBroken(t)); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, bad := range []string{"<b>", "[click](", "\r"} {
		if strings.Contains(md, bad) {
			t.Errorf("markdown carries %q unescaped:\n%s", bad, md)
		}
	}
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "| http |") && strings.Count(strings.ReplaceAll(line, `\|`, ""), "|") != 6 {
			t.Errorf("a '|' in the example breaks the failures row into extra cells: %s", line)
		}
	}
}

func TestMdEscape(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain text 60 s", "plain text 60 s"},
		{"a|b", `a\|b`},
		{"<script>", `\<script\>`},
		{"**bold** _it_", `\*\*bold\*\* \_it\_`},
		{"[x](y)", `\[x\](y)`},
		{"line\nbreak\ttab", "line break tab"},
		{`back\slash`, `back\\slash`},
		{"&amp;", `\&amp;`},
	} {
		if got := mdEscape(tc.in); got != tc.want {
			t.Errorf("mdEscape(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestMdCode(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"no-drops", "`no-drops`"},
		{"a`b", "``a`b``"},
		{"`x`", "`` `x` ``"},
		{"a|b", "`a\\|b`"},
		{"", "(none)"},
	} {
		if got := mdCode(tc.in); got != tc.want {
			t.Errorf("mdCode(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestWriteMarkdownNil(t *testing.T) {
	if err := WriteMarkdown(&bytes.Buffer{}, nil); err == nil {
		t.Fatal("WriteMarkdown(nil) succeeded; want an error")
	}
}
