package redact

import (
	"net/url"
	"slices"
	"strings"
)

// QueryParams are URL query (and fragment) parameters whose values carry
// credentials in practice: tokens in a WebSocket URL are common, because a
// browser's WebSocket cannot send an Authorization header. Matched without
// regard to case; a name that contains "token", "secret", "passw" or
// "signature" is secret too (auth_token, X-Amz-Signature).
var QueryParams = []string{"access_token", "api_key", "apikey", "auth", "authorization", "code", "jwt",
	"key", "passwd", "password", "pwd", "secret", "session", "sessionid", "sid", "sig", "signature",
	"token", "x-amz-credential"}

var queryWords = []string{"token", "secret", "passw", "signature"}

// queryParam reports whether a query parameter's value is hidden: one of
// QueryParams, a name with a secret word in it, or a name given to New.
func (r *Redactor) queryParam(name string) bool {
	n := strings.ToLower(name)
	if slices.Contains(QueryParams, n) || r.names[n] {
		return true
	}
	for _, w := range queryWords {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// URL returns raw with its password and the values of secret query and
// fragment parameters replaced by Mark, names kept
// ("wss://u:[redacted]@h/ws?token=[redacted]&room=1"), and learns the
// hidden values so an echo of them is scrubbed too. It works on the text,
// so a URL that does not parse (a bad port, a stray %) is hidden as well
// as one that does; what it hid is listed by Hidden.
func (r *Redactor) URL(raw string) string {
	rest := raw
	var b strings.Builder
	if i := strings.Index(rest, "://"); i >= 0 {
		b.WriteString(rest[:i+3])
		rest = rest[i+3:]
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority := rest[:end]
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		user, pass, hasPass := strings.Cut(authority[:at], ":")
		b.WriteString(user)
		if hasPass {
			r.learnEscaped(pass)
			r.note("URL password")
			b.WriteString(":" + Mark)
		}
		authority = authority[at:]
	}
	b.WriteString(authority)
	rest = rest[end:]
	path, fragment, hasFragment := strings.Cut(rest, "#")
	path, query, hasQuery := strings.Cut(path, "?")
	b.WriteString(path)
	if hasQuery {
		b.WriteString("?" + r.params(query, "query parameter "))
	}
	if hasFragment {
		b.WriteString("#" + r.params(fragment, "fragment parameter "))
	}
	return b.String()
}

// params hides the values of secret parameters in a query string.
func (r *Redactor) params(q, what string) string {
	parts := strings.Split(q, "&")
	for i, p := range parts {
		name, value, ok := strings.Cut(p, "=")
		if !ok || value == "" {
			continue
		}
		n, err := url.QueryUnescape(name)
		if err != nil {
			n = name
		}
		if r.queryParam(n) {
			r.learnEscaped(value)
			r.note(what + n)
			parts[i] = name + "=" + Mark
		}
	}
	return strings.Join(parts, "&")
}

// learnEscaped learns a secret as written and unescaped: an echo may
// carry either.
func (r *Redactor) learnEscaped(v string) {
	r.learnValue(v)
	if u, err := url.QueryUnescape(v); err == nil && u != v {
		r.learnValue(u)
	}
	if u, err := url.PathUnescape(v); err == nil && u != v {
		r.learnValue(u)
	}
}

// note records that a secret of this kind was hidden.
func (r *Redactor) note(what string) {
	if !slices.Contains(r.hidden, what) {
		r.hidden = append(r.hidden, what)
	}
}

// Hidden lists what was hidden so far, each once, in the order first
// hidden: "header Authorization", "query parameter token", "URL
// password". A result carries it, so a reader knows a value shown as
// [redacted] was there.
func (r *Redactor) Hidden() []string { return slices.Clone(r.hidden) }
