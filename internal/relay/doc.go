// Package relay is a small TCP relay for tests that need a faulty network
// path between wshold and its target without root or network namespaces:
// it forwards bytes both ways, and on demand resets chosen connections (the
// client sees an RST, as from a middlebox) or goes silent on them (it keeps
// both sockets open and discards what arrives: a half-open path that only a
// heartbeat can detect). It only relays to loopback addresses.
package relay
