package scenario

import (
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/wshold/wshold/internal/redact"
)

// The file decoder is written against the Scenario struct's toml tags, not
// toml's own struct decoding, because that stops at the first problem,
// matches keys case-insensitively ("Conns" would pass), and converts what
// it can. Here every key of every table is checked, and nothing converts
// except a TOML integer where a float is wanted (rate = 300).

type valueKind int

const (
	kindString valueKind = iota
	kindInt
	kindFloat
	kindBool
	kindStrings
	kindDuration
)

type schemaField struct {
	index int // into Scenario's fields
	kind  valueKind
}

// schema maps each TOML key to its Scenario field. Built from the struct
// tags, so a field added to Scenario is a file key at once.
var schema = buildSchema()

func buildSchema() map[string]schemaField {
	durType := reflect.TypeFor[Duration]()
	t := reflect.TypeFor[Scenario]()
	m := make(map[string]schemaField, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		key, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if key == "" || key == "-" {
			continue
		}
		var k valueKind
		switch {
		case f.Type == durType:
			k = kindDuration
		case f.Type.Kind() == reflect.String:
			k = kindString
		case f.Type.Kind() == reflect.Int:
			k = kindInt
		case f.Type.Kind() == reflect.Float64:
			k = kindFloat
		case f.Type.Kind() == reflect.Bool:
			k = kindBool
		case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.String:
			k = kindStrings
		default:
			// A programming error, caught by any test of this package.
			panic(fmt.Sprintf("scenario: field %s has type %s, which the file decoder does not know; teach decode.go", f.Name, f.Type))
		}
		m[key] = schemaField{index: i, kind: k}
	}
	return m
}

// sortedSchemaKeys are schema's keys in order, for suggestions.
var sortedSchemaKeys = func() []string {
	keys := make([]string, 0, len(schema))
	for k := range schema {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}()

func schemaKeys() []string { return sortedSchemaKeys }

// decodeTable sets s's fields from a TOML table. It returns the keys it
// set, and the keys it could not (already reported, so validation does not
// pile a second message on the same key).
func (l *loader) decodeTable(t map[string]any, s *Scenario, lines map[string]int, tableLine int) (set, bad map[string]bool) {
	set, bad = make(map[string]bool), make(map[string]bool)
	rv := reflect.ValueOf(s).Elem()
	for _, k := range l.sortedKeys(t, lines) {
		if l.full() {
			break
		}
		line := lineOf(lines, k, tableLine)
		f, ok := schema[k]
		if !ok {
			l.add(line, k, "unknown key%s", suggest(k, schemaKeys(), nil))
			continue
		}
		v, msg := convert(f.kind, t[k])
		if msg != "" {
			l.add(line, k, "%s", hideSecrets(msg, t[k]))
			bad[k] = true
			continue
		}
		rv.Field(f.index).Set(v.Convert(rv.Field(f.index).Type()))
		set[k] = true
	}
	return set, bad
}

// convert checks a decoded TOML value against the kind a key wants. The
// message says what was found and what to write.
func convert(k valueKind, v any) (reflect.Value, string) {
	switch k {
	case kindString:
		if s, ok := v.(string); ok {
			return reflect.ValueOf(s), ""
		}
		return reflect.Value{}, "want a string in quotes, got " + describe(v)
	case kindInt:
		if n, ok := v.(int64); ok {
			if int64(int(n)) != n {
				return reflect.Value{}, fmt.Sprintf("%d is too large", n)
			}
			return reflect.ValueOf(int(n)), ""
		}
		return reflect.Value{}, "want a whole number, got " + describe(v)
	case kindFloat:
		switch n := v.(type) {
		case float64:
			if math.IsNaN(n) || math.IsInf(n, 0) {
				return reflect.Value{}, "want a finite number, got " + describe(v)
			}
			return reflect.ValueOf(n), ""
		case int64:
			if n > 1<<53 || n < -(1<<53) {
				return reflect.Value{}, fmt.Sprintf("%d is too large to be exact", n)
			}
			return reflect.ValueOf(float64(n)), ""
		}
		return reflect.Value{}, "want a number, got " + describe(v)
	case kindBool:
		if b, ok := v.(bool); ok {
			return reflect.ValueOf(b), ""
		}
		return reflect.Value{}, "want true or false, got " + describe(v)
	case kindStrings:
		arr, ok := v.([]any)
		if !ok {
			return reflect.Value{}, `want an array of strings such as ["a", "b"], got ` + describe(v)
		}
		out := make([]string, len(arr))
		for i, e := range arr {
			s, ok := e.(string)
			if !ok {
				return reflect.Value{}, fmt.Sprintf("element %d: want a string in quotes, got %s", i+1, describe(e))
			}
			out[i] = s
		}
		return reflect.ValueOf(out), ""
	case kindDuration:
		switch d := v.(type) {
		case string:
			p, err := time.ParseDuration(d)
			if err != nil {
				return reflect.Value{}, fmt.Sprintf("%q is not a duration; write e.g. \"75s\", \"1m30s\", \"250ms\"", d)
			}
			return reflect.ValueOf(Duration(p)), ""
		case int64, float64:
			return reflect.Value{}, fmt.Sprintf("want a duration in quotes with a unit, e.g. \"%vs\"; a bare %v could mean seconds or nanoseconds", d, d)
		}
		return reflect.Value{}, `want a duration in quotes such as "75s", got ` + describe(v)
	}
	panic("unreachable")
}

// describe names a decoded TOML value's type and, for scalars, the value.
func describe(v any) string {
	switch v := v.(type) {
	case string:
		return fmt.Sprintf("string %q", v)
	case int64:
		return fmt.Sprintf("integer %d", v)
	case float64:
		return fmt.Sprintf("float %v", v)
	case bool:
		return fmt.Sprintf("boolean %v", v)
	case []any, []map[string]any:
		return "an array"
	case map[string]any:
		return "a table"
	case time.Time:
		return "a date/time"
	}
	return fmt.Sprintf("a %T", v)
}

// suggest returns " (did you mean "x"?)" for the closest known key within
// a small edit distance, or names other as the place the key belongs.
func suggest(k string, known, other []string) string {
	if best := Closest(k, known); best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	if slices.Contains(other, k) {
		return fmt.Sprintf(" (%q is a scenario key: put it under [defaults] or a [[scenario]])", k)
	}
	return ""
}

// Closest is the name in known that word is most likely a typo of (at most
// two edits away, case ignored), or "": a misspelt scenario key here, a
// misspelt flag in cmd/wshold.
func Closest(word string, known []string) string {
	best, bestD := "", 3 // more than two edits away is not a typo
	for _, c := range known {
		if d := editDistance(strings.ToLower(word), strings.ToLower(c)); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64 // long keys are never typos of short ones; keep it cheap
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// hideSecrets hides, in a message that quotes a value of the wrong type,
// what the value would have carried as a secret had it been well typed: a
// credential header's value, a URL's password or token (headers = "Authorization:
// Bearer …" written as a string, not an array).
func hideSecrets(msg string, v any) string {
	s, ok := v.(string)
	if !ok {
		return msg
	}
	r := redact.New(nil)
	r.Line(s)
	r.URL(s)
	return r.Scrub(msg)
}
