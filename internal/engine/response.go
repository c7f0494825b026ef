package engine

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/gobwas/ws"

	"github.com/wshold/wshold/internal/handshake"
)

// maxResponse bounds an upgrade answer's header: a server that sends more
// without ending it is not speaking HTTP to us.
const maxResponse = 8 << 10

// upgradeRequest builds the request the loops send, around the key: the
// same request gobwas/ws writes (httpWriteUpgradeRequest), so that a
// server, a proxy or its logs cannot tell the two paths apart.
func upgradeRequest(cfg *Config) (head, tail string) {
	u := cfg.URL
	host := u.Host
	if cfg.Host != "" {
		host = cfg.Host
	}
	head = "GET " + u.RequestURI() + " HTTP/1.1\r\n" +
		"Host: " + host + "\r\n" +
		"Upgrade: websocket\r\n" +
		"Connection: Upgrade\r\n" +
		"Sec-WebSocket-Version: 13\r\n" +
		"Sec-WebSocket-Key: "
	var b strings.Builder
	b.WriteString("\r\n")
	if len(cfg.Subprotocols) > 0 {
		b.WriteString("Sec-WebSocket-Protocol: " + strings.Join(cfg.Subprotocols, ", ") + "\r\n")
	}
	if cfg.Header != nil {
		_ = cfg.Header.Write(&b)
	}
	b.WriteString("\r\n")
	return head, b.String()
}

// judgeResponse reads an upgrade answer as far as it has arrived, by
// gobwas/ws's rules (Dialer.Upgrade) and with its sentinel errors, so that
// classify gives the same causes whichever path dialled. It returns the
// status once the status line is in; then either err, or for a complete and
// valid 101 the length of its header (what follows is the server's first
// frames), or neither when more is needed. A non-101 status comes back as
// ws.StatusError at once: the caller decides how much of the answer to wait
// for to describe it.
func judgeResponse(p []byte, key string, protocols []string) (status, headerLen int, err error) {
	line, off, ok := nextLine(p, 0)
	if !ok {
		return 0, 0, nil
	}
	status, err = statusLine(line)
	if err != nil {
		return 0, 0, err
	}
	if status != http.StatusSwitchingProtocols {
		return status, 0, ws.StatusError(status)
	}
	const (
		seenUpgrade = 1 << iota
		seenConnection
		seenAccept
		seenAll = seenUpgrade | seenConnection | seenAccept
	)
	seen := 0
	for {
		line, off, ok = nextLine(p, off)
		if !ok {
			return status, 0, nil
		}
		if len(line) == 0 {
			break
		}
		colon := bytes.IndexByte(line, ':')
		if colon < 0 {
			return status, 0, ws.ErrMalformedResponse
		}
		k, v := trimSpace(line[:colon]), trimSpace(line[colon+1:])
		// gobwas canonicalises the name (ASCII only) and compares it
		// exactly; folding ASCII case is the same test. HAProxy sends
		// lower-case names.
		switch {
		case asciiEqualFold(k, "Upgrade"):
			seen |= seenUpgrade
			if !asciiEqualFold(v, "websocket") {
				return status, 0, ws.ErrHandshakeBadUpgrade
			}
		case asciiEqualFold(k, "Connection"):
			seen |= seenConnection
			// One token, exactly, as gobwas wants of a response (RFC 6455
			// §4.1: a Connection header field with value "Upgrade").
			if !asciiEqualFold(v, "Upgrade") {
				return status, 0, ws.ErrHandshakeBadConnection
			}
		case asciiEqualFold(k, "Sec-WebSocket-Accept"):
			seen |= seenAccept
			if string(v) != handshake.Accept(key) {
				return status, 0, ws.ErrHandshakeBadSecAccept
			}
		case asciiEqualFold(k, "Sec-WebSocket-Protocol"):
			offered := false
			for _, want := range protocols {
				if string(v) == want {
					offered = true
					break
				}
			}
			if !offered {
				return status, 0, ws.ErrHandshakeBadSubProtocol
			}
		case asciiEqualFold(k, "Sec-WebSocket-Extensions"):
			// We offer none, so any selected is one we did not ask for.
			// (gobwas says ErrMalformedResponse instead when the value
			// does not even parse; both are a broken answer.)
			if len(v) > 0 {
				return status, 0, ws.ErrHandshakeBadExtensions
			}
		}
	}
	switch {
	case seen&seenUpgrade == 0:
		return status, 0, ws.ErrHandshakeBadUpgrade
	case seen&seenConnection == 0:
		return status, 0, ws.ErrHandshakeBadConnection
	case seen&seenAccept == 0:
		return status, 0, ws.ErrHandshakeBadSecAccept
	}
	return status, off, nil
}

// verdict is an upgrade answer judged as far as it has arrived.
type verdict struct {
	// status is the answer's status once its status line is in.
	status int
	// done: the handshake has ended. Then err is nil for a valid 101,
	// whose header is headerLen bytes long (what follows are the server's
	// first frames), or the failure, with captured describing a refusal.
	done      bool
	headerLen int
	err       error
	captured  string
}

// judgeAnswer judges the answer resp so far; status is what the previous
// judgement of the same answer found (0 at first). A refusal is waited
// for until enough of it is in to describe it. Both ways of opening a
// connection — the loops' for ws://, a goroutine's for wss:// — judge
// through here.
func judgeAnswer(resp []byte, key string, protocols []string, status int) verdict {
	if status != 0 && status != http.StatusSwitchingProtocols {
		if answerComplete(resp) || len(resp) >= maxResponse {
			return verdict{status: status, done: true, err: ws.StatusError(status), captured: describeResponse(bytes.NewReader(resp))}
		}
		return verdict{status: status}
	}
	status, hl, err := judgeResponse(resp, key, protocols)
	var se ws.StatusError
	switch {
	case errors.As(err, &se):
		return judgeAnswer(resp, key, protocols, status)
	case err != nil:
		return verdict{status: status, done: true, err: err}
	case hl > 0:
		return verdict{status: status, done: true, headerLen: hl}
	case len(resp) >= maxResponse:
		return verdict{status: status, done: true, err: ws.ErrMalformedResponse}
	}
	return verdict{status: status}
}

// answerEnded is the failure of a handshake whose answer stopped coming
// (err: EOF, a reset, the timeout): a refusal whose status line is in is
// still the refusal, as it is for gobwas; otherwise the end is the cause.
func answerEnded(resp []byte, status int, err error) verdict {
	if status != 0 && status != http.StatusSwitchingProtocols {
		return verdict{status: status, done: true, err: ws.StatusError(status), captured: describeResponse(bytes.NewReader(resp))}
	}
	return verdict{status: status, done: true, err: err}
}

// statusLine parses "HTTP/1.1 101 Switching Protocols" as gobwas does: a
// version it cannot read or a status that is not all digits is a malformed
// answer; HTTP/1.0 or 2 is the wrong protocol.
func statusLine(line []byte) (int, error) {
	proto, code := line, []byte(nil)
	if a := bytes.IndexByte(line, ' '); a >= 0 {
		if b := bytes.IndexByte(line[a+1:], ' '); b >= 0 {
			proto, code = line[:a], line[a+1:a+1+b]
		}
	}
	major, minor, ok := httpVersion(proto)
	status, digitsOK := number(code)
	if !ok || !digitsOK {
		return 0, ws.ErrMalformedResponse
	}
	if major != 1 || minor < 1 {
		return 0, ws.ErrHandshakeBadProtocol
	}
	return status, nil
}

func httpVersion(p []byte) (major, minor int, ok bool) {
	rest, found := bytes.CutPrefix(p, []byte("HTTP/"))
	if !found {
		return 0, 0, false
	}
	a, b, found := bytes.Cut(rest, []byte("."))
	major, okA := number(a)
	minor, okB := number(b)
	return major, minor, found && okA && okB
}

// number reads a non-empty run of ASCII digits.
func number(p []byte) (int, bool) {
	n := 0
	for _, c := range p {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, len(p) > 0
}

// nextLine returns the line starting at off without its "\n" or "\r\n",
// and where the next one starts; ok is false while the line is incomplete.
func nextLine(p []byte, off int) (line []byte, next int, ok bool) {
	i := bytes.IndexByte(p[off:], '\n')
	if i < 0 {
		return nil, off, false
	}
	line = p[off : off+i]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, off + i + 1, true
}

func trimSpace(p []byte) []byte {
	return bytes.Trim(p, " \t")
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

// answerComplete reports whether a non-101 answer has arrived far enough
// to describe it: its header and as much of its body as describeResponse
// quotes.
func answerComplete(p []byte) bool {
	resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(p)), nil)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	_, err = io.ReadAll(io.LimitReader(resp.Body, 512))
	return err == nil
}
