package scenario

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// writeFile puts src in a fresh directory and returns its path.
func writeFile(t *testing.T, name, src string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadExampleFile(t *testing.T) {
	t.Parallel()
	f, err := LoadFile("../scenarios.example.toml")
	if err != nil {
		t.Fatalf("scenarios.example.toml does not load:\n%v", err)
	}
	// The scenarios PRODUCT.md promises, against the lab's ports.
	want := []struct {
		name, target string
		minHold      time.Duration
		ping         time.Duration
		expect       string
	}{
		{"nginx-default", "ws://127.0.0.1:18084/ws", 62 * time.Second, 0, "drop-at=60s±2s"},
		{"nginx-86400", "ws://127.0.0.1:18085/ws", 75 * time.Second, 0, "no-drops"},
		{"nginx-default-heartbeat", "ws://127.0.0.1:18084/ws", 61 * time.Second, 30 * time.Second, "no-drops"},
		{"nginx-broken", "ws://127.0.0.1:18081/ws", 0, 0, "failed-status=400"},
	}
	for _, w := range want {
		got, err := f.Select([]string{w.name})
		if err != nil {
			t.Errorf("example lacks %s: %v", w.name, err)
			continue
		}
		s := got[0]
		if s.Target != w.target || s.Hold.D() < w.minHold || s.Ping.D() != w.ping || !slices.Contains(s.Expect, w.expect) {
			t.Errorf("%s = target %s hold %s ping %s expect %q; want target %s, hold >= %s, ping %s, expect including %q",
				w.name, s.Target, s.Hold, s.Ping, s.Expect, w.target, w.minHold, w.ping, w.expect)
		}
		if err := s.Validate(); err != nil {
			t.Errorf("%s: %v", w.name, err)
		}
	}
}

// Every scenario key in the example file is explained: the example is the
// format's documentation.
func TestExampleFileMentionsEveryKey(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("../scenarios.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range schemaKeys() {
		if !regexp.MustCompile(`(?m)^#?\s*` + k + ` = |\(` + k + ` = `).Match(src) {
			t.Errorf("scenarios.example.toml never shows the key %q", k)
		}
	}
}

func TestLoadLayersDefaultsThenDefaultsTableThenScenario(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "s.toml", `
[defaults]
conns = 300
hold = "65s"
headers = ["X-Team: a"]

[[scenario]]
name = "inherits"
target = "ws://127.0.0.1:1/ws"

[[scenario]]
name = "overrides"
conns = 5
headers = []
ping = "30s"
`)
	f, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	d := Defaults()
	in, ov := f.Scenarios[0], f.Scenarios[1]
	checks := []struct {
		what      string
		got, want any
	}{
		{"inherited conns from [defaults]", in.Conns, 300},
		{"inherited hold from [defaults]", in.Hold, Duration(65 * time.Second)},
		{"inherited headers from [defaults]", strings.Join(in.Headers, ","), "X-Team: a"},
		{"built-in rate where nobody set it", in.Rate, d.Rate},
		{"built-in pong timeout where nobody set it", in.PongTimeout, d.PongTimeout},
		{"scenario conns over [defaults]", ov.Conns, 5},
		{"scenario's empty list over [defaults]", len(ov.Headers), 0},
		{"scenario's own ping", ov.Ping, Duration(30 * time.Second)},
		{"[defaults] hold still applies", ov.Hold, Duration(65 * time.Second)},
		{"empty target = built-in", ov.Target, ""},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: got %v, want %v", c.what, c.got, c.want)
		}
	}
	if got := f.Names(); strings.Join(got, ",") != "inherits,overrides" {
		t.Errorf("Names() = %v, want file order", got)
	}
}

func TestLoadResolvesPathsAgainstTheFilesDirectory(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, name := range []string{"nginx.conf", "other.conf"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writeCA(t, filepath.Join(dir, "ca.pem"))
	abs := filepath.Join(dir, "other.conf")
	path := filepath.Join(dir, "s.toml")
	src := fmt.Sprintf(`
[defaults]
proxy_configs = ["nginx.conf"]
[[scenario]]
name = "a"
target = "wss://127.0.0.1:1/ws"
ca = "ca.pem"
[[scenario]]
name = "b"
proxy_configs = ["nginx.conf", %q]
`, abs)
	if err := os.WriteFile(path, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := LoadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	a, b := f.Scenarios[0], f.Scenarios[1]
	if want := filepath.Join(dir, "ca.pem"); a.CA != want {
		t.Errorf("ca = %q, want %q", a.CA, want)
	}
	if want := []string{filepath.Join(dir, "nginx.conf")}; !slices.Equal(a.ProxyConfigs, want) {
		t.Errorf("inherited proxy_configs = %q, want %q", a.ProxyConfigs, want)
	}
	if want := []string{filepath.Join(dir, "nginx.conf"), abs}; !slices.Equal(b.ProxyConfigs, want) {
		t.Errorf("proxy_configs = %q, want %q (absolute paths kept)", b.ProxyConfigs, want)
	}
}

// The golden file is the loader's whole output for a file with one of
// everything wrong: every problem, in file order, each with its line.
func TestLoadReportsEveryProblemWithItsLine(t *testing.T) {
	t.Parallel()
	_, err := LoadFile("testdata/bad.toml")
	if err == nil {
		t.Fatal("testdata/bad.toml loaded without error")
	}
	got := []byte(err.Error() + "\n")
	golden := "testdata/bad.golden"
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./scenario -run %s -update)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("errors differ from %s (if the change is right, rerun with -update)\n got:\n%s\nwant:\n%s", golden, got, want)
	}
}

func TestLoadErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
		want []string // each must appear, ":LINE: key: message"
	}{
		{"syntax error has its line", "[[scenario]]\nname = \"a\"\nconns = = 3\n",
			[]string{":3: ", "TOML cannot read the file past this point"}},
		{"duplicate key is a syntax error", "[[scenario]]\nname = \"a\"\nname = \"b\"\n",
			[]string{":3: ", "already been defined"}},
		{"empty file", "", []string{": no [[scenario]] tables"}},
		{"empty array of scenarios", "scenario = []\n", []string{":1: scenario: empty; a scenario file needs at least one [[scenario]] table"}},
		{"only defaults", "[defaults]\nconns = 1\n", []string{": no [[scenario]] tables"}},
		{"single brackets", "[scenario]\nname = \"a\"\n", []string{":1: scenario: must be an array of tables: write [[scenario]]"}},
		{"defaults not a table", "defaults = 3\n[[scenario]]\nname = \"a\"\n", []string{":1: defaults: must be a table"}},
		{"name in defaults", "[defaults]\nname = \"x\"\n[[scenario]]\nname = \"a\"\n", []string{":2: name: belongs in each [[scenario]]"}},
		{"scenario key at top level", "conns = 3\n[[scenario]]\nname = \"a\"\n", []string{`:1: conns: unknown top-level key ("conns" is a scenario key: put it under [defaults] or a [[scenario]])`}},
		{"missing name", "[[scenario]]\nconns = 1\n\n[[scenario]]\nname = \"b\"\n", []string{":1: name: missing"}},
		{"bad name", "[[scenario]]\nname = \"my scenario\"\n", []string{`:2: name: "my scenario": use 1 to 64 letters`}},
		{"name of the wrong type is not also missing", "[[scenario]]\nname = 3\n", []string{`:2: name: want a string in quotes, got integer 3`}},
		{"duplicate name", "[[scenario]]\nname = \"a\"\n[[scenario]]\nname = \"a\"\n", []string{`:4: name: "a" is already the name of the scenario at line 1`}},
		{"float for an int", "[[scenario]]\nname = \"a\"\nconns = 3.0\n", []string{":3: conns: want a whole number, got float 3"}},
		{"string for a bool", "[[scenario]]\nname = \"a\"\ninsecure = \"yes\"\n", []string{`:3: insecure: want true or false, got string "yes"`}},
		{"date for a string", "[[scenario]]\nname = \"a\"\ntarget = 2024-01-01\n", []string{":3: target: want a string in quotes, got a date/time"}},
		{"table for a duration", "[[scenario]]\nname = \"a\"\nhold = { s = 1 }\n", []string{`:3: hold: want a duration in quotes such as "75s", got a table`}},
		{"number for a list", "[[scenario]]\nname = \"a\"\nexpect = 3\n", []string{":3: expect: want an array of strings"}},
		{"float duration", "[[scenario]]\nname = \"a\"\nhold = 1.5\n", []string{`:3: hold: want a duration in quotes with a unit, e.g. "1.5s"`}},
		{"negative duration", "[[scenario]]\nname = \"a\"\nhold = \"-5s\"\n", []string{":3: hold: -5s: must be zero or more"}},
		{"infinite rate", "[[scenario]]\nname = \"a\"\nrate = inf\n", []string{":3: rate: want a finite number, got float +Inf"}},
		{"huge integer for a float", "[[scenario]]\nname = \"a\"\nrate = 9007199254740993\n", []string{":3: rate: 9007199254740993 is too large to be exact"}},
		{"case matters", "[[scenario]]\nname = \"a\"\nHold = \"5s\"\n", []string{`:3: Hold: unknown key (did you mean "hold"?)`}},
		{"misspelled", "[[scenario]]\nname = \"a\"\nsource_ip = [\"127.0.0.1\"]\n", []string{`:3: source_ip: unknown key (did you mean "source_ips"?)`}},
		{"nothing like a key", "[[scenario]]\nname = \"a\"\nzzzzzzzz = 1\n", []string{":3: zzzzzzzz: unknown key\n"}},
		{"problem set in defaults names its scenarios", "[defaults]\nconns = 0\n[[scenario]]\nname = \"a\"\n[[scenario]]\nname = \"b\"\n",
			[]string{`:2: conns: 0: open at least 1 connection (set in [defaults]; affects scenarios "a", "b")`}},
		{"a scenario's own bad value under a bad [defaults] one", "[defaults]\nconns = \"x\"\n[[scenario]]\nname = \"a\"\nconns = 0\n",
			[]string{":2: conns: want a whole number", ":5: conns: 0: open at least 1 connection"}},
		{"a clash between expectations lands on the expect line", "[[scenario]]\nname = \"a\"\nexpect = [\"failed-status=400\", \"failed-status=426\"]\n",
			[]string{":3: expect: "}},
		{"inline scenarios keep their lines", "scenario = [\n  { name = \"a\" },\n  { name = \"b\", conns = 0 },\n]\n",
			[]string{":3: conns: 0: open at least 1 connection"}},
		{"a quoted newline cannot forge a line", "[[scenario]]\nname = \"a\"\ntarget = \"ws://x/\\nfile.toml:1: ok\"\n",
			[]string{`:3: target: `, `\n`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := writeFile(t, "s.toml", tt.src)
			f, err := LoadFile(path)
			if err == nil {
				t.Fatalf("loaded %d scenarios, want an error", len(f.Scenarios))
			}
			msg := err.Error() + "\n"
			for _, line := range strings.Split(err.Error(), "\n") {
				if !strings.HasPrefix(line, path+":") {
					t.Errorf("error line %q does not start with the file name", line)
				}
			}
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error\n%s\ndoes not contain %q", msg, w)
				}
			}
		})
	}
}

func TestLoadErrorsNameEachProblemOnce(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "s.toml", "[[scenario]]\nname = 3\nconns = \"x\"\n")
	_, err := LoadFile(path)
	if err == nil {
		t.Fatal("want an error")
	}
	if n := len(unjoin(err)); n != 2 {
		t.Errorf("%d problems, want 2 (one per bad key; no follow-on 'missing'):\n%v", n, err)
	}
}

func TestLoadFileThatIsNotThere(t *testing.T) {
	t.Parallel()
	_, err := LoadFile("testdata/nonexistent.toml")
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "testdata/nonexistent.toml") {
		t.Errorf("LoadFile(missing) = %v, want a wrapped not-exist error naming the file", err)
	}
}

func TestSelect(t *testing.T) {
	t.Parallel()
	f := &File{Path: "s.toml", Scenarios: []Scenario{{Name: "a"}, {Name: "b"}, {Name: "c"}}}
	tests := []struct {
		names []string
		want  string // names selected, or the error's text
	}{
		{nil, "a,b,c"},
		{[]string{"c", "a"}, "c,a"},
		{[]string{"b", "b"}, "b"},
		{[]string{"a", "x", "y"}, `s.toml has no scenario "x"; it has: a, b, c` + "\n" + `s.toml has no scenario "y"; it has: a, b, c`},
	}
	for _, tt := range tests {
		got, err := f.Select(tt.names)
		var s string
		if err != nil {
			s = err.Error()
		} else {
			for _, sc := range got {
				s += sc.Name + ","
			}
			s = strings.TrimSuffix(s, ",")
		}
		if s != tt.want {
			t.Errorf("Select(%q) = %q, want %q", tt.names, s, tt.want)
		}
	}
	all, _ := f.Select(nil)
	all[0].Name = "changed"
	if f.Scenarios[0].Name != "a" {
		t.Error("Select(nil) returned the file's own slice; callers editing it would change the file")
	}
}

// FuzzLoad: the loader never panics; every error line names the file and,
// when it has one, a line inside the file; what loads is valid.
func FuzzLoad(f *testing.F) {
	for _, seed := range []string{
		"[[scenario]]\nname = \"a\"\n",
		"[defaults]\nconns = 3\n[[scenario]]\nname = \"a\"\ntarget = \"ws://127.0.0.1:1/ws\"\nexpect = [\"drop-at=60s±2s\"]\nhold = \"65s\"\n",
		"scenario = [{name = \"a\", conns = 0}]\n",
		"[[scenario]]\nname = \"a\"\nhold = 60\nConns = 1\n[x]\n",
		"[[scenario]]\nname=\"a\"\n[[scenario]]\nname=\"a\"\nsource_ips=[\"127.0.0.1-127.0.0.3\"]\nheaders=[\"Upgrade: x\"]\n",
	} {
		f.Add([]byte(seed))
	}
	if b, err := os.ReadFile("testdata/bad.toml"); err == nil {
		f.Add(b)
	}
	lineRE := regexp.MustCompile(`^fuzz\.toml(:(\d+))?: `)
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := parseFile("fuzz.toml", data)
		if err != nil {
			lines := bytes.Count(data, []byte("\n")) + 1
			for _, msg := range strings.Split(err.Error(), "\n") {
				m := lineRE.FindStringSubmatch(msg)
				if m == nil {
					t.Fatalf("error line %q names neither the file nor a line", msg)
				}
				var n int
				if m[2] != "" {
					fmt.Sscan(m[2], &n)
					if n < 1 || n > lines {
						t.Fatalf("error %q names line %d of a %d-line file", msg, n, lines)
					}
				}
			}
			return
		}
		seen := map[string]bool{}
		for _, s := range file.Scenarios {
			if err := s.Validate(); err != nil {
				t.Fatalf("loaded scenario %q does not validate: %v", s.Name, err)
			}
			if seen[s.Name] {
				t.Fatalf("two scenarios named %q loaded", s.Name)
			}
			seen[s.Name] = true
		}
		if len(file.Scenarios) == 0 {
			t.Fatal("a file with no scenarios loaded without error")
		}
	})
}
