package engine

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strings"

	"github.com/wshold/wshold/internal/handshake"
)

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

// maxRefusal bounds how much of a refusal (a non-101 answer) is kept to
// describe it: a header block as large as the judge accepts, and the start
// of the body that describeResponse quotes.
const maxRefusal = handshake.MaxHead + 512

// answer is an upgrade answer as it arrives, whatever carries it: the
// loops' plain sockets, or a TLS connection read by a goroutine. It asks
// the one judge (internal/handshake) once the header block is complete, so
// that every path, and check, decide the same answer the same way.
type answer struct {
	buf    []byte
	scan   handshake.Scanner
	status int // of the status line, once it is in
	offer  handshake.Offer
}

// add takes the bytes of one read. Until done, read more. Once done, err
// is nil for a valid 101 (early holds what the server sent behind it: its
// first frames), or why the handshake failed, with captured describing a
// refusal's answer.
func (a *answer) add(p []byte) (done bool, early []byte, captured string, err error) {
	a.buf = append(a.buf, p...)
	status, n, err := a.scan.Scan(a.buf)
	a.status = status
	if a.refused() {
		// Wait for the body that describes it, or for its end.
		if (n > 0 && answerComplete(a.buf)) || len(a.buf) >= maxRefusal {
			captured, err = a.ended(nil)
			return true, nil, captured, err
		}
		return false, nil, "", nil
	}
	switch {
	case err != nil:
		return true, nil, "", err
	case n == 0:
		return false, nil, "", nil
	}
	resp, err := handshake.Parse(a.buf[:n])
	if err != nil {
		return true, nil, "", err
	}
	if e := handshake.Judge(resp, a.offer); e != nil {
		return true, nil, "", e
	}
	return true, a.buf[n:], "", nil
}

// ended says how a handshake whose answer stopped coming (EOF, a read
// error, the timeout: err) failed. A refusal whose status line is in is
// still the refusal, whatever ended it.
func (a *answer) ended(err error) (captured string, _ error) {
	if a.refused() {
		return describeResponse(bytes.NewReader(a.buf)), &handshake.Error{Cause: handshake.CauseHTTP, Status: a.status}
	}
	return "", err
}

func (a *answer) refused() bool { return a.status != 0 && a.status != 101 }

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
