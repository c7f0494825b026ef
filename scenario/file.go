package scenario

import (
	"cmp"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/wshold/wshold/internal/safefile"
)

// File is a loaded, validated scenario file.
type File struct {
	// Path is the file as named by the caller; errors and reports quote it.
	Path string
	// Scenarios are in file order, each complete: Defaults() < [defaults] <
	// its own keys, with ca and proxy_configs resolved against the file's
	// directory.
	Scenarios []Scenario
}

// LoadFile reads, decodes and validates a scenario file. On any problem it
// returns every one at once (errors.Join), each naming "path:line: key:
// what is wrong", or "path: …" when no line applies.
func LoadFile(path string) (*File, error) {
	data, err := safefile.ReadFile(path, safefile.MaxScenario)
	if err != nil {
		return nil, fmt.Errorf("read scenario file: %w", err)
	}
	return parseFile(path, data)
}

// Names lists the scenarios' names in file order.
func (f *File) Names() []string {
	names := make([]string, len(f.Scenarios))
	for i, s := range f.Scenarios {
		names[i] = s.Name
	}
	return names
}

// Select returns the named scenarios in the order asked (each once), or all
// of them when names is empty. An unknown name is an error that lists the
// names the file has.
func (f *File) Select(names []string) ([]Scenario, error) {
	if len(names) == 0 {
		return slices.Clone(f.Scenarios), nil
	}
	var (
		out  []Scenario
		errs []error
		seen = make(map[string]bool)
	)
	for _, n := range names {
		i := slices.IndexFunc(f.Scenarios, func(s Scenario) bool { return s.Name == n })
		switch {
		case i < 0:
			errs = append(errs, fmt.Errorf("%s has no scenario %q; it has: %s", f.Path, n, strings.Join(f.Names(), ", ")))
		case !seen[n]:
			seen[n] = true
			out = append(out, f.Scenarios[i])
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// lineError is one problem in a scenario file.
type lineError struct {
	path string
	line int    // 0 = no line known
	key  string // "" for problems with the file as a whole
	msg  string
}

func (e *lineError) Error() string {
	var b strings.Builder
	b.WriteString(e.path)
	if e.line > 0 {
		fmt.Fprintf(&b, ":%d", e.line)
	}
	b.WriteString(": ")
	if e.key != "" {
		b.WriteString(e.key + ": ")
	}
	b.WriteString(e.msg)
	return b.String()
}

// loader collects the problems of one file.
type loader struct {
	path  string
	dir   string
	lines *keyLines // nil when lines are unknown
	errs  []*lineError
	more  bool // problems past maxProblems were found and not listed
}

// maxProblems is how many problems one file's message lists: past that
// the file is not a scenario file gone slightly wrong, and listing every
// one of its keys would only bury the first.
const maxProblems = 50

// maxScenarios bounds the [[scenario]] tables of one file; each is
// resolved (its files read) before anything runs.
const maxScenarios = 1000

// full reports whether the loader has all the problems it will list.
func (l *loader) full() bool { return len(l.errs) >= maxProblems }

func (l *loader) add(line int, key, format string, a ...any) {
	if l.full() {
		l.more = true
		return
	}
	// One error per line of output: a value quoted into a message must not
	// forge a second "file:line:" of its own.
	msg := strings.NewReplacer("\n", `\n`, "\r", `\r`).Replace(fmt.Sprintf(format, a...))
	l.errs = append(l.errs, &lineError{path: l.path, line: line, key: key, msg: msg})
}

func (l *loader) topLine(key string) int {
	if l.lines == nil {
		return 0
	}
	return l.lines.top[key]
}

// parseFile is LoadFile on bytes already read.
func parseFile(path string, data []byte) (*File, error) {
	l := &loader{path: path, dir: filepath.Dir(path)}
	if line, msg := checkShape(data); msg != "" {
		l.add(line, "", "%s", msg)
		return nil, l.result()
	}
	var doc map[string]any
	md, err := toml.Decode(string(data), &doc)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			l.add(pe.Position.Line, "", "%s (TOML cannot read the file past this point: fix this first, then run again for any other problems)", pe.Message)
		} else {
			l.add(0, "", "%v", err)
		}
		return nil, l.result()
	}
	l.lines = locateKeys(string(data), md.Keys())

	base := Defaults()
	var (
		baseSet  map[string]bool
		baseBad  map[string]bool
		defLines map[string]int
		tables   []map[string]any
	)
	if l.lines != nil {
		defLines = l.lines.defaults
	}
	for _, k := range l.sortedKeys(doc, l.lines.topMap()) {
		if l.full() {
			break
		}
		v := doc[k]
		switch k {
		case "defaults":
			t, ok := v.(map[string]any)
			if !ok {
				l.add(l.topLine(k), k, "must be a table: write [defaults] and the keys below it")
				continue
			}
			if _, ok := t["name"]; ok {
				l.add(lineOf(defLines, "name", l.topLine(k)), "name", "belongs in each [[scenario]], not in [defaults]: names must be unique")
				delete(t, "name")
			}
			baseSet, baseBad = l.decodeTable(t, &base, defLines, l.topLine(k))
			l.resolvePaths(&base, baseSet)
		case "scenario":
			var ok bool
			switch tables, ok = asTables(v); {
			case !ok:
				l.add(l.topLine(k), k, "must be an array of tables: write [[scenario]] (double brackets) above each scenario's keys")
			case len(tables) == 0:
				l.add(l.topLine(k), k, "empty; a scenario file needs at least one [[scenario]] table")
			case len(tables) > maxScenarios:
				l.add(l.topLine(k), k, "%d scenarios, more than the %d one file may hold; split it into several files", len(tables), maxScenarios)
				tables = nil
			}
		default:
			l.add(l.topLine(k), k, "unknown top-level key%s; a scenario file has a [defaults] table and [[scenario]] tables", suggest(k, topKeys, schemaKeys()))
		}
	}
	if _, ok := doc["scenario"]; !ok {
		l.add(0, "", `no [[scenario]] tables; add at least one: a line [[scenario]], then name = "local" and target = "ws://127.0.0.1:8080/ws" below it`)
	}

	f := &File{Path: path}
	inherited := make(map[string]*inheritedProblem)
	names := make(map[string]int) // name → header line of its first use
	for i, t := range tables {
		if l.full() {
			break
		}
		var tl tableLines
		if l.lines != nil && i < len(l.lines.scenarios) {
			tl = l.lines.scenarios[i]
		}
		s := base
		s.Name = "" // Defaults() names flag runs "cli"; a file must name each scenario
		set, bad := l.decodeTable(t, &s, tl.keys, tl.line)
		l.resolvePaths(&s, set)
		if set["name"] {
			if first, dup := names[s.Name]; dup {
				l.add(lineOf(tl.keys, "name", tl.line), "name", "%q is already the name of the scenario at line %d; names must be unique", s.Name, first)
			} else {
				names[s.Name] = tl.line
			}
		}
		_, problems := s.resolve()
		for _, p := range problems {
			fe := p.(*fieldError)
			if bad[fe.key] || (baseBad[fe.key] && !set[fe.key]) {
				continue // its type error is already reported
			}
			switch {
			case set[fe.key]:
				l.add(lineOf(tl.keys, fe.key, tl.line), fe.key, "%s", fe.msg)
			case baseSet[fe.key]:
				// Reported once, at the [defaults] line, naming every
				// scenario that inherits it.
				ip := inherited[fe.Error()]
				if ip == nil {
					ip = &inheritedProblem{fe: fe, line: lineOf(defLines, fe.key, l.topLine("defaults"))}
					inherited[fe.Error()] = ip
				}
				if label := scenarioLabel(s, i); !slices.Contains(ip.scenarios, label) {
					ip.scenarios = append(ip.scenarios, label)
				}
			default:
				l.add(tl.line, fe.key, "%s", fe.msg)
			}
		}
		f.Scenarios = append(f.Scenarios, s)
	}
	for _, ip := range inherited {
		noun := "scenario"
		if len(ip.scenarios) > 1 {
			noun = "scenarios"
		}
		l.add(ip.line, ip.fe.key, "%s (set in [defaults]; affects %s %s)", ip.fe.msg, noun, strings.Join(ip.scenarios, ", "))
	}
	if err := l.result(); err != nil {
		return nil, err
	}
	return f, nil
}

type inheritedProblem struct {
	fe        *fieldError
	line      int
	scenarios []string
}

func scenarioLabel(s Scenario, i int) string {
	if s.Name != "" {
		return strconv.Quote(s.Name)
	}
	return fmt.Sprintf("#%d", i+1)
}

var topKeys = []string{"defaults", "scenario"}

// result sorts the problems by line, so they read like the file.
func (l *loader) result() error {
	if len(l.errs) == 0 {
		return nil
	}
	slices.SortStableFunc(l.errs, func(a, b *lineError) int {
		return cmp.Or(cmp.Compare(a.line, b.line), cmp.Compare(a.key, b.key), cmp.Compare(a.msg, b.msg))
	})
	l.errs = slices.CompactFunc(l.errs, func(a, b *lineError) bool { return *a == *b })
	errs := make([]error, len(l.errs), len(l.errs)+1)
	for i, e := range l.errs {
		errs[i] = e
	}
	if l.more {
		errs = append(errs, &lineError{path: l.path, msg: fmt.Sprintf("more problems than these %d, not listed; is this a scenario file? (see scenarios.example.toml)", maxProblems)})
	}
	return errors.Join(errs...)
}

func (kl *keyLines) topMap() map[string]int {
	if kl == nil {
		return nil
	}
	return kl.top
}

// sortedKeys orders a table's keys by line, then name, so problems come in
// file order and the same file always gives the same output.
func (l *loader) sortedKeys(t map[string]any, lines map[string]int) []string {
	keys := make([]string, 0, len(t))
	for k := range t {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		return cmp.Or(cmp.Compare(lines[a], lines[b]), strings.Compare(a, b))
	})
	return keys
}

func lineOf(lines map[string]int, key string, fallback int) int {
	if n, ok := lines[key]; ok {
		return n
	}
	return fallback
}

// asTables accepts both [[scenario]] tables and an inline array of tables.
func asTables(v any) ([]map[string]any, bool) {
	switch v := v.(type) {
	case []map[string]any:
		return v, true
	case []any:
		out := make([]map[string]any, 0, len(v))
		for _, e := range v {
			t, ok := e.(map[string]any)
			if !ok {
				return nil, false
			}
			out = append(out, t)
		}
		return out, true
	}
	return nil, false
}

// resolvePaths makes the ca and proxy_configs set at this level relative to
// the file's directory, so a file runs the same from any working directory.
func (l *loader) resolvePaths(s *Scenario, set map[string]bool) {
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(l.dir, p)
	}
	if set["ca"] {
		s.CA = abs(s.CA)
	}
	if set["proxy_configs"] {
		pcs := make([]string, len(s.ProxyConfigs))
		for i, p := range s.ProxyConfigs {
			pcs[i] = abs(p)
		}
		s.ProxyConfigs = pcs
	}
}
