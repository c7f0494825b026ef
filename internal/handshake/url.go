package handshake

import (
	"net/url"
	"strings"
)

// MissingScheme reports whether raw is a host[:port][/path] written
// without ws:// or wss:// ("localhost:8080", which net/url reads as the
// scheme "localhost", or "127.0.0.1:8080", which it cannot read at all),
// and if so what to write instead. run's target and check's URL say the
// same thing about it.
func MissingScheme(raw string) (try string, ok bool) {
	raw = strings.TrimSpace(raw)
	if raw == "" || strings.Contains(raw, "://") {
		return "", false
	}
	if u, err := url.Parse(raw); err == nil {
		switch strings.ToLower(u.Scheme) {
		case "ws", "wss", "http", "https": // "ws:/x": a scheme, wrongly written
			return "", false
		}
	}
	u, err := url.Parse("ws://" + raw)
	if err != nil || u.Hostname() == "" || u.User != nil {
		return "", false
	}
	if u.Path == "" {
		u.Path = "/"
	}
	return u.String(), true
}
