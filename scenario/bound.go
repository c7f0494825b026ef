package scenario

import (
	"fmt"

	"github.com/wshold/wshold/internal/safefile"
)

// The TOML decoder's cost grows with the square of nesting: a 48 KB file of
// nested inline tables took 2.6 GB and 6 s, and a table header of 100,000
// dotted parts 10 GB. A scenario file needs two levels of nesting (an array
// of strings in a table) and no dotted keys at all, so the shape is checked
// before the decoder sees the file, with bounds far above any real file
// and far below what hurts. LoadFile also caps the file's size
// (safefile.MaxScenario).
//
// Even within those bounds the decoder's work grows with keys times depth
// (a 1 MB file of 250,000 keys at depth 31 allocated 1.2 GB in 9 s), so
// the number of keys is bounded too: a thousand scenarios of twenty keys
// each fit.
const (
	// maxNesting bounds arrays and inline tables inside each other.
	maxNesting = 8
	// maxKeyParts bounds the parts of one dotted key or table header.
	maxKeyParts = 8
	// maxKeys bounds the keys and table headers of one file.
	maxKeys = 20_000
)

// checkShape scans a TOML document for nesting and dotted keys beyond the
// bounds. It understands just enough TOML to tell keys from values and to
// skip strings and comments; anything it misreads is left to the decoder,
// which reports syntax errors itself. It returns the line of the first
// problem and what it is, or 0 and "".
func checkShape(src []byte) (int, string) {
	line := 1
	var open []byte // the brackets open now: '[' (array or header) or '{'
	inKey := true   // at a place where a key (or a table header) starts
	header := false // inside a [table] or [[table]] header
	parts := 1      // parts of the key being read
	keys := 0
	key := func() string {
		keys++
		if keys > maxKeys {
			return fmt.Sprintf("more than %d keys and table headers; a scenario file of a thousand scenarios has fewer: split it into several files", maxKeys)
		}
		return ""
	}
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case c == '\n':
			line++
			if len(open) == 0 {
				inKey, header, parts = true, false, 1
			}
		case c == '#':
			for i < len(src) && src[i] != '\n' {
				i++
			}
			i-- // the newline counts the line
		case c == '"' || c == '\'':
			end, lines := skipString(src, i)
			line += lines
			i = end
		case inKey && c == '.':
			parts++
			if parts > maxKeyParts {
				return line, fmt.Sprintf("a key or table header with more than %d dotted parts; a scenario file needs none (write [[scenario]] and plain keys)", maxKeyParts)
			}
		case inKey && c == '=':
			inKey, parts = false, 1
			if msg := key(); msg != "" {
				return line, msg
			}
		case c == '[' && inKey && len(open) == 0 && !header:
			header = true // [table] or [[table]]: still a key
			if i+1 < len(src) && src[i+1] == '[' {
				i++
			}
			if msg := key(); msg != "" {
				return line, msg
			}
		case c == ']' && header:
			if i+1 < len(src) && src[i+1] == ']' {
				i++
			}
			header, inKey, parts = false, false, 1
		case c == '[' || c == '{':
			open = append(open, c)
			if len(open) > maxNesting {
				return line, fmt.Sprintf("arrays and inline tables nested more than %d deep; a scenario file needs two levels (an array of strings in a table)", maxNesting)
			}
			inKey, parts = c == '{', 1
		case c == ']' || c == '}':
			if len(open) > 0 {
				open = open[:len(open)-1]
			}
			inKey = false
		case c == ',':
			inKey, parts = len(open) > 0 && open[len(open)-1] == '{', 1
		}
	}
	return 0, ""
}

// skipString returns the index of the last byte of the string that starts
// at src[i] (basic "…", literal '…', or their multi-line forms), and how
// many line breaks it holds. An unterminated string runs to the end.
func skipString(src []byte, i int) (int, int) {
	q := src[i]
	multi := i+2 < len(src) && src[i+1] == q && src[i+2] == q
	j, lines := i+1, 0
	if multi {
		j = i + 3
	}
	for ; j < len(src); j++ {
		switch c := src[j]; {
		case c == '\\' && q == '"':
			j++
			if j < len(src) && src[j] == '\n' {
				lines++
			}
		case c == '\n':
			lines++
			if !multi {
				return j - 1, lines - 1 // a line break ends a one-line string (a syntax error the decoder names)
			}
		case c == q && !multi:
			return j, lines
		case c == q && j+2 < len(src) && src[j+1] == q && src[j+2] == q:
			// Up to two more quotes may close it: """a""""" is a"".
			j += 2
			for j+1 < len(src) && src[j+1] == q {
				j++
			}
			return j, lines
		}
	}
	return len(src) - 1, lines
}

// MaxScenarioBytes is the largest scenario file LoadFile reads.
const MaxScenarioBytes = safefile.MaxScenario
