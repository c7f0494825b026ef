package server

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/wshold/wshold/internal/handshake"
)

// Problem texts of a request that cannot be upgraded. Each is one line; the
// 400 body joins those that apply with "; ", in this order. They name what
// is missing rather than quote the RFC, because the usual reader is someone
// whose proxy dropped a header (nginx without proxy_http_version 1.1 and
// the Upgrade/Connection lines sends HTTP/1.0, "Connection: close" and no
// Upgrade at all).
const (
	problemHTTP10     = "HTTP/1.0 cannot upgrade; use HTTP/1.1"
	problemUpgrade    = `missing "Upgrade: websocket" header`
	problemConnection = `missing "Connection: upgrade" header`
	problemKey        = "missing Sec-WebSocket-Key"
	problemVersion    = "unsupported Sec-WebSocket-Version"
	problemHost       = "missing Host header"
)

// requestProblems lists why req is not a valid WebSocket upgrade, in the
// order a client has to fix them; it is empty for a valid one.
func requestProblems(req *http.Request) []string {
	var ps []string
	if req.Method != http.MethodGet {
		ps = append(ps, fmt.Sprintf("method %s cannot upgrade; use GET", req.Method))
	}
	if !req.ProtoAtLeast(1, 1) {
		if req.ProtoMajor == 1 && req.ProtoMinor == 0 {
			ps = append(ps, problemHTTP10)
		} else {
			ps = append(ps, fmt.Sprintf("%s cannot upgrade; use HTTP/1.1", req.Proto))
		}
	} else if req.Host == "" {
		ps = append(ps, problemHost)
	}
	if up := req.Header.Values("Upgrade"); !handshake.HasToken(up, "websocket") {
		p := problemUpgrade
		if len(up) > 0 {
			p += fmt.Sprintf(" (got %q)", strings.Join(up, ", "))
		}
		ps = append(ps, p)
	}
	if c := req.Header.Values("Connection"); !handshake.HasToken(c, "upgrade") {
		p := problemConnection
		if len(c) > 0 {
			p += fmt.Sprintf(" (got %q)", strings.Join(c, ", "))
		}
		ps = append(ps, p)
	}
	if key := req.Header.Get("Sec-WebSocket-Key"); key == "" {
		ps = append(ps, problemKey)
	} else if !validKey(key) {
		ps = append(ps, fmt.Sprintf("bad Sec-WebSocket-Key %q: want 16 bytes in base64 (24 characters)", key))
	}
	if v := req.Header.Get("Sec-WebSocket-Version"); v != "13" {
		if v == "" {
			ps = append(ps, problemVersion+` (none sent; want "Sec-WebSocket-Version: 13")`)
		} else {
			ps = append(ps, fmt.Sprintf("%s %q; this server speaks 13", problemVersion, v))
		}
	}
	return ps
}

func validKey(key string) bool {
	b, err := base64.StdEncoding.DecodeString(key)
	return err == nil && len(b) == 16
}

// writeUpgrade answers req with a 101 according to how (ansUpgrade,
// ansBadAccept or ansNoUpgradeHdr). It selects the first subprotocol the
// client offers, because some clients (Node's ws) fail a handshake that
// offered subprotocols and got none.
func writeUpgrade(w io.Writer, req *http.Request, how answer) error {
	accept := handshake.Accept(req.Header.Get("Sec-WebSocket-Key"))
	if how == ansBadAccept {
		accept = handshake.Accept("wshold-wrong-key-on-purpose")
	}
	var b strings.Builder
	b.WriteString("HTTP/1.1 101 Switching Protocols\r\n")
	if how != ansNoUpgradeHdr {
		b.WriteString("Upgrade: websocket\r\n")
	}
	b.WriteString("Connection: Upgrade\r\nSec-WebSocket-Accept: ")
	b.WriteString(accept)
	b.WriteString("\r\n")
	if p := firstSubprotocol(req); p != "" {
		b.WriteString("Sec-WebSocket-Protocol: ")
		b.WriteString(p)
		b.WriteString("\r\n")
	}
	b.WriteString("\r\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func firstSubprotocol(req *http.Request) string {
	for _, v := range req.Header.Values("Sec-WebSocket-Protocol") {
		for t := range strings.SplitSeq(v, ",") {
			if t = strings.TrimSpace(t); t != "" {
				return t
			}
		}
	}
	return ""
}

// writeError answers with status and a one-line plain-text body, and tells
// the client the connection ends here.
func writeError(w io.Writer, status int, body string, extra string) error {
	body += "\n"
	text := http.StatusText(status)
	if text == "" {
		text = "Status " + strconv.Itoa(status)
	}
	_, err := fmt.Fprintf(w, "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %d\r\nConnection: close\r\n%s\r\n%s",
		status, text, len(body), extra, body)
	return err
}

// garbage is the ?garbage=1 answer: not an HTTP status line, not even text.
var garbage = []byte("\x00\x01wshold garbage: this is not HTTP\xff\xfe\r\n\r\n")
