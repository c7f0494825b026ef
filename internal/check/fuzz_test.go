package check

import (
	"bytes"
	"encoding/base64"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// Whatever a server answers to the upgrade, check's report of it never
// panics, shows nothing that could drive a terminal (only printable text,
// newlines and tabs), and never shows a credential the request carried,
// even when the answer repeats it.

const fuzzSecret = "s3cretToken"

// fuzzRequest is what the dialer sends: the secret in Authorization and a
// key whose accept value is known.
const fuzzRequest = "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:9\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
	"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
	"Authorization: Bearer " + fuzzSecret + "\r\n\r\n"

func FuzzExamineAnswer(f *testing.F) {
	for _, seed := range []string{
		"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
		"HTTP/1.1 400 Bad Request\r\nServer: nginx\r\nContent-Length: 11\r\n\r\nbad request",
		// Bodies that give their own reason are quoted (tags out, spaces folded).
		"HTTP/1.1 400 Bad Request\r\n\r\nbad query parameter token=\"" + fuzzSecret + "\"\n",
		"HTTP/1.1 426 x\r\nContent-Length: 33\r\n\r\ns3cret<i>Token</i>\n\x1b[2J refused",
		"HTTP/1.1 401 Unauthorized\r\nContent-Length: 40\r\n\r\nyou sent: Authorization: Bearer " + fuzzSecret,
		"HTTP/1.1 403 " + fuzzSecret + "\r\n\r\n",
		"HTTP/1.1 500 x\r\nX-Echo: Bearer " + fuzzSecret + "\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"HTTP/1.0 502 Bad Gateway\n\n<html><title>502 \x1b[31mBad\x1b[0m</title></html>",
		"HTTP/1.1 301 Moved\r\nLocation: wss://example.com/ws\r\n\r\n",
		"HTTP/1.1 101 OK\r\nUpgrade: h2c\r\n\r\n",
		"\x16\x03\x01\x00\x05hello",
		"SSH-2.0-OpenSSH_9.6\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n",
		"HTTP/1.1 4",
		"garbage\x00\xff\xfe\r\n\r\n",
		"HTTP/1.1 101 Switching Protocols\r\n folded\r\n\tcontinued\r\nno colon here\r\n\r\n",
		// Answers the judge decides where a strict reading and browsers differ.
		"HTTP/1.0 101\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
		"HTTP/1.1 101 x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Accept: Bearer " + fuzzSecret + "\r\nSec-WebSocket-Extensions: permessage-deflate; " + fuzzSecret + "\r\n\r\n",
		"HTTP/2.0 101\r\nUpgrade: websocket, " + fuzzSecret + "\r\n\r\n",
		"HTTP/1.1 101 x\r\n" + strings.Repeat("X-Pad: 0123456789\r\n", 4000),
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, rx []byte) {
		tg, err := prepare("ws://127.0.0.1:9/ws", Options{Headers: []string{"Authorization: Bearer " + fuzzSecret}, Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		// The server has said all it will: reads after rx end at once.
		client, server := net.Pipe()
		server.Close()
		defer client.Close()
		rec := &recorder{Conn: client, tx: []byte(fuzzRequest), rx: rx[:min(len(rx), maxHead)], rerr: io.EOF}
		r := &Report{Schema: Schema, URL: tg.display, Explanation: []string{}, Fixes: []Fix{}}
		tg.fillRequest(r, rec.tx)
		tg.examine(r, rec, time.Now().Add(time.Second))

		var text, js bytes.Buffer
		if err := r.WriteText(&text); err != nil {
			t.Fatal(err)
		}
		if err := r.WriteJSON(&js); err != nil {
			t.Fatal(err)
		}
		for i, c := range text.Bytes() {
			if (c < 0x20 && c != '\n' && c != '\t') || c == 0x7f {
				t.Fatalf("text report has control byte %#x at %d:\n%q", c, i, text.String())
			}
		}
		for name, out := range map[string]string{"text": text.String(), "JSON": js.String()} {
			if strings.Contains(out, fuzzSecret) || strings.Contains(out, base64.StdEncoding.EncodeToString([]byte(fuzzSecret))) {
				t.Fatalf("the %s report shows the secret:\n%s", name, out)
			}
		}
		if r.Cause == "" {
			t.Fatalf("no cause for answer %q", rx)
		}
		if r.OK != (r.Cause == CauseOK) || (r.OK && len(r.Problems) > 0) {
			t.Fatalf("OK %v with cause %q", r.OK, r.Cause)
		}
	})
}
