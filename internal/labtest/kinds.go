package labtest

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Kind names a proxy program the lab can run.
type Kind string

// The proxies of the lab, each from its Debian package.
const (
	KindNginx    Kind = "nginx"
	KindHAProxy  Kind = "haproxy"
	KindCaddy    Kind = "caddy"
	KindApache   Kind = "apache"
	KindLighttpd Kind = "lighttpd"
	KindVarnish  Kind = "varnish"
	// nghttpx and h2o are not products wshold has defaults for: the lab
	// runs them to check that verdicts hold on proxies it does not know.
	KindNghttpx Kind = "nghttpx"
	KindH2O     Kind = "h2o"
)

// kindSpec is how one proxy program is run in the foreground from a rendered
// template, and how it is reloaded.
type kindSpec struct {
	binary string
	// args gives the command line; dir is the proxy's scratch directory and
	// conf the rendered config inside it.
	args func(dir, conf string) []string
	// env is added to the inherited environment.
	env func(dir string) []string
	// logFile is where the config sends the proxy's error log, relative to
	// dir; "" when the proxy logs to stdout/stderr (kept in outputLog).
	logFile string
	// reload asks the running proxy to re-read its config.
	reload func(p *Proxy) error
	// readyMarker, if set, is logged once the proxy is fully up. Accepting
	// a TCP connection is not enough: the proxies bind their ports before
	// they are ready for signals, and a reload signal sent in between is
	// lost (or, to nginx, fatal).
	readyMarker string
	// ready, if set, must also hold before the proxy counts as up.
	ready func(p *Proxy) bool
	// generation returns tokens that change with each reload taken: Reload
	// waits for one it has not seen before, so that a test acts on the new
	// configuration.
	generation func(p *Proxy) []string
	// needsAdmin: the template takes ADMIN, a loopback host:port for an
	// admin API.
	needsAdmin bool
}

// logCount makes a generation from the lines logged so far that hold marker:
// one token per line, so a new one appears with each.
func logCount(marker string) func(p *Proxy) []string {
	return func(p *Proxy) []string {
		n := strings.Count(p.ErrorLog(), marker)
		tokens := make([]string, n)
		for i := range tokens {
			tokens[i] = strconv.Itoa(i)
		}
		return tokens
	}
}

// haproxyMasterSocket is HAProxy's master CLI, relative to its directory.
const haproxyMasterSocket = "master.sock"

// outputLog keeps the proxy's stdout and stderr, relative to its directory.
const outputLog = "output.log"

var kinds = map[Kind]*kindSpec{
	KindNginx: {
		binary: "nginx",
		// -e: the log nginx writes before it has read error_log from the
		// config would otherwise go to /var/log/nginx, which may not exist.
		args: func(dir, conf string) []string {
			return []string{"-p", dir + "/", "-e", filepath.Join(dir, "error.log"), "-c", conf}
		},
		logFile: "error.log",
		reload:  signalReload(syscall.SIGHUP),
		// nginx writes its pid file after it has set up its signal
		// handlers, whatever its log level; every template sets "pid".
		ready: func(p *Proxy) bool {
			b, err := os.ReadFile(filepath.Join(p.dir, "nginx.pid"))
			return err == nil && strings.TrimSpace(string(b)) == strconv.Itoa(p.cmd.Process.Pid)
		},
		// A reload taken starts new workers.
		generation: func(p *Proxy) []string { return childPids(p.cmd.Process.Pid) },
	},
	KindHAProxy: {
		binary: "haproxy",
		// -W: master-worker, which can reload; -db: stay in the foreground;
		// -S: the master CLI, through which Reload asks for the reload and
		// which tells when the master is ready for it (SIGUSR2 reloads
		// too, but gives no sign of being ignored early on).
		args: func(dir, conf string) []string {
			return []string{"-W", "-db", "-S", "unix@" + filepath.Join(dir, haproxyMasterSocket), "-f", conf}
		},
		reload: haproxyReload,
		// For a moment after "Loading success." the master refuses, resets
		// or ignores CLI commands (and loses SIGUSR2); once it lists its
		// worker, it takes a reload.
		ready: func(p *Proxy) bool {
			out, err := haproxyCLI(p, "show proc", false)
			return err == nil && strings.Contains(out, "worker")
		},
		readyMarker: "Loading success.",
		generation:  logCount("Loading success."),
	},
	KindCaddy: {
		binary: "caddy",
		args: func(dir, conf string) []string {
			return []string{"run", "--config", conf, "--adapter", "caddyfile"}
		},
		// Caddy keeps an autosave and its storage under these; point them at
		// the scratch directory rather than $HOME.
		env: func(dir string) []string {
			return []string{"XDG_CONFIG_HOME=" + dir, "XDG_DATA_HOME=" + dir}
		},
		needsAdmin:  true,
		reload:      caddyReload,
		readyMarker: "serving initial configuration",
		generation:  logCount("load complete"),
	},
	KindApache: {
		binary: "apache2",
		args: func(dir, conf string) []string {
			return []string{"-f", conf, "-DFOREGROUND"}
		},
		logFile:     "error.log",
		reload:      signalReload(syscall.SIGUSR1),
		readyMarker: "resuming normal operations",
		generation:  logCount("resuming normal operations"),
	},
	KindLighttpd: {
		binary: "lighttpd",
		args: func(dir, conf string) []string {
			return []string{"-D", "-f", conf}
		},
		logFile: "error.log",
		// SIGUSR1: a graceful restart, which logs "server started" again.
		reload:      signalReload(syscall.SIGUSR1),
		readyMarker: "server started",
		generation:  logCount("server started"),
	},
	KindVarnish: {
		binary: "varnishd",
		// The parameters (listen address, pipe_timeout) are on the
		// template's "# varnishd-params:" line: varnishd takes them on its
		// command line, not in the VCL. -j none: no jail, so it runs as
		// whoever starts it; -T none: no management port.
		args: func(dir, conf string) []string {
			args := []string{"-F", "-j", "none", "-n", filepath.Join(dir, "varnishd"), "-f", conf, "-T", "none", "-s", "malloc,32m"}
			return append(args, VarnishParams(conf)...)
		},
		// There is no management port to load a new VCL through.
		reload: func(*Proxy) error {
			return errors.New("the lab runs varnishd without a management port; restart it instead")
		},
		readyMarker: "Child starts",
		generation:  logCount("Child starts"),
	},
	KindNghttpx: {
		binary: "nghttpx",
		args: func(dir, conf string) []string {
			return []string{"--conf=" + conf}
		},
		logFile: "error.log",
		// SIGHUP: a new worker process takes the listener; the old one
		// keeps its tunnels until they close.
		reload:      signalReload(syscall.SIGHUP),
		readyMarker: "spawned",
		generation:  logCount("spawned"),
	},
	KindH2O: {
		binary: "h2o",
		args: func(dir, conf string) []string {
			return []string{"-c", conf}
		},
		logFile: "error.log",
		// Without -m master h2o has no graceful reload: SIGHUP ends it.
		reload: func(*Proxy) error {
			return errors.New("the lab runs h2o without -m master, which has no graceful reload; restart it instead")
		},
		readyMarker: "is ready to serve requests",
		generation:  logCount("is ready to serve requests"),
	},
}

// VarnishParams reads the "# varnishd-params:" line of a rendered VCL: the
// command-line arguments that VCL cannot set. lab.sh reads the same line.
func VarnishParams(conf string) []string {
	b, err := os.ReadFile(conf)
	if err != nil {
		return nil
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "# varnishd-params:"); ok {
			return strings.Fields(rest)
		}
	}
	return nil
}
