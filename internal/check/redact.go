package check

import (
	"slices"
	"strings"
)

// redacted replaces the value of a secret header wherever it is shown.
const redacted = "[redacted]"

// minSecret is the shortest secret looked for in bodies and error texts;
// hunting for shorter ones would blank out ordinary text (a token "x" would
// hide every x), while the header itself is redacted whatever its length.
const minSecret = 4

// alwaysRedacted are headers whose values carry credentials in practice.
// Set-Cookie is included because a server's answer may hand out a session.
var alwaysRedacted = []string{"Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie"}

// redactor hides secret header values in everything the report shows: the
// headers themselves, and any echo of their values in a response body or
// an error text (echo servers and debug pages repeat request headers).
type redactor struct {
	names  map[string]bool // lower-cased header names
	values []string        // secrets seen in the request, longest first
}

func newRedactor(extra []string) *redactor {
	r := &redactor{names: map[string]bool{}}
	for _, n := range alwaysRedacted {
		r.names[strings.ToLower(n)] = true
	}
	for _, n := range extra {
		r.names[strings.ToLower(strings.TrimSpace(n))] = true
	}
	return r
}

func (r *redactor) secret(name string) bool { return r.names[strings.ToLower(name)] }

// learn remembers the secret parts of a request header value: the whole
// value, the credential after an auth scheme ("Bearer s3cret"), and each
// cookie's value, so a partial echo is caught too.
func (r *redactor) learn(value string) {
	add := func(s string) {
		if s = strings.TrimSpace(s); len(s) >= minSecret {
			r.values = append(r.values, s)
		}
	}
	add(value)
	if _, cred, ok := strings.Cut(value, " "); ok {
		add(cred)
	}
	for c := range strings.SplitSeq(value, ";") {
		if _, v, ok := strings.Cut(c, "="); ok {
			add(v)
		}
	}
	// Longest first, so a value is replaced before a part of it.
	slices.SortStableFunc(r.values, func(a, b string) int { return len(b) - len(a) })
}

// header returns h with its value hidden if the name is secret.
func (r *redactor) header(h Header) Header {
	if r.secret(h.Name) {
		h.Value = redacted
	}
	return h
}

// scrub hides any learned secret that appears in s.
func (r *redactor) scrub(s string) string {
	for _, v := range r.values {
		s = strings.ReplaceAll(s, v, redacted)
	}
	return s
}
