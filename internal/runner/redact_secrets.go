package runner

import (
	"slices"
	"strings"
)

// secretValues returns the credential values in headers (those of
// alwaysRedacted and extra): each whole value, the credential after an auth
// scheme ("Bearer s3cret"), and each cookie's value, longest first, so that
// an echo of any of them can be scrubbed.
func secretValues(headers, extra []string) []string {
	names := append(append([]string{}, alwaysRedacted...), extra...)
	var out []string
	add := func(s string) {
		if s = strings.TrimSpace(s); len(s) >= 4 {
			out = append(out, s)
		}
	}
	for _, h := range headers {
		name, value, _ := strings.Cut(h, ":")
		if !slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(strings.TrimSpace(name), n) }) {
			continue
		}
		add(value)
		if _, cred, ok := strings.Cut(strings.TrimSpace(value), " "); ok {
			add(cred)
		}
		for c := range strings.SplitSeq(value, ";") {
			if _, v, ok := strings.Cut(c, "="); ok {
				add(v)
			}
		}
	}
	slices.SortStableFunc(out, func(a, b string) int { return len(b) - len(a) })
	return out
}
