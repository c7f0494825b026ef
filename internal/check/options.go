package check

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"time"

	"github.com/wshold/wshold/internal/handshake"
	"github.com/wshold/wshold/internal/redact"
	"github.com/wshold/wshold/internal/safefile"
)

// DefaultTimeout bounds a whole check when Options.Timeout is zero.
const DefaultTimeout = 10 * time.Second

// DefaultBodyLimit is how much of a failed answer's body is kept when
// Options.BodyLimit is zero: enough for any proxy's error page.
const DefaultBodyLimit = 2048

// Options shape the one upgrade request. The zero value is a plain upgrade
// with a 10 s limit.
type Options struct {
	// Headers are extra request headers, each "Name: value" as given to -H.
	// Host replaces the Host header; the handshake's own headers (Upgrade,
	// Connection, Sec-WebSocket-Key, Sec-WebSocket-Version) are refused,
	// and Sec-WebSocket-Protocol must be given as Subprotocols.
	Headers []string
	// Origin, if set, is sent as the Origin header (as a browser would).
	Origin string
	// Subprotocols are offered in Sec-WebSocket-Protocol, preferred first.
	Subprotocols []string
	// Timeout bounds the whole check: name lookup, connect, TLS and the
	// answer. Zero means DefaultTimeout.
	Timeout time.Duration
	// Insecure skips verification of the server's certificate (wss only).
	Insecure bool
	// CAFile is a PEM file of CA certificates trusted for wss instead of
	// the system's roots.
	CAFile string
	// Redact names further headers whose values are never shown.
	// Authorization, Proxy-Authorization, Cookie and Set-Cookie always are.
	Redact []string
	// BodyLimit is how many bytes of a failed answer's body are kept.
	// Zero means DefaultBodyLimit.
	BodyLimit int
}

// target is a validated check, ready to run.
type target struct {
	u          *url.URL
	display    string // the URL as shown: password replaced
	addr       string // host:port to dial
	tlsConf    *tls.Config
	header     headerList // extra headers, in the order and case given
	host       string     // Host override, "" for the URL's host
	origin     string     // Origin sent, "" if none
	protocols  []string
	timeout    time.Duration
	bodyLimit  int
	redact     *redact.Redactor
	sentAuth   bool // an Authorization or Cookie header was sent
	insecureWS bool // --insecure given for a ws:// URL (no effect)
}

// reserved are request headers the handshake writes itself; sending them
// twice would make the request invalid, not test anything.
var reserved = map[string]string{
	"Upgrade":                "it is always sent as \"Upgrade: websocket\"",
	"Connection":             "it is always sent as \"Connection: Upgrade\"",
	"Sec-Websocket-Key":      "a fresh random key is generated for every check",
	"Sec-Websocket-Version":  "it is always sent as 13",
	"Sec-Websocket-Protocol": "use --subprotocol NAME (repeatable)",
}

// prepare validates everything that can be wrong before dialling, so a
// mistake in the command line is reported as such (exit 2), not as a
// failed upgrade.
func prepare(raw string, o Options) (*target, error) {
	red := redact.New(o.Redact)
	// The URL as it may be shown: password and secret query values
	// hidden, and learned so an echo of them is scrubbed.
	shownRaw := red.URL(strings.TrimSpace(raw))
	if try, ok := handshake.MissingScheme(raw); ok {
		// With the scheme in front the URL parses, so its secrets are
		// learned before either form is shown.
		try = red.URL(try)
		return nil, fmt.Errorf("%q lacks ws:// or wss:// in front: try %s", red.Scrub(shownRaw), try)
	}
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("%q is not a URL (%s); give ws://host[:port]/path or wss://host[:port]/path", shownRaw, red.Scrub(err.Error()))
	}
	u.Scheme = strings.ToLower(u.Scheme)
	switch u.Scheme {
	case "ws", "wss":
	case "http", "https":
		alt := *u
		alt.Scheme = map[string]string{"http": "ws", "https": "wss"}[u.Scheme]
		return nil, fmt.Errorf("%q has scheme %s; a WebSocket URL uses ws:// or wss://: try %s", red.URL(u.String()), u.Scheme, red.URL(alt.String()))
	case "":
		return nil, fmt.Errorf("%q has no scheme; give ws://%s or wss://%s", shownRaw, shownRaw, shownRaw)
	default:
		return nil, fmt.Errorf("%q has scheme %s; use ws:// (plain) or wss:// (TLS)", red.URL(u.String()), u.Scheme)
	}
	if u.Hostname() == "" {
		// Quoted as given: net/url prints "ws://" back as "ws:". Only a
		// URL with user info is shown redacted (it keeps its "//").
		return nil, fmt.Errorf("%q has no host; give %s://HOST[:PORT]/PATH, e.g. %s://127.0.0.1:8080/ws", shownRaw, u.Scheme, u.Scheme)
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return nil, fmt.Errorf("%q has a #fragment, which WebSocket URLs must not have (RFC 6455 §3); remove it", red.URL(u.String()))
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"ws": "80", "wss": "443"}[u.Scheme]
	} else if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return nil, fmt.Errorf("%q has port %q; give a port between 1 and 65535", red.URL(u.String()), port)
	}

	t := &target{
		u:         u,
		display:   red.URL(u.String()),
		addr:      net.JoinHostPort(u.Hostname(), port),
		protocols: o.Subprotocols,
		timeout:   o.Timeout,
		bodyLimit: o.BodyLimit,
		redact:    red,
	}
	if t.timeout == 0 {
		t.timeout = DefaultTimeout
	}
	if t.timeout < 0 {
		return nil, fmt.Errorf("--timeout %v is negative; give a duration such as 10s", o.Timeout)
	}
	if t.bodyLimit <= 0 {
		t.bodyLimit = DefaultBodyLimit
	}
	for _, n := range o.Redact {
		if !validToken(strings.TrimSpace(n)) {
			return nil, fmt.Errorf("--redact %q is not a header name; give a name such as X-Api-Key", n)
		}
	}
	for _, p := range o.Subprotocols {
		if !validToken(p) {
			return nil, fmt.Errorf("--subprotocol %q is not a valid token (no spaces, commas or separators); give e.g. graphql-ws", p)
		}
	}
	if err := t.addHeaders(o); err != nil {
		return nil, err
	}
	if u.Scheme == "wss" {
		if t.tlsConf, err = tlsConfig(u.Hostname(), o); err != nil {
			return nil, err
		}
	} else {
		t.insecureWS = o.Insecure || o.CAFile != ""
	}
	return t, nil
}

func (t *target) addHeaders(o Options) error {
	for _, line := range o.Headers {
		name, value, ok := strings.Cut(line, ":")
		// Blanks around the value go; a line break does not, to be refused.
		name, value = strings.TrimSpace(name), strings.Trim(value, " \t")
		if !ok || !validToken(name) {
			return fmt.Errorf("-H %q is not a header; give it as 'Name: value'", line)
		}
		if err := handshake.CheckRequestHeader(name, value); err != nil {
			return fmt.Errorf("-H %q: %w", name, err)
		}
		canon := http.CanonicalHeaderKey(name)
		if why, bad := reserved[canon]; bad {
			return fmt.Errorf("-H %q: %s is part of the handshake and cannot be set: %s", line, name, why)
		}
		switch canon {
		case "Host":
			if t.host != "" {
				return errors.New("-H Host: given twice; give it once")
			}
			t.host = value
			continue
		case "Origin":
			if o.Origin != "" {
				return errors.New("-H Origin: and --origin both given; give the origin once")
			}
			t.origin = value
		case "Authorization", "Proxy-Authorization", "Cookie":
			t.sentAuth = true
		}
		if t.redact.Secret(name) {
			t.redact.Learn(value)
		}
		t.header = append(t.header, Header{Name: name, Value: value})
	}
	if o.Origin != "" {
		if strings.ContainsAny(o.Origin, "\r\n\x00") {
			return errors.New("--origin contains a line break or NUL; give an origin such as https://example.com")
		}
		t.origin = o.Origin
		t.header = append(t.header, Header{Name: "Origin", Value: o.Origin})
	}
	// Credentials in the URL are sent as run sends them.
	v, err := handshake.URLAuthorization(t.u, t.has("Authorization"))
	if err != nil {
		return err
	}
	if v != "" {
		pw, _ := t.u.User.Password()
		t.redact.Learn(v)
		t.redact.Learn(pw)
		t.header = append(t.header, Header{Name: "Authorization", Value: v})
		t.sentAuth = true
	}
	return nil
}

func (t *target) has(name string) bool {
	for _, h := range t.header {
		if strings.EqualFold(h.Name, name) {
			return true
		}
	}
	return false
}

// headerList is the extra request headers, written in the order and case
// they were given (http.Header would sort and re-case them).
type headerList []Header

// WriteTo implements ws.HandshakeHeader.
func (l headerList) WriteTo(w io.Writer) (int64, error) {
	var b strings.Builder
	for _, h := range l {
		b.WriteString(h.Name + ": " + h.Value + "\r\n")
	}
	n, err := io.WriteString(w, b.String())
	return int64(n), err
}

func tlsConfig(serverName string, o Options) (*tls.Config, error) {
	c := &tls.Config{ServerName: serverName, InsecureSkipVerify: o.Insecure}
	if o.CAFile == "" {
		return c, nil
	}
	pem, err := safefile.ReadFile(o.CAFile, safefile.MaxCA)
	if err != nil {
		return nil, fmt.Errorf("--ca: %w; give a readable PEM file of CA certificates", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("--ca %s: no PEM certificate found in it; give the CA certificate in PEM form (-----BEGIN CERTIFICATE-----)", o.CAFile)
	}
	c.RootCAs = pool
	return c, nil
}

// validToken reports whether s is an HTTP token (RFC 9110 §5.6.2), the
// syntax of header names and subprotocol names.
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}
