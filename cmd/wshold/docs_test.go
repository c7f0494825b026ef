package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wshold/wshold/scenario"
)

// The documentation is the README and the guide in docs/ (and the READMEs
// next to the scripts they describe). These tests keep what they show
// true: every command in them can be run as written, and every relative
// link leads somewhere.

const repoRoot = "../.."

// docPages lists the documentation pages, relative to the repository root.
func docPages(t *testing.T) []string {
	t.Helper()
	pages := []string{"README.md"}
	for _, pattern := range []string{"docs/*.md", "scripts/*/README.md"} {
		m, err := filepath.Glob(filepath.Join(repoRoot, pattern))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range m {
			rel, _ := filepath.Rel(repoRoot, p)
			pages = append(pages, rel)
		}
	}
	if len(pages) < 5 {
		t.Fatalf("found only %v: is the guide in docs/ missing?", pages)
	}
	return pages
}

func readPage(t *testing.T, page string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, page))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var (
	fence      = regexp.MustCompile("(?s)```([a-z]*)\n(.*?)```")
	inlineCode = regexp.MustCompile("`([^`\n]+)`")
	// A command the tests can check: wshold (however it is started), a
	// script of this repository, or go build/test.
	commandStart = regexp.MustCompile(`^((\./wshold|wshold|go (run|build|test))( |$)|(scripts|\.ci)/)`)
	mdLink       = regexp.MustCompile(`!?\[[^\]]*\]\(([^)\s]+)\)`)
)

// docCommand is a command line shown in a page: its words, and whether it
// is a synopsis ("wshold check URL", "[flags]") rather than a command to
// copy (then its placeholders are not checked as values).
type docCommand struct {
	page     string
	line     string
	words    []string
	synopsis bool
}

// docCommands finds the commands of a page: the lines of its sh/console
// blocks ("$ " marks a command in a console block) and the code spans of
// its text that start with a command.
func docCommands(t *testing.T, page string) []docCommand {
	text := readPage(t, page)
	var lines []string
	for _, m := range fence.FindAllStringSubmatch(text, -1) {
		lang, body := m[1], strings.ReplaceAll(m[2], "\\\n", " ")
		if lang != "sh" && lang != "console" && lang != "bash" && lang != "" {
			continue
		}
		for _, l := range strings.Split(body, "\n") {
			if lang == "console" {
				var ok bool
				if l, ok = strings.CutPrefix(l, "$ "); !ok {
					continue // output
				}
			}
			lines = append(lines, l)
		}
	}
	prose := fence.ReplaceAllString(text, "")
	for _, m := range inlineCode.FindAllStringSubmatch(strings.ReplaceAll(prose, "\n", " "), -1) {
		lines = append(lines, strings.ReplaceAll(m[1], `\|`, "|"))
	}
	var out []docCommand
	for _, l := range lines {
		words := shellWords(l)
		// Leading VAR=value assignments are the command's environment.
		for len(words) > 0 && regexp.MustCompile(`^[A-Z_]+=`).MatchString(words[0]) {
			words = words[1:]
		}
		joined := strings.Join(words, " ")
		if len(words) == 0 || !commandStart.MatchString(joined) {
			continue
		}
		out = append(out, docCommand{page: page, line: strings.TrimSpace(l), words: words, synopsis: isSynopsis(words)})
	}
	return out
}

// shellWords splits a command line as sh would, as far as docs need it:
// quotes, and the end of the command at a comment, a redirection, a pipe
// or a list operator.
func shellWords(line string) []string {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	flush := func() {
		if inWord {
			words = append(words, cur.String())
		}
		cur.Reset()
		inWord = false
	}
	for _, r := range line {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			flush()
		case !inWord && (r == '#' || r == '>' || r == '|' || r == '&' || r == ';'):
			flush()
			return words
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	flush()
	return words
}

// placeholder is a word that stands for a value: FILE, URL, N, IN.json,
// I/N, [flags], a,b…
var placeholder = regexp.MustCompile(`^(\[.*\]…?|[A-Z][A-Z0-9_]*(\.json|/[A-Z]+)?…?|.*…)$`)

func isSynopsis(words []string) bool {
	for _, w := range words {
		if placeholder.MatchString(w) || strings.Contains(w, "|") || strings.ContainsAny(w, "[]") {
			return true
		}
	}
	return false
}

// wsholdFlag is one flag of a command, as its --help lists it.
type wsholdFlag struct {
	long  string
	value string // "" for a boolean; else the value's name or type
}

// A boolean is listed as "--quiet[=true|false]".
var helpFlag = regexp.MustCompile(`(?m)^\s+(?:-([a-zA-Z]), )?--([a-z][a-z0-9-]*)(?:\[=true\|false\])?(?: ([^\s]+))?\s{2,}`)

// commandFlags reads each command's flags from its --help, the same text a
// user reads: long name, shorthand, and whether it takes a value.
func commandFlags(t *testing.T) map[string]map[string]wsholdFlag {
	t.Helper()
	out := map[string]map[string]wsholdFlag{}
	for _, c := range commands() {
		var help bytes.Buffer
		dispatch([]string{c.name, "--help"}, &help, &help)
		flags := map[string]wsholdFlag{"--help": {long: "help"}, "-h": {long: "help"}}
		for _, m := range helpFlag.FindAllStringSubmatch(help.String(), -1) {
			f := wsholdFlag{long: m[2], value: m[3]}
			flags["--"+m[2]] = f
			if m[1] != "" {
				flags["-"+m[1]] = f
			}
		}
		out[c.name] = flags
	}
	return out
}

// Every command shown in the documentation can be run as written:
//   - wshold (also as go run ./cmd/wshold or ./wshold): the command exists,
//     every flag is one of its flags (as --help lists them), a value is
//     given where one is needed and parses where its type is known
//     (durations, numbers); a -f file of this repository exists and has
//     the scenarios -s names; validate runs on the file it names. In a
//     synopsis ("wshold check URL") the placeholders are not values.
//   - scripts/…: the script exists and is executable; scripts/lab.sh up
//     names a case lab.sh lists; every flag shown appears in the script.
//   - go build/test: the package exists; a -bench pattern matches a
//     benchmark.
//
// Commands of other programs (kubectl, docker, sysctl) are not checked.
func TestDocsCommandsAreRunnable(t *testing.T) {
	flags := commandFlags(t)
	var labCases string
	checked := 0
	for _, page := range docPages(t) {
		for _, dc := range docCommands(t, page) {
			checked++
			where := dc.page + ": `" + dc.line + "`"
			w := dc.words
			switch {
			case len(w) == 2 && w[0] == "go":
				// "go run" named in prose
			case w[0] == "go" && w[1] == "run":
				if len(w) < 3 || w[2] != "./cmd/wshold" {
					t.Errorf("%s: go run of something other than ./cmd/wshold", where)
					continue
				}
				checkWshold(t, where, w[3:], dc.synopsis, flags)
			case w[0] == "wshold" || w[0] == "./wshold":
				checkWshold(t, where, w[1:], dc.synopsis, flags)
			case w[0] == "go":
				checkGo(t, where, w)
			default:
				if labCases == "" && strings.HasPrefix(w[0], "scripts/lab.sh") {
					out, err := exec.Command("bash", filepath.Join(repoRoot, "scripts", "lab.sh"), "list").CombinedOutput()
					if err != nil {
						t.Fatalf("scripts/lab.sh list: %v\n%s", err, out)
					}
					labCases = string(out)
				}
				checkScript(t, where, w, dc.synopsis, labCases)
			}
		}
	}
	if checked < 20 {
		t.Errorf("only %d commands found in the documentation: is the extraction broken?", checked)
	}
}

func checkWshold(t *testing.T, where string, args []string, synopsis bool, flags map[string]map[string]wsholdFlag) {
	t.Helper()
	if len(args) == 0 {
		return // "wshold" on its own names the program
	}
	cmd := args[0]
	if cmd == "help" {
		if len(args) > 1 && !placeholder.MatchString(args[1]) && flags[args[1]] == nil {
			t.Errorf("%s: no command %q", where, args[1])
		}
		return
	}
	known, ok := flags[cmd]
	if !ok {
		t.Errorf("%s: wshold has no command %q", where, cmd)
		return
	}
	var file string
	var names, positional []string
	for i := 1; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") || a == "-" {
			positional = append(positional, a)
			continue
		}
		name, value, hasValue := strings.Cut(a, "=")
		f, ok := known[name]
		if !ok {
			t.Errorf("%s: wshold %s has no flag %s", where, cmd, name)
			continue
		}
		if f.value == "" {
			if hasValue {
				t.Errorf("%s: %s takes no value", where, name)
			}
			continue
		}
		if !hasValue {
			if i+1 >= len(args) {
				t.Errorf("%s: %s needs a value", where, name)
				continue
			}
			i++
			value = args[i]
		}
		if synopsis && placeholder.MatchString(value) {
			continue
		}
		if err := checkFlagValue(f, value); err != nil {
			t.Errorf("%s: %s %q: %v", where, name, value, err)
		}
		switch f.long {
		case "file":
			file = value
		case "scenario":
			names = append(names, strings.Split(value, ",")...)
		}
	}
	if file != "" && inRepo(file) {
		f, err := scenario.LoadFile(filepath.Join(repoRoot, file))
		if err != nil {
			t.Errorf("%s: %v", where, err)
		} else if _, err := f.Select(names); err != nil {
			t.Errorf("%s: %v", where, err)
		}
	}
	if cmd == "validate" && !synopsis {
		for i, p := range positional {
			if inRepo(p) {
				positional[i] = filepath.Join(repoRoot, p)
			}
		}
		var out, errb bytes.Buffer
		if code := dispatch(append([]string{"validate"}, positional...), &out, &errb); code != exitPass {
			t.Errorf("%s: exit %d\n%s", where, code, errb.String())
		}
	}
}

// checkFlagValue parses a value shown for a flag whose type --help names.
func checkFlagValue(f wsholdFlag, v string) error {
	switch f.value {
	case "duration", "D", "DUR":
		_, err := time.ParseDuration(v)
		return err
	case "int", "N":
		_, err := strconv.Atoi(v)
		return err
	case "float":
		_, err := strconv.ParseFloat(v, 64)
		return err
	}
	return nil
}

// inRepo says whether a path in a command names a file of this repository
// (not a user's file such as r.json or scenarios/ci.toml).
func inRepo(p string) bool {
	top := strings.SplitN(filepath.ToSlash(p), "/", 2)[0]
	return slices.Contains([]string{"scripts", "docs", "cmd", "internal", "report", "scenario", "scenarios.example.toml"}, top)
}

func checkGo(t *testing.T, where string, w []string) {
	t.Helper()
	for i, a := range w[2:] {
		switch {
		case strings.HasPrefix(a, "./") && !strings.HasSuffix(a, "/..."):
			if st, err := os.Stat(filepath.Join(repoRoot, a)); err != nil || !st.IsDir() {
				t.Errorf("%s: no package %s", where, a)
			}
		case a == "-bench" && i+3 < len(w):
			pattern := w[i+3]
			re, err := regexp.Compile(pattern)
			if err != nil {
				t.Errorf("%s: -bench %q: %v", where, pattern, err)
				continue
			}
			out, _ := exec.Command("grep", "-rhoE", "--include=*_test.go", `^func Benchmark[A-Za-z0-9_]*`, repoRoot).Output()
			found := false
			for _, b := range strings.Fields(string(out)) {
				found = found || (strings.HasPrefix(b, "Benchmark") && re.MatchString(b))
			}
			if !found {
				t.Errorf("%s: no benchmark matches -bench %s", where, pattern)
			}
		}
	}
}

func checkScript(t *testing.T, where string, w []string, synopsis bool, labCases string) {
	t.Helper()
	path := filepath.Join(repoRoot, w[0])
	st, err := os.Stat(path)
	if err != nil {
		t.Errorf("%s: %v", where, err)
		return
	}
	if ext := filepath.Ext(w[0]); st.IsDir() || ext != "" && ext != ".sh" {
		return // a directory or a file named in prose: that it exists is enough
	}
	if st.Mode()&0o111 == 0 {
		t.Errorf("%s: %s is not executable", where, w[0])
	}
	src, _ := os.ReadFile(path)
	for i, a := range w[1:] {
		if strings.HasPrefix(a, "-") && !bytes.Contains(src, []byte(strings.SplitN(a, "=", 2)[0])) {
			t.Errorf("%s: %s has no %s", where, w[0], a)
		}
		if w[0] == "scripts/lab.sh" && a == "up" && i+2 < len(w) && !(synopsis && placeholder.MatchString(w[i+2])) {
			if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(w[i+2]) + ` `).MatchString(labCases) {
				t.Errorf("%s: scripts/lab.sh list has no case %s", where, w[i+2])
			}
		}
	}
}

// Every relative link of the documentation leads to a file of the
// repository, and an #anchor to a heading of the page it names; every page
// of the guide is linked from the README.
func TestDocsRelativeLinksResolve(t *testing.T) {
	linked := map[string]bool{}
	links := 0
	for _, page := range docPages(t) {
		for _, m := range mdLink.FindAllStringSubmatch(readPage(t, page), -1) {
			target := m[1]
			if regexp.MustCompile(`^[a-z]+:`).MatchString(target) {
				continue // http:, https:, mailto:
			}
			links++
			file, anchor, _ := strings.Cut(target, "#")
			resolved := page
			if file != "" {
				resolved = filepath.Clean(filepath.Join(filepath.Dir(page), file))
			}
			if page == "README.md" {
				linked[resolved] = true
			}
			if _, err := os.Stat(filepath.Join(repoRoot, resolved)); err != nil {
				t.Errorf("%s: link %s: %s does not exist", page, target, resolved)
				continue
			}
			if anchor != "" && strings.HasSuffix(resolved, ".md") && !slices.Contains(headingAnchors(t, resolved), anchor) {
				t.Errorf("%s: link %s: %s has no heading #%s (it has %v)", page, target, resolved, anchor, headingAnchors(t, resolved))
			}
		}
	}
	if links < 10 {
		t.Errorf("only %d relative links found: is the extraction broken?", links)
	}
	pages, _ := filepath.Glob(filepath.Join(repoRoot, "docs", "*.md"))
	for _, p := range pages {
		rel, _ := filepath.Rel(repoRoot, p)
		if !linked[rel] {
			t.Errorf("README.md does not link the guide's page %s", rel)
		}
	}
}

// headingAnchors are the anchors GitHub makes for a page's headings:
// lower case, punctuation dropped, spaces to hyphens.
func headingAnchors(t *testing.T, page string) []string {
	var out []string
	text := fence.ReplaceAllString(readPage(t, page), "")
	for _, m := range regexp.MustCompile(`(?m)^#+ +(.+)$`).FindAllStringSubmatch(text, -1) {
		h := strings.ToLower(strings.TrimSpace(m[1]))
		var b strings.Builder
		for _, r := range h {
			switch {
			case r == ' ':
				b.WriteRune('-')
			case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127:
				b.WriteRune(r)
			}
		}
		out = append(out, b.String())
	}
	return out
}
