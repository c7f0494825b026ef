package scenario

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

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
// "key: what is wrong and what to write instead". It checks values and
// their combinations, and that ca and proxy_configs name readable files.
func (s Scenario) Validate() error { return errors.Join(s.problems()...) }

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

func (s Scenario) problems() []error {
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
	add(checkTarget(s.Target))
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
	hosts := 0
	for _, h := range s.Headers {
		add(checkHeader(h))
		if name, _, _ := strings.Cut(h, ":"); strings.EqualFold(strings.TrimSpace(name), "host") {
			hosts++
		}
	}
	if hosts > 1 {
		add(problem("headers", "Host is given %d times; give it once (it replaces the URL's host:port in the request)", hosts))
	}
	if strings.ContainsAny(s.Origin, "\r\n\x00") {
		add(problem("origin", "%q contains a line break or NUL; write one origin such as https://app.example.com", s.Origin))
	}
	seenProto := make(map[string]bool)
	for _, sp := range s.Subprotocols {
		switch {
		case !isToken(sp):
			add(problem("subprotocols", "%q is not a valid subprotocol name (letters, digits and !#$%%&'*+-.^_`|~, no spaces or commas)", sp))
		case seenProto[sp]:
			add(problem("subprotocols", "%q is offered twice; list each subprotocol once", sp))
		}
		seenProto[sp] = true
	}
	if _, err := ParseSourceIPs(s.SourceIPs); err != nil {
		for _, e := range unjoin(err) {
			add(problem("source_ips", "%v", e))
		}
	}
	p = append(p, s.tlsProblems()...)
	for _, pc := range s.ProxyConfigs {
		add(checkFile("proxy_configs", pc))
	}
	p = append(p, s.expectProblems()...)
	return p
}

func checkTarget(t string) error {
	if t == "" {
		return nil // the built-in target
	}
	const example = "ws://127.0.0.1:8080/ws"
	u, err := url.Parse(t)
	if err != nil {
		return problem("target", "%q is not a URL (%v); write e.g. %s", t, unwrapURLError(err), example)
	}
	switch u.Scheme {
	case "ws", "wss":
	case "http", "https":
		return problem("target", "%q: wshold dials WebSocket URLs; write ws:// for http:// and wss:// for https://", t)
	default:
		return problem("target", "%q: the scheme must be ws:// or wss://, e.g. %s", t, example)
	}
	if u.Hostname() == "" {
		return problem("target", "%q has no host; write e.g. %s", t, example)
	}
	if port := u.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return problem("target", "%q: port %s is not 1..65535", t, port)
		}
	}
	if u.Fragment != "" || strings.HasSuffix(t, "#") {
		return problem("target", "%q: a WebSocket URL cannot have a #fragment (RFC 6455 §3); remove it", t)
	}
	return nil
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
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

func checkHeader(h string) error {
	name, value, ok := strings.Cut(h, ":")
	if !ok {
		return problem("headers", "%q: write \"Name: value\", e.g. \"Authorization: Bearer abc\"", h)
	}
	if !isToken(name) {
		return problem("headers", "%q: %q is not a valid header name (no spaces before the colon)", h, name)
	}
	if strings.ContainsAny(value, "\r\n\x00") {
		return problem("headers", "%q: the value contains a line break or NUL; one header per entry", h)
	}
	if why, reserved := reservedHeaders[strings.ToLower(name)]; reserved {
		return problem("headers", "%q: %s", h, why)
	}
	return nil
}

// isToken reports whether s is an RFC 9110 token: the grammar of header
// names and of subprotocol names.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

func (s Scenario) tlsProblems() []error {
	var p []error
	plain := !strings.HasPrefix(s.Target, "wss://")
	where := "the built-in target, which is plain ws://"
	if s.Target != "" {
		where = s.Target
	}
	if s.Insecure && plain {
		p = append(p, problem("insecure", "only applies to wss:// targets, and this scenario dials %s; remove it or use wss://", where))
	}
	if s.CA != "" {
		switch {
		case plain:
			p = append(p, problem("ca", "only applies to wss:// targets, and this scenario dials %s; remove it or use wss://", where))
		case s.Insecure:
			p = append(p, problem("ca", "has no effect with insecure = true, which skips verification; keep one of the two"))
		default:
			if err := checkFile("ca", s.CA); err != nil {
				p = append(p, err)
			}
		}
	}
	return p
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

// expectProblems parses the expectations and rejects sets that can never
// pass, which would otherwise surface only after a long hold.
func (s Scenario) expectProblems() []error {
	var (
		p                        []error
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
	for _, raw := range s.Expect {
		e, err := ParseExpectation(raw)
		if err != nil {
			p = append(p, problem("expect", "%v", err))
			continue
		}
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
	return p
}

// unjoin splits an errors.Join result back into its parts.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
