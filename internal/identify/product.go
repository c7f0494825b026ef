package identify

import (
	"strings"
	"unicode"
)

// Role says what a named product is known to be.
type Role string

const (
	// RoleProxy: a reverse proxy or load balancer (nginx, Varnish, an AWS
	// load balancer, …).
	RoleProxy Role = "proxy"
	// RoleBackend: a WebSocket server or framework (a backend answering
	// without a proxy in front, or relayed by one that keeps its Server).
	RoleBackend Role = "backend"
	// RoleUnknown: a product this table does not know. It is still named,
	// from the header, as written.
	RoleUnknown Role = "unknown"
)

// Guess is one product an answer names, and what gave it away.
type Guess struct {
	// Name is the product's stable code: a Proxy* constant for known
	// proxies, else the header's product token in lower case ("nghttpx").
	Name string
	// Title is how people write it ("HAProxy", "Varnish", "ATS").
	Title string
	// Version is the version the header gives ("1.4.69"), or "".
	Version string
	Role    Role
	// Evidence is what gave it away, e.g. "Server: lighttpd/1.4.69".
	Evidence string
}

// Known product names, used in results, in check's fixes and in the
// defaults table.
const (
	ProxyNginx    = "nginx"
	ProxyHAProxy  = "haproxy"
	ProxyCaddy    = "caddy"
	ProxyApache   = "apache"
	ProxyLighttpd = "lighttpd"
	ProxyVarnish  = "varnish"
	ProxyEnvoy    = "envoy"
	ProxyTraefik  = "traefik"
	ProxyAWSELB   = "aws-elb"
	ProxyGCP      = "gcp-lb"
	ProxyAzure    = "azure"
	ProxyHeroku   = "heroku"
	ProxyCF       = "cloudflare"
	ProxyATS      = "ats"
	ProxySquid    = "squid"
	ProxyNghttpx  = "nghttpx"
	ProxyH2O      = "h2o"
)

// product is one row of the names table: a lower-case token to find in
// Server or Via (at a word start), and what it is.
type product struct {
	token string
	name  string
	title string
	role  Role
}

// products is searched in order, so that longer, more specific tokens
// come before the ones they contain (Apache Traffic Server before Apache).
var products = []product{
	{"apachetrafficserver", ProxyATS, "ATS", RoleProxy},
	{"ats", ProxyATS, "ATS", RoleProxy},
	{"openresty", ProxyNginx, "nginx", RoleProxy},
	{"nginx", ProxyNginx, "nginx", RoleProxy},
	{"haproxy", ProxyHAProxy, "HAProxy", RoleProxy},
	{"caddy", ProxyCaddy, "Caddy", RoleProxy},
	{"apache", ProxyApache, "Apache", RoleProxy},
	{"lighttpd", ProxyLighttpd, "lighttpd", RoleProxy},
	{"varnish", ProxyVarnish, "Varnish", RoleProxy},
	{"istio-envoy", ProxyEnvoy, "Envoy", RoleProxy},
	{"envoy", ProxyEnvoy, "Envoy", RoleProxy},
	{"traefik", ProxyTraefik, "Traefik", RoleProxy},
	{"awselb", ProxyAWSELB, "an AWS load balancer", RoleProxy},
	{"google frontend", ProxyGCP, "a Google Cloud load balancer", RoleProxy},
	{"gfe", ProxyGCP, "a Google Cloud load balancer", RoleProxy},
	{"microsoft-azure-application-gateway", ProxyAzure, "Azure Application Gateway", RoleProxy},
	{"vegur", ProxyHeroku, "the Heroku router", RoleProxy},
	{"heroku-router", ProxyHeroku, "the Heroku router", RoleProxy},
	{"cloudflare", ProxyCF, "Cloudflare", RoleProxy},
	{"squid", ProxySquid, "Squid", RoleProxy},
	{"nghttpx", ProxyNghttpx, "nghttpx", RoleProxy},
	{"h2o", ProxyH2O, "h2o", RoleProxy},
	{"websockets", "websockets", "Python websockets", RoleBackend},
	{"uvicorn", "uvicorn", "Uvicorn", RoleBackend},
	{"hypercorn", "hypercorn", "Hypercorn", RoleBackend},
	{"gunicorn", "gunicorn", "Gunicorn", RoleBackend},
	{"tornadoserver", "tornado", "Tornado", RoleBackend},
	{"werkzeug", "werkzeug", "Werkzeug", RoleBackend},
	{"kestrel", "kestrel", "Kestrel", RoleBackend},
	{"jetty", "jetty", "Jetty", RoleBackend},
	{"wshold", "wshold", "wshold serve", RoleBackend},
}

// Title is how people write a product's name: the table's title for a
// known name, else the name itself.
func Title(name string) string {
	for _, p := range products {
		if p.name == name {
			return p.title
		}
	}
	return name
}

// Guesses lists the products an answer names, the most telling first:
// the Server header's, then each Via entry's (the nearest hop last in Via,
// first here), then other headers whose values name software. An answer
// that names nothing gives none. How the header names are written (all
// lower-case, Go's canonical spelling) names no product: see Clues.
func Guesses(a *Answer) []Guess {
	if a == nil {
		return nil
	}
	var out []Guess
	add := func(g Guess, ok bool) {
		if !ok {
			return
		}
		for _, o := range out {
			if o.Name == g.Name {
				return
			}
		}
		out = append(out, g)
	}
	if a.Server != "" {
		add(fromServer(a.Server))
	}
	if a.Via != "" {
		entries := strings.Split(a.Via, ",")
		for i := len(entries) - 1; i >= 0; i-- {
			add(fromVia(strings.TrimSpace(entries[i]), a.Via))
		}
	}
	for _, e := range a.Extra {
		name, value, _ := strings.Cut(e, ": ")
		if g, ok := known(value); ok {
			g.Evidence = name + ": " + value
			add(g, true)
		}
	}
	return out
}

// Clue is what an answer's form (not its values) says about the software
// that wrote it: never enough to name a product, since several write the
// same way, but enough to narrow the candidates.
type Clue struct {
	// Text says it with its alternatives, for a report.
	Text string
	// Products are the known products that write this way (stable codes;
	// others, such as a Node proxy, are only in Text).
	Products []string
}

// Clues lists what the answer's header names give away: all lower-case
// names, which HAProxy's HTTP/1 writer sends, and so do proxies that keep
// a parsed header map (Node's http-proxy, measured with 1.18.1; Envoy;
// h2→h1 gateways). Go's canonical Sec-Websocket-Accept is no clue worth
// reporting: Caddy, Traefik, nghttpx and any Go backend write it.
func Clues(a *Answer) []Clue {
	if a == nil {
		return nil
	}
	var out []Clue
	if allLowerNames(a.Names) {
		out = append(out, Clue{
			Text: "every header name is lower-case: HAProxy writes them so, and so do Envoy, Node's http-proxy " +
				"and other proxies that keep a parsed header map — not enough to name one",
			Products: []string{ProxyHAProxy, ProxyEnvoy},
		})
	}
	return out
}

// fromServer names the product of a Server value: a known one wherever it
// appears ("Apache/2.4.57 (Debian)"), else the first product token.
func fromServer(v string) (Guess, bool) {
	if g, ok := known(v); ok {
		g.Evidence = "Server: " + v
		return g, true
	}
	tok, ver := firstToken(v)
	if tok == "" {
		return Guess{}, false
	}
	return Guess{Name: strings.ToLower(tok), Title: tok, Version: ver, Role: RoleUnknown, Evidence: "Server: " + v}, true
}

// fromVia names the product of one Via entry: "1.1 varnish (Varnish/7.1)",
// "1.1 vegur", "HTTP/1.1 cache-fra1234 (squid/5.7)". The comment names the
// software when there is one; the received-by part is often a host name,
// so without a comment only a known name counts.
func fromVia(entry, whole string) (Guess, bool) {
	ev := "Via: " + whole
	if i := strings.IndexByte(entry, '('); i >= 0 {
		comment := strings.TrimSuffix(strings.TrimSpace(entry[i+1:]), ")")
		if g, ok := known(comment); ok {
			g.Evidence = ev
			return g, true
		}
		if tok, ver := firstToken(comment); tok != "" {
			return Guess{Name: strings.ToLower(tok), Title: tok, Version: ver, Role: RoleUnknown, Evidence: ev}, true
		}
	}
	if g, ok := known(entry); ok {
		g.Evidence = ev
		return g, true
	}
	// Pseudonyms that name a product only as a Via hop: a Google Cloud
	// load balancer adds "Via: 1.1 google" to the answers it proxies
	// (cloud.google.com load-balancing docs, target proxies).
	if f := strings.Fields(entry); len(f) == 2 && strings.EqualFold(f[1], "google") {
		return Guess{Name: ProxyGCP, Title: Title(ProxyGCP), Role: RoleProxy, Evidence: ev}, true
	}
	return Guess{}, false
}

// known finds a product of the table in s, at a word start, with the
// version that follows it ("lighttpd/1.4.69", "Varnish/7.1").
func known(s string) (Guess, bool) {
	ls := strings.ToLower(s)
	for _, p := range products {
		at := wordIndex(ls, p.token)
		if at < 0 {
			continue
		}
		g := Guess{Name: p.name, Title: p.title, Role: p.role}
		if rest := s[at+len(p.token):]; strings.HasPrefix(rest, "/") {
			g.Version = versionOf(rest[1:])
		}
		return g, true
	}
	return Guess{}, false
}

// wordIndex finds tok in s where it starts a word and is not followed by
// a letter: "ats" in "ATS/9.1" but not in "stats" or "atsomething".
func wordIndex(s, tok string) int {
	for from := 0; ; {
		i := strings.Index(s[from:], tok)
		if i < 0 {
			return -1
		}
		i += from
		end := i + len(tok)
		startOK := i == 0 || !isWordByte(s[i-1])
		endOK := end == len(s) || !unicode.IsLetter(rune(s[end]))
		if startOK && endOK {
			return i
		}
		from = i + 1
	}
}

func isWordByte(c byte) bool {
	return c == '_' || c == '-' || ('a' <= c && c <= 'z') || ('0' <= c && c <= '9')
}

// firstToken is the first product of a Server-style value: "nghttpx" of
// "nghttpx", "ATS" and "9.1.2" of "ATS/9.1.2".
func firstToken(v string) (tok, ver string) {
	f := strings.Fields(v)
	if len(f) == 0 {
		return "", ""
	}
	tok, ver, _ = strings.Cut(f[0], "/")
	tok = strings.Trim(tok, "()[];,\"'")
	if tok == "" || len(tok) > 40 {
		return "", ""
	}
	return tok, versionOf(ver)
}

// versionOf keeps the leading digits and dots of v: "7.1" of "7.1)".
func versionOf(v string) string {
	n := 0
	for n < len(v) && n < 20 && (v[n] == '.' || ('0' <= v[n] && v[n] <= '9')) {
		n++
	}
	return strings.TrimRight(v[:n], ".")
}

// allLowerNames reports whether there are at least two header names with
// letters and all are lower-case: one lower-case name proves nothing.
func allLowerNames(names []string) bool {
	n := 0
	for _, name := range names {
		if strings.ToLower(name) != name {
			return false
		}
		if strings.ContainsAny(name, "abcdefghijklmnopqrstuvwxyz") {
			n++
		}
	}
	return n >= 2
}

// GoCanonical reports whether the answer carries a WebSocket header in
// Go's canonical spelling (Sec-Websocket-Accept): a Go server or proxy
// (Caddy, Traefik, a Go backend) wrote the header block.
func GoCanonical(a *Answer) bool {
	if a == nil {
		return false
	}
	for _, n := range a.Names {
		if n == "Sec-Websocket-Accept" || n == "Sec-Websocket-Protocol" {
			return true
		}
	}
	return false
}

// aliases are other names people give the products, for --proxy.
var aliases = map[string]string{
	"apache2": ProxyApache, "httpd": ProxyApache, "apache-httpd": ProxyApache,
	"openresty": ProxyNginx, "ingress-nginx": ProxyNginx, "nginx-ingress": ProxyNginx,
	"alb": ProxyAWSELB, "nlb": ProxyAWSELB, "elb": ProxyAWSELB, "aws": ProxyAWSELB, "aws-alb": ProxyAWSELB, "aws-nlb": ProxyAWSELB,
	"gcp": ProxyGCP, "google": ProxyGCP, "gclb": ProxyGCP,
	"azure-front-door": ProxyAzure, "front-door": ProxyAzure, "frontdoor": ProxyAzure, "application-gateway": ProxyAzure,
	"istio": ProxyEnvoy, "trafficserver": ProxyATS, "apache-traffic-server": ProxyATS,
	"varnishd": ProxyVarnish, "lighttpd2": ProxyLighttpd, "heroku-router": ProxyHeroku,
}

// Normalize maps a product name as a user writes it ("Varnish",
// "apache2", "ALB") to its stable code, and says whether it is known. An
// unknown name is kept, in lower case.
func Normalize(name string) (string, bool) {
	n := strings.ToLower(strings.TrimSpace(name))
	n = strings.Join(strings.Fields(n), "-")
	if a, ok := aliases[n]; ok {
		return a, true
	}
	for _, p := range products {
		if p.name == n && p.role == RoleProxy {
			return n, true
		}
	}
	return n, false
}
