package scenario

import (
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

// lineOfKeys decodes src and returns locateKeys' result, failing the test
// if toml rejects src.
func lineOfKeys(t *testing.T, src string) *keyLines {
	t.Helper()
	var doc map[string]any
	md, err := toml.Decode(src, &doc)
	if err != nil {
		t.Fatalf("test document is not TOML: %v", err)
	}
	return locateKeys(src, md.Keys())
}

func TestLocateKeysFindsEachScenariosOwnLines(t *testing.T) {
	t.Parallel()
	src := `# comment with name = "not a key"
[defaults]
conns = 300 # trailing comment
headers = [
  "A: 1", # a comment inside an array
  "B: 2",
]

[[scenario]]
name = "a"
hold = "65s"
notes = """
[[scenario]]
name = "fake"
hold = \"""still a string"""
expect = ['drop-at=60s±2s']

[[ scenario ]]
"name" = 'b'
hold = '''
multi
'''
ping.x = 1
`
	kl := lineOfKeys(t, src)
	if kl == nil {
		t.Fatal("locateKeys = nil: the scanner lost its way in valid TOML")
	}
	checks := []struct {
		what      string
		got, want int
	}{
		{"[defaults]", kl.top["defaults"], 2},
		{"defaults.conns", kl.defaults["conns"], 3},
		{"defaults.headers", kl.defaults["headers"], 4},
		{"first [[scenario]]", kl.top["scenario"], 9},
		{"scenario count", len(kl.scenarios), 2},
	}
	if len(kl.scenarios) == 2 {
		a, b := kl.scenarios[0], kl.scenarios[1]
		checks = append(checks, []struct {
			what      string
			got, want int
		}{
			{"a header", a.line, 9},
			{"a.name", a.keys["name"], 10},
			{"a.hold", a.keys["hold"], 11},
			{"a.notes", a.keys["notes"], 12},
			{"a.expect (after a multi-line string)", a.keys["expect"], 16},
			{"b header", b.line, 18},
			{"b.name (quoted key)", b.keys["name"], 19},
			{"b.hold", b.keys["hold"], 20},
			{"b.ping (dotted key)", b.keys["ping"], 23},
		}...)
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: line %d, want %d", c.what, c.got, c.want)
		}
	}
}

func TestLocateKeysInlineTables(t *testing.T) {
	t.Parallel()
	src := "defaults = { conns = 3, hold = \"5s\" }\r\n" +
		"scenario = [\r\n" +
		"  { name = \"a\", target = \"ws://127.0.0.1:1/\" },\r\n" +
		"  { name = \"b\", x = { y = [ { z = 1 } ] } },\r\n" +
		"]\r\n"
	kl := lineOfKeys(t, src)
	if kl == nil {
		t.Fatal("locateKeys = nil on valid TOML")
	}
	if got := kl.defaults["hold"]; got != 1 {
		t.Errorf("defaults.hold on line %d, want 1", got)
	}
	if len(kl.scenarios) != 2 {
		t.Fatalf("%d scenarios, want 2", len(kl.scenarios))
	}
	if a, b := kl.scenarios[0], kl.scenarios[1]; a.line != 3 || a.keys["target"] != 3 || b.line != 4 || b.keys["x"] != 4 {
		t.Errorf("scenarios = %+v, want a at line 3 and b at line 4", kl.scenarios)
	}
}

func TestLocateKeysGivesUpRatherThanGuess(t *testing.T) {
	t.Parallel()
	// A key sequence that differs from toml's must yield no lines at all.
	if kl := locateKeys("a = 1\n", []toml.Key{{"b"}}); kl != nil {
		t.Errorf("locateKeys with a mismatched key list = %+v, want nil", kl)
	}
	// Truncated input must stop the scanner, not loop or panic.
	for _, src := range []string{`a = "x`, "a = '''x", "[a", "a = [1,", "a = {b = 1", "a", "= 1"} {
		if _, ok := scanKeys(src); ok {
			t.Errorf("scanKeys(%q) ok, want it to give up", src)
		}
	}
}

func TestScanKeysBoundsNesting(t *testing.T) {
	t.Parallel()
	src := "a = " + strings.Repeat("[", maxScanDepth+10) + strings.Repeat("]", maxScanDepth+10)
	if _, ok := scanKeys(src); ok {
		t.Errorf("scanKeys accepted %d nested arrays, want it to stop at %d", maxScanDepth+10, maxScanDepth)
	}
}

// FuzzKeyLines: on any document toml accepts, the scanner either agrees
// with toml's key list or gives up; it never panics or reports a line
// outside the document.
func FuzzKeyLines(f *testing.F) {
	f.Add("[defaults]\nconns = 1\n[[scenario]]\nname = \"a\"\n")
	f.Add("a = { b = [ { c = 1 } ] }\n'q.r' = \"\"\"x\ny\"\"\"\n")
	f.Add("x = 1979-05-27 07:32:00Z # date\n[t.\"u v\"]\nw = [\n1,\n# c\n2,\n]\n")
	f.Fuzz(func(t *testing.T, src string) {
		var doc map[string]any
		md, err := toml.Decode(src, &doc)
		if err != nil {
			return
		}
		kl := locateKeys(src, md.Keys())
		if kl == nil {
			return
		}
		lines := strings.Count(src, "\n") + 1
		check := func(m map[string]int) {
			for k, n := range m {
				if n < 1 || n > lines {
					t.Fatalf("key %q on line %d of a %d-line document", k, n, lines)
				}
			}
		}
		check(kl.top)
		check(kl.defaults)
		for _, s := range kl.scenarios {
			check(s.keys)
		}
	})
}
