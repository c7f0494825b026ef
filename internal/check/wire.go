package check

import (
	"net"
	"strings"
	"unicode/utf8"

	"github.com/wshold/wshold/internal/handshake"
)

// maxHead bounds how much of the answer is kept while looking for the end of
// its header block: the judge's bound (a larger head is header_too_large).
const maxHead = handshake.MaxHead

// recorder is the connection the handshake runs over. It keeps a copy of
// every byte written and read, so the report shows the request and the
// answer as they were on the wire, whatever the WebSocket library made of
// them (it stops at the first header it dislikes).
type recorder struct {
	net.Conn
	tx, rx []byte
	// rerr is the last read error; once set, nothing more will arrive.
	rerr error
	// werr is the last write error.
	werr error
}

func (c *recorder) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if room := maxHead - len(c.rx); room > 0 {
		c.rx = append(c.rx, p[:min(n, room)]...)
	}
	if err != nil {
		c.rerr = err
	}
	return n, err
}

func (c *recorder) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.tx = append(c.tx, p[:n]...)
	if err != nil {
		c.werr = err
	}
	return n, err
}

// splitHead splits a header block into its first line and header lines.
// Continuation lines (obsolete folding) are joined to the header before
// them; a line without a colon is kept with an empty name so it is still
// shown.
func splitHead(b []byte) (first string, headers []Header) {
	lines := strings.Split(string(b), "\n")
	for i, l := range lines {
		l = strings.TrimSuffix(l, "\r")
		if i == 0 {
			first = l
			continue
		}
		if l == "" {
			break
		}
		if (l[0] == ' ' || l[0] == '\t') && len(headers) > 0 {
			headers[len(headers)-1].Value += " " + strings.TrimSpace(l)
			continue
		}
		name, value, ok := strings.Cut(l, ":")
		if !ok {
			headers = append(headers, Header{Value: l})
			continue
		}
		headers = append(headers, Header{Name: strings.TrimSpace(name), Value: strings.TrimSpace(value)})
	}
	return first, headers
}

// printable makes bytes from the network safe to show on a terminal and in
// JSON: control characters other than newline and tab, and invalid UTF-8,
// become \xNN escapes, so a hostile answer cannot move the cursor or
// recolour the screen.
func printable(b []byte) string {
	var sb strings.Builder
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		switch {
		case r == utf8.RuneError && size <= 1:
			sb.WriteString(`\x`)
			sb.WriteString(hex2(b[0]))
		case r == '\n' || r == '\t':
			sb.WriteRune(r)
		case r == '\r':
			// CRLF line ends are shown as line ends; a lone CR is escaped.
			if len(b) < 2 || b[1] != '\n' {
				sb.WriteString(`\r`)
			}
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			for _, c := range b[:size] {
				sb.WriteString(`\x`)
				sb.WriteString(hex2(c))
			}
		default:
			sb.Write(b[:size])
		}
		b = b[size:]
	}
	return sb.String()
}

func hex2(c byte) string {
	const digits = "0123456789abcdef"
	return string([]byte{digits[c>>4], digits[c&0xf]})
}

// excerpt shortens s to at most n bytes on a rune boundary.
func excerpt(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// firstLine returns the first non-empty line of s, trimmed.
func firstLine(s string) string {
	for l := range strings.SplitSeq(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return ""
}

// containsFold reports whether s contains sub, ignoring case.
func containsFold(s, sub string) bool {
	return strings.Contains(strings.ToLower(s), strings.ToLower(sub))
}
