package scenario

import (
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// allocBudget bounds what decoding one scenario file may allocate: far
// more than a real file costs (the example: under 1 MB), far less than
// the gigabytes the decoder took on nested input before it was bounded.
const allocBudget = 200 << 20

// allocated runs f and returns the bytes it allocated.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// hostileShapes are the inputs and the worst ones just inside the
// bounds, each as big as a scenario file may be.
func hostileShapes() map[string]string {
	nest := func(n int) string { return strings.Repeat("{a=", n) + "1" + strings.Repeat("}", n) }
	dotted := func(n int) string { return strings.Repeat("a.", n-1) + "a" }
	// fill repeats line(i) with i = 0, 1, … up to the size limit: every
	// key distinct, so the decoder reads all of it.
	fill := func(line func(i int) string) string {
		var b strings.Builder
		for i := 0; ; i++ {
			l := line(i)
			if b.Len()+len(l) > MaxScenarioBytes {
				return b.String()
			}
			b.WriteString(l)
		}
	}
	// upTo is fill with n lines at most: a file of as many keys as may be.
	upTo := func(n int, line func(i int) string) string {
		return fill(func(i int) string {
			if i >= n {
				return strings.Repeat(" ", MaxScenarioBytes)
			}
			return line(i)
		})
	}
	scenarios := func(i int) string {
		return "[[scenario]]\nname = \"s" + strconv.Itoa(i) + "\"\ntarget = \"ws://127.0.0.1:8080/ws?a=1\"\nconns = 10\nrate = 5.5\n" +
			"hold = \"1s\"\nping = \"1s\"\nping_fraction = 0.5\npong_timeout = \"1s\"\nhandshake_timeout = \"1s\"\nmax_in_flight = 3\n" +
			"headers = [\"X-A: b\", \"Authorization: c\"]\norigin = \"http://o\"\nsubprotocols = [\"p\"]\n" +
			"source_ips = [\"127.0.0.1-127.0.0.9\"]\nprocs = 1\nredact = [\"x\"]\nexpect = [\"no-drops\", \"handshake-p99<1s\"]\n"
	}
	k := func(i int) string { return "k" + strconv.Itoa(i) }
	return map[string]string{
		"48 KB of nested inline tables":    "[[scenario]]\nname = \"x\"\nx = " + nest(48*1024/4) + "\n",
		"a header of 100k dotted parts":    "[" + dotted(100_000) + "]\n",
		"nested arrays":                    "x = " + strings.Repeat("[", 30_000) + strings.Repeat("]", 30_000) + "\n",
		"inline tables at the bound, 1 MB": fill(func(i int) string { return k(i) + "= " + nest(maxNesting-1) + "\n" }),
		"dotted keys at the bound, 1 MB":   fill(func(i int) string { return k(i) + "." + dotted(maxKeyParts-1) + "=1\n" }),
		"headers at the bound, 1 MB":       fill(func(i int) string { return "[" + k(i) + "." + dotted(maxKeyParts-1) + "]\n" }),
		"arrays at the bound, 1 MB": fill(func(i int) string {
			return k(i) + "= " + strings.Repeat("[", maxNesting) + strings.Repeat("]", maxNesting) + "\n"
		}),
		"tiny keys, 1 MB":                  fill(func(i int) string { return k(i) + "=1\n" }),
		"keys, parts, depth at the bounds": upTo(maxKeys/maxNesting, func(i int) string { return k(i) + "." + dotted(maxKeyParts-1) + "=" + nest(maxNesting-1) + "\n" }),
		"flat keys at the bound":           upTo(maxKeys, func(i int) string { return k(i) + "=1\n" }),
		"headers at the bounds":            upTo(maxKeys, func(i int) string { return "[" + k(i) + "." + dotted(maxKeyParts-1) + "]\n" }),
		"a thousand full scenarios":        upTo(maxScenarios, scenarios),
		"too many scenarios":               upTo(maxScenarios+1, func(i int) string { return "[[scenario]]\n" }),
		"wide inline tables, 1 MB":         "x = {" + fill(func(i int) string { return k(i) + "={a={b=[1,[2]]}}," })[5:] + "z=1}\n",
		"one long string":                  "x = \"" + strings.Repeat("a", MaxScenarioBytes-16) + "\"\n",
	}
}

// A hostile scenario file is refused (or decoded) within a memory budget,
// and one beyond the bounds with a message that says so and where.
func TestHostileScenarioFilesAreBounded(t *testing.T) {
	for name, src := range hostileShapes() {
		var err error
		n := allocated(func() { _, err = parseFile("hostile.toml", []byte(src)) })
		if n > allocBudget {
			t.Errorf("%s: decoding allocated %d MB, want at most %d MB", name, n>>20, allocBudget>>20)
		}
		if valid := name == "a thousand full scenarios"; (err == nil) != valid {
			t.Errorf("%s: error %v, want one: %v", name, firstLine(err), !valid)
		}
		t.Logf("%s (%d KB): %d MB allocated; %v", name, len(src)>>10, n>>20, firstLine(err))
	}
	_, err := parseFile("deep.toml", []byte("[[scenario]]\nname = \"x\"\nx = "+strings.Repeat("[", 40)+strings.Repeat("]", 40)+"\n"))
	if err == nil || !strings.Contains(err.Error(), "deep.toml:3: arrays and inline tables nested more than 8 deep") {
		t.Errorf("nesting beyond the bound: %v", err)
	}
	_, err = parseFile("dotted.toml", []byte("\n["+strings.Repeat("a.", 40)+"a]\n"))
	if err == nil || !strings.Contains(err.Error(), "dotted.toml:2: a key or table header with more than 8 dotted parts") {
		t.Errorf("dotted parts beyond the bound: %v", err)
	}
}

// Strings and comments may hold brackets, braces and dots without limit:
// only the document's structure counts.
func TestShapeIgnoresStringsAndComments(t *testing.T) {
	src := "# [[[[ {{{{ a.b.c.d\n" +
		"[[scenario]]\n" +
		"name = \"x\"\n" +
		"target = \"ws://127.0.0.1:1/" + strings.Repeat("[{.", 100) + "\"\n" +
		"origin = '" + strings.Repeat("{[.", 100) + "'\n" +
		"headers = [\"\"\"X-A: " + strings.Repeat("[", 100) + "\"\"\", '''X-B: " + strings.Repeat("{", 100) + "''']\n" +
		"\"quoted.key.with.dots.a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.1.2.3.4.5.6.7\" = 1\n"
	if line, msg := checkShape([]byte(src)); msg != "" {
		t.Errorf("line %d: %s", line, msg)
	}
}

// After a [[scenario]] header the scan is back at the top level: each
// line's key is a key again, and its dots count.
func TestShapeCountsKeysUnderEveryHeader(t *testing.T) {
	src := "[defaults]\nconns = 1\n[[scenario]]\nname = \"x\"\n" + strings.Repeat("a.", maxKeyParts) + "b = 1\n"
	if line, msg := checkShape([]byte(src)); line != 5 || !strings.Contains(msg, "dotted parts") {
		t.Errorf("line %d: %q; want line 5 refused for its dotted parts", line, msg)
	}
	ok := "[[scenario]]\nname = \"x\"\nheaders = [\n  \"A: b\",\n  \"C: d\",\n]\nexpect = [\"drop-at=60s±2s\"]\nrate = 1.5\n"
	if line, msg := checkShape([]byte(ok)); msg != "" {
		t.Errorf("a plain file refused at line %d: %s", line, msg)
	}
}

func firstLine(err error) string {
	if err == nil {
		return "accepted"
	}
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}

// FuzzLoadFile: no input panics the loader or makes it allocate past the
// budget.
func FuzzLoadFile(f *testing.F) {
	for _, src := range hostileShapes() {
		if len(src) < 64<<10 {
			f.Add([]byte(src))
		}
	}
	f.Add([]byte("[defaults]\nconns = 2\n[[scenario]]\nname = \"a\"\nexpect = [\"no-drops\"]\nx = {a = [1, {b = 2}]}\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		if len(src) > MaxScenarioBytes {
			return // LoadFile refuses it before decoding
		}
		if n := allocated(func() { _, _ = parseFile("fuzz.toml", src) }); n > allocBudget {
			t.Fatalf("%d bytes of input allocated %d MB", len(src), n>>20)
		}
	})
}
