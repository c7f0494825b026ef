package scenario

import (
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// Line numbers for keys. BurntSushi/toml does not export where a key was
// written, and the position it keeps internally is one per dotted path, so
// every [[scenario]]'s "hold" shares the last one's line. This scanner walks
// a document that toml has already parsed and records the line each key and
// table header starts on. It understands just enough TOML to skip values
// (strings, arrays, inline tables), and its key sequence is compared with
// MetaData.Keys(): if they differ the positions are dropped and errors name
// only the file, never a wrong line.

type keyEventKind int

const (
	evKey         keyEventKind = iota // key = value, also inside inline tables
	evTable                           // [table]
	evArrayTable                      // [[table]]
	evArrayInline                     // an inline table directly inside an array value; not a key
)

type keyEvent struct {
	kind keyEventKind
	path toml.Key // full dotted path; for evArrayInline, the array's path
	line int      // 1-based
}

// maxScanDepth bounds nesting of arrays and inline tables, so hostile input
// cannot recurse without limit.
const maxScanDepth = 512

type keyScanner struct {
	src    string
	i      int
	line   int
	depth  int
	bad    bool
	events []keyEvent
}

// scanKeys returns the document's keys and headers in order, and false if
// the scanner lost its way (the caller then has no line numbers).
func scanKeys(src string) ([]keyEvent, bool) {
	s := &keyScanner{src: strings.TrimPrefix(src, "\uFEFF"), line: 1}
	var ctx toml.Key
	for !s.bad {
		s.skipBlank()
		if s.eof() {
			break
		}
		if s.peek() == '[' {
			ctx = s.header()
		} else {
			s.keyValue(ctx)
		}
		// A statement ends the line: only spaces and a comment may follow.
		s.skipSpace()
		if !s.eof() && s.peek() != '#' && s.peek() != '\n' && s.peek() != '\r' {
			s.bad = true
		}
	}
	return s.events, !s.bad
}

func (s *keyScanner) eof() bool  { return s.i >= len(s.src) }
func (s *keyScanner) peek() byte { return s.src[s.i] }

func (s *keyScanner) emit(kind keyEventKind, path toml.Key, line int) {
	s.events = append(s.events, keyEvent{kind: kind, path: slices.Clone(path), line: line})
}

func (s *keyScanner) skipSpace() {
	for !s.eof() && (s.peek() == ' ' || s.peek() == '\t') {
		s.i++
	}
}

// skipBlank skips spaces, line breaks and comments.
func (s *keyScanner) skipBlank() {
	for !s.eof() {
		switch s.peek() {
		case ' ', '\t', '\r':
			s.i++
		case '\n':
			s.i++
			s.line++
		case '#':
			for !s.eof() && s.peek() != '\n' {
				s.i++
			}
		default:
			return
		}
	}
}

func (s *keyScanner) header() toml.Key {
	line := s.line
	kind, closing := evTable, "]"
	if strings.HasPrefix(s.src[s.i:], "[[") {
		kind, closing = evArrayTable, "]]"
	}
	s.i += len(closing)
	key := s.key()
	s.skipSpace()
	if s.bad || !strings.HasPrefix(s.src[s.i:], closing) {
		s.bad = true
		return nil
	}
	s.i += len(closing)
	s.emit(kind, key, line)
	return key
}

// keyValue reads "key = value" under ctx.
func (s *keyScanner) keyValue(ctx toml.Key) {
	line := s.line
	key := s.key()
	s.skipSpace()
	if s.bad || s.eof() || s.peek() != '=' {
		s.bad = true
		return
	}
	s.i++
	s.skipSpace()
	path := append(slices.Clone(ctx), key...)
	s.emit(evKey, path, line)
	s.value(path)
}

// key reads a dotted key of bare and quoted parts.
func (s *keyScanner) key() toml.Key {
	var key toml.Key
	for !s.bad {
		s.skipSpace()
		if s.eof() {
			s.bad = true
			return nil
		}
		var part string
		switch c := s.peek(); c {
		case '"':
			start := s.i
			s.singleLine('"', true)
			if s.bad {
				return nil
			}
			u, err := strconv.Unquote(s.src[start:s.i])
			if err != nil {
				s.bad = true // an escape TOML has and Go lacks (\e, \x in TOML 1.1)
				return nil
			}
			part = u
		case '\'':
			start := s.i
			s.singleLine('\'', false)
			if s.bad {
				return nil
			}
			part = s.src[start+1 : s.i-1]
		default:
			start := s.i
			for !s.eof() && isBareKeyByte(s.peek()) {
				s.i++
			}
			if s.i == start {
				s.bad = true
				return nil
			}
			part = s.src[start:s.i]
		}
		key = append(key, part)
		s.skipSpace()
		if s.eof() || s.peek() != '.' {
			return key
		}
		s.i++
	}
	return nil
}

func isBareKeyByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-'
}

// value skips one value, emitting the keys of inline tables inside it.
func (s *keyScanner) value(path toml.Key) {
	if s.eof() || s.depth >= maxScanDepth {
		s.bad = true
		return
	}
	rest := s.src[s.i:]
	switch {
	case strings.HasPrefix(rest, `"""`):
		s.multiLine(`"""`, true)
	case strings.HasPrefix(rest, `'''`):
		s.multiLine(`'''`, false)
	case rest[0] == '"':
		s.singleLine('"', true)
	case rest[0] == '\'':
		s.singleLine('\'', false)
	case rest[0] == '[':
		s.depth++
		s.array(path)
		s.depth--
	case rest[0] == '{':
		s.depth++
		s.inlineTable(path)
		s.depth--
	default:
		// Numbers, booleans, dates ("1979-05-27 07:32:00Z" has a space).
		start := s.i
		for !s.eof() && strings.IndexByte(",]}#\r\n", s.peek()) < 0 {
			s.i++
		}
		if s.i == start {
			s.bad = true
		}
	}
}

func (s *keyScanner) array(path toml.Key) {
	s.i++ // [
	for !s.bad {
		s.skipBlank()
		if s.eof() {
			s.bad = true
			return
		}
		if s.peek() == ']' {
			s.i++
			return
		}
		if s.peek() == '{' {
			s.emit(evArrayInline, path, s.line)
		}
		s.value(path)
		s.skipBlank()
		switch {
		case s.eof():
			s.bad = true
		case s.peek() == ',':
			s.i++
		case s.peek() != ']':
			s.bad = true
		}
	}
}

func (s *keyScanner) inlineTable(path toml.Key) {
	s.i++ // {
	for !s.bad {
		s.skipBlank()
		if s.eof() {
			s.bad = true
			return
		}
		if s.peek() == '}' {
			s.i++
			return
		}
		s.keyValue(path)
		s.skipBlank()
		switch {
		case s.eof():
			s.bad = true
		case s.peek() == ',':
			s.i++
		case s.peek() != '}':
			s.bad = true
		}
	}
}

// singleLine skips a one-line string starting at its opening quote.
func (s *keyScanner) singleLine(quote byte, escapes bool) {
	s.i++
	for !s.eof() {
		switch c := s.peek(); {
		case c == '\n':
			s.bad = true
			return
		case escapes && c == '\\':
			s.i += 2
		case c == quote:
			s.i++
			return
		default:
			s.i++
		}
	}
	s.bad = true
}

// multiLine skips a multi-line string, delimited by three double or three
// single quotes. Up to two quotes may sit right before the closing
// delimiter and belong to the string.
func (s *keyScanner) multiLine(delim string, escapes bool) {
	s.i += len(delim)
	for !s.eof() {
		switch c := s.peek(); {
		case strings.HasPrefix(s.src[s.i:], delim):
			s.i += len(delim)
			for n := 0; n < 2 && !s.eof() && s.peek() == delim[0]; n++ {
				s.i++
			}
			return
		case escapes && c == '\\':
			s.i++
			if !s.eof() && s.peek() == '\n' {
				s.line++
			}
			s.i++
		case c == '\n':
			s.line++
			s.i++
		default:
			s.i++
		}
	}
	s.bad = true
}

// keyLines is where the keys of a scenario file are, by table.
type keyLines struct {
	top       map[string]int // top-level keys and headers ("defaults", "scenario", unknown ones)
	defaults  map[string]int // keys of the defaults table
	scenarios []tableLines   // one per scenario table, in order
}

type tableLines struct {
	line int            // the [[scenario]] header or the inline table's opening brace
	keys map[string]int // keys directly in this scenario
}

// locateKeys returns where the keys of src are, or nil when the scanner's
// view of the document differs from toml's (want, from MetaData.Keys()).
func locateKeys(src string, want []toml.Key) *keyLines {
	events, ok := scanKeys(src)
	if !ok {
		return nil
	}
	var got []string
	for _, ev := range events {
		if ev.kind != evArrayInline {
			got = append(got, ev.path.String())
		}
	}
	if len(got) != len(want) {
		return nil
	}
	for i := range want {
		if got[i] != want[i].String() {
			return nil
		}
	}
	kl := &keyLines{top: map[string]int{}, defaults: map[string]int{}}
	for _, ev := range events {
		p := ev.path
		isScenario := p[0] == "scenario" && len(p) == 1
		if ev.kind == evArrayInline || (ev.kind == evArrayTable && isScenario) {
			if isScenario {
				kl.scenarios = append(kl.scenarios, tableLines{line: ev.line, keys: map[string]int{}})
			}
			if ev.kind == evArrayInline {
				continue
			}
		}
		setFirst(kl.top, p[0], ev.line)
		if len(p) < 2 {
			continue
		}
		switch p[0] {
		case "defaults":
			setFirst(kl.defaults, p[1], ev.line)
		case "scenario":
			if n := len(kl.scenarios); n > 0 {
				setFirst(kl.scenarios[n-1].keys, p[1], ev.line)
			}
		}
	}
	return kl
}

// setFirst keeps the first line: for a key spread over a table and its
// sub-keys, the line where it begins.
func setFirst(m map[string]int, k string, line int) {
	if _, ok := m[k]; !ok {
		m[k] = line
	}
}
