// Package identify reads what an HTTP answer to an upgrade request gives
// away about the software that sent it: the Server and Via headers, the
// header names with their case and order (HAProxy lower-cases every name,
// Go servers write Sec-Websocket-Accept), cache headers such as X-Cache,
// and the style of an error body. run groups its answers by that identity
// and check names the proxy from it; both name a product the same way.
//
// Everything here reads bytes a hostile server chose: the number of
// headers kept, every value and the body excerpt are bounded, values are
// kept only for headers that name software (never Set-Cookie and the
// like), and nothing is kept that is not printable.
package identify

import (
	"bytes"
	"strings"
)

// Bounds on what one answer may make us keep.
const (
	maxNames    = 32  // header names kept, in order
	maxNameLen  = 64  // bytes of one name
	maxValueLen = 120 // bytes of one kept value
	maxBodyLen  = 80  // bytes of the body's style
	maxHead     = 16 << 10
)

// Answer is the identifying part of one answer. Answers that are alike in
// everything here have the same Key, so a run of thousands keeps one
// Answer per distinct identity. An Answer is never modified once made.
type Answer struct {
	// Key is a hash of the fields below (FNV-1a, 64 bits).
	Key uint64
	// Status is the answer's HTTP status (101 for an upgrade).
	Status int
	// Server and Via are those headers' values ("" when absent).
	Server string
	Via    string
	// Names are the header names as sent, in order, each once.
	Names []string
	// Extra are other headers whose values name software or a cache
	// layer, "Name: value" (X-Powered-By, X-Cache, X-Served-By, …).
	Extra []string
	// Body is, for a refusal, the style of its body: an HTML page's
	// title, else its first line; "" for none.
	Body string
}

// valued are the headers, besides Server and Via, whose values are kept:
// each names a product, a cache layer or an edge, and none carries a
// secret. Every other header keeps only its name.
var valued = []string{
	"x-powered-by", "x-cache", "x-cache-status", "x-served-by",
	"x-proxy", "x-proxied-by", "x-forwarded-server", "x-via",
}

func isValued(name []byte) int {
	switch {
	case asciiEqualFold(name, "server"):
		return 1
	case asciiEqualFold(name, "via"):
		return 2
	}
	for _, v := range valued {
		if asciiEqualFold(name, v) {
			return 3
		}
	}
	return 0
}

// Key hashes what Parse would keep of a raw answer (status line, header
// block and the start of the body) without allocating, so that a caller
// can look an identity up before paying for Parse.
func Key(raw []byte) uint64 {
	h := newHash()
	walk(raw, func(status int, name, value []byte, body []byte) {
		switch {
		case status != 0:
			h.int(status)
		case name != nil:
			h.bytes(clipName(name))
			if isValued(name) != 0 {
				h.byte(':')
				h.bytes(clipValue(value))
			}
			h.byte('\n')
		default:
			h.byte(0)
			h.bytes(bodyStyle(body))
		}
	})
	return h.sum
}

// Parse reads a raw answer: the status line, the header block up to the
// blank line, and (for a refusal) the start of its body. scrub, when not
// nil, is applied to every kept value and to the body's style (to hide
// secrets a server echoes). Parse never fails: what it cannot read it
// leaves out.
func Parse(raw []byte, scrub func(string) string) *Answer {
	a := &Answer{Key: Key(raw)}
	if scrub == nil {
		scrub = func(s string) string { return s }
	}
	walk(raw, func(status int, name, value []byte, body []byte) {
		switch {
		case status != 0:
			a.Status = status
		case name != nil:
			a.Names = append(a.Names, printable(clipName(name)))
			switch isValued(name) {
			case 1:
				a.Server = scrub(printable(clipValue(value)))
			case 2:
				a.Via = scrub(printable(clipValue(value)))
			case 3:
				a.Extra = append(a.Extra, printable(clipName(name))+": "+scrub(printable(clipValue(value))))
			}
		default:
			a.Body = scrub(printable(bodyStyle(body)))
		}
	})
	return a
}

// walk calls f with the status (name nil), then each distinct header
// (status 0), at most maxNames of them, then once with the body (name nil,
// status 0) unless the answer is a 101. It stops at anything that is not
// HTTP.
func walk(raw []byte, f func(status int, name, value, body []byte)) {
	if len(raw) > maxHead {
		raw = raw[:maxHead]
	}
	line, rest, ok := cutLine(raw)
	if !ok {
		return
	}
	status := statusOf(line)
	if status == 0 {
		return
	}
	f(status, nil, nil, nil)
	var seen [maxNames][]byte
	n := 0
	for {
		line, rest, ok = cutLine(rest)
		if !ok {
			// The header block never ended: no body to speak of.
			return
		}
		if len(line) == 0 {
			break
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			continue
		}
		name := bytes.TrimSpace(line[:colon])
		value := bytes.TrimSpace(line[colon+1:])
		dup := false
		for _, s := range seen[:n] {
			if bytes.Equal(s, name) {
				dup = true
				break
			}
		}
		if dup || n == maxNames {
			continue
		}
		seen[n] = name
		n++
		f(0, name, value, nil)
	}
	if status != 101 {
		f(0, nil, nil, rest)
	}
}

func cutLine(p []byte) (line, rest []byte, ok bool) {
	i := bytes.IndexByte(p, '\n')
	if i < 0 {
		return nil, p, false
	}
	line = p[:i]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, p[i+1:], true
}

// statusOf reads "HTTP/x.y NNN reason"; 0 when it is not a status line.
func statusOf(line []byte) int {
	if !bytes.HasPrefix(line, []byte("HTTP/")) {
		return 0
	}
	sp := bytes.IndexByte(line, ' ')
	if sp < 0 || len(line) < sp+4 {
		return 0
	}
	n := 0
	for _, c := range line[sp+1 : sp+4] {
		if c < '0' || c > '9' {
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// bodyStyle is what the start of an error body says about who wrote it:
// an HTML page's title, or the first non-empty line.
func bodyStyle(body []byte) []byte {
	if i := indexFold(body, "<title>"); i >= 0 {
		t := body[i+len("<title>"):]
		if j := indexFold(t, "</title>"); j >= 0 {
			return clip(bytes.TrimSpace(t[:j]), maxBodyLen)
		}
	}
	for len(body) > 0 {
		var line []byte
		line, body, _ = cutLine(body)
		if line == nil {
			line, body = body, nil
		}
		if l := bytes.TrimSpace(line); len(l) > 0 {
			return clip(l, maxBodyLen)
		}
	}
	return nil
}

func clipName(p []byte) []byte  { return clip(p, maxNameLen) }
func clipValue(p []byte) []byte { return clip(p, maxValueLen) }

func clip(p []byte, n int) []byte {
	if len(p) > n {
		return p[:n]
	}
	return p
}

// printable keeps printable ASCII and replaces anything else (control
// bytes, escape sequences, bytes of other encodings) by '?'.
func printable(p []byte) string {
	b := make([]byte, len(p))
	for i, c := range p {
		if c < 0x20 || c > 0x7e {
			c = '?'
		}
		b[i] = c
	}
	return string(b)
}

func indexFold(p []byte, lower string) int {
	for i := 0; i+len(lower) <= len(p); i++ {
		if asciiEqualFold(p[i:i+len(lower)], lower) {
			return i
		}
	}
	return -1
}

func asciiEqualFold(p []byte, s string) bool {
	if len(p) != len(s) {
		return false
	}
	for i := range len(p) {
		a, b := p[i], s[i]
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if a != b {
			return false
		}
	}
	return true
}

// hash is FNV-1a, 64 bits, fed without allocating.
type hash struct{ sum uint64 }

func newHash() *hash { return &hash{sum: 14695981039346656037} }

func (h *hash) byte(c byte) {
	h.sum ^= uint64(c)
	h.sum *= 1099511628211
}

func (h *hash) bytes(p []byte) {
	for _, c := range p {
		h.byte(c)
	}
}

func (h *hash) int(n int) {
	for range 4 {
		h.byte(byte(n))
		n >>= 8
	}
}

// FromHeaders makes an Answer from headers already parsed (check reads
// the answer itself), with the same bounds and key as Parse.
func FromHeaders(status int, names, values []string, body string) *Answer {
	var b strings.Builder
	b.WriteString("HTTP/1.1 ")
	b.WriteString(statusText(status))
	b.WriteString("\r\n")
	for i := range names {
		b.WriteString(names[i])
		b.WriteString(": ")
		if i < len(values) {
			b.WriteString(values[i])
		}
		b.WriteString("\r\n")
	}
	b.WriteString("\r\n")
	b.WriteString(body)
	return Parse([]byte(b.String()), nil)
}

func statusText(s int) string {
	if s < 100 || s > 999 {
		s = 0
	}
	return string([]byte{byte('0' + s/100), byte('0' + s/10%10), byte('0' + s%10)}) + " -"
}
