package labtest

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// labScript runs scripts/lab.sh with its run directory under tmp, and
// returns its combined output and whether it exited 0.
func labScript(t *testing.T, tmp string, args ...string) (string, bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", append([]string{filepath.Join(RepoRoot(t), "scripts", "lab.sh")}, args...)...)
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	out, err := cmd.CombinedOutput()
	return string(out), err == nil
}

// labTmp is a TMPDIR for lab.sh that nginx workers, which drop root, can
// traverse (t.TempDir's parent is private).
func labTmp(t *testing.T) string {
	t.Helper()
	tmp, err := os.MkdirTemp("", "wshold-labsh-test-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Whatever happened, leave nothing running.
		if out, ok := labScript(t, tmp, "down"); !ok {
			t.Errorf("lab.sh down: %s", out)
		}
		os.RemoveAll(tmp)
	})
	return tmp
}

// lab.sh lists a case for every template, named as in its first line.
func TestLabScriptListsEveryTemplate(t *testing.T) {
	t.Parallel()
	out, ok := labScript(t, labTmp(t), "list")
	if !ok {
		t.Fatalf("lab.sh list failed:\n%s", out)
	}
	files, _ := filepath.Glob(filepath.Join(LabDir(t), "*"))
	for _, f := range files {
		if filepath.Ext(f) == ".md" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		first, _, _ := strings.Cut(string(b), "\n")
		name, _, _ := strings.Cut(strings.TrimPrefix(first, "# wshold lab: "), " ")
		if !strings.Contains(out, "\n"+name+" ") {
			t.Errorf("lab.sh list has no case %q for %s", name, filepath.Base(f))
		}
	}
}

// up prints the URL of a working proxy, reload keeps it working, and down
// leaves no process of it behind.
func TestLabScriptUpReloadDown(t *testing.T) {
	tests := []struct{ name string }{{"nginx-fix-literal"}, {"haproxy-tunnel"}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tmp := labTmp(t)
			addr := FreePort(t)
			_, port, _ := net.SplitHostPort(addr)
			out, ok := labScript(t, tmp, "up", tc.name, "--port", port, "--upstream", echoBackend(t))
			if !ok {
				t.Fatalf("lab.sh up failed:\n%s", out)
			}
			lines := strings.Split(strings.TrimSpace(out), "\n")
			url := lines[len(lines)-1]
			if want := "ws://" + addr + "/ws"; url != want {
				t.Fatalf("lab.sh up printed %q last, want the URL %q; all:\n%s", url, want, out)
			}
			conn, err := dial(t, url)
			if err != nil {
				t.Fatalf("upgrade through lab.sh's %s: %v", tc.name, err)
			}
			mustEcho(t, conn, "lab.sh "+tc.name)
			conn.Close()

			if out, ok := labScript(t, tmp, "reload", tc.name); !ok {
				t.Fatalf("lab.sh reload failed:\n%s", out)
			}
			conn, err = dial(t, url)
			if err != nil {
				t.Fatalf("upgrade after lab.sh reload: %v", err)
			}
			mustEcho(t, conn, "after reload")
			conn.Close()

			if out, _ := labScript(t, tmp, "status"); !strings.Contains(out, tc.name) || !strings.Contains(out, " up ") {
				t.Errorf("lab.sh status does not show %s up:\n%s", tc.name, out)
			}
			pidText, err := os.ReadFile(filepath.Join(tmp, "wshold-lab", tc.name, "pid"))
			if err != nil {
				t.Fatalf("lab.sh up recorded no pid: %v", err)
			}
			pid, _ := strconv.Atoi(strings.TrimSpace(string(pidText)))
			if out, ok := labScript(t, tmp, "down", tc.name); !ok {
				t.Fatalf("lab.sh down failed:\n%s", out)
			}
			if pid <= 0 || groupRunning(pid) {
				t.Errorf("after lab.sh down, process group %d still runs", pid)
			}
			if c, err := net.DialTimeout("tcp", addr, 2*time.Second); err == nil {
				c.Close()
				t.Errorf("after lab.sh down, %s still accepts connections", addr)
			}
		})
	}
}

// Mistakes are refused with a message that says what to do.
func TestLabScriptRefusesBadInput(t *testing.T) {
	t.Parallel()
	tmp := labTmp(t)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"up", "no-such-case"}, "unknown case"},
		{[]string{"up"}, "up needs a case"},
		{[]string{"up", "nginx-timeout", "--timeout", "3s", "--upstream", "127.0.0.1:9"}, "whole seconds"},
		{[]string{"up", "nginx-broken", "--timeout", "3", "--upstream", "127.0.0.1:9"}, "no timeout to set"},
		{[]string{"up", "nginx-broken", "--port", "http"}, "not a TCP port"},
		{[]string{"up", "nginx-broken", "--bogus"}, "unknown argument"},
		{[]string{"up", "nginx-tinyconns", "--set", "CONN=64", "--upstream", "127.0.0.1:9"}, "no such placeholder"},
		{[]string{"up", "nginx-tinyconns", "--set", "conns=64", "--upstream", "127.0.0.1:9"}, "want NAME=VALUE"},
		{[]string{"up", "nginx-tinyconns", "--set", "LISTEN=127.0.0.1:80"}, "chosen by lab.sh"},
		{[]string{"reload", "nginx-broken"}, "is not up"},
		{[]string{"frobnicate"}, "unknown command"},
	}
	for _, tc := range tests {
		out, ok := labScript(t, tmp, tc.args...)
		if ok || !strings.Contains(out, tc.want) {
			t.Errorf("lab.sh %s: ok=%v, output %q; want a failure saying %q", strings.Join(tc.args, " "), ok, out, tc.want)
		}
	}
}
