package handshake

import "testing"

// A URL written without its scheme is recognised as such, with the fix; a
// URL with another scheme, or no host, is not this mistake.
func TestMissingScheme(t *testing.T) {
	for raw, want := range map[string]string{
		"localhost:8080":      "ws://localhost:8080/",
		"127.0.0.1:8080":      "ws://127.0.0.1:8080/",
		"127.0.0.1:8080/ws":   "ws://127.0.0.1:8080/ws",
		"[::1]:9/chat?x=1":    "ws://[::1]:9/chat?x=1",
		"example.test":        "ws://example.test/",
		"http://example.test": "",
		"ws://x/":             "",
		"":                    "",
		"user:pw@host:1":      "",
	} {
		got, ok := MissingScheme(raw)
		if got != want || ok != (want != "") {
			t.Errorf("MissingScheme(%q) = %q, %v; want %q", raw, got, ok, want)
		}
	}
}
