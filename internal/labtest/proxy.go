package labtest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/wshold/wshold/internal/labcert"
)

// Bounds on waiting for a proxy; generous, for a loaded 2-core CI machine.
const (
	startTimeout  = 20 * time.Second // until the proxy accepts connections
	stopTimeout   = 15 * time.Second // after SIGTERM, before SIGKILL
	cleanupGrace  = time.Second      // the same, in t.Cleanup
	reloadTimeout = 15 * time.Second // until the proxy has taken a reload
	startAttempts = 3                // on a listen port taken in between
)

// errPortInUse: the port chosen was free when tested but taken by the time
// the proxy bound it; Start tries again with another.
var errPortInUse = errors.New("listen port already in use")

// Proxy is a running proxy started by Start. Its methods may be called from
// the test's goroutine; they are not meant for concurrent use.
type Proxy struct {
	kind   Kind
	spec   *kindSpec
	name   string // template file name, e.g. "nginx-timeout.conf"
	bin    string
	dir    string // scratch directory: rendered config, logs, pid and temp files
	conf   string
	addr   string // 127.0.0.1:PORT it listens on
	scheme string // "ws://", or "wss://" when the config listens with TLS
	admin  string // admin API address (caddy), else ""
	tlsDir string // TLS_DIR when the template takes one, else ""

	cmd *exec.Cmd
	// done is closed once the leader has exited, the rest of its group has
	// been killed and the leader reaped; until then its PID (and so its
	// process group ID) cannot be reused, so signalling the group is safe.
	done chan struct{}
	// mu orders group signals against the reaping of the leader.
	mu sync.Mutex
}

// Nginx starts nginx from scripts/lab/confName; see Start.
func Nginx(t testing.TB, confName string, vars map[string]string) *Proxy {
	t.Helper()
	return Start(t, KindNginx, confName, vars)
}

// HAProxy starts HAProxy from scripts/lab/confName; see Start.
func HAProxy(t testing.TB, confName string, vars map[string]string) *Proxy {
	t.Helper()
	return Start(t, KindHAProxy, confName, vars)
}

// Caddy starts Caddy from scripts/lab/confName (usually "Caddyfile"); see
// Start.
func Caddy(t testing.TB, confName string, vars map[string]string) *Proxy {
	t.Helper()
	return Start(t, KindCaddy, confName, vars)
}

// Lighttpd starts lighttpd from scripts/lab/confName; see Start.
func Lighttpd(t testing.TB, confName string, vars map[string]string) *Proxy {
	t.Helper()
	return Start(t, KindLighttpd, confName, vars)
}

// Varnish starts varnishd from scripts/lab/confName (a VCL); see Start.
func Varnish(t testing.TB, confName string, vars map[string]string) *Proxy {
	t.Helper()
	return Start(t, KindVarnish, confName, vars)
}

// Apache starts Apache from scripts/lab/confName; see Start.
func Apache(t testing.TB, confName string, vars map[string]string) *Proxy {
	t.Helper()
	return Start(t, KindApache, confName, vars)
}

// Start renders scripts/lab/confName with vars, starts the proxy on a free
// loopback port and returns once it accepts connections and would take a
// reload. vars must hold UPSTREAM (the backend's loopback host:port) and may
// hold TIMEOUT (whole seconds, for the templates that take one) or any other
// placeholder of the template (e.g. CONNS of nginx-tinyconns.conf); PREFIX,
// LISTEN, HOST, PORT and ADMIN are filled in by Start. A name the template
// does not use is an error, so that a misspelt one does not go unnoticed. The proxy is stopped by
// t.Cleanup, which prints the tail of its log if the test failed.
func Start(t testing.TB, kind Kind, confName string, vars map[string]string) *Proxy {
	t.Helper()
	spec, ok := kinds[kind]
	if !ok {
		t.Fatalf("labtest: unknown proxy kind %q; use KindNginx, KindHAProxy, KindCaddy, KindApache, KindLighttpd, KindVarnish, KindNghttpx or KindH2O", kind)
	}
	bin := RequireBinary(t, spec.binary)
	tmpl, err := readTemplate(confName)
	if err == nil {
		err = checkVars(tmpl, vars)
	}
	if err != nil {
		t.Fatalf("labtest: %s: %v", confName, err)
	}
	for attempt := 1; ; attempt++ {
		p, err := launch(kind, spec, bin, confName, tmpl, vars)
		if err == nil {
			t.Cleanup(func() { p.cleanup(t) })
			return p
		}
		if !errors.Is(err, errPortInUse) || attempt == startAttempts {
			t.Fatalf("labtest: starting %s from %s: %v", kind, confName, err)
		}
	}
}

// reservedVars are filled in by Start, never by the caller. TLS_DIR (a
// directory with ca.pem, cert.pem, key.pem and cert-key.pem, see labcert)
// may be given; Start makes one when a template takes it and it is not. UPSTREAM_HOST
// and UPSTREAM_PORT are UPSTREAM's parts, for configs that want them apart
// (lighttpd).
var reservedVars = []string{"PREFIX", "LISTEN", "HOST", "PORT", "ADMIN", "UPSTREAM_HOST", "UPSTREAM_PORT"}

func readTemplate(confName string) (string, error) {
	if confName == "" || confName != filepath.Base(confName) {
		return "", fmt.Errorf("want a file name from scripts/lab/ (e.g. nginx-timeout.conf), not a path")
	}
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	b, err := os.ReadFile(filepath.Join(root, "scripts", "lab", confName))
	if err != nil {
		return "", fmt.Errorf("reading the template: %w; the templates are the files in scripts/lab/", err)
	}
	return string(b), nil
}

// checkVars rejects, before anything is started, what would make a broken
// config or point the proxy off the machine.
func checkVars(tmpl string, vars map[string]string) error {
	var errs []error
	used := map[string]bool{}
	for _, name := range Placeholders(tmpl) {
		used[name] = true
	}
	for name := range vars {
		switch {
		case slices.Contains(reservedVars, name):
			errs = append(errs, fmt.Errorf("%s is chosen by labtest; leave it out of vars", name))
		case !used[name]:
			errs = append(errs, fmt.Errorf("the template has no {{%s}}; it takes %s", name, strings.Join(Placeholders(tmpl), ", ")))
		}
	}
	if up, ok := vars["UPSTREAM"]; ok {
		if err := checkLoopback(up); err != nil {
			errs = append(errs, fmt.Errorf("UPSTREAM: %w", err))
		}
	}
	if to, ok := vars["TIMEOUT"]; ok {
		if to == "" || strings.Trim(to, "0123456789") != "" || strings.Trim(to, "0") == "" {
			errs = append(errs, fmt.Errorf("TIMEOUT = %q: want whole seconds above zero, without a unit (e.g. \"3\")", to))
		}
	}
	if len(errs) == 0 {
		// A dry render reports missing names before any process starts.
		dry := map[string]string{"TLS_DIR": "x"}
		for _, r := range reservedVars {
			dry[r] = "x"
		}
		for k, v := range vars {
			dry[k] = v
		}
		if _, err := Render(tmpl, dry); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// checkLoopback accepts host:port on 127.0.0.0/8, ::1 or localhost: tests
// never send traffic anywhere else.
func checkLoopback(hostport string) error {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil || port == "" {
		return fmt.Errorf("%q is not host:port; pass the backend's address, e.g. 127.0.0.1:18001", hostport)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%q is not a loopback address; tests only target 127.0.0.0/8 or ::1", hostport)
	}
	return nil
}

// launch makes one attempt: scratch directory, ports, config, process, wait.
// On failure nothing is left running and the directory is gone.
func launch(kind Kind, spec *kindSpec, bin, confName, tmpl string, vars map[string]string) (_ *Proxy, err error) {
	dir, err := os.MkdirTemp("", "wshold-labtest-"+strings.ReplaceAll(confName, ".", "-")+"-")
	if err != nil {
		return nil, fmt.Errorf("creating a scratch directory: %w", err)
	}
	// Started as root, nginx and Apache run their workers as an unprivileged
	// user, which must be able to reach the temp paths inside.
	if err := os.Chmod(dir, 0o755); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("opening up the scratch directory: %w", err)
	}
	p := &Proxy{kind: kind, spec: spec, name: confName, bin: bin, dir: dir, conf: filepath.Join(dir, confName)}
	defer func() {
		if err != nil {
			p.Kill()
			os.RemoveAll(dir)
		}
	}()
	all := map[string]string{"PREFIX": dir}
	for k, v := range vars {
		all[k] = v
	}
	if up, ok := vars["UPSTREAM"]; ok {
		all["UPSTREAM_HOST"], all["UPSTREAM_PORT"], _ = net.SplitHostPort(up)
	}
	if slices.Contains(Placeholders(tmpl), "TLS_DIR") {
		// A template that terminates TLS reads its certificate from
		// TLS_DIR: the caller's (a backend's CA to share), or a lab CA and
		// loopback certificate made here, before the proxy starts.
		if all["TLS_DIR"] == "" {
			all["TLS_DIR"] = filepath.Join(dir, "tls")
			if err := labcert.WriteLoopback(all["TLS_DIR"]); err != nil {
				return nil, fmt.Errorf("making the lab certificate: %w", err)
			}
		}
		p.tlsDir = all["TLS_DIR"]
	}
	if p.addr, err = freePort(); err != nil {
		return nil, err
	}
	all["LISTEN"] = p.addr
	all["HOST"], all["PORT"], _ = net.SplitHostPort(p.addr)
	if spec.needsAdmin {
		if p.admin, err = freePort(); err != nil {
			return nil, err
		}
		all["ADMIN"] = p.admin
	}
	text, err := Render(tmpl, all)
	if err != nil {
		return nil, err
	}
	p.scheme = schemeFor(text)
	if err := os.WriteFile(p.conf, []byte(text), 0o644); err != nil {
		return nil, fmt.Errorf("writing the config: %w", err)
	}
	if err := p.startProcess(); err != nil {
		return nil, err
	}
	return p, p.waitReady()
}

func (p *Proxy) startProcess() error {
	out, err := os.OpenFile(filepath.Join(p.dir, outputLog), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("creating the output log: %w", err)
	}
	defer out.Close() // the child has its own copy
	cmd := exec.Command(p.bin, p.spec.args(p.dir, p.conf)...)
	cmd.Dir = p.dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = os.Environ()
	if p.spec.env != nil {
		cmd.Env = append(cmd.Env, p.spec.env(p.dir)...)
	}
	// A process group of its own, so that stopping it reaches its workers;
	// Pdeathsig, so that a test binary killed mid-run takes it along.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	started := make(chan error, 1)
	p.done = make(chan struct{})
	go p.run(cmd, started)
	if err := <-started; err != nil {
		p.done = nil
		return fmt.Errorf("running %s: %w", p.bin, err)
	}
	p.cmd = cmd
	return nil
}

// waitReady returns once the proxy has logged that it is up and accepts a TCP
// connection, or why not.
func (p *Proxy) waitReady() error {
	deadline := time.Now().Add(startTimeout)
	for time.Now().Before(deadline) {
		if p.exited() {
			log := p.ErrorLog()
			if strings.Contains(strings.ToLower(log), "address already in use") {
				return fmt.Errorf("%w: %s", errPortInUse, p.addr)
			}
			return fmt.Errorf("%s exited before accepting connections; its log:\n%s", p.kind, tail(log, 40))
		}
		if (p.spec.readyMarker == "" || strings.Contains(p.ErrorLog(), p.spec.readyMarker)) && (p.spec.ready == nil || p.spec.ready(p)) {
			c, err := net.DialTimeout("tcp", p.addr, 250*time.Millisecond)
			if err == nil {
				c.Close()
				return nil
			}
		}
		time.Sleep(25 * time.Millisecond)
	}
	return fmt.Errorf("%s did not accept connections on %s within %v; its log:\n%s", p.kind, p.addr, startTimeout, tail(p.ErrorLog(), 40))
}

func (p *Proxy) exited() bool {
	if p.done == nil {
		return true
	}
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Addr is the loopback host:port the proxy listens on.
func (p *Proxy) Addr() string { return p.addr }

// URL is the ws:// URL of path on the proxy, wss:// when its config listens
// with TLS (nginx "listen ... ssl"); the nginx and Apache templates proxy
// "/ws" (and below), Caddy and HAProxy every path.
func (p *Proxy) URL(path string) string {
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	return p.scheme + p.addr + path
}

// tlsListenRE finds a listening socket that speaks TLS: nginx "listen ...
// ssl", HAProxy "bind ... ssl", a Caddy site address "https://...".
var tlsListenRE = regexp.MustCompile(`(?m)^[ \t]*((listen|bind)[ \t]+[^;#\n]*[ \t]ssl\b|https://)`)

// schemeFor tells from a rendered config whether clients speak TLS to it.
func schemeFor(conf string) string {
	if tlsListenRE.MatchString(conf) {
		return "wss://"
	}
	return "ws://"
}

// CAFile is the PEM file of the CA that signed the proxy's certificate
// (TLS_DIR/ca.pem, for --ca); "" when its template terminates no TLS.
func (p *Proxy) CAFile() string {
	if p.tlsDir == "" {
		return ""
	}
	return filepath.Join(p.tlsDir, "ca.pem")
}

// ConfigPath is the rendered config file, e.g. for wshold's --proxy-config.
func (p *Proxy) ConfigPath() string { return p.conf }

// Dir is the proxy's scratch directory (config, logs, pid file); removed by
// the cleanup.
func (p *Proxy) Dir() string { return p.dir }

// Kill ends the proxy and all its processes with SIGKILL, as a crash would:
// no close frames, no draining. It returns once they are gone.
func (p *Proxy) Kill() {
	p.signalGroup(syscall.SIGKILL)
	p.waitDone(stopTimeout)
}

// Stop ends the proxy as an operator would (SIGTERM), and with SIGKILL if it
// has not exited within 15 s; any process left in its group (an nginx
// worker, an Apache child) is killed too. An error means SIGKILL was needed.
func (p *Proxy) Stop() error {
	if p.stop(stopTimeout) {
		return nil
	}
	return fmt.Errorf("%s did not exit within %v of SIGTERM; killed it", p.kind, stopTimeout)
}

// stop sends SIGTERM, waits up to grace, then SIGKILLs the group; it
// reports whether the proxy exited within grace.
func (p *Proxy) stop(grace time.Duration) bool {
	p.signalLeader(syscall.SIGTERM)
	if p.waitDone(grace) {
		return true
	}
	p.Kill()
	return false
}

func (p *Proxy) waitDone(limit time.Duration) bool {
	if p.done == nil {
		return true
	}
	select {
	case <-p.done:
		return true
	case <-time.After(limit):
		return false
	}
}

// cleanup gives the proxy a short grace only: Apache's children can take
// their whole Timeout to notice a SIGTERM, and a test has no use for a
// graceful exit at its end.
func (p *Proxy) cleanup(t testing.TB) {
	p.stop(cleanupGrace)
	if t.Failed() {
		t.Logf("labtest: %s from %s on %s; the end of its log:\n%s", p.kind, p.name, p.addr, tail(p.ErrorLog(), 60))
	}
	os.RemoveAll(p.dir)
}

// ErrorLog returns what the proxy has logged so far: its error log and its
// stdout/stderr (for HAProxy and Caddy, their only log).
func (p *Proxy) ErrorLog() string {
	var b strings.Builder
	for _, name := range []string{p.spec.logFile, outputLog} {
		if name == "" {
			continue
		}
		data, err := os.ReadFile(filepath.Join(p.dir, name))
		if err != nil || len(data) == 0 {
			continue
		}
		b.Write(data)
		if data[len(data)-1] != '\n' {
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// tail keeps the last n lines of s.
func tail(s string, n int) string {
	lines := strings.SplitAfter(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("[... %d earlier lines]\n", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "")
}
