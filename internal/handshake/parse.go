package handshake

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
)

// MaxHead bounds an answer's header block: status line, header lines and
// the blank line that ends them. 64 KiB is eight times what nginx
// (proxy_buffer_size, one page), HAProxy (tune.bufsize 16 KiB) or Apache
// (8 KiB a field) relay by default, so no answer that came through a proxy
// with its defaults is refused; a larger one comes from a broken or hostile
// server. (Chrome allows 256 KiB, Node 16 KiB.) The bound applies to the
// complete block, however many reads it arrives in.
const MaxHead = 64 << 10

// Field is one header line as received: the name keeps its case (that case
// is evidence of who wrote it), both sides are trimmed of blanks. A line
// without a colon has an empty Name and the whole line as Value.
type Field struct {
	Name, Value string
}

// Response is an answer's status line and header fields, in the order they
// arrived, whatever transport carried them.
type Response struct {
	// Proto is the version as written, e.g. "HTTP/1.1"; Major and Minor
	// its numbers.
	Proto        string
	Major, Minor int
	Status       int
	// Reason is the reason phrase, possibly empty (it is optional).
	Reason string
	Header []Field
}

// Values returns every value of the named header (compared ignoring case),
// in order.
func (r *Response) Values(name string) []string {
	var vs []string
	for _, f := range r.Header {
		if strings.EqualFold(f.Name, name) {
			vs = append(vs, f.Value)
		}
	}
	return vs
}

// FromHTTP is the Response of an answer net/http parsed (for a transport
// that reads answers with http.ReadResponse). The header order is lost;
// judging does not depend on it.
func FromHTTP(resp *http.Response) *Response {
	r := &Response{Proto: resp.Proto, Major: resp.ProtoMajor, Minor: resp.ProtoMinor, Status: resp.StatusCode}
	_, r.Reason, _ = strings.Cut(resp.Status, " ")
	for name, values := range resp.Header {
		for _, v := range values {
			r.Header = append(r.Header, Field{Name: name, Value: v})
		}
	}
	return r
}

// Scan looks at an answer as far as it has arrived. status is the status
// code once the status line is in (0 before); headLen the length of the
// complete header block, blank line included (0 while it is incomplete:
// read more). err is set as soon as the bytes cannot become an acceptable
// answer: they are not HTTP, the status line is malformed, or the header
// block will not end within MaxHead. It never waits for more than it needs
// to decide: a non-HTTP answer is refused at its first bytes.
//
// Scan looks at all of p; a caller that rescans a growing buffer after
// every read uses a Scanner, which looks at each byte once.
func Scan(p []byte) (status, headLen int, err error) {
	var s Scanner
	return s.Scan(p)
}

// Scanner is Scan for an answer that grows: give Scan the whole answer so
// far after every read. A server that sends its header a byte at a time
// costs linear work, not quadratic. The zero value is ready to use.
type Scanner struct {
	status int
	from   int // where the search for the blank line resumes
}

// Scan is the package's Scan over p, which must extend the bytes of every
// earlier call.
func (s *Scanner) Scan(p []byte) (status, headLen int, err error) {
	if !looksLikeHTTP(p) {
		return 0, 0, notHTTP(p)
	}
	if s.status == 0 {
		if i := bytes.IndexByte(p[:min(len(p), maxStatusLine)], '\n'); i >= 0 {
			line := strings.TrimSuffix(string(p[:i]), "\r")
			_, _, _, status, _, ok := statusLine(line)
			if !ok {
				_, err := parseStatusLine(line)
				return 0, 0, err
			}
			s.status = status
		} else if len(p) >= maxStatusLine {
			return 0, 0, &Error{Cause: CauseBadResponse, Problems: []Problem{{Text: fmt.Sprintf("the status line is longer than %d bytes: %s", maxStatusLine, quote(p, 40))}}}
		}
	}
	end := -1
	if e := headEnd(p[s.from:]); e >= 0 {
		end = s.from + e
	} else {
		// A blank line may start at either of the last two bytes.
		s.from = max(0, len(p)-2)
	}
	switch {
	case end > MaxHead || (end < 0 && len(p) >= MaxHead):
		return s.status, 0, &Error{Cause: CauseHeaderTooLarge, Status: s.status, Problems: []Problem{{Text: fmt.Sprintf(
			"the answer's header block is larger than %d KiB, the most wshold reads (a proxy relays at most 8-16 KiB by default)", MaxHead>>10)}}}
	case end < 0:
		return s.status, 0, nil
	}
	return s.status, end, nil
}

// maxStatusLine bounds the status line: "HTTP/1.1 101 " and a reason
// phrase no server writes longer.
const maxStatusLine = 256

// Parse reads a complete header block (as Scan delimits it; what follows
// it is ignored). Obsolete line folding is joined to the header before;
// bare LF line ends are accepted, as browsers accept them.
func Parse(head []byte) (*Response, error) {
	if end := headEnd(head); end >= 0 {
		head = head[:end]
	}
	// One string for the whole block: the fields are slices of it.
	text := string(head)
	line, rest, _ := strings.Cut(text, "\n")
	resp, err := parseStatusLine(strings.TrimSuffix(line, "\r"))
	if err != nil {
		return nil, err
	}
	resp.Header = make([]Field, 0, strings.Count(rest, "\n"))
	for rest != "" {
		line, rest, _ = strings.Cut(rest, "\n")
		line = strings.TrimSuffix(line, "\r")
		if line == "" {
			break
		}
		if (line[0] == ' ' || line[0] == '\t') && len(resp.Header) > 0 {
			f := &resp.Header[len(resp.Header)-1]
			f.Value = strings.TrimSpace(f.Value + " " + strings.TrimSpace(line))
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			resp.Header = append(resp.Header, Field{Value: line})
			continue
		}
		resp.Header = append(resp.Header, Field{Name: strings.Trim(name, " \t"), Value: strings.Trim(value, " \t")})
	}
	return resp, nil
}

// ParseStatusLine parses "HTTP/1.1 101 Switching Protocols". The reason
// phrase is optional ("HTTP/1.1 101" is a status line); the code is
// exactly three digits.
func ParseStatusLine(line string) (*Response, error) { return parseStatusLine(line) }

func parseStatusLine(line string) (*Response, error) {
	proto, major, minor, status, reason, ok := statusLine(line)
	if !ok {
		return nil, &Error{Cause: CauseBadResponse, Problems: []Problem{{Text: fmt.Sprintf("the first line is not an HTTP status line: %s", quote([]byte(line), 80))}}}
	}
	return &Response{Proto: proto, Major: major, Minor: minor, Status: status, Reason: reason}, nil
}

// statusLine takes a status line apart without allocating.
func statusLine(line string) (proto string, major, minor, status int, reason string, ok bool) {
	proto, rest, _ := strings.Cut(line, " ")
	if major, minor, ok = httpVersion(proto); !ok {
		return
	}
	code, reason, _ := strings.Cut(strings.TrimLeft(rest, " "), " ")
	if len(code) != 3 {
		return proto, 0, 0, 0, "", false
	}
	status, ok = number(code)
	if !ok || status < 100 {
		return proto, 0, 0, 0, "", false
	}
	return proto, major, minor, status, strings.TrimSpace(reason), true
}

func httpVersion(p string) (major, minor int, ok bool) {
	rest, found := strings.CutPrefix(p, "HTTP/")
	if !found {
		return 0, 0, false
	}
	a, b, found := strings.Cut(rest, ".")
	major, okA := number(a)
	minor, okB := number(b)
	return major, minor, found && okA && okB && len(a) <= 3 && len(b) <= 3
}

// number reads a non-empty run of ASCII digits (at most 9: no overflow).
func number(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// headEnd returns the offset just past the blank line that ends the header
// block in b, or -1 if b does not hold a complete one yet. Bare LF line
// ends count, as lenient HTTP clients (and browsers) accept them.
func headEnd(b []byte) int {
	for i := bytes.IndexByte(b, '\n'); i >= 0; {
		switch {
		case i+1 < len(b) && b[i+1] == '\n':
			return i + 2
		case i+2 < len(b) && b[i+1] == '\r' && b[i+2] == '\n':
			return i + 3
		}
		j := bytes.IndexByte(b[i+1:], '\n')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return -1
}

// HeadEnd is headEnd for callers that keep their own buffer.
func HeadEnd(b []byte) int { return headEnd(b) }

// looksLikeHTTP reports whether b can be the start of an HTTP response: it
// begins with "HTTP/" or is a prefix of it.
func looksLikeHTTP(b []byte) bool {
	const p = "HTTP/"
	if len(b) < len(p) {
		return string(b) == p[:len(b)]
	}
	return string(b[:len(p)]) == p
}

// LooksLikeHTTP reports whether b can be the start of an HTTP response.
func LooksLikeHTTP(b []byte) bool { return looksLikeHTTP(b) }

func notHTTP(p []byte) error {
	what := "not HTTP: the answer begins " + quote(p, 24)
	if len(p) > 0 && p[0] == 0x16 {
		what += " (a TLS handshake: this port speaks TLS, use wss://)"
	} else if len(p) > 0 && p[0] == 0x15 {
		what += " (a TLS alert: this port speaks TLS, use wss://)"
	}
	return &Error{Cause: CauseBadResponse, Problems: []Problem{{Text: what}}}
}

// quote shows at most n bytes of p as a Go string literal: whatever the
// server sent, it cannot drive a terminal.
func quote(p []byte, n int) string {
	if len(p) > n {
		return fmt.Sprintf("%q…", p[:n])
	}
	return fmt.Sprintf("%q", p)
}
