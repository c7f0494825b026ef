package handshake

import (
	"errors"
	"strings"
	"testing"
)

// FuzzJudge holds the judge's contract on any answer, however it is split
// across reads: a Scanner fed it in two reads says what Scan says of it whole; Scan's early decisions are final (an error on a prefix is
// the whole answer's error, a head length found on a prefix is the whole
// answer's), the cause is one of the known codes, and a refusal's text
// cannot drive a terminal.
func FuzzJudge(f *testing.F) {
	for _, seed := range []string{
		head101(),
		head101("Sec-WebSocket-Extensions: permessage-deflate"),
		head101("Sec-WebSocket-Accept: x", "Sec-WebSocket-Protocol: a, b"),
		strings.Replace(head101(), "HTTP/1.1 101 Switching Protocols", "HTTP/1.0 101", 1),
		"HTTP/1.1 400 Bad Request\r\nContent-Length: 3\r\n\r\nbad",
		"HTTP/1.1 101 x\r\nUpgrade: websocket\r\n folded\r\n\x1b[2J: y\r\n\r\n",
		"\x16\x03\x01\x00\x05hello",
		"HTTP/9.9 101\n\n",
	} {
		f.Add([]byte(seed), uint16(7))
	}
	causes := map[string]bool{CauseHTTP: true, CauseBadUpgrade: true, CauseBadAccept: true, CauseBadExtensions: true,
		CauseBadSubprotocol: true, CauseBadResponse: true, CauseHeaderTooLarge: true}
	f.Fuzz(func(t *testing.T, p []byte, cut uint16) {
		status, n, err := Scan(p)
		// The same answer in two reads, to one Scanner.
		k := int(cut) % (len(p) + 1)
		var sc Scanner
		ps, pn, perr := sc.Scan(p[:k])
		if perr == nil && pn == 0 {
			if s2, n2, err2 := sc.Scan(p); s2 != status || n2 != n || (err2 == nil) != (err == nil) {
				t.Fatalf("%q in two reads (%d): %d, %d, %v; in one: %d, %d, %v", p, k, s2, n2, err2, status, n, err)
			}
		}
		var e, pe *Error
		switch {
		case err != nil && !errors.As(err, &e), perr != nil && !errors.As(perr, &pe):
			t.Fatalf("errors %T, %T are not *Error", err, perr)
		case pe != nil && (e == nil || e.Cause != pe.Cause):
			t.Fatalf("%q: prefix %d refused as %v, the whole as %v", p, k, perr, err)
		case pn > 0 && (n != pn || err != nil):
			t.Fatalf("%q: prefix %d has a head of %d, the whole %d (%v)", p, k, pn, n, err)
		case ps != 0 && ps != status && err == nil:
			t.Fatalf("%q: prefix %d has status %d, the whole %d", p, k, ps, status)
		}
		if err != nil || n == 0 {
			return
		}
		resp, err := Parse(p[:n])
		if err != nil {
			t.Fatalf("%q: Scan accepted a head Parse refuses: %v", p, err)
		}
		if resp.Status != status {
			t.Fatalf("%q: Scan says %d, Parse %d", p, status, resp.Status)
		}
		je := Judge(resp, Offer{Key: testKey, Protocols: []string{"chat"}})
		if je == nil {
			return
		}
		if !causes[je.Cause] {
			t.Fatalf("unknown cause %q", je.Cause)
		}
		for _, c := range []byte(je.Error()) {
			if c < 0x20 || c == 0x7f {
				t.Fatalf("refusal text has control byte %#x: %q", c, je.Error())
			}
		}
	})
}
