// Package handshake holds the rules of the WebSocket opening handshake
// (RFC 6455 §4) that every part of wshold applies: the server (wshold
// serve) when it answers, and the one judge of an answer (Judge) that
// check and run — over ws:// and wss://, whatever reads the bytes — ask
// whether an answer upgrades, so that they never disagree.
//
// An answer is judged in three steps: Scan finds the end of its header
// block as the bytes arrive (and refuses what is not HTTP, or too large, at
// once), Parse reads the complete block into a Response, and Judge decides.
// A transport that already parsed the answer (net/http) gives Judge a
// Response made with FromHTTP.
package handshake

import (
	"crypto/sha1"
	"encoding/base64"
)

// guid is the constant RFC 6455 appends to the key before hashing.
const guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// Accept returns the Sec-WebSocket-Accept that answers key: proof that the
// server read this very handshake.
func Accept(key string) string {
	h := sha1.Sum([]byte(key + guid))
	return base64.StdEncoding.EncodeToString(h[:])
}
