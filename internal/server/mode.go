package server

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// QueryHelp lists the query parameters that script a connection's
// misbehaviour. `wshold serve --help` prints it; keep it in step with
// parseMode.
const QueryHelp = `Scripted misbehaviour, chosen per connection by the request's query string
(so it passes through proxies), e.g. ws://127.0.0.1:8080/ws?close=1001&after=2s.
Unknown parameters are ignored; a known one with a bad value gets a 400.

After the upgrade (one action per connection, at "after", default at once):
  close=CODE        send a close frame with CODE (e.g. 1001), wait up to 3s
                    for the client's close, then close TCP
  closecode=CODE    the same with any code 0-65535 sent as is (999 = invalid)
  flood=1           send 4 KiB binary messages for ever, as fast as the client
                    reads (stops when the socket buffer is full, resumes when
                    it drains)
  bigframe=1        send a frame header announcing 2^62 bytes, then nothing
  badopcode=1       send a frame with the reserved opcode 0x3
  rsv=1             send a text frame with RSV1 set (no extension agreed)
  masked=1          send a masked frame (servers must not mask)
  after=DUR         when to do the action above (e.g. 2s, 500ms)

Timed ends and heartbeats:
  fin_after=DUR     close TCP (FIN) without a close frame
  rst_after=DUR     reset TCP (SO_LINGER 0, RST) without a close frame
  ping=DUR          the server pings this connection every DUR
                    (overrides --ping)
  push=DUR          the server pushes this connection a timestamped message
                    every DUR (overrides --push-every; 'wshold run' reports
                    the one-way delay)

Instead of the upgrade:
  noupgrade=1       read the request, never answer (held until the client
                    or the server closes)
  badaccept=1       answer 101 with a wrong Sec-WebSocket-Accept
  noupgradehdr=1    answer 101 without the "Upgrade: websocket" header
  garbage=1         answer with bytes that are not HTTP, then close
  status=CODE       answer with HTTP status CODE (200-599), then close
`

// action is what a connection does once, at mode.after, after its upgrade.
type action uint8

const (
	actNone action = iota
	actClose
	actFlood
	actBigFrame
	actBadOpcode
	actRSV
	actMasked
)

// answer is how the handshake is answered.
type answer uint8

const (
	ansUpgrade      answer = iota // a valid 101
	ansNoUpgrade                  // never answer
	ansBadAccept                  // 101 with a wrong Sec-WebSocket-Accept
	ansNoUpgradeHdr               // 101 without "Upgrade: websocket"
	ansGarbage                    // bytes that are not HTTP
	ansStatus                     // the status in mode.status
)

// mode is a connection's scripted behaviour. A nil *mode is the plain
// echo/hold behaviour; modes are immutable once parsed, so loops read them
// without locks.
type mode struct {
	answer answer
	status int // HTTP status for ansStatus

	action    action
	closeCode uint16        // for actClose
	after     time.Duration // delay of action after the upgrade; 0 = at once

	ping     time.Duration // server ping interval for this connection; 0 = Config.Ping
	push     time.Duration // push interval for this connection; 0 = Config.PushEvery
	finAfter time.Duration // 0 = never
	rstAfter time.Duration // 0 = never
}

// parseMode reads the misbehaviour parameters of a request's query. It
// returns nil for a query that asks for nothing special, and an error that
// names the parameter and the accepted values for a bad one.
func parseMode(q url.Values) (*mode, error) {
	var m mode
	var errs []string // one line each: the 400 body joins them with "; "
	var actions, answers []string
	bad := func(key, want string) {
		errs = append(errs, fmt.Sprintf("bad query parameter %s=%q: want %s", key, q.Get(key), want))
	}
	flag := func(key string) bool {
		if !q.Has(key) {
			return false
		}
		switch strings.ToLower(q.Get(key)) {
		case "1", "true", "yes", "on", "":
			return true
		case "0", "false", "no", "off":
			return false
		}
		bad(key, "1 or 0")
		return false
	}
	dur := func(key string, zeroOK bool) time.Duration {
		if !q.Has(key) {
			return 0
		}
		d, err := time.ParseDuration(q.Get(key))
		if err != nil || d < 0 || (d == 0 && !zeroOK) {
			bad(key, "a positive duration like 2s or 500ms")
			return 0
		}
		return d
	}
	code := func(key string, lo, hi int) int {
		n, err := strconv.Atoi(q.Get(key))
		if err != nil || n < lo || n > hi {
			bad(key, fmt.Sprintf("a number from %d to %d", lo, hi))
			return 0
		}
		return n
	}

	if q.Has("close") {
		m.action, m.closeCode = actClose, uint16(code("close", 1000, 4999))
		if m.closeCode != 0 && !sendableCloseCode(m.closeCode) {
			bad("close", "a code an endpoint may send (1000-1003, 1007-1014, 3000-4999); use closecode= for others")
		}
		actions = append(actions, "close")
	}
	if q.Has("closecode") {
		m.action, m.closeCode = actClose, uint16(code("closecode", 0, 65535))
		actions = append(actions, "closecode")
	}
	for _, a := range []struct {
		key string
		act action
	}{{"flood", actFlood}, {"bigframe", actBigFrame}, {"badopcode", actBadOpcode}, {"rsv", actRSV}, {"masked", actMasked}} {
		if flag(a.key) {
			m.action = a.act
			actions = append(actions, a.key)
		}
	}
	m.after = dur("after", true)
	if q.Has("after") && len(actions) == 0 {
		errs = append(errs, "query parameter after= needs an action: close, closecode, flood, bigframe, badopcode, rsv or masked")
	}
	if len(actions) > 1 {
		errs = append(errs, fmt.Sprintf("query parameters %s conflict: choose one action per connection", strings.Join(actions, ", ")))
	}

	m.ping = dur("ping", false)
	m.push = dur("push", false)
	m.finAfter = dur("fin_after", false)
	m.rstAfter = dur("rst_after", false)
	if m.finAfter > 0 && m.rstAfter > 0 {
		errs = append(errs, "query parameters fin_after and rst_after conflict: choose one")
	}

	for _, a := range []struct {
		key string
		ans answer
	}{{"noupgrade", ansNoUpgrade}, {"badaccept", ansBadAccept}, {"noupgradehdr", ansNoUpgradeHdr}, {"garbage", ansGarbage}} {
		if flag(a.key) {
			m.answer = a.ans
			answers = append(answers, a.key)
		}
	}
	if q.Has("status") {
		m.answer, m.status = ansStatus, code("status", 200, 599)
		answers = append(answers, "status")
	}
	if len(answers) > 1 {
		errs = append(errs, fmt.Sprintf("query parameters %s conflict: choose one way to answer the handshake", strings.Join(answers, ", ")))
	}

	if len(errs) > 0 {
		return nil, errors.New(strings.Join(errs, "; "))
	}
	if m == (mode{}) {
		return nil, nil
	}
	return &m, nil
}
