package labtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// debPackage names the Debian package that provides a binary the tests use,
// where the two names differ. scripts/deps.sh installs every one of them
// (TestDepsListsEveryPackageTheTestsUse keeps the two lists together).
var debPackage = map[string]string{
	"nginx":    "nginx-light",
	"varnishd": "varnish",
	"nghttpx":  "nghttp2-proxy",
	"node":     "nodejs",
}

// sbinDirs are searched after PATH: a non-root user's PATH often lacks them,
// and that is where Debian puts nginx, haproxy and apache2.
var sbinDirs = []string{"/usr/sbin", "/sbin", "/usr/local/sbin", "/usr/local/bin", "/usr/bin"}

// RequireBinary returns the path of the named program, or fails the test with
// the command that installs it. It never skips: the test command installs
// every proxy (scripts/deps.sh), and
// an integration test that skips itself when one is missing would pass
// without testing anything.
func RequireBinary(t testing.TB, name string) string {
	t.Helper()
	if p := lookBinary(name); p != "" {
		return p
	}
	pkg := debPackage[name]
	if pkg == "" {
		pkg = name
	}
	t.Fatalf("labtest: %s not found in PATH or %v; install it: apt-get install -y %s (as root, scripts/deps.sh installs everything the tests use, and scripts/test.sh runs it first)", name, sbinDirs, pkg)
	return ""
}

func lookBinary(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range sbinDirs {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}
