package check

import (
	"fmt"
	"strings"

	"github.com/wshold/wshold/internal/handshake"
	"github.com/wshold/wshold/report"
)

// diagnoseHTTP explains a non-101 answer: whose answer it is (the backend
// relayed by a proxy, or the proxy's own page), what it means for a
// WebSocket upgrade, and what to change.
func (t *target) diagnoseHTTP(r *Report) {
	resp := r.Response
	r.Cause = HTTPCause(resp.Status)
	p := detectProxy(resp)
	r.Proxy, r.ProxyEvidence = p.name, p.evidence
	r.AnsweredBy = answeredBy(p)
	clueNotes(r, p)
	if resp.Proto == "HTTP/1.0" {
		r.Notes = append(r.Notes, "The answer is HTTP/1.0. A WebSocket upgrade needs HTTP/1.1 on every hop; an HTTP/1.0 answer often means a proxy spoke HTTP/1.0 to the backend.")
	}

	switch s := resp.Status; {
	case s == 400 || s == 426:
		t.refusedUpgrade(r, p)
	case s == 301 || s == 302 || s == 303 || s == 307 || s == 308:
		t.redirect(r)
	case s == 401 || s == 407:
		t.unauthorized(r)
	case s == 403:
		t.forbidden(r, p)
	case s == 404:
		t.notFound(r, p)
	case s == 502 || s == 503 || s == 504:
		t.badGateway(r, p)
	default:
		t.otherStatus(r, p)
	}
}

// refusedUpgrade explains a 400 or 426: most often the backend saw a
// plain GET because a proxy dropped the hop-by-hop Upgrade and Connection
// headers (or spoke HTTP/1.0 to it). That is said outright when the body
// names those headers, as "most likely" when the body says nothing, and
// not at all when the body gives another reason.
func (t *target) refusedUpgrade(r *Report, p proxyGuess) {
	resp := r.Response
	if v, ok := resp.Get("Sec-WebSocket-Version"); ok && !handshake.HasToken([]string{v}, "13") {
		r.Verdict = fmt.Sprintf("the server does not speak WebSocket version 13 (it offers %s)", v)
		r.explain("The answer lists the WebSocket versions the server supports in Sec-WebSocket-Version: %s. Every current client uses version 13 (RFC 6455).", v)
		r.fix("backend", "Upgrade the server's WebSocket library to one that implements RFC 6455.", "")
		return
	}
	if p.own() {
		t.proxyOwn400(r, p)
		return
	}
	said, reason := report.ClassifyRefusal(resp.Body)
	if said == report.RefusalOther {
		t.refusedForReason(r, p, t.redact.Scrub(reason))
		return
	}
	who := "the server's answer"
	switch {
	case p.name != "" && p.origin == originRelayed:
		who = "the backend's answer, relayed by " + proxyTitle(p.name) + ","
		r.Verdict = fmt.Sprintf("%s relayed the backend's refusal: %s did not forward Upgrade", proxyTitle(p.name), proxyTitle(p.name))
	case p.name != "":
		who = "the answer through " + proxyTitle(p.name)
		r.Verdict = fmt.Sprintf("%d through %s: most likely %s did not forward Upgrade/Connection, and the backend refused a plain GET",
			resp.Status, proxyTitle(p.name), proxyTitle(p.name))
	default:
		r.Verdict = fmt.Sprintf("%d to a complete upgrade request: a proxy on the way most likely did not forward Upgrade/Connection", resp.Status)
		r.AnsweredBy = "the backend, as far as can be told (no proxy named itself)"
		if p.backend != "" {
			r.AnsweredBy = fmt.Sprintf("the backend, %s (%s); no proxy named itself", p.backend, p.backendEvidence)
		}
	}
	r.explain("The request above carried \"Upgrade: websocket\" and \"Connection: Upgrade\" over HTTP/1.1, yet %s is %d, as if the request had neither — a plain GET.", who, resp.Status)
	if said == report.RefusalNoUpgrade {
		r.explain("The body says %q: that is a WebSocket server complaining about the missing upgrade headers, so the request reached the backend without them.", excerpt(firstLine(resp.Body), 120))
	}
	r.explain("Upgrade and Connection are hop-by-hop headers: a proxy does not pass them on unless configured to, and an upgrade is impossible over HTTP/1.0, which nginx speaks to backends by default. The backend then refuses the plain GET — Go servers and wshold serve with 400 Bad Request, Node's ws with 426 Upgrade Required.")
	r.Fixes = append(r.Fixes, upgradeFixes(p.name, t.u.Path)...)
	if p.name != "" {
		r.fix("client", "To confirm, check the backend directly (it should answer 101): wshold check ws://BACKEND:PORT"+t.u.RequestURI(), "")
	}
}

// refusedForReason explains a 400 or 426 whose body gives a reason that is
// not the upgrade headers or the HTTP version: whoever answered read the
// request and refused it for that reason, so the proxy is not the suspect.
func (t *target) refusedForReason(r *Report, p proxyGuess, reason string) {
	resp := r.Response
	quoted := fmt.Sprintf("%q", excerpt(reason, 160))
	if p.name != "" {
		r.Verdict = fmt.Sprintf("%d: the backend, relayed by %s, refused the upgrade: %s", resp.Status, proxyTitle(p.name), quoted)
	} else {
		r.Verdict = fmt.Sprintf("%d: the server refused the upgrade: %s", resp.Status, quoted)
	}
	r.explain("The body gives the reason (quoted above). It is not about the Upgrade or Connection headers or the HTTP version, so nothing in the answer says a proxy dropped them: the server read the request and refused it for this reason.")
	r.fix("client", "Change what the body complains about: the URL's path or query string, or the -H headers.", "")
	r.fix("backend", "If the request is as intended, read the backend's log for why it refused it.", "")
	if p.name != "" {
		r.fix("client", "To see the backend's own answer without the proxy: wshold check ws://BACKEND:PORT"+t.u.RequestURI(), "")
	}
}

// proxyOwn400 explains a 400 the proxy produced itself: the request never
// reached a backend.
func (t *target) proxyOwn400(r *Report, p proxyGuess) {
	resp := r.Response
	name := proxyTitle(p.name)
	switch {
	case containsFold(resp.Body, "plain HTTP request was sent to HTTPS port"):
		r.Verdict = fmt.Sprintf("%s expects TLS on this port: use wss://", name)
		r.explain("%s answered with its own page saying a plain HTTP request was sent to its HTTPS port.", name)
		wss := *t.u
		wss.Scheme = "wss"
		r.fix("client", "Connect with TLS: "+wss.Redacted(), "")
	case containsFold(resp.Body, "Header Or Cookie Too Large") || containsFold(resp.Body, "header too large"):
		r.Verdict = fmt.Sprintf("%s refused the request: its headers are too large", name)
		r.explain("%s's own page says the request headers are too large. Long cookies or tokens passed with -H are the usual cause.", name)
		r.fix(ProxyNginx, "nginx: raise the header buffers in the server block", "large_client_header_buffers 4 32k;")
	default:
		r.Verdict = fmt.Sprintf("%s itself rejected the request as malformed (%d); no backend saw it", name, resp.Status)
		r.explain("The body is %s's own error page, so the request was refused before any backend saw it. A request header the proxy considers invalid is the usual cause.", name)
		r.fix("client", "Remove the -H headers one at a time to find the one it rejects, and read the proxy's error log.", "")
	}
}

func (t *target) redirect(r *Report) {
	resp := r.Response
	loc, ok := resp.Get("Location")
	if !ok || loc == "" {
		r.Verdict = fmt.Sprintf("redirect (%d) without a Location header", resp.Status)
		r.explain("The server answered %d but did not say where to go. WebSocket clients do not follow redirects in any case.", resp.Status)
		r.fix("proxy", "Serve the upgrade at this URL instead of redirecting it.", "")
		return
	}
	next, err := t.u.Parse(loc)
	if err != nil {
		r.Verdict = fmt.Sprintf("redirect (%d) to an unparsable Location %q", resp.Status, loc)
		r.explain("The Location header is not a URL (%v).", err)
		return
	}
	wsNext := *next
	switch wsNext.Scheme {
	case "http":
		wsNext.Scheme = "ws"
	case "https":
		wsNext.Scheme = "wss"
	}
	wsNext.User = nil
	r.Verdict = fmt.Sprintf("redirected (%d) to %s: WebSocket clients do not follow redirects; connect to %s", resp.Status, loc, wsNext.String())
	r.explain("The server answered %d with Location: %s. Browsers and most WebSocket clients fail the handshake on any status other than 101 instead of following it.", resp.Status, loc)
	switch {
	case t.u.Scheme == "ws" && wsNext.Scheme == "wss":
		r.explain("The redirect goes from plain HTTP to HTTPS: the site wants TLS, so use wss://.")
	case !strings.EqualFold(next.Host, t.u.Host):
		r.explain("The redirect goes to another host (%s instead of %s).", next.Host, t.u.Host)
	case next.Path == t.u.Path+"/":
		r.explain("The redirect only adds a trailing slash: the path matches a directory-style location (nginx location %s/, Apache ProxyPass %s/), and the server redirects to it.", t.u.EscapedPath(), t.u.EscapedPath())
	case next.Path != t.u.Path:
		// Escaped: a Location's %00 must not reach the terminal as a NUL.
		r.explain("The redirect goes to another path (%s instead of %s).", next.EscapedPath(), t.u.EscapedPath())
	}
	r.fix("client", "Connect to the final URL: "+wsNext.String(), "")
	r.fix("proxy", "Or exempt the WebSocket path from the redirect (e.g. an nginx location for it that proxies instead of returning 301).", "")
}

func (t *target) unauthorized(r *Report) {
	resp := r.Response
	hdr, send, who := "WWW-Authenticate", "Authorization", "The server"
	if resp.Status == 407 {
		hdr, send, who = "Proxy-Authenticate", "Proxy-Authorization", "A proxy on the way (a forward proxy, not the WebSocket server)"
	}
	challenge, _ := resp.Get(hdr)
	r.Verdict = fmt.Sprintf("%d: credentials are needed", resp.Status)
	if resp.Status == 407 {
		r.Verdict = "407: a proxy on the way wants credentials (Proxy-Authorization)"
	}
	if t.sentAuth {
		r.Verdict = fmt.Sprintf("%d: the credentials sent were refused", resp.Status)
		r.explain("The request carried credentials (shown redacted above) and they were refused: expired, wrong, meant for another realm, or sent in the wrong header (%s answers %d to %s).", strings.ToLower(who[:1])+who[1:], resp.Status, send)
	} else {
		r.explain("%s wants authentication before it lets the upgrade through.", who)
	}
	if challenge != "" {
		r.explain("It asks for: %s: %s.", hdr, challenge)
	}
	if resp.Status == 407 {
		r.explain("407 Proxy Authentication Required comes from a proxy that authenticates its own clients; it reads Proxy-Authorization, never Authorization, and does not pass it on.")
		r.fix("client", "Pass the proxy's credentials: -H 'Proxy-Authorization: Basic BASE64(user:password)' (the value is redacted in the output).", "")
		return
	}
	r.explain("Browsers cannot set an Authorization header on a WebSocket, so applications often take a cookie or a token in the query string instead; use whatever the real client sends.")
	r.fix("client", "Pass the credentials, e.g. -H 'Authorization: Bearer TOKEN' or -H 'Cookie: session=…' (values are redacted in the output).", "")
}

func (t *target) forbidden(r *Report, p proxyGuess) {
	if p.own() {
		r.Verdict = fmt.Sprintf("%s itself refused the request (403)", proxyTitle(p.name))
		r.explain("The body is %s's own error page: an access rule in the proxy (allow/deny, an auth subrequest, a WAF) refused the request before any backend saw it.", proxyTitle(p.name))
		r.fix("proxy", "Check the access rules of the location that serves "+t.u.Path+" and the proxy's error log.", "")
		return
	}
	origin := "https://" + t.u.Host
	if t.u.Scheme == "ws" {
		origin = "http://" + t.u.Host
	}
	if t.origin == "" {
		r.Verdict = "403: refused, most likely by an Origin check; try --origin"
		r.explain("The server refused the upgrade. This request had no Origin header; browsers always send one, and many WebSocket servers refuse a handshake whose Origin is missing or not on their list (gorilla's CheckOrigin, Socket.IO's cors, Spring's setAllowedOrigins).")
		r.fix("client", "Send the origin of the page that opens the socket: wshold check --origin "+origin+" "+t.display, "")
	} else {
		r.Verdict = fmt.Sprintf("403: refused, most likely because Origin %s is not allowed", t.origin)
		r.explain("The server refused the upgrade. The request's Origin was %q; servers that check the origin refuse one that is not on their list.", t.origin)
		r.fix("client", "Try the origin of the page that opens the socket with --origin.", "")
	}
	r.fix("backend", "Or add the origin to the server's allowed list.", "")
}

func (t *target) notFound(r *Report, p proxyGuess) {
	path := t.u.Path
	if path == "" {
		path = "/"
	}
	r.Verdict = fmt.Sprintf("404: nothing serves WebSockets at %s", path)
	if p.own() {
		r.explain("The body is %s's own error page: no location or route in the proxy matches %s, so nothing was proxied.", proxyTitle(p.name), path)
		t.routeFixes(r, p, path)
		return
	}
	if p.name != "" {
		// Either could have written it: say both, the proxy's route first
		// (a proxy's 404 to an upgrade is a route it lacks).
		r.explain("Either %s has no route that proxies %s to the backend and answered itself, or the backend got the request and has no handler for the path; nothing in the answer tells which.", proxyTitle(p.name), path)
		r.explain("Behind a proxy, check how it rewrites the path: in nginx, proxy_pass with a URI part (proxy_pass http://backend/;) replaces the matched location prefix, without one the path is passed unchanged; Apache's ProxyPass maps one prefix onto another.")
		t.routeFixes(r, p, path)
		r.fix("client", "Check the path in the URL against the backend's WebSocket route, and ask the backend directly: wshold check ws://BACKEND:PORT"+t.u.RequestURI(), "")
		return
	}
	r.explain("The path %s reached a server that has no handler for it.", path)
	r.fix("client", "Check the path in the URL against the backend's WebSocket route.", "")
}

// routeFixes are the fixes for a proxy that does not route the path to the
// backend: its recipe for proxying WebSockets when wshold has one (ATS
// takes an upgrade only by a ws:// remap rule), else a route in general.
func (t *target) routeFixes(r *Report, p proxyGuess, path string) {
	if hasRecipe(p.name) {
		r.Fixes = append(r.Fixes, recipe(p.name, path)...)
		return
	}
	r.fix("proxy", "Add a location/route for "+path+" in "+proxyTitle(p.name)+" that proxies WebSocket upgrades to the backend, or use the path it routes.", "")
}

func (t *target) badGateway(r *Report, p proxyGuess) {
	resp := r.Response
	who, subject := "The server", "the server"
	if p.name != "" {
		who, subject = proxyTitle(p.name), proxyTitle(p.name)
	}
	switch resp.Status {
	case 502:
		r.Verdict = fmt.Sprintf("502: %s could not reach the backend, or the backend broke the connection", subject)
		r.explain("%s answered 502 Bad Gateway: it could not connect to the backend (not running, or not listening where the proxy connects) or the backend closed the connection without a valid answer.", who)
	case 503:
		r.Verdict = fmt.Sprintf("503: %s has no backend available", subject)
		switch p.name {
		case ProxyHAProxy:
			r.explain("HAProxy answered 503: every server of the backend is down or failing its health check.")
		case ProxyApache:
			r.explain("Apache answered 503: it could not connect to the backend, and it then leaves that backend alone for retry seconds (60 by default) before trying again.")
		default:
			r.explain("%s answered 503 Service Unavailable: no backend is available, or a rate or connection limit refused the request (nginx's limit_req and limit_conn answer 503 by default).", who)
		}
	case 504:
		r.Verdict = fmt.Sprintf("504: the backend did not answer %s in time", subject)
		waits := ""
		switch p.name {
		case ProxyNginx:
			waits = " — nginx waits proxy_connect_timeout / proxy_read_timeout"
		case ProxyHAProxy:
			waits = " — HAProxy waits timeout connect / timeout server"
		case "":
			waits = " — nginx waits proxy_connect_timeout / proxy_read_timeout, HAProxy timeout connect / timeout server"
		}
		r.explain("%s answered 504 Gateway Timeout: it connected to the backend (or tried to) and got no answer in time%s.", who, waits)
	}
	if p.own() {
		r.AnsweredBy += ": the backend did not answer"
	}
	r.fix("backend", "Check that the backend runs and listens on the address the proxy connects to (ss -ltnp), and check it directly: wshold check ws://BACKEND:PORT"+t.u.RequestURI(), "")
	logFix := "Read the proxy's error log at the time of this check."
	if p.name == ProxyNginx || p.name == "" {
		logFix = "Read the proxy's error log at the time of this check; nginx names the cause (e.g. \"connect() failed (111: Connection refused) while connecting to upstream\")."
	}
	r.fix("proxy", logFix, "")
}

func (t *target) otherStatus(r *Report, p proxyGuess) {
	resp := r.Response
	r.Verdict = fmt.Sprintf("%d %s instead of 101 Switching Protocols", resp.Status, resp.Reason)
	r.explain("The server answered %d %s: it did not accept the upgrade.", resp.Status, resp.Reason)
	switch {
	case resp.Status >= 200 && resp.Status < 300:
		r.explain("A 2xx answer means the request was served as an ordinary page: the path is not the WebSocket endpoint, or the proxy routes it to a static or plain-HTTP handler that ignores Upgrade.")
		r.fix("proxy", "Route this path to the WebSocket backend, forwarding the upgrade headers.", "")
		r.Fixes = append(r.Fixes, upgradeFixes(p.name, t.u.Path)...)
	case resp.Status == 405:
		r.explain("405 Method Not Allowed: the route does not accept GET, which every WebSocket handshake uses.")
		r.fix("backend", "Check that the path is the WebSocket route.", "")
	case resp.Status == 429:
		r.explain("429 Too Many Requests: a rate limit refused the handshake.")
		r.fix("proxy", "Slow down, or raise the limit for this client.", "")
	case resp.Status == 431:
		r.explain("431: the request headers are too large.")
		r.fix("client", "Send fewer or shorter headers.", "")
	case resp.Status >= 500:
		r.explain("A 5xx answer means the server failed while handling the upgrade; its log says why.")
		r.fix("backend", "Read the backend's log at the time of this check.", "")
	default:
		r.fix("backend", "Read the answer's body and the server's log for the reason.", "")
	}
}

// diagnose101 explains the judge's refusal of a 101.
func (t *target) diagnose101(r *Report, je *handshake.Error, p proxyGuess) {
	r.Cause = je.Cause
	for _, pr := range je.Problems {
		r.Problems = append(r.Problems, Problem{Header: pr.Header, Text: t.redact.Scrub(pr.Text)})
	}
	r.Verdict = t.redact.Scrub(je.Error())
	if p.name != "" {
		r.AnsweredBy = fmt.Sprintf("%s or the server behind it (%s)", proxyTitle(p.name), p.evidence)
	}
	switch r.Cause {
	case CauseBadUpgrade:
		r.explain("A 101 Switching Protocols must say what it switches to: \"Upgrade: websocket\" and a Connection header holding the token \"upgrade\". Without them a client must fail the connection (RFC 6455 §4.1), and browsers do. Either a proxy rewrote or dropped these headers on the way back, or the server that answered 101 is not a WebSocket server (it switched to another protocol, e.g. h2c).")
	case CauseBadAccept:
		r.explain("A WebSocket server proves it read this handshake by answering, once, Sec-WebSocket-Accept = base64(SHA-1(key + \"258EAFA5-E914-47DA-95CA-C5AB0DC85B11\")) for the Sec-WebSocket-Key it received. A wrong, missing or repeated value means the key was changed on the way (a proxy that generates its own key), the 101 was not produced for this request (a cache or a replayed answer), a proxy added its own copy of the header, or the server's WebSocket code is broken.")
	case CauseBadExtensions:
		r.explain("The request offered no extension (no Sec-WebSocket-Extensions header), so the server may select none (RFC 6455 §4.1, §9.1). Frames compressed with permessage-deflate would arrive with RSV1 set, which a client that did not ask for it must reject; browsers fail the handshake already. A server that always answers with an extension, whatever the request offered, is the usual cause; a proxy that adds the header is another.")
	case CauseBadSubprotocol:
		r.explain("A server may select at most one subprotocol, and only one the client offered (offered: %s). A client must fail the connection otherwise (RFC 6455 §4.1).", joinQuoted(t.protocols))
	case CauseBadResponse:
		r.explain("The status line names a version other than HTTP/1.x. A WebSocket upgrade is an HTTP/1.1 exchange; whatever answered this way is not an HTTP/1.1 server or proxy.")
	}
	switch r.Cause {
	case CauseBadSubprotocol:
		r.fix("backend", "Make the server select only one subprotocol from the client's list, or offer the one it selects with --subprotocol.", "")
	case CauseBadExtensions:
		r.fix("backend", "Make the server select an extension only when the request offers it (e.g. ws: perMessageDeflate negotiates; a server that forces compression does not).", "")
		r.fix("proxy", "Make sure the proxy does not add Sec-WebSocket-Extensions to the 101.", "")
	default:
		r.fix("proxy", "Make sure the proxy passes the 101's headers unchanged and does not cache or rewrite this path.", "")
	}
	r.fix("client", "Check the backend directly to find which hop breaks the handshake: wshold check ws://BACKEND:PORT"+t.u.RequestURI(), "")
}

func joinQuoted(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	if len(q) == 0 {
		return "none"
	}
	return strings.Join(q, ", ")
}
