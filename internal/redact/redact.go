// Package redact keeps credentials out of everything wshold writes down:
// results, reports, logs and check's explanations. Results get shared,
// attached to CI runs and pasted into issues; a token in one is a leak.
package redact

import (
	"net/textproto"
	"slices"
	"strings"
)

// Mark replaces a hidden value.
const Mark = "[redacted]"

// minSecret is the shortest secret looked for in free text; hunting for
// shorter ones would blank out ordinary words (a token "x" would hide every
// x), while a secret header's own value is hidden whatever its length.
const minSecret = 4

// Always are headers whose values carry credentials in practice.
// Set-Cookie is included because a server's answer may hand out a session.
var Always = []string{"Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie"}

// Redactor knows which header names are secret and the secret values seen
// in requests, so that an echo of them (servers and debug pages repeat
// request headers in their answers) is hidden too.
type Redactor struct {
	names  map[string]bool // lower-cased header (and query parameter) names
	values []string        // secrets learned, longest first
	hidden []string        // what was hidden, for Hidden
}

// New returns a Redactor for Always plus the extra names, which are
// header names and query parameter names alike.
func New(extra []string) *Redactor {
	r := &Redactor{names: map[string]bool{}}
	for _, n := range append(slices.Clone(Always), extra...) {
		r.names[strings.ToLower(strings.TrimSpace(n))] = true
	}
	return r
}

// Secret reports whether the header name's values are hidden.
func (r *Redactor) Secret(name string) bool { return r.names[strings.ToLower(strings.TrimSpace(name))] }

// Learn remembers the secret parts of a header value: the whole value, the
// credential after an auth scheme ("Bearer s3cret"), and each cookie's
// value, so a partial echo is caught too.
func (r *Redactor) Learn(value string) {
	r.learnValue(value)
	if _, cred, ok := strings.Cut(strings.TrimSpace(value), " "); ok {
		r.learnValue(cred)
	}
	for c := range strings.SplitSeq(value, ";") {
		if _, v, ok := strings.Cut(c, "="); ok {
			r.learnValue(v)
		}
	}
}

// learnValue remembers one secret, once.
func (r *Redactor) learnValue(s string) {
	if s = strings.TrimSpace(s); len(s) < minSecret || slices.Contains(r.values, s) {
		return
	}
	r.values = append(r.values, s)
	// Longest first, so a value is replaced before a part of it.
	slices.SortStableFunc(r.values, func(a, b string) int { return len(b) - len(a) })
}

// Line hides the value of a "Name: value" header line if the name is
// secret, and learns it.
func (r *Redactor) Line(line string) string {
	name, value, _ := strings.Cut(line, ":")
	if !r.Secret(name) {
		return line
	}
	r.Learn(value)
	r.note("header " + textproto.CanonicalMIMEHeaderKey(strings.TrimSpace(name)))
	return strings.TrimSpace(name) + ": " + Mark
}

// Scrub hides every learned secret that appears in s.
func (r *Redactor) Scrub(s string) string {
	for _, v := range r.values {
		s = strings.ReplaceAll(s, v, Mark)
	}
	return s
}
