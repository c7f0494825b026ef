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
