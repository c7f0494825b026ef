package labtest

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Reload makes the proxy re-read its config, as an operator's reload would:
// SIGHUP to the nginx master, "reload" on the HAProxy master CLI (as SIGUSR2
// would), SIGUSR1 (graceful) to the Apache parent, "caddy reload --force"
// through Caddy's admin API. It returns once the proxy runs the reloaded
// config: new nginx workers, or the log line of a finished reload.
func (p *Proxy) Reload() error {
	if p.exited() {
		return fmt.Errorf("reloading %s: it is not running", p.kind)
	}
	before := map[string]bool{}
	for _, tok := range p.spec.generation(p) {
		before[tok] = true
	}
	if err := p.spec.reload(p); err != nil {
		return fmt.Errorf("reloading %s: %w", p.kind, err)
	}
	deadline := time.Now().Add(reloadTimeout)
	for time.Now().Before(deadline) {
		for _, tok := range p.spec.generation(p) {
			if !before[tok] {
				return nil
			}
		}
		if p.exited() {
			return fmt.Errorf("%s exited while reloading; its log:\n%s", p.kind, tail(p.ErrorLog(), 40))
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("%s did not take the reload within %v (a config error?); its log:\n%s", p.kind, reloadTimeout, tail(p.ErrorLog(), 40))
}

func signalReload(sig syscall.Signal) func(p *Proxy) error {
	return func(p *Proxy) error {
		p.signalLeader(sig)
		return nil
	}
}

func haproxyReload(p *Proxy) error {
	_, err := haproxyCLI(p, "reload", true)
	return err
}

// haproxyCLI sends one command to HAProxy's master CLI and returns the
// answer: up to the blank line that ends it, or, with untilEOF, up to the
// master closing the connection (as it does when it re-executes itself for a
// reload; hung up on earlier, it drops the command).
func haproxyCLI(p *Proxy, command string, untilEOF bool) (string, error) {
	c, err := net.DialTimeout("unix", filepath.Join(p.dir, haproxyMasterSocket), 2*time.Second)
	if err != nil {
		return "", fmt.Errorf("connecting to the master CLI: %w", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(command + "\n")); err != nil {
		return "", fmt.Errorf("sending %q to the master CLI: %w", command, err)
	}
	var out []byte
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return string(out), nil
		}
		if err != nil {
			return string(out), fmt.Errorf("reading the master CLI's answer to %q: %w", command, err)
		}
		if !untilEOF && strings.HasSuffix(string(out), "\n\n") {
			return string(out), nil
		}
	}
}

func caddyReload(p *Proxy) error {
	ctx, cancel := context.WithTimeout(context.Background(), reloadTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, p.bin, "reload", "--config", p.conf, "--adapter", "caddyfile", "--address", p.admin, "--force")
	cmd.Env = append(os.Environ(), p.spec.env(p.dir)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("caddy reload: %w; it said:\n%s", err, tail(string(out), 20))
	}
	return nil
}
