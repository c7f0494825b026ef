package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestValidateExampleFile(t *testing.T) {
	var out, errb bytes.Buffer
	code := dispatch([]string{"validate", "../../scenarios.example.toml"}, &out, &errb)
	if code != exitPass {
		t.Fatalf("validate scenarios.example.toml: exit %d, want 0\nstderr:\n%s", code, errb.String())
	}
	want := "../../scenarios.example.toml: 8 scenarios OK: nginx-default, nginx-86400, nginx-default-heartbeat, nginx-broken, nginx-timeout-3s, varnish-pipe-timeout, nginx-default-messages, nginx-timeout-reconnect\n"
	if out.String() != want {
		t.Errorf("stdout = %q, want %q", out.String(), want)
	}
	if errb.Len() != 0 {
		t.Errorf("stderr = %q, want nothing", errb.String())
	}
}

func TestValidateNamesTheMisspelledKeyAndItsLine(t *testing.T) {
	src, err := os.ReadFile("../../scenarios.example.toml")
	if err != nil {
		t.Fatal(err)
	}
	// Misspell the first scenario's hold and break one expectation.
	lines := strings.Split(string(src), "\n")
	holdLine, expectLine := 0, 0
	inScenario := false
	for i, l := range lines {
		switch {
		case l == "[[scenario]]":
			inScenario = true
		case inScenario && holdLine == 0 && strings.HasPrefix(l, "hold = "):
			lines[i] = "hodl = " + strings.TrimPrefix(l, "hold = ")
			holdLine = i + 1
		case inScenario && expectLine == 0 && strings.HasPrefix(l, "expect = "):
			lines[i] = `expect = ["drop-at=60s"]`
			expectLine = i + 1
		}
	}
	if holdLine == 0 || expectLine == 0 {
		t.Fatal("the example has no scenario hold/expect line to break")
	}
	path := filepath.Join(t.TempDir(), "broken.toml")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	// proxy_configs are relative to the file: give the copy the lab configs.
	if err := os.Symlink(mustAbs(t, "../../scripts"), filepath.Join(filepath.Dir(path), "scripts")); err != nil {
		t.Fatal(err)
	}

	var out, errb bytes.Buffer
	code := dispatch([]string{"validate", path}, &out, &errb)
	if code != exitUsage {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitUsage, out.String(), errb.String())
	}
	for _, want := range []string{
		path + ":" + strconv.Itoa(holdLine) + `: hodl: unknown key (did you mean "hold"?)`,
		path + ":" + strconv.Itoa(expectLine) + `: expect: expectation "drop-at=60s": `,
		"1 of 1 files have problems",
	} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errb.String())
		}
	}
	if out.Len() != 0 {
		t.Errorf("stdout = %q, want nothing for a bad file", out.String())
	}
	for _, line := range strings.Split(strings.TrimSpace(errb.String()), "\n") {
		if !strings.HasPrefix(line, "wshold: validate: ") {
			t.Errorf("stderr line %q lacks the wshold: prefix every error has", line)
		}
	}
}

func TestValidateUsage(t *testing.T) {
	tests := []struct {
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{[]string{"validate", "--help"}, exitPass, "Usage: wshold validate FILE", ""},
		{[]string{"validate"}, exitUsage, "", "name a scenario file"},
		{[]string{"validate", "--bogus", "x.toml"}, exitUsage, "", "unknown flag: --bogus"},
		{[]string{"validate", "testdata/does-not-exist.toml"}, exitUsage, "", "wshold: validate: read scenario file: open testdata/does-not-exist.toml"},
	}
	for _, tt := range tests {
		var out, errb bytes.Buffer
		code := dispatch(tt.args, &out, &errb)
		if code != tt.code || !strings.Contains(out.String(), tt.stdout) || !strings.Contains(errb.String(), tt.stderr) {
			t.Errorf("wshold %q: exit %d, stdout %q, stderr %q; want exit %d, stdout containing %q, stderr containing %q",
				tt.args, code, out.String(), errb.String(), tt.code, tt.stdout, tt.stderr)
		}
	}
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
