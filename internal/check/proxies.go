package check

import (
	"fmt"
	"strings"

	"github.com/wshold/wshold/internal/identify"
	"github.com/wshold/wshold/report"
)

// Proxy names used in Report.Proxy and Fix.For (identify's stable codes).
const (
	ProxyNginx    = identify.ProxyNginx
	ProxyHAProxy  = identify.ProxyHAProxy
	ProxyCaddy    = identify.ProxyCaddy
	ProxyApache   = identify.ProxyApache
	ProxyLighttpd = identify.ProxyLighttpd
	ProxyVarnish  = identify.ProxyVarnish
	ProxyNghttpx  = identify.ProxyNghttpx
	ProxyH2O      = identify.ProxyH2O
	ProxyATS      = identify.ProxyATS
)

// proxyGuess is what the answer gives away about a proxy in the path.
type proxyGuess struct {
	name     string // a Proxy* constant, another product name, or ""
	evidence string // what gave it away, shown to the user
	// origin says whose answer a refusal is, and originWhy why.
	origin    pageOrigin
	originWhy string
	// clues are what the answer's form says without naming a product
	// (every header name lower-case: HAProxy, Node's http-proxy, …).
	clues []string
	// backend names the WebSocket server the answer names when no proxy
	// does (Server: Python/3.11 websockets/10.4), e.g. "Python websockets".
	backend, backendEvidence string
}

// pageOrigin says whose answer a refusal is, as far as the answer tells.
type pageOrigin int

const (
	// originUnknown: no proxy is named, so there is nothing to tell apart.
	originUnknown pageOrigin = iota
	// originUnsure: a proxy is named, and nothing says whether it wrote
	// the answer or relayed the backend's.
	originUnsure
	// originRelayed: the body is a WebSocket server's complaint, so the
	// backend wrote it and the proxy relayed it.
	originRelayed
	// originOwnLikely: a 502, 503 or 504 from a named proxy: what a proxy
	// answers when its backend fails, which a backend rarely answers to
	// an upgrade.
	originOwnLikely
	// originOwn: the body names the proxy (nginx's <center>nginx/1.22.1,
	// nghttpx's <footer>nghttpx, Apache's <address>), or is one of
	// HAProxy's pages: the proxy's own, and no backend saw the request.
	originOwn
)

// own reports whether the answer is the proxy's own for certain.
func (g proxyGuess) own() bool { return g.origin == originOwn }

// haproxyPages are phrases of HAProxy's built-in error pages; HAProxy sends
// no Server header, so its pages are how it is recognised.
var haproxyPages = []string{
	"No server is available to handle this request",
	"The server returned an invalid or incomplete response",
	"The server didn't respond in time",
	"Your browser sent an invalid request",
	"Request forbidden by administrative rules",
}

// detectProxy names the proxy the answer came from or through — from the
// Server and Via headers, read the way run reads them (internal/identify)
// — and says whose answer a refusal is. A product identify does not know
// is still named, as its header writes it; how the header names are
// written names none (it is a clue).
func detectProxy(resp *Response) proxyGuess {
	var g proxyGuess
	hs := resp.headers()
	names, values := make([]string, len(hs)), make([]string, len(hs))
	for i, h := range hs {
		names[i], values[i] = h.Name, h.Value
	}
	id := identify.FromHeaders(resp.Status, names, values, resp.Body)
	for _, x := range identify.Guesses(id) {
		if x.Role == identify.RoleBackend {
			if g.backend == "" {
				g.backend, g.backendEvidence = x.Title, x.Evidence
			}
			continue
		}
		if g.name == "" {
			g.name, g.evidence = x.Name, x.Evidence
		}
	}
	for _, c := range identify.Clues(id) {
		g.clues = append(g.clues, c.Text)
	}
	if g.name == "" || g.name == ProxyHAProxy {
		for _, p := range haproxyPages {
			if strings.Contains(resp.Body, p) {
				return proxyGuess{name: ProxyHAProxy, evidence: "HAProxy's error page (\"" + p + "\")", origin: originOwn,
					originWhy: "the body is one of HAProxy's own pages"}
			}
		}
	}
	if g.name == "" && resp.Status >= 400 {
		// A stock error page signs itself at its foot even when a hop
		// removed the Server header: <address>Apache/2.4.71 … Server at,
		// <center>nginx/1.22.1</center>, <footer>nghttpx</footer>.
		if x, ok := signedBy(resp.Body); ok {
			return proxyGuess{name: x.Name, evidence: x.Title + "'s error page (" + x.Evidence + ")", origin: originOwn,
				originWhy: "the page is signed by it"}
		}
	}
	if g.name == "" {
		return g
	}
	g.origin, g.originWhy = originOf(resp, g)
	return g
}

// signatureTags are where stock error pages sign themselves.
var signatureTags = []string{"<address>", "<center>", "<footer>"}

// signedBy names the proxy whose stock page the body is: the product a
// signature tag opens with, when it is a proxy.
func signedBy(body string) (identify.Guess, bool) {
	lower := strings.ToLower(body)
	for _, tag := range signatureTags {
		for from := 0; from < len(lower); {
			i := strings.Index(lower[from:], tag)
			if i < 0 {
				break
			}
			from += i + len(tag)
			end := strings.IndexByte(body[from:], '<')
			if end < 0 {
				end = len(body) - from
			}
			sig := strings.TrimSpace(body[from : from+min(end, 80)])
			for _, x := range identify.Guesses(identify.FromHeaders(200, []string{"Server"}, []string{sig}, "")) {
				if x.Role == identify.RoleProxy {
					x.Evidence = tag + sig
					return x, true
				}
			}
		}
	}
	return identify.Guess{}, false
}

// originOf tells a named proxy's own answer from the backend's relayed one
// by what any product's answer shows, not by a list of pages: a body that
// names the proxy is its own; a body that is a WebSocket server's
// complaint about the upgrade headers is the backend's; a 502, 503 or 504
// is most likely the proxy's; anything else could be either.
func originOf(resp *Response, g proxyGuess) (pageOrigin, string) {
	if resp.Status == 101 {
		return originRelayed, ""
	}
	if w := namedIn(resp.Body, g); w != "" {
		return originOwn, "the page names " + w
	}
	if resp.Status == 400 || resp.Status == 426 {
		switch said, _ := report.ClassifyRefusal(resp.Body); said {
		case report.RefusalNoUpgrade:
			return originRelayed, "the body is a WebSocket server's complaint about the upgrade headers"
		case report.RefusalOther:
			return originRelayed, "the body gives the backend's own reason"
		}
	}
	switch resp.Status {
	case 502, 503, 504:
		return originOwnLikely, fmt.Sprintf("a %d is what a proxy answers when its backend fails, and nothing in it names the backend", resp.Status)
	}
	return originUnsure, "nothing in the answer tells whether it wrote it or relayed the backend's"
}

// namedIn returns the word of the body that names the proxy (its name, its
// title, or the product token of the Server header), "" when none does.
func namedIn(body string, g proxyGuess) string {
	if body == "" {
		return ""
	}
	lower := strings.ToLower(body)
	words := []string{g.name, identify.Title(g.name)}
	if v, ok := serverToken(g.evidence); ok {
		words = append(words, v)
	}
	for _, w := range words {
		w = strings.ToLower(strings.TrimSpace(w))
		if len(w) < 3 || strings.Contains(w, " ") {
			continue
		}
		if i := wordAt(lower, w); i >= 0 {
			return body[i : i+len(w)]
		}
	}
	return ""
}

// serverToken is the product token of "Server: nghttpx/1.52.0" evidence.
func serverToken(evidence string) (string, bool) {
	v, ok := strings.CutPrefix(evidence, "Server: ")
	if !ok {
		return "", false
	}
	tok, _, _ := strings.Cut(strings.TrimSpace(v), "/")
	tok, _, _ = strings.Cut(tok, " ")
	return tok, tok != ""
}

// wordAt finds w in s where it is not part of a longer word.
func wordAt(s, w string) int {
	for from := 0; from < len(s); {
		i := strings.Index(s[from:], w)
		if i < 0 {
			return -1
		}
		i += from
		end := i + len(w)
		if (i == 0 || !isLetter(s[i-1])) && (end == len(s) || !isLetter(s[end])) {
			return i
		}
		from = i + 1
	}
	return -1
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// answeredBy says whose answer this is, for the report.
func answeredBy(g proxyGuess) string {
	name := proxyTitle(g.name)
	switch g.origin {
	case originOwn:
		return fmt.Sprintf("%s itself (its own error page: %s)", name, g.originWhy)
	case originOwnLikely:
		return fmt.Sprintf("%s itself, most likely (%s: %s)", name, g.evidence, g.originWhy)
	case originRelayed:
		return fmt.Sprintf("the backend, relayed by %s (%s)", name, g.evidence)
	case originUnsure:
		return fmt.Sprintf("%s itself, or the backend through %s — unsure: %s (%s)", name, name, g.originWhy, g.evidence)
	}
	return ""
}

// proxyTitle is the product's name as people write it.
func proxyTitle(name string) string { return identify.Title(name) }

// clueNotes adds, when no proxy is named, what the answer's form says about
// one (lower-case header names: HAProxy, Node's http-proxy, Envoy, …).
func clueNotes(r *Report, g proxyGuess) {
	if g.name != "" {
		return
	}
	for _, c := range g.clues {
		r.Notes = append(r.Notes, upperFirst(c)+". If you know which proxy is in front, wshold run --proxy NAME says so.")
	}
}
