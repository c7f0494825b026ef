// Package handshake holds the two rules of the WebSocket opening handshake
// (RFC 6455 §4) that both ends of wshold apply: the server (wshold serve)
// when it answers, check when it judges an answer.
package handshake

import (
	"crypto/sha1"
	"encoding/base64"
	"strings"
)

// guid is the constant RFC 6455 appends to the key before hashing.
const guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// Accept returns the Sec-WebSocket-Accept that answers key: proof that the
// server read this very handshake.
func Accept(key string) string {
	h := sha1.Sum([]byte(key + guid))
	return base64.StdEncoding.EncodeToString(h[:])
}

// HasToken reports whether a comma-separated header, possibly repeated,
// holds token, ignoring case: "Connection: keep-alive, Upgrade" upgrades.
func HasToken(values []string, token string) bool {
	for _, v := range values {
		for t := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}
