package scenario

import (
	"crypto/sha256"
	"encoding/hex"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Resolve turns every string a run needs into its typed value once; the
// runner, the workers and validate all take these.
func TestResolveGivesTypedValues(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	writeCA(t, ca)
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte("events {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := Defaults()
	s.Target = "wss://proxy.example:8443/ws?room=1"
	s.Headers = []string{"Host: app.internal", "X-Trace: a", "Authorization: Bearer s3cret"}
	s.Origin = "https://app.example"
	s.SourceIPs = []string{"127.0.0.2-127.0.0.4", "::1"}
	s.CA = ca
	s.ProxyConfigs = []string{conf}
	rs, err := Resolve(s)
	if err != nil {
		t.Fatal(err)
	}
	if rs.URL == nil || rs.URL.Host != "proxy.example:8443" || rs.URL.RawQuery != "room=1" || rs.Builtin() {
		t.Errorf("URL %v", rs.URL)
	}
	if rs.Host != "app.internal" || rs.Header.Get("Host") != "" || rs.Header.Get("X-Trace") != "a" ||
		rs.Header.Get("Origin") != "https://app.example" || rs.Header.Get("Authorization") != "Bearer s3cret" {
		t.Errorf("host %q, header %v", rs.Host, rs.Header)
	}
	want := []netip.Addr{netip.MustParseAddr("127.0.0.2"), netip.MustParseAddr("127.0.0.3"), netip.MustParseAddr("127.0.0.4"), netip.MustParseAddr("::1")}
	if !slices.Equal(rs.Sources, want) {
		t.Errorf("sources %v, want %v", rs.Sources, want)
	}
	if len(rs.Expectations) != 2 || rs.Expectations[0].Kind != ExpectUpgraded || rs.Expectations[1].Kind != ExpectNoDrops {
		t.Errorf("expectations %+v, want the defaults", rs.Expectations)
	}
	if rs.TLS.RootCAs == nil || rs.TLS.Insecure {
		t.Errorf("TLS %+v, want the CA's pool", rs.TLS)
	}
	sum := sha256.Sum256([]byte("events {}\n"))
	if len(rs.ProxyConfigFiles) != 1 || rs.ProxyConfigFiles[0].Path != conf || rs.ProxyConfigFiles[0].SHA256 != hex.EncodeToString(sum[:]) ||
		rs.ProxyConfigFiles[0].Config.Product != "nginx" {
		t.Errorf("proxy configs %+v", rs.ProxyConfigFiles)
	}
	if def, err := Resolve(Defaults()); err != nil || !def.Builtin() {
		t.Errorf("defaults: %v, built-in %v", err, def != nil && def.Builtin())
	}
}

// A URL's user:password@ is sent as Basic credentials, as check sends
// them, and hidden wherever an answer echoes it; given together with an
// Authorization header, it is refused: credentials once.
func TestURLCredentialsBecomeBasicAuth(t *testing.T) {
	t.Parallel()
	s := Defaults()
	s.Target = "ws://al1ce:pa55word@127.0.0.1:8080/ws"
	rs, err := Resolve(s)
	if err != nil {
		t.Fatal(err)
	}
	if got := rs.Header.Get("Authorization"); got != "Basic YWwxY2U6cGE1NXdvcmQ=" {
		t.Errorf("Authorization %q, want Basic base64(al1ce:pa55word)", got)
	}
	if got := rs.Redactor.Scrub("echo: Basic YWwxY2U6cGE1NXdvcmQ="); strings.Contains(got, "YWwxY2U6") {
		t.Errorf("an echo of the credentials is not scrubbed: %s", got)
	}
	s.Headers = []string{"authorization: Bearer x"}
	err = s.Validate()
	if err == nil || !strings.Contains(err.Error(), "give the credentials once") || strings.Contains(err.Error(), "pa55word") {
		t.Errorf("URL credentials and an Authorization header: %v", err)
	}
}

// What a result records hides every secret the scenario carries, names
// kept, and says what it hid.
func TestRecordHidesSecrets(t *testing.T) {
	t.Parallel()
	s := Defaults()
	s.Target = "ws://user:pa55word@127.0.0.1:8080/ws?room=1&token=t0ken-value&Access_Token=acc3ss&X-Amz-Signature=s1gned&mine=m1ne-value"
	s.Headers = []string{"Cookie: session=s3cret", "X-Api-Key: k3y-value", "X-Trace: visible"}
	s.Redact = []string{"x-api-key", "mine"}
	rs, err := Resolve(s)
	if err != nil {
		t.Fatal(err)
	}
	rec := rs.Record()
	all := rec.Target + strings.Join(rec.Headers, "\n")
	for _, secret := range []string{"pa55word", "t0ken-value", "acc3ss", "s1gned", "m1ne-value", "s3cret", "k3y-value"} {
		if strings.Contains(all, secret) {
			t.Errorf("the record holds %q: %s", secret, all)
		}
	}
	wantTarget := "ws://user:[redacted]@127.0.0.1:8080/ws?room=1&token=[redacted]&Access_Token=[redacted]&X-Amz-Signature=[redacted]&mine=[redacted]"
	if rec.Target != wantTarget {
		t.Errorf("target %s\nwant   %s", rec.Target, wantTarget)
	}
	if !slices.Contains(rec.Headers, "X-Trace: visible") {
		t.Errorf("headers %v", rec.Headers)
	}
	hidden := rs.Redactor.Hidden()
	for _, w := range []string{"URL password", "query parameter token", "query parameter Access_Token", "query parameter mine", "header Cookie", "header X-Api-Key"} {
		if !slices.Contains(hidden, w) {
			t.Errorf("Hidden() = %v, lacks %q", hidden, w)
		}
	}
	if s.Target == rec.Target || rs.Target != s.Target {
		t.Error("Record changed the scenario that runs")
	}
	if got := rs.Redactor.Scrub("echo t0ken-value and pa55word"); strings.Contains(got, "t0ken") || strings.Contains(got, "pa55") {
		t.Errorf("an echo of the URL's secrets is not scrubbed: %s", got)
	}
}

// A message about a bad target or header quotes it, never its password,
// token or credential.
func TestProblemsNeverQuoteASecret(t *testing.T) {
	t.Parallel()
	for name, edit := range map[string]func(*Scenario){
		"bad port":     func(s *Scenario) { s.Target = "ws://u:pa55word@127.0.0.1:99999/ws?token=t0ken-value" },
		"fragment":     func(s *Scenario) { s.Target = "ws://u:pa55word@127.0.0.1/ws?token=t0ken-value#frag" },
		"bad escape":   func(s *Scenario) { s.Target = "ws://u:pa55word@127.0.0.1/ws%zz?token=t0ken-value" },
		"http scheme":  func(s *Scenario) { s.Target = "http://u:pa55word@127.0.0.1/ws?token=t0ken-value" },
		"no host":      func(s *Scenario) { s.Target = "ws://u:pa55word@/ws?token=t0ken-value" },
		"insecure ws":  func(s *Scenario) { s.Target = "ws://u:pa55word@127.0.0.1/ws?token=t0ken-value"; s.Insecure = true },
		"header CR/LF": func(s *Scenario) { s.Headers = []string{"Authorization: Bearer pa55word\r\nX-Evil: t0ken-value"} },
		"header name":  func(s *Scenario) { s.Headers = []string{"Authorization : Bearer pa55word"} },
		"redacted hdr": func(s *Scenario) { s.Redact = []string{"X-Key"}; s.Headers = []string{"X-Key: pa55word\n"} },
	} {
		s := Defaults()
		edit(&s)
		err := s.Validate()
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if strings.Contains(err.Error(), "pa55word") || strings.Contains(err.Error(), "t0ken-value") {
			t.Errorf("%s: the message quotes a secret: %v", name, err)
		}
	}
}

// A value of the wrong type is quoted by its message, but not a secret in
// it.
func TestTypeErrorsNeverQuoteASecret(t *testing.T) {
	t.Parallel()
	src := "[[scenario]]\nname = \"x\"\nheaders = \"Authorization: Bearer pa55word\"\norigin = 1\n"
	_, err := parseFile("s.toml", []byte(src))
	if err == nil || !strings.Contains(err.Error(), "s.toml:3: headers: want an array of strings") {
		t.Fatalf("err = %v, want the headers type error", err)
	}
	if strings.Contains(err.Error(), "pa55word") {
		t.Errorf("the message quotes the credential: %v", err)
	}
}
