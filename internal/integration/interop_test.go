package integration

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wshold/wshold/internal/labtest"
	"github.com/wshold/wshold/internal/server"
)

// The npm packages these tests use (ws as a backend, wscat as a client) are
// installed by scripts/deps.sh, pinned, under one prefix, never committed.
// WSHOLD_NODE_PREFIX points elsewhere (deps.sh reads it too).
const (
	nodePrefixEnv     = "WSHOLD_NODE_PREFIX"
	defaultNodePrefix = "/opt/wshold-node"
	depsInstall       = "run scripts/deps.sh as root (scripts/test.sh runs it first)"
)

// nodeModules returns the node binary and the node_modules directory that
// holds ws and wscat, or fails with the command that installs them. Like
// the proxies, a missing package fails rather than skips: a skipped
// interop test would pass without testing anything.
func nodeModules(t *testing.T) (node, modules string) {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node not found in PATH; to install Node and the pinned npm packages ws and wscat, %s", depsInstall)
	}
	prefix := os.Getenv(nodePrefixEnv)
	if prefix == "" {
		prefix = defaultNodePrefix
	}
	modules = filepath.Join(prefix, "node_modules")
	for _, f := range []string{"ws/package.json", ".bin/wscat"} {
		if _, err := os.Stat(filepath.Join(modules, f)); err != nil {
			t.Fatalf("node is here (%s), but %s is missing (%v); to install the pinned npm packages ws and wscat into %s, %s (with %s set, for another prefix)",
				node, filepath.Join(modules, f), err, prefix, depsInstall, nodePrefixEnv)
		}
	}
	return node, modules
}

// nodeEcho starts scripts/node/ws-echo.js, a backend on the npm package ws,
// and returns its loopback host:port.
func nodeEcho(t *testing.T) string {
	t.Helper()
	node, modules := nodeModules(t)
	return startNodeScript(t, node, "ws-echo.js", []string{"NODE_PATH=" + modules}, "127.0.0.1", "0")
}

// startNodeScript runs scripts/node/NAME with args and env added to this
// process's, and returns the loopback host:port it prints on its first
// line. The script exits when its stdin closes (at the test's cleanup),
// or is killed 5 s later, or with the test binary.
func startNodeScript(t *testing.T, node, name string, env []string, args ...string) string {
	t.Helper()
	cmd := exec.Command(node, append([]string{filepath.Join(labtest.RepoRoot(t), "scripts", "node", name)}, args...)...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe() // it exits when this closes
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	t.Cleanup(func() {
		stdin.Close()
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(stdout).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	select {
	case addr := <-line:
		if addr == "" {
			t.Fatalf("%s exited without printing its address", name)
		}
		return addr
	case <-time.After(20 * time.Second):
		t.Fatalf("%s did not print its address within 20 s", name)
	}
	return ""
}

// A backend nobody here wrote, behind each proxy's working config: every
// upgrade gets through and is held.
func TestNodeWsBackendBehindEachProxy(t *testing.T) {
	t.Parallel()
	cases := []struct {
		kind labtest.Kind
		conf string
		vars map[string]string
	}{
		{labtest.KindNginx, "nginx-fix-map.conf", nil},
		{labtest.KindHAProxy, "haproxy-tunnel.cfg", map[string]string{"TIMEOUT": "60"}},
		{labtest.KindCaddy, "Caddyfile", nil},
		{labtest.KindApache, "apache-timeout.conf", map[string]string{"TIMEOUT": "60"}},
	}
	for _, tc := range cases {
		t.Run(string(tc.kind), func(t *testing.T) {
			t.Parallel()
			vars := map[string]string{"UPSTREAM": nodeEcho(t)}
			for k, v := range tc.vars {
				vars[k] = v
			}
			proxy := labtest.Start(t, tc.kind, tc.conf, vars)
			sc := scenarioFor(proxy.URL("/ws"), 100, 1000, 2*time.Second)
			sc.Ping = 500_000_000 // ws answers pings; a missing pong would be a drop
			res := run(t, sc)
			if res.Counts.Upgraded != 100 || res.Counts.Dropped != 0 || res.Verdict != "pass" {
				t.Fatalf("upgraded %d dropped %d verdict %s, want 100/0/pass; failures %+v, by kind %v",
					res.Counts.Upgraded, res.Counts.Dropped, res.Verdict, res.Failures, res.Drops.ByKind)
			}
			if rep, text := checkText(t, proxy.URL("/ws")); !rep.OK {
				t.Fatalf("check failed through %s to ws:\n%s", tc.kind, text)
			}
		})
	}
}

// Behind the broken configs, ws answers the plain GET it gets with 426 (not
// the 400 of wshold serve and Go servers); every attempt fails with it,
// grouped, and check still names the proxy and its fix.
func TestNodeWsBackendBehindBrokenConfigsAnswers426(t *testing.T) {
	t.Parallel()
	cases := []struct {
		kind  labtest.Kind
		conf  string
		proxy string
		fix   []string
	}{
		{labtest.KindNginx, "nginx-broken.conf", "nginx", []string{"proxy_http_version 1.1", "proxy_set_header Upgrade $http_upgrade", "$connection_upgrade"}},
		{labtest.KindApache, "apache-noupgrade.conf", "apache", []string{"upgrade=websocket"}},
	}
	for _, tc := range cases {
		t.Run(tc.conf, func(t *testing.T) {
			t.Parallel()
			proxy := labtest.Start(t, tc.kind, tc.conf, map[string]string{"UPSTREAM": nodeEcho(t)})
			res := run(t, scenarioFor(proxy.URL("/ws"), 50, 500, time.Second))
			if res.Counts.Failed != 50 || len(res.Failures) != 1 {
				t.Fatalf("failed %d in groups %+v, want 50 in one group", res.Counts.Failed, res.Failures)
			}
			if f := res.Failures[0]; f.Cause != "http" || f.Status != 426 || !strings.Contains(f.Example, "Upgrade Required") ||
				!strings.Contains(f.Hint, "stripped Upgrade/Connection") {
				t.Fatalf("failure %+v: want HTTP 426 \"Upgrade Required\" with the stripped-headers hint", f)
			}

			rep, text := checkText(t, proxy.URL("/ws"))
			if rep.OK || rep.Response == nil || rep.Response.Status != 426 || rep.Proxy != tc.proxy {
				t.Fatalf("check: want a 426 answered through %s:\n%s", tc.proxy, text)
			}
			if !strings.Contains(rep.Verdict, "did not forward Upgrade") {
				t.Errorf("check verdict %q does not say the proxy dropped Upgrade", rep.Verdict)
			}
			for _, want := range tc.fix {
				if !strings.Contains(text, want) {
					t.Errorf("check output lacks the fix %q:\n%s", want, text)
				}
			}
		})
	}
}

// wscat, an independent client, upgrades to wshold serve and gets its
// message echoed.
func TestWscatExchangesAMessageWithWsholdServe(t *testing.T) {
	t.Parallel()
	_, modules := nodeModules(t)
	srv, err := server.Start(server.Config{Listen: []string{"127.0.0.1:0"}})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const msg = "hello from wscat"
	// -x sends the message once connected; -w 1 waits a second for the
	// echo, then wscat closes and exits.
	cmd := exec.CommandContext(ctx, filepath.Join(modules, ".bin", "wscat"), "-c", "ws://"+srv.Addrs()[0].String()+"/", "-x", msg, "-w", "1")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	// wscat exits as soon as its standard input ends, before it connects:
	// give it one that stays open until it is done.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	if err := cmd.Run(); err != nil {
		t.Fatalf("wscat: %v; it said:\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), msg) {
		t.Fatalf("wscat printed %q, want the echo of %q", out.String(), msg)
	}
	if st := srv.Stats(); st.Upgraded != 1 {
		t.Fatalf("server stats %v, want exactly one upgrade", st)
	}
}
