package scenario

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/wshold/wshold/internal/handshake"
	"github.com/wshold/wshold/internal/proxyconf"
	"github.com/wshold/wshold/internal/redact"
	"github.com/wshold/wshold/internal/safefile"
	"github.com/wshold/wshold/internal/stamp"
)

// fieldError is one problem with one scenario key. The file loader turns
// the key into file:line; flag users see "key: problem", where key is also
// the flag name with '_' spelled '-'.
type fieldError struct {
	key string
	msg string
}

func (e *fieldError) Error() string { return e.key + ": " + e.msg }

func problem(key, format string, a ...any) error {
	return &fieldError{key: key, msg: fmt.Sprintf(format, a...)}
}

// Validate reports every problem with s at once (errors.Join), each as
// "key: what is wrong and what to write instead". It is Resolve without
// the result: what validate says OK is what run accepts.
func (s Scenario) Validate() error {
	_, err := Resolve(s)
	return err
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// resolve checks every key of s and converts the ones whose values need
// it, collecting every problem; r is complete only when there are none.
func (s Scenario) resolve() (*Resolved, []error) {
	r := &Resolved{Scenario: s, Redactor: redact.New(s.Redact)}
	var p []error
	add := func(err error) {
		if err != nil {
			p = append(p, err)
		}
	}
	switch {
	case s.Name == "":
		add(problem("name", "missing; give each scenario a name of letters, digits, '.', '_' and '-' (it is what -s NAME selects)"))
	case !nameRE.MatchString(s.Name):
		add(problem("name", "%q: use 1 to 64 letters, digits, '.', '_' and '-', starting with a letter or digit (it is what -s NAME selects and results are named by)", s.Name))
	}
	var err error
	r.URL, err = checkTarget(s.Target, r.Redactor)
	add(err)
	if s.Conns < 1 {
		add(problem("conns", "%d: open at least 1 connection", s.Conns))
	}
	if math.IsNaN(s.Rate) || math.IsInf(s.Rate, 0) || s.Rate < 0 {
		add(problem("rate", "%v: write connections per second, or 0 to open as fast as max_in_flight allows", s.Rate))
	}
	for _, d := range []struct {
		key  string
		v    Duration
		zero bool
		why  string
	}{
		{"hold", s.Hold, true, "0 closes as soon as the last connection is up"},
		{"ping", s.Ping, true, "0 means no client pings (pure idle)"},
		{"pong_timeout", s.PongTimeout, false, "a pong cannot arrive in no time"},
		{"handshake_timeout", s.HandshakeTimeout, false, "a handshake cannot finish in no time"},
		{"send_every", s.SendEvery, true, "0 means no messages"},
		{"reconnect_min", s.ReconnectMin, false, "reconnecting at once, every time, is a loop, not a backoff"},
		{"reconnect_max", s.ReconnectMax, false, "it caps the backoff"},
	} {
		if d.v < 0 || (!d.zero && d.v == 0) {
			bound := "above zero"
			if d.zero {
				bound = "zero or more"
			}
			add(problem(d.key, "%s: must be %s (%s)", d.v, bound, d.why))
		}
	}
	if !(s.PingFraction > 0 && s.PingFraction <= 1) {
		add(problem("ping_fraction", "%v: write the share of connections that ping, above 0 and at most 1 (0.5 = half; the rest stay silent as a control group)", s.PingFraction))
	}
	if !(s.SendFraction > 0 && s.SendFraction <= 1) {
		add(problem("send_fraction", "%v: write the share of connections that send, above 0 and at most 1 (0.5 = half; the rest stay silent as a control group)", s.SendFraction))
	}
	if s.MessageSize < stamp.Size || s.MessageSize > stamp.MaxMessage {
		add(problem("message_size", "%d: write %d (the timestamp alone) to %d bytes", s.MessageSize, stamp.Size, stamp.MaxMessage))
	}
	if s.ReconnectMin > 0 && s.ReconnectMax > 0 && s.ReconnectMax < s.ReconnectMin {
		add(problem("reconnect_max", "%s is below reconnect_min %s: the backoff lies between the two; raise it or lower reconnect_min", s.ReconnectMax, s.ReconnectMin))
	}
	if s.MaxInFlight < 1 {
		add(problem("max_in_flight", "%d: allow at least 1 handshake in flight", s.MaxInFlight))
	}
	if s.Procs < 0 {
		add(problem("procs", "%d: write 0 to choose from the open-files limit, or a number of worker processes", s.Procs))
	}
	var hp []error
	r.Header, r.Host, hp = s.requestHeaders(r.Redactor)
	p = append(p, hp...)
	if auth, err := handshake.URLAuthorization(r.URL, r.Header.Get("Authorization") != ""); err != nil {
		add(problem("target", "%s: %v", strconv.Quote(r.Redactor.URL(s.Target)), err))
	} else if auth != "" {
		// As check sends them: the URL's credentials, hidden wherever an
		// answer echoes them.
		r.Redactor.Learn(auth)
		r.Header.Set("Authorization", auth)
	}
	seenProto := make(map[string]bool)
	for _, sp := range s.Subprotocols {
		switch {
		case !handshake.IsToken(sp):
			add(problem("subprotocols", "%q is not a valid subprotocol name (letters, digits and !#$%%&'*+-.^_`|~, no spaces or commas)", sp))
		case seenProto[sp]:
			add(problem("subprotocols", "%q is offered twice; list each subprotocol once", sp))
		}
		seenProto[sp] = true
	}
	if r.Sources, err = ParseSourceIPs(s.SourceIPs); err != nil {
		for _, e := range unjoin(err) {
			add(problem("source_ips", "%v", e))
		}
	}
	var tp []error
	r.TLS, tp = s.resolveTLS(r.Redactor)
	p = append(p, tp...)
	for _, pc := range s.ProxyConfigs {
		d, err := digest(pc)
		add(err)
		r.ProxyConfigFiles = append(r.ProxyConfigFiles, d)
	}
	if s.Proxy != "" && (len(s.Proxy) > 40 || strings.ContainsFunc(s.Proxy, func(r rune) bool {
		return r > 0x7e || (r < 0x20) || strings.ContainsRune(`"\/;,`, r)
	})) {
		add(problem("proxy", "%q is not a product name; write one such as varnish, nginx, haproxy, lighttpd or alb", s.Proxy))
	}
	var ep []error
	r.Expectations, ep = s.resolveExpectations()
	p = append(p, ep...)
	return r, p
}

// checkTarget parses the target URL; nil for the built-in target. Its
// messages quote the URL with its password and secret query values hidden.
func checkTarget(t string, red *redact.Redactor) (*url.URL, error) {
	if t == "" {
		return nil, nil // the built-in target
	}
	const example = "ws://127.0.0.1:8080/ws"
	shown := strconv.Quote(red.URL(t))
	if try, ok := handshake.MissingScheme(t); ok {
		return nil, problem("target", "%s lacks ws:// or wss:// in front: try %s", shown, red.URL(try))
	}
	u, err := url.Parse(t)
	if err != nil {
		return nil, problem("target", "%s is not a URL (%s); write e.g. %s", shown, redactURLError(err, red), example)
	}
	switch u.Scheme {
	case "ws", "wss":
	case "http", "https":
		return nil, problem("target", "%s: wshold dials WebSocket URLs; write ws:// for http:// and wss:// for https://", shown)
	default:
		return nil, problem("target", "%s: the scheme must be ws:// or wss://, e.g. %s", shown, example)
	}
	if u.Hostname() == "" {
		return nil, problem("target", "%s has no host; write e.g. %s", shown, example)
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return nil, problem("target", "%s: port %s is not 1..65535", shown, port)
		}
	}
	if u.Fragment != "" || strings.HasSuffix(t, "#") {
		return nil, problem("target", "%s: a WebSocket URL cannot have a #fragment (RFC 6455 §3); remove it", shown)
	}
	return u, nil
}

// redactURLError is url.Parse's error without the URL it quotes (which
// may hold a password).
func redactURLError(err error, red *redact.Redactor) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return red.Scrub(err.Error())
}

// reservedHeaders are headers wshold writes itself; letting a user
// override them would test the override, not the proxy.
var reservedHeaders = map[string]string{
	"upgrade":                  "wshold sends Upgrade: websocket itself on every attempt; whether the proxy passes it on is what is being tested, so remove it",
	"connection":               "wshold sends Connection: Upgrade itself on every attempt; whether the proxy passes it on is what is being tested, so remove it",
	"sec-websocket-key":        "wshold generates a fresh key per attempt and verifies Sec-WebSocket-Accept against it; remove it",
	"sec-websocket-version":    "wshold speaks version 13 and sends it itself; remove it",
	"sec-websocket-extensions": "wshold negotiates no extensions (a server that accepted permessage-deflate would send frames it cannot read); remove it",
	"sec-websocket-protocol":   "use subprotocols (--subprotocol) to offer subprotocols",
	"origin":                   "set it with origin (--origin) instead",
}

// requestHeaders builds the extra request headers (Origin included) and
// the Host that replaces the URL's, from headers and origin. Each entry is
// checked by checkHeader; messages quote a secret header's line with its
// value hidden.
func (s Scenario) requestHeaders(red *redact.Redactor) (http.Header, string, []error) {
	var p []error
	header := http.Header{}
	var host string
	hosts := 0
	for _, h := range s.Headers {
		name, value, err := checkHeader(h, red)
		if err != nil {
			p = append(p, err)
			continue
		}
		if strings.EqualFold(name, "Host") {
			// Two Host lines are a malformed request: it replaces the URL's.
			hosts++
			host = value
			continue
		}
		header.Add(name, value)
	}
	if hosts > 1 {
		p = append(p, problem("headers", "Host is given %d times; give it once (it replaces the URL's host:port in the request)", hosts))
	}
	if strings.ContainsAny(s.Origin, "\r\n\x00") {
		p = append(p, problem("origin", "%q contains a line break or NUL; write one origin such as https://app.example.com", s.Origin))
	} else if s.Origin != "" {
		header.Set("Origin", s.Origin)
	}
	return header, host, p
}

// checkHeader splits one "Name: value" entry, trimmed, or says what is
// wrong with it. This is the one place a header entry is judged: rules
// about header values (such as those against request smuggling) belong
// here, so that validate, run and --procs workers all apply them.
func checkHeader(h string, red *redact.Redactor) (name, value string, err error) {
	shown := strconv.Quote(red.Line(h))
	name, value, ok := strings.Cut(h, ":")
	if !ok {
		return "", "", problem("headers", "%s: write \"Name: value\", e.g. \"Authorization: Bearer abc\"", shown)
	}
	if !handshake.IsToken(name) {
		return "", "", problem("headers", "%s: %q is not a valid header name (no spaces before the colon)", shown, name)
	}
	if err := handshake.CheckRequestHeader(name, strings.Trim(value, " \t")); err != nil {
		return "", "", problem("headers", "%s: %s", shown, red.Scrub(err.Error()))
	}
	if why, reserved := reservedHeaders[strings.ToLower(name)]; reserved {
		return "", "", problem("headers", "%s: %s", shown, why)
	}
	return strings.TrimSpace(name), strings.TrimSpace(value), nil
}

// resolveTLS checks insecure and ca against the target and reads the CA
// file's certificates, so that a file that is not a CA bundle is refused
// by validate as it would be by run.
func (s Scenario) resolveTLS(red *redact.Redactor) (TLS, []error) {
	t := TLS{Insecure: s.Insecure}
	var p []error
	plain := !strings.HasPrefix(s.Target, "wss://")
	where := "the built-in target, which is plain ws://"
	if s.Target != "" {
		where = red.URL(s.Target)
	}
	if s.Insecure && plain {
		p = append(p, problem("insecure", "only applies to wss:// targets, and this scenario dials %s; remove it or use wss://", where))
	}
	if s.TLSResume && plain {
		p = append(p, problem("tls_resume", "only applies to wss:// targets, and this scenario dials %s; remove it or use wss://", where))
	}
	if s.CA == "" {
		return t, p
	}
	switch {
	case plain:
		p = append(p, problem("ca", "only applies to wss:// targets, and this scenario dials %s; remove it or use wss://", where))
	case s.Insecure:
		p = append(p, problem("ca", "has no effect with insecure = true, which skips verification; keep one of the two"))
	default:
		pool, err := readCA(s.CA)
		if err != nil {
			p = append(p, err)
		}
		t.RootCAs = pool
	}
	return t, p
}

// readCA reads a PEM bundle into the system's pool (or a new one when the
// system has none), or says why it cannot.
func readCA(path string) (*x509.CertPool, error) {
	if err := checkFile("ca", path); err != nil {
		return nil, err
	}
	pem, err := safefile.ReadFile(path, safefile.MaxCA)
	if err != nil {
		return nil, problem("ca", "%v", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, problem("ca", "%s holds no PEM certificate (-----BEGIN CERTIFICATE-----); name the CA certificate file that signed the server's", path)
	}
	return pool, nil
}

// digest hashes a proxy_configs file for the result.
func digest(path string) (FileDigest, error) {
	if err := checkFile("proxy_configs", path); err != nil {
		return FileDigest{Path: path}, err
	}
	h := sha256.New()
	if err := safefile.Copy(h, path, safefile.MaxProxyConfig); err != nil {
		return FileDigest{Path: path}, problem("proxy_configs", "%v", err)
	}
	// Read for the product and its timeouts (hints match them first); a
	// file that cannot be read so has already failed above.
	conf, _ := proxyconf.Read(path)
	return FileDigest{Path: path, SHA256: hex.EncodeToString(h.Sum(nil)), Config: conf}, nil
}

func checkFile(key, path string) error {
	if path == "" {
		return problem(key, "empty path; name a file")
	}
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		return problem(key, "%v (a relative path is read from the current directory, or in a scenario file from the file's directory)", err)
	case !fi.Mode().IsRegular():
		return problem(key, "%s is not a regular file", path)
	}
	return nil
}

// resolveExpectations parses the expectations (the defaults when there
// are none) and rejects sets that can never pass, which would otherwise
// surface only after a long hold.
func (s Scenario) resolveExpectations() ([]Expectation, []error) {
	var (
		p                        []error
		out                      []Expectation
		noDrops, dropAt          string
		failedStatus, upgradedGt string
		status                   int
	)
	// The oldest connection's age when the hold ends: the ramp at Rate, then
	// the hold. Float seconds: a huge hold must not overflow.
	oldest := s.Hold.D().Seconds()
	if s.Rate > 0 && s.Conns > 1 {
		oldest += float64(s.Conns-1) / s.Rate
	}
	for _, raw := range s.expectList() {
		e, err := ParseExpectation(raw)
		if err != nil {
			p = append(p, problem("expect", "%v", err))
			continue
		}
		out = append(out, e)
		switch e.Kind {
		case ExpectNoDrops:
			noDrops = raw
		case ExpectDropAt:
			dropAt = raw
			if lo := (e.Dur - e.Tol).Seconds(); lo > oldest {
				p = append(p, problem("expect", "%q can never pass: the oldest connection is only about %s old when the hold ends; set hold to at least %s, the window's end, so even the youngest connection gets there",
					raw, time.Duration(oldest*float64(time.Second)).Round(time.Second), e.Dur+e.Tol))
			}
		case ExpectFailedStatus:
			if failedStatus != "" && e.Status != status {
				p = append(p, problem("expect", "%q and %q contradict each other: every attempt cannot fail with two statuses", failedStatus, raw))
			}
			failedStatus, status = raw, e.Status
		case ExpectUpgraded:
			if e.Ratio > 0 {
				upgradedGt = raw
			}
		case ExpectRTT, ExpectMessagesLost:
			if s.SendEvery <= 0 {
				p = append(p, problem("expect", "%q needs messages: set send_every (--send-every), e.g. 1s", raw))
			}
		case ExpectRecover:
			if !s.Reconnect {
				p = append(p, problem("expect", "%q needs reconnects: set reconnect = true (--reconnect); without them nothing recovers from a drop", raw))
			}
		}
	}
	if noDrops != "" && dropAt != "" {
		p = append(p, problem("expect", "%q and %q contradict each other; keep one", noDrops, dropAt))
	}
	if failedStatus != "" && upgradedGt != "" {
		p = append(p, problem("expect", "%q and %q contradict each other: %s says every attempt fails", failedStatus, upgradedGt, failedStatus))
	}
	return out, p
}

// unjoin splits an errors.Join result back into its parts.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
