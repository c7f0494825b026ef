package handshake

import (
	"bufio"
	"net/http"
	"strings"
	"testing"
)

const testKey = "dGhlIHNhbXBsZSBub25jZQ=="

// head101 is a valid 101 for testKey with extra header lines.
func head101(extra ...string) string {
	return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
		Accept(testKey) + "\r\n" + lines(extra...) + "\r\n"
}

func lines(ls ...string) string {
	var b strings.Builder
	for _, l := range ls {
		b.WriteString(l + "\r\n")
	}
	return b.String()
}

// judgeRaw runs raw answer bytes through the three steps every caller
// takes: Scan, Parse, Judge.
func judgeRaw(t *testing.T, raw string, protocols []string) error {
	t.Helper()
	_, n, err := Scan([]byte(raw))
	if err != nil {
		return err
	}
	if n == 0 {
		t.Fatalf("%q: Scan says incomplete", raw)
	}
	resp, err := Parse([]byte(raw[:n]))
	if err != nil {
		return err
	}
	if e := Judge(resp, Offer{Key: testKey, Protocols: protocols}); e != nil {
		return e
	}
	return nil
}

// JudgeCases is the decision for each kind of answer, with the rule that
// decides it. The cases where browsers differ from a strict reading are
// the ones Chromium 120+ and Node's ws were run against (see Judge).
func TestJudgeDecidesEachAnswerOnce(t *testing.T) {
	accept := Accept(testKey)
	for _, tc := range []struct {
		name      string
		raw       string
		protocols []string
		cause     string // "" upgrades
		problem   string // a substring of the problems' text
	}{
		{"valid", head101(), nil, "", ""},
		{"Connection is a token list", strings.Replace(head101(), "Connection: Upgrade", "Connection: keep-alive, Upgrade", 1), nil, "", ""},
		{"Connection repeated, one holds upgrade", strings.Replace(head101(), "Connection: Upgrade", "Connection: keep-alive\r\nConnection: upgrade", 1), nil, "", ""},
		{"HTTP/1.0 101 upgrades, as in browsers", strings.Replace(head101(), "HTTP/1.1", "HTTP/1.0", 1), nil, "", ""},
		{"no reason phrase", strings.Replace(head101(), "101 Switching Protocols", "101", 1), nil, "", ""},
		{"empty reason phrase", strings.Replace(head101(), "101 Switching Protocols", "101 ", 1), nil, "", ""},
		{"names and tokens in any case", "HTTP/1.1 101 Switching Protocols\r\nupgrade: WebSocket\r\nCONNECTION: UPGRADE\r\nsec-websocket-accept: " + accept + "\r\n\r\n", nil, "", ""},
		{"bare LF line ends", strings.ReplaceAll(head101(), "\r\n", "\n"), nil, "", ""},
		{"folded Connection", strings.Replace(head101(), "Connection: Upgrade", "Connection: keep-alive,\r\n Upgrade", 1), nil, "", ""},
		{"a line without a colon is ignored", head101("no colon here"), nil, "", ""},
		{"blank before the colon", strings.Replace(head101(), "Upgrade: websocket", "Upgrade : websocket", 1), nil, "", ""},
		{"offered subprotocol selected", head101("Sec-WebSocket-Protocol: chat"), []string{"mqtt", "chat"}, "", ""},
		{"offered, none selected", head101(), []string{"chat"}, "", ""},

		{"HTTP/2 in a status line", strings.Replace(head101(), "HTTP/1.1", "HTTP/2.0", 1), nil, CauseBadResponse, "HTTP/2.0"},
		{"no Upgrade", strings.Replace(head101(), "Upgrade: websocket\r\n", "", 1), nil, CauseBadUpgrade, "there is no Upgrade header"},
		{"Upgrade to something else", strings.Replace(head101(), "Upgrade: websocket", "Upgrade: h2c", 1), nil, CauseBadUpgrade, `Upgrade is "h2c", not "websocket"`},
		{"Upgrade lists two protocols", strings.Replace(head101(), "Upgrade: websocket", "Upgrade: websocket, h2c", 1), nil, CauseBadUpgrade, "alone"},
		{"Upgrade twice", head101("Upgrade: websocket"), nil, CauseBadUpgrade, "appears 2 times"},
		{"no Connection", strings.Replace(head101(), "Connection: Upgrade\r\n", "", 1), nil, CauseBadUpgrade, "there is no Connection header"},
		{"Connection without upgrade", strings.Replace(head101(), "Connection: Upgrade", "Connection: keep-alive, close", 1), nil, CauseBadUpgrade, `without the token "upgrade"`},
		{"no Accept is missing, not a mismatch", strings.Replace(head101(), "Sec-WebSocket-Accept: "+accept+"\r\n", "", 1), nil, CauseBadAccept, "there is no Sec-WebSocket-Accept header"},
		{"wrong Accept", strings.Replace(head101(), accept, "d3Jvbmc=", 1), nil, CauseBadAccept, `is "d3Jvbmc=", but the key sent requires`},
		{"Accept twice, both right", head101("Sec-WebSocket-Accept: " + accept), nil, CauseBadAccept, "appears 2 times"},
		{"unrequested permessage-deflate", head101("Sec-WebSocket-Extensions: permessage-deflate"), nil, CauseBadExtensions, `selects "permessage-deflate", but the request offered no extension`},
		{"empty extension list", head101("Sec-WebSocket-Extensions: "), nil, CauseBadExtensions, "empty"},
		{"subprotocol not offered", head101("Sec-WebSocket-Protocol: chat"), []string{"mqtt"}, CauseBadSubprotocol, `selects "chat", which was not offered (offered: "mqtt")`},
		{"subprotocol when none was offered", head101("Sec-WebSocket-Protocol: chat"), nil, CauseBadSubprotocol, "offered: none"},
		{"subprotocols compare case-sensitively", head101("Sec-WebSocket-Protocol: Chat"), []string{"chat"}, CauseBadSubprotocol, "not offered"},
		{"two subprotocols selected", head101("Sec-WebSocket-Protocol: chat, mqtt"), []string{"chat", "mqtt"}, CauseBadSubprotocol, "not a list"},
		{"subprotocol header twice", head101("Sec-WebSocket-Protocol: chat", "Sec-WebSocket-Protocol: chat"), []string{"chat"}, CauseBadSubprotocol, "appears 2 times"},
		{"upgrade problems outrank the others", strings.Replace(head101("Sec-WebSocket-Extensions: x"), "Connection: Upgrade", "Connection: close", 1), nil, CauseBadUpgrade, "offered no extension"},

		{"not a status line", "HTTP/1.1 1x1 Switching\r\n\r\n", nil, CauseBadResponse, "not an HTTP status line"},
		{"status of two digits", "HTTP/1.1 99 x\r\n\r\n", nil, CauseBadResponse, "not an HTTP status line"},
		{"not HTTP", "SSH-2.0-OpenSSH_9.2\r\n\r\n", nil, CauseBadResponse, `not HTTP: the answer begins "SSH-2.0-OpenSSH_9.2\r\n`},
		{"a TLS alert", "\x15\x03\x01\x00\x02\x02\x46", nil, CauseBadResponse, "use wss://"},
		{"a refusal", "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", nil, CauseHTTP, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := judgeRaw(t, tc.raw, tc.protocols)
			if tc.cause == "" {
				if err != nil {
					t.Fatalf("%q: %v, want an upgrade", tc.raw, err)
				}
				return
			}
			e, ok := err.(*Error)
			if !ok || e.Cause != tc.cause || !strings.Contains(e.Error(), tc.problem) {
				t.Fatalf("%q: %v (%T), want cause %s saying %q", tc.raw, err, err, tc.cause, tc.problem)
			}
		})
	}
}

// Every rule broken is reported, each against its header, so check can
// mark each line of its checklist from the judge's answer.
func TestJudgeReportsEveryProblemAgainstItsHeader(t *testing.T) {
	raw := "HTTP/1.1 101 OK\r\nUpgrade: h2c\r\nSec-WebSocket-Extensions: permessage-deflate\r\nSec-WebSocket-Protocol: x\r\n\r\n"
	e, _ := judgeRaw(t, raw, nil).(*Error)
	if e == nil || e.Cause != CauseBadUpgrade {
		t.Fatalf("got %v", e)
	}
	for _, h := range []string{HeaderUpgrade, HeaderConnection, HeaderAccept, HeaderExtensions, HeaderProtocol} {
		if !e.Failed(h) {
			t.Errorf("%s not reported: %v", h, e)
		}
	}
	if len(e.Problems) != 5 {
		t.Errorf("%d problems, want 5: %v", len(e.Problems), e)
	}
}

// The header-size bound is on the complete block, not on what one read
// brought: a 10 KB 101 arriving in pieces is judged whole.
func TestScanBoundsTheCompleteHeaderBlock(t *testing.T) {
	pad := strings.Repeat("X-Pad: "+strings.Repeat("a", 93)+"\r\n", 100) // 10 KB
	raw := head101(strings.TrimSuffix(pad, "\r\n"))
	var got []byte
	var sc Scanner
	for i := 0; i < len(raw); i += 1000 {
		got = append(got, raw[i:min(i+1000, len(raw))]...)
		status, n, err := sc.Scan(got)
		if err != nil {
			t.Fatalf("after %d bytes: %v", len(got), err)
		}
		if status != 101 {
			t.Fatalf("after %d bytes: status %d", len(got), status)
		}
		if (n != 0) != (len(got) == len(raw)) {
			t.Fatalf("after %d of %d bytes: head length %d", len(got), len(raw), n)
		}
	}
	if err := judgeRaw(t, raw, nil); err != nil {
		t.Fatalf("10 KB 101: %v", err)
	}

	huge := head101(strings.TrimSuffix(strings.Repeat(pad, 7), "\r\n")) // 70 KB
	for _, p := range []string{huge, huge[:MaxHead], huge[:MaxHead+10]} {
		_, _, err := Scan([]byte(p))
		e, ok := err.(*Error)
		if !ok || e.Cause != CauseHeaderTooLarge || e.Status != 101 || !strings.Contains(e.Error(), "larger than 64 KiB") {
			t.Fatalf("%d bytes: %v, want header_too_large", len(p), err)
		}
	}
	if _, n, err := Scan([]byte(huge[:MaxHead-1])); n != 0 || err != nil {
		t.Fatalf("an incomplete block under the bound: %d, %v; want: read more", n, err)
	}
}

// Scan decides as early as the bytes allow: garbage at its first bytes, a
// malformed status line as soon as it is complete; a prefix of a good
// answer asks for more.
func TestScanDecidesEarly(t *testing.T) {
	for _, tc := range []struct {
		p      string
		status int
		n      int
		cause  string
	}{
		{"", 0, 0, ""},
		{"HTT", 0, 0, ""},
		{"HTTP/1.1 101 Swi", 0, 0, ""},
		{"HTTP/1.1 403 Forbidden\r\n", 403, 0, ""},
		{"HTTP/1.1 101\r\n\r\n", 101, 16, ""},
		{"HTTP/1.1 101 x\n\nframes", 101, 16, ""},
		{"GET / HTTP/1.1\r\n", 0, 0, CauseBadResponse},
		{"\x16\x03", 0, 0, CauseBadResponse},
		{"HTTP/1.1 abc\r\n", 0, 0, CauseBadResponse},
		{"HTTP/1.1 " + strings.Repeat("1", 300), 0, 0, CauseBadResponse},
	} {
		status, n, err := Scan([]byte(tc.p))
		cause := ""
		if e, ok := err.(*Error); ok {
			cause = e.Cause
		} else if err != nil {
			t.Fatalf("%q: %T", tc.p, err)
		}
		if status != tc.status || n != tc.n || cause != tc.cause {
			t.Errorf("Scan(%q) = %d, %d, %v; want %d, %d, %q", tc.p, status, n, err, tc.status, tc.n, tc.cause)
		}
	}
}

func TestParseStatusLine(t *testing.T) {
	for _, tc := range []struct {
		in     string
		ok     bool
		status int
		reason string
	}{
		{"HTTP/1.1 101 Switching Protocols", true, 101, "Switching Protocols"},
		{"HTTP/1.0 400 Bad Request", true, 400, "Bad Request"},
		{"HTTP/1.1 426", true, 426, ""},
		{"HTTP/1.1  101  x", true, 101, "x"},
		{"HTTP/1.1 OK", false, 0, ""},
		{"HTTP/1.1 20", false, 0, ""},
		{"HTTP/1.1 1011", false, 0, ""},
		{"ICY 200 OK", false, 0, ""},
		{"HTTP/1.1 099 Low", false, 0, ""},
		{"HTTP/1 101", false, 0, ""},
	} {
		r, err := ParseStatusLine(tc.in)
		if (err == nil) != tc.ok || (err == nil && (r.Status != tc.status || r.Reason != tc.reason)) {
			t.Errorf("ParseStatusLine(%q) = %+v, %v; want %d %q ok=%v", tc.in, r, err, tc.status, tc.reason, tc.ok)
		}
	}
}

func TestAcceptIsTheRFCExample(t *testing.T) {
	// RFC 6455 §1.3.
	if got := Accept(testKey); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
		t.Fatalf("Accept = %q", got)
	}
}

func TestTokensAreFoundInListsIgnoringCase(t *testing.T) {
	for _, tc := range []struct {
		values []string
		want   bool
	}{
		{[]string{"keep-alive, Upgrade"}, true},
		{[]string{"close", "UPGRADE"}, true},
		{[]string{"upgrades"}, false},
		{nil, false},
	} {
		if got := HasToken(tc.values, "upgrade"); got != tc.want {
			t.Errorf("HasToken(%q) = %v", tc.values, got)
		}
	}
}

// Extra request headers: what could smuggle a request through the proxy
// under test is refused, whatever the case of the name.
func TestCheckRequestHeaderRefusesSmuggling(t *testing.T) {
	for _, tc := range []struct {
		name, value string
		want        string // "" accepted
	}{
		{"Authorization", "Bearer abc", ""},
		{"X-Tab", "a\tb", ""},
		{"X-Latin1", "caf\xe9", ""},
		{"X-Split", "a\r\nX-Injected: 1", "contains a line break"},
		{"X-LF", "a\n", "contains a line break"},
		{"X-Nul", "a\x00b", "control character 0x00"},
		{"X-Esc", "\x1b[2J", "control character 0x1b"},
		{"X-Del", "a\x7f", "control character 0x7f"},
		{"Content-Length", "0", "Content-Length on the upgrade request"},
		{"transfer-encoding", "chunked", "smuggled"},
		{"Bad Name", "x", "not a valid header name"},
		{"", "x", "not a valid header name"},
	} {
		err := CheckRequestHeader(tc.name, tc.value)
		if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("CheckRequestHeader(%q, %q) = %v, want %q", tc.name, tc.value, err, tc.want)
		}
	}
}

// A transport that reads answers with net/http gets the same decisions
// through FromHTTP.
func TestFromHTTPIsJudgedAlike(t *testing.T) {
	for _, tc := range []struct {
		raw   string
		cause string
	}{
		{strings.Replace(head101(), "Connection: Upgrade", "Connection: keep-alive, Upgrade", 1), ""},
		{strings.Replace(head101(), "101 Switching Protocols", "101", 1), ""},
		{head101("Sec-WebSocket-Accept: " + Accept(testKey)), CauseBadAccept},
		{head101("Sec-WebSocket-Extensions: permessage-deflate"), CauseBadExtensions},
	} {
		resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(tc.raw)), nil)
		if err != nil {
			t.Fatal(err)
		}
		e := Judge(FromHTTP(resp), Offer{Key: testKey})
		if (e == nil) != (tc.cause == "") || (e != nil && e.Cause != tc.cause) {
			t.Errorf("%q: %v, want cause %q", tc.raw, e, tc.cause)
		}
		if direct := judgeRaw(t, tc.raw, nil); (direct == nil) != (e == nil) {
			t.Errorf("%q: FromHTTP judged %v, the bytes %v", tc.raw, e, direct)
		}
	}
}
