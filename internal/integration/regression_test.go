package integration

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wshold/wshold/internal/labtest"
)

// wshold as a timeout regression check in CI, through real nginx with
// proxy_read_timeout 3s, driven through the binary as a CI job would:
// exit codes, JUnit, config fingerprints, compare, and re-rendering.
func TestTimeoutRegressionCheckInCI(t *testing.T) {
	t.Parallel()
	bin := buildWsholdForTest(t)
	nginx := labtest.Nginx(t, "nginx-timeout.conf", map[string]string{"UPSTREAM": backend(t), "TIMEOUT": "3"})
	dir := t.TempDir()
	conf := nginx.ConfigPath()
	wantSum := sha256.Sum256(mustRead(t, conf))
	other := filepath.Join(dir, "other.conf")
	if err := os.WriteFile(other, []byte("proxy_read_timeout 3s; # with pings\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	url := nginx.URL("/ws")
	in := func(name string) string { return filepath.Join(dir, name) }

	// "our proxy still cuts idle sockets at 3 s" holds: exit 0.
	stdout, code := runBin(t, bin, "run", "--progress", "never", "-c", "200", "-r", "1000", "--hold", "5s",
		"--expect", "drop-at=3s±300ms", "--proxy-config", conf, "-o", in("a.json"), "--junit", in("a.xml"), url)
	if code != 0 {
		t.Fatalf("drop-at=3s±300ms: exit %d, want 0\n%s", code, stdout)
	}
	// "no drop before 5 s" does not: exit 1, one failing JUnit case.
	_, code = runBin(t, bin, "run", "--progress", "never", "-c", "200", "-r", "1000", "--hold", "5s",
		"--expect", "no-drop-before=5s", "-o", in("b.json"), "--junit", in("b.xml"), url)
	if code != 1 {
		t.Fatalf("no-drop-before=5s: exit %d, want 1", code)
	}
	var suites struct {
		Suites []struct {
			Tests    int `xml:"tests,attr"`
			Failures int `xml:"failures,attr"`
			Cases    []struct {
				Name    string    `xml:"name,attr"`
				Failure *struct{} `xml:"failure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(mustRead(t, in("b.xml")), &suites); err != nil {
		t.Fatalf("b.xml is not XML: %v", err)
	}
	if len(suites.Suites) != 1 || suites.Suites[0].Failures != 1 || len(suites.Suites[0].Cases) != 1 ||
		suites.Suites[0].Cases[0].Failure == nil || suites.Suites[0].Cases[0].Name != "no-drop-before=5s" {
		t.Fatalf("b.xml: %+v, want one suite with the one failing case no-drop-before=5s", suites)
	}

	// The result names the config that produced it, by the hash sha256sum prints.
	var a struct {
		ProxyConfigs []struct{ Path, SHA256 string } `json:"proxy_configs"`
	}
	if err := json.Unmarshal(mustRead(t, in("a.json")), &a); err != nil {
		t.Fatal(err)
	}
	if len(a.ProxyConfigs) != 1 || a.ProxyConfigs[0].SHA256 != hex.EncodeToString(wantSum[:]) {
		t.Fatalf("proxy_configs %+v, want the sha256 of %s", a.ProxyConfigs, conf)
	}

	// A pinging run through the same proxy, under another config: compare
	// shows both hashes and flags what changed.
	if _, code := runBin(t, bin, "run", "--progress", "never", "-c", "200", "-r", "1000", "--hold", "5s", "--ping", "1s",
		"--proxy-config", other, "-o", in("c.json"), url); code != 0 {
		t.Fatalf("pinging run: exit %d, want 0", code)
	}
	otherSum := sha256.Sum256(mustRead(t, other))
	cmp, code := runBin(t, bin, "compare", in("a.json"), in("c.json"))
	if code != 0 {
		t.Fatalf("compare: exit %d\n%s", code, cmp)
	}
	for _, want := range []string{hex.EncodeToString(wantSum[:])[:12], hex.EncodeToString(otherSum[:])[:12]} {
		if !strings.Contains(cmp, want) {
			t.Errorf("compare does not show config hash %s:\n%s", want, cmp)
		}
	}
	if !strings.Contains(strings.ToLower(cmp), "config") || !strings.Contains(strings.ToLower(cmp), "cluster") {
		t.Errorf("compare does not flag the changed config and the vanished drop cluster:\n%s", cmp)
	}

	// Re-rendering the saved result gives the report the run printed.
	again, code := runBin(t, bin, "report", in("a.json"), "--format", "table")
	if code != 0 || again != stdout {
		t.Fatalf("report a.json (exit %d) differs from what run printed:\n--- run\n%s\n--- report\n%s", code, stdout, again)
	}
}

// runBin runs the wshold binary and returns its stdout and exit status.
func runBin(t *testing.T, bin string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return out.String(), 0
	case errors.As(err, &ee):
		if ee.ExitCode() == 2 {
			t.Fatalf("wshold %s: exit 2 (usage):\n%s", strings.Join(args, " "), errb.String())
		}
		return out.String(), ee.ExitCode()
	default:
		t.Fatalf("wshold %s: %v", strings.Join(args, " "), err)
		return "", -1
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
