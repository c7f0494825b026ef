// Package check performs one WebSocket upgrade and explains it to a person:
// the request that was sent, the answer that came back byte for byte, whether
// Sec-WebSocket-Accept matches the key, and — when the upgrade failed — who
// most likely answered (the backend through a proxy, or the proxy itself),
// why, and the configuration change that fixes it for the proxy in front.
//
// It is the engine of `wshold check`. Unlike the load engine it optimises
// for explanation, not throughput: it records every byte of the handshake
// and parses the answer leniently, so an HTTP/1.0 error page, a 101 with
// lower-cased header names (HAProxy) or a non-HTTP answer are all shown as
// they arrived instead of being reduced to one library error.
package check
