package labtest

import (
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The test command installs what the tests run (scripts/deps.sh): every
// proxy the lab knows and the browser are on its list, under the package
// name RequireBinary's hint gives, so that a proxy added to the lab cannot be
// forgotten there and first fail on a fresh machine.
func TestDepsListsEveryPackageTheTestsUse(t *testing.T) {
	t.Parallel()
	out, err := exec.Command("bash", filepath.Join(RepoRoot(t), "scripts", "deps.sh"), "--list").Output()
	if err != nil {
		t.Fatalf("deps.sh --list: %v", err)
	}
	var apt []string
	for _, line := range strings.Split(string(out), "\n") {
		if name, ok := strings.CutPrefix(line, "apt "); ok {
			apt = append(apt, name)
		}
	}
	binaries := []string{"chromium", "shellcheck", "gcc", "openssl"}
	for _, spec := range kinds {
		binaries = append(binaries, spec.binary)
	}
	for _, b := range binaries {
		pkg := debPackage[b]
		if pkg == "" {
			pkg = b
		}
		if !slices.Contains(apt, pkg) {
			t.Errorf("the tests run %s (Debian package %s), but scripts/deps.sh does not install it; its list: %v", b, pkg, apt)
		}
	}
	if !strings.Contains(string(out), "\nnpm ws@") || !strings.Contains(string(out), "\nnpm wscat@") {
		t.Errorf("deps.sh --list lacks the npm packages of the interop tests:\n%s", out)
	}
}
