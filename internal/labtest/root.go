package labtest

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

var (
	rootOnce sync.Once
	rootDir  string
	rootErr  error
)

// RepoRoot returns the repository's root directory: the nearest directory
// at or above the working directory (a test's package directory) that holds
// go.mod.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := repoRoot()
	if err != nil {
		t.Fatalf("labtest: %v", err)
	}
	return dir
}

// LabDir returns scripts/lab, where the proxy config templates live.
func LabDir(t testing.TB) string {
	t.Helper()
	return filepath.Join(RepoRoot(t), "scripts", "lab")
}

func repoRoot() (string, error) {
	rootOnce.Do(func() {
		wd, err := os.Getwd()
		if err != nil {
			rootErr = fmt.Errorf("finding the repository root: %w", err)
			return
		}
		for dir := wd; ; dir = filepath.Dir(dir) {
			if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
				rootDir = dir
				return
			}
			if filepath.Dir(dir) == dir {
				rootErr = fmt.Errorf("no go.mod at or above %s; run the tests from inside the wshold repository", wd)
				return
			}
		}
	})
	return rootDir, rootErr
}
