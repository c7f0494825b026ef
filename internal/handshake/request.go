package handshake

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// CheckRequestHeader says what is wrong with an extra header of the
// upgrade request ("Name: value", already split and trimmed), or returns
// nil. It is the one rule for such headers: run's scenarios (scenario/)
// and check's -H both ask it, before anything is sent.
//
// Beyond the grammar (a token for the name), it refuses what could let a
// proxy and the server behind it read the request differently — request
// smuggling through the very proxy under test: control characters in the
// value (CR and LF would end the header, others are read differently by
// different parsers), and a Content-Length or Transfer-Encoding on the
// upgrade GET, which has no body.
func CheckRequestHeader(name, value string) error {
	if !IsToken(name) {
		return fmt.Errorf("%q is not a valid header name (letters, digits and !#$%%&'*+-.^_`|~, no spaces before the colon)", name)
	}
	for i := 0; i < len(value); i++ {
		c := value[i]
		if c == '\r' || c == '\n' {
			return fmt.Errorf("the value of %s contains a line break; a proxy would end the header there and read the rest as a header of its own (request smuggling): give one header per entry", name)
		}
		if (c < 0x20 && c != '\t') || c == 0x7f {
			return fmt.Errorf("the value of %s contains the control character %#02x; a proxy may cut the header there and read the rest as a header of its own (request smuggling): give one header per entry, in printable characters", name, c)
		}
	}
	switch strings.ToLower(name) {
	case "content-length", "transfer-encoding":
		return fmt.Errorf("%s on the upgrade request: the GET that asks for an upgrade has no body, and a proxy and its backend that disagree on where it ends can be made to read a second, smuggled request (request smuggling); remove it", name)
	}
	return nil
}

// IsToken reports whether s is an RFC 9110 token: the grammar of header
// names and of subprotocol names. The scenario's checks and the request
// built from it judge names with this one function.
func IsToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// URLAuthorization is the Authorization value that a URL's user:password@
// becomes in the upgrade request: Basic credentials, sent up front as curl
// sends them (a WebSocket client has no way to answer a 401 challenge, so
// they would otherwise be dropped in silence). "" when the URL carries
// none. hasAuthorization says whether the request's headers carry an
// Authorization already: credentials given twice are refused, not chosen
// between. check and run both ask this.
func URLAuthorization(u *url.URL, hasAuthorization bool) (string, error) {
	if u == nil || u.User == nil {
		return "", nil
	}
	if hasAuthorization {
		return "", errors.New("the URL carries user:password@ and an Authorization header is given too; give the credentials once (the URL's become Authorization: Basic)")
	}
	pw, _ := u.User.Password()
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(u.User.Username()+":"+pw)), nil
}
