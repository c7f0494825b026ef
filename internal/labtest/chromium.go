package labtest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Chromium runs headless Chromium once with args (e.g. "--dump-dom" or
// "--screenshot=FILE" and a file:// URL), offline, with a fresh profile
// under dir, and returns its stdout and its log (stderr). It fails the test
// if Chromium is missing, fails, takes more than two minutes, or logs a
// script error or a failed load.
func Chromium(t testing.TB, dir string, args ...string) (stdout, log string) {
	t.Helper()
	chromium := RequireBinary(t, "chromium")
	profile, err := os.MkdirTemp(dir, "profile-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(profile)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	base := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-extensions", "--no-first-run", "--no-default-browser-check", "--hide-scrollbars",
		"--user-data-dir=" + profile,
		// Any name lookup fails: a page that needed the network could not
		// load anything from it.
		"--host-resolver-rules=MAP * ~NOTFOUND",
		"--enable-logging=stderr", "--v=0",
	}
	cmd := exec.CommandContext(ctx, chromium, append(base, args...)...)
	// Chromium starts helpers (zygote, crashpad); its own process group
	// lets the test end all of them.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.Env = append(os.Environ(), "HOME="+profile)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	if cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	log = errb.String()
	if err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, lastBytes(log, 3000))
	}
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "CONSOLE") && (strings.Contains(line, "Uncaught") || strings.Contains(line, "Error")) ||
			strings.Contains(line, "net::ERR_") {
			t.Errorf("Chromium: %s", line)
		}
	}
	return out.String(), log
}

func lastBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
