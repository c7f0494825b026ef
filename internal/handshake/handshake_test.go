package handshake

import "testing"

func TestAcceptIsTheRFCExample(t *testing.T) {
	// RFC 6455 §1.3.
	if got := Accept("dGhlIHNhbXBsZSBub25jZQ=="); got != "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" {
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
