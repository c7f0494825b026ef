package redact

import (
	"strings"
	"testing"
)

func TestLinesOfSecretHeadersAreHiddenAndTheirValuesLearned(t *testing.T) {
	r := New([]string{"X-Api-Key"})
	for in, want := range map[string]string{
		"Authorization: Bearer s3cret-token": "Authorization: [redacted]",
		"cookie: a=one1; b=two22":            "cookie: [redacted]",
		"x-api-key:k3y-value":                "x-api-key: [redacted]",
		"X-Trace: visible":                   "X-Trace: visible",
	} {
		if got := r.Line(in); got != want {
			t.Errorf("Line(%q) = %q, want %q", in, got, want)
		}
	}
	got := r.Scrub("echo: Bearer s3cret-token, s3cret-token, one1 two22 k3y-value, x marks visible")
	for _, secret := range []string{"s3cret-token", "one1", "two22", "k3y-value"} {
		if strings.Contains(got, secret) {
			t.Errorf("Scrub left %q in %q", secret, got)
		}
	}
	if !strings.Contains(got, "x marks visible") {
		t.Errorf("Scrub hid ordinary text: %q", got)
	}
}

func TestRedactorScrubsLearnedSecrets(t *testing.T) {
	t.Parallel()
	r := New([]string{"X-Api-Key"})
	r.Learn("Bearer tok3n-value")
	r.Learn("a=cookieone; b=cookietwo")
	r.Learn("x") // too short to hunt for in text
	got := r.Scrub("echo: Bearer tok3n-value, tok3n-value, cookieone cookietwo, x marks")
	want := "echo: [redacted], [redacted], [redacted] [redacted], x marks"
	if got != want {
		t.Errorf(
			"scrub = %q, want %q",
			got, want)
	}
	for _, name := range []string{"authorization", "COOKIE", "Proxy-Authorization", "Set-Cookie", "x-api-key"} {
		if !r.Secret(name) {
			t.Errorf(
				"%s is not treated as secret",
				name)
		}
	}
	if r.Secret("X-Trace") {
		t.Errorf("X-Trace is treated as secret")
	}
}

func TestASecretIsWhatRemainsOnceTrimmed(t *testing.T) {
	r := New(nil)
	r.Learn("Bearer  k3y-value \t")
	if got := r.Scrub("echo k3y-value ."); got != "echo [redacted] ." {
		t.Errorf("Scrub = %q: the trimmed credential should be hidden", got)
	}
	r = New(nil)
	r.Learn("Bearer aaa ") // three characters once trimmed: too short to hunt for
	if got := r.Scrub("aaa "); got != "aaa " {
		t.Errorf("Scrub = %q: a secret shorter than %d characters should not blank text", got, minSecret)
	}
}

// Redaction hides a learned secret wherever it appears in a text, however
// it is surrounded — short of text that reads like the replacement itself.
func FuzzScrub(f *testing.F) {
	f.Add("s3cret", "Bearer s3cret and s3cret again")
	f.Add("abab", "ababab")
	f.Add("tok=1", "session=tok=1; x=tok=1tok=1")
	f.Fuzz(func(t *testing.T, secret, text string) {
		// Header values lose their surrounding whitespace (HTTP's optional
		// whitespace), so the secret is what is left once it is trimmed.
		secret = strings.TrimSpace(secret)
		if len(secret) < minSecret || strings.ContainsAny(secret, "[]") || strings.Contains(Mark, secret) {
			return
		}
		r := New(nil)
		r.Learn("Bearer " + secret)
		if out := r.Scrub(text); strings.Contains(out, secret) {
			t.Fatalf("scrub(%q) = %q still holds %q", text, out, secret)
		}
	})
}
