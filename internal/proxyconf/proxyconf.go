// Package proxyconf reads a proxy's configuration file (--proxy-config) for
// what attribution can use: which product it configures, told by the
// grammar its lines follow (kind.go), and the timeouts it sets that can end
// an open WebSocket (nginx proxy_read_timeout, HAProxy timeout tunnel,
// Apache Timeout/ProxyTimeout, lighttpd server.max-read-idle, Varnish
// pipe_timeout, Caddy stream_timeout, nghttpx frontend-/backend-read-timeout,
// h2o proxy.websocket.timeout, ATS proxy.config.websocket.*). A file that
// follows no known grammar (hitch.conf, a proxy written in JavaScript) is of
// no kind: its digest is kept, nothing is read from it.
//
// It reads, it does not validate: a line it does not understand is skipped,
// and nothing here decides whether the proxy would accept the file. The
// file is untrusted input: at most MaxRead bytes of it are read, and at
// most maxTimeouts values kept.
package proxyconf

import (
	"bufio"
	"io"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MaxRead bounds what is read of a file: real configurations are far
// smaller, and the rest is only hashed.
const MaxRead = 1 << 20

const maxTimeouts = 32

// Timeout is one value a configuration sets.
type Timeout struct {
	// Setting is the directive as the product names it.
	Setting string
	// Seconds is its value.
	Seconds float64
	// Times is what it measures: "idle" (either direction), "client_idle"
	// (since the last byte from the client) or "lifetime".
	Times string
}

// Config is what a file says.
type Config struct {
	// Product is "nginx", "haproxy", "caddy", "apache", "lighttpd",
	// "varnish", "nghttpx", "h2o" or "ats"; "" when the file follows none
	// of their grammars.
	Product  string
	Timeouts []Timeout
}

// Read reads the file at path (at most MaxRead bytes) and parses it.
func Read(path string) (Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return Config{}, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxRead))
	if err != nil {
		return Config{}, err
	}
	return Parse(path, b), nil
}

// Parse tells the product from the file's name and content and reads its
// timeouts.
func Parse(path string, data []byte) Config {
	text := string(data)
	c := Config{Product: kindOf(path, text)}
	switch c.Product {
	case "nginx":
		c.Timeouts = nginxTimeouts(text)
	case "haproxy":
		c.Timeouts = haproxyTimeouts(text)
	case "apache":
		c.Timeouts = apacheTimeouts(text)
	case "lighttpd":
		c.Timeouts = lighttpdTimeouts(text)
	case "varnish":
		c.Timeouts = varnishTimeouts(text)
	case "caddy":
		c.Timeouts = caddyTimeouts(text)
	case "nghttpx":
		c.Timeouts = nghttpxTimeouts(text)
	case "h2o":
		c.Timeouts = h2oTimeouts(text)
	case "ats":
		c.Timeouts = atsTimeouts(text)
	}
	if len(c.Timeouts) > maxTimeouts {
		c.Timeouts = c.Timeouts[:maxTimeouts]
	}
	return c
}

// lines yields the file's lines without comments (from '#' to the end).
func lines(text string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 64<<10), MaxRead)
	for sc.Scan() {
		l := sc.Text()
		if i := strings.IndexByte(l, '#'); i >= 0 {
			l = l[:i]
		}
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func add(out []Timeout, t Timeout) []Timeout {
	if t.Seconds <= 0 || math.IsInf(t.Seconds, 0) || math.IsNaN(t.Seconds) || slices.Contains(out, t) {
		return out
	}
	return append(out, t)
}

// nginx: proxy_read_timeout 3s; (units ms s m h d w M y; none = seconds).
func nginxTimeouts(text string) []Timeout {
	var out []Timeout
	for _, l := range lines(text) {
		// Statements end with ';' and blocks open and close on any line.
		for _, st := range strings.FieldsFunc(l, func(r rune) bool { return r == ';' || r == '{' || r == '}' }) {
			f := strings.Fields(st)
			if len(f) == 2 && f[0] == "proxy_read_timeout" {
				out = add(out, Timeout{"proxy_read_timeout", duration(f[1], time.Second), "idle"})
			}
		}
	}
	return out
}

// HAProxy: timeout tunnel replaces client and server once upgraded;
// without it the tunnel dies at the smaller of the two (units us ms s m h
// d; none = milliseconds).
func haproxyTimeouts(text string) []Timeout {
	var tunnel []Timeout
	client, server := math.Inf(1), math.Inf(1)
	for _, l := range lines(text) {
		f := strings.Fields(l)
		if len(f) != 3 || f[0] != "timeout" {
			continue
		}
		v := duration(f[2], time.Millisecond)
		switch f[1] {
		case "tunnel":
			tunnel = add(tunnel, Timeout{"timeout tunnel", v, "idle"})
		case "client":
			client = min(client, v)
		case "server":
			server = min(server, v)
		}
	}
	if len(tunnel) > 0 {
		return tunnel
	}
	return add(nil, Timeout{"min(timeout client, timeout server)", min(client, server), "idle"})
}

// Apache: a tunnel uses the larger of Timeout (default 60) and
// ProxyTimeout (or a ProxyPass timeout=); values in seconds.
func apacheTimeouts(text string) []Timeout {
	server, proxy := 60.0, 0.0
	for _, l := range lines(text) {
		f := strings.Fields(l)
		if len(f) >= 2 && strings.EqualFold(f[0], "Timeout") {
			server = number(f[1])
		}
		if len(f) >= 2 && strings.EqualFold(f[0], "ProxyTimeout") {
			proxy = max(proxy, number(f[1]))
		}
		if len(f) >= 3 && strings.EqualFold(f[0], "ProxyPass") {
			for _, kv := range f[3:] {
				if v, ok := strings.CutPrefix(strings.ToLower(kv), "timeout="); ok {
					proxy = max(proxy, number(v))
				}
			}
		}
	}
	return add(nil, Timeout{"max(Timeout, ProxyTimeout)", max(server, proxy), "idle"})
}

// lighttpd: server.max-read-idle = 60 (seconds, since the last read from
// the client).
func lighttpdTimeouts(text string) []Timeout {
	var out []Timeout
	for _, l := range lines(text) {
		if name, v, ok := strings.Cut(l, "="); ok && strings.TrimSpace(name) == "server.max-read-idle" {
			out = add(out, Timeout{"server.max-read-idle", number(strings.TrimSpace(v)), "client_idle"})
		}
	}
	return out
}

var pipeTimeoutRE = regexp.MustCompile(`pipe_timeout[= ]\s*([0-9.]+)`)

// Varnish: pipe_timeout is a parameter (varnishd -p pipe_timeout=N, in a
// unit file or, in the lab, the template's "# varnishd-params:" line); a
// VCL alone leaves it at its default.
func varnishTimeouts(text string) []Timeout {
	var out []Timeout
	for _, m := range pipeTimeoutRE.FindAllStringSubmatch(text, maxTimeouts) {
		out = add(out, Timeout{"pipe_timeout", number(m[1]), "idle"})
	}
	return out
}

// Caddy: reverse_proxy's stream_timeout ends every upgraded stream after
// that long, whatever its traffic (Go durations, and d for days).
func caddyTimeouts(text string) []Timeout {
	var out []Timeout
	for _, l := range lines(text) {
		f := strings.Fields(l)
		if len(f) == 2 && f[0] == "stream_timeout" {
			out = add(out, Timeout{"stream_timeout", duration(f[1], time.Second), "lifetime"})
		}
	}
	return out
}

// nghttpx: frontend-read-timeout=3s, backend-read-timeout=1m (nghttpx(1):
// a duration with h, m, s or ms; a bare number is seconds). Both count a
// frame either way (measured with 1.52.0).
func nghttpxTimeouts(text string) []Timeout {
	var out []Timeout
	for _, l := range lines(text) {
		name, v, ok := strings.Cut(l, "=")
		name = strings.TrimSpace(name)
		if ok && (name == "frontend-read-timeout" || name == "backend-read-timeout") {
			out = add(out, Timeout{name, duration(strings.TrimSpace(v), time.Second), "idle"})
		}
	}
	return out
}

// h2o: proxy.websocket.timeout: 3000 (milliseconds).
func h2oTimeouts(text string) []Timeout {
	var out []Timeout
	for _, l := range lines(text) {
		if v, ok := strings.CutPrefix(l, "proxy.websocket.timeout:"); ok {
			out = add(out, Timeout{"proxy.websocket.timeout", number(strings.TrimSpace(v)) / 1000, "idle"})
		}
	}
	return out
}

// ATS records.config: CONFIG proxy.config.websocket.no_activity_timeout
// INT 600 (idle), …active_timeout INT 3600 (the longest a WebSocket may
// stay open), in seconds.
func atsTimeouts(text string) []Timeout {
	var out []Timeout
	for _, l := range lines(text) {
		f := strings.Fields(l)
		if len(f) != 4 || f[0] != "CONFIG" || f[2] != "INT" {
			continue
		}
		switch f[1] {
		case "proxy.config.websocket.no_activity_timeout":
			out = add(out, Timeout{f[1], number(f[3]), "idle"})
		case "proxy.config.websocket.active_timeout":
			out = add(out, Timeout{f[1], number(f[3]), "lifetime"})
		}
	}
	return out
}

var (
	partRE = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)([a-z]*)`)
	unitRE = regexp.MustCompile(`^([0-9]+(?:\.[0-9]+)?)(us|ms|s|m|h|d|w)?$`)
)

// duration reads a value with an optional unit suffix (nginx, HAProxy,
// Caddy), in seconds; bare numbers are in bare. Several parts ("1m30s")
// add up. 0 when it cannot be read.
func duration(v string, bare time.Duration) float64 {
	total := 0.0
	for v != "" {
		m := partRE.FindStringSubmatch(v)
		if m == nil {
			return 0
		}
		if !unitRE.MatchString(m[0]) {
			return 0
		}
		n, _ := strconv.ParseFloat(m[1], 64)
		unit := bare
		switch m[2] {
		case "us":
			unit = time.Microsecond
		case "ms":
			unit = time.Millisecond
		case "s":
			unit = time.Second
		case "m":
			unit = time.Minute
		case "h":
			unit = time.Hour
		case "d":
			unit = 24 * time.Hour
		case "w":
			unit = 7 * 24 * time.Hour
		}
		total += n * unit.Seconds()
		v = v[len(m[0]):]
	}
	return total
}

func number(s string) float64 {
	s = strings.Trim(s, `"';`)
	n, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0
	}
	return n
}
