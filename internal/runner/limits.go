package runner

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/wshold/wshold/scenario"
)

// Host is what this machine lets a run hold: descriptors per process and
// ephemeral ports per (source address, destination) pair.
type Host struct {
	// NoFile is the open-files soft limit of a process (RLIMIT_NOFILE; Go
	// raises it to the hard limit at start), NoFileMax the hard limit.
	NoFile, NoFileMax uint64
	// PortLo and PortHi are net.ipv4.ip_local_port_range (also used for
	// IPv6); both 0 when unknown.
	PortLo, PortHi int
}

// Ports is the size of the ephemeral port range: how many connections one
// source address can have open to one destination address and port.
func (h Host) Ports() int {
	if h.PortHi < h.PortLo || h.PortLo == 0 {
		return 0
	}
	return h.PortHi - h.PortLo + 1
}

// ReadHost reads the limits that apply to this process.
func ReadHost() Host {
	var h Host
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err == nil {
		h.NoFile, h.NoFileMax = rl.Cur, rl.Max
	}
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		_, _ = fmt.Sscan(string(b), &h.PortLo, &h.PortHi)
	}
	return h
}

const (
	// fdMargin is what a process needs besides its connections: epoll
	// sets and their eventfds, stdio, the result file, the runtime's own.
	fdMargin = 64
	// autoMargin is the headroom left per process when the number of
	// processes is chosen, so a run never plans to the last descriptor.
	autoMargin = 512
	// maxAutoProcs bounds the processes chosen automatically: a tiny
	// open-files limit should be raised, not worked around with hundreds
	// of processes.
	maxAutoProcs = 64
	// serverSpread is the headroom for the kernel's SO_REUSEPORT hash,
	// which spreads connections over server processes only roughly evenly.
	serverSpread = 1.1
)

// Plan is how a run is laid out over processes.
type Plan struct {
	// Workers is how many processes open connections (each takes its
	// Shard of the scenario).
	Workers int
	// Spawn is true when the run re-executes itself as Workers worker
	// processes: there are several, or the built-in target does not fit in
	// one process beside the connections.
	Spawn bool
	// Servers applies to the embedded default under Spawn: 0 serves from
	// the parent process; n > 0 starts n 'wshold serve' processes sharing
	// one port (SO_REUSEPORT), each holding part of the server ends.
	Servers int
	// Warnings are things that will work but distort the figures; they
	// belong in the result.
	Warnings []string
}

// PlanRun decides how many processes sc needs (sc.Procs, or when 0 enough
// for the open-files limit) and checks, before anything starts, that the
// run fits this host: descriptors per process, and ephemeral ports per
// source address to the one destination. Each problem that would make
// connections fail says what will not fit and the fix.
func PlanRun(sc scenario.Scenario, h Host) (Plan, error) {
	conns := max(sc.Conns, 0)
	embedded := sc.Target == ""
	limit := int(min(h.NoFile, 1<<30))
	if limit == 0 {
		limit = 1 << 30 // unknown: do not guess a limit
	}
	fits := func(n, margin int) bool { return n+margin <= limit }

	// A small limit (a container's 1024) gets a proportionally small
	// headroom, or the plan would be all headroom and no connections.
	margin := max(fdMargin, min(autoMargin, limit/4))
	perProc := limit - margin

	var p Plan
	switch {
	case sc.Procs > 0:
		p.Workers = sc.Procs
	case embedded && fits(2*conns, margin), !embedded && fits(conns, margin):
		p.Workers = 1
	default:
		p.Workers = ceilDiv(conns, perProc)
		if p.Workers > maxAutoProcs {
			return p, fmt.Errorf("%d connections under an open-files limit of %d need %d processes, more than the %d wshold starts by itself: raise the limit (ulimit -n; the hard limit here is %d), or set --procs if you mean it",
				conns, limit, p.Workers, maxAutoProcs, h.NoFileMax)
		}
	}
	p.Workers = max(1, min(p.Workers, conns))
	p.Spawn = p.Workers > 1 || (embedded && !fits(2*conns, fdMargin))
	if p.Spawn && embedded && !fits(conns, margin) {
		p.Servers = ceilDiv(int(float64(conns)*serverSpread), perProc)
	}
	if w := portWarning(sc, p.Workers, h); w != "" {
		p.Warnings = append(p.Warnings, w)
	}
	return p, checkPlan(sc, p, h)
}

// checkPlan says what of sc will not fit on h when laid out as p.
func checkPlan(sc scenario.Scenario, p Plan, h Host) error {
	var noFile error
	if limit := int(min(h.NoFile, 1<<30)); limit != 0 {
		share := ceilDiv(max(sc.Conns, 0), p.Workers)
		need := share + fdMargin
		if sc.Target == "" && !p.Spawn {
			need += share
		}
		if need > limit {
			noFile = errors.New(noFileMessage(sc, p, share, need, h))
		}
	}
	return errors.Join(noFile, checkPorts(sc, p.Workers, h), checkSourceAddrs(sc))
}

func noFileMessage(sc scenario.Scenario, p Plan, share, need int, h Host) string {
	var b strings.Builder
	if p.Workers > 1 {
		fmt.Fprintf(&b, "%d connections over %d processes need about %d open files in each", sc.Conns, p.Workers, need)
	} else {
		fmt.Fprintf(&b, "%d connections in one process need about %d open files", share, need)
		if sc.Target == "" {
			b.WriteString(" (the built-in target runs in the same process and holds the other end)")
		}
	}
	fmt.Fprintf(&b, ", but a process may open %d here (hard limit %d)", h.NoFile, h.NoFileMax)
	auto := ceilDiv(sc.Conns, max(int(h.NoFile)-autoMargin, 1))
	if auto > p.Workers {
		fmt.Fprintf(&b, "; use --procs %d (or --procs 0 to choose)", auto)
	}
	if h.NoFile < h.NoFileMax {
		fmt.Fprintf(&b, ", or raise the soft limit: ulimit -n %d", h.NoFileMax)
	} else {
		b.WriteString(", or raise the hard limit (as root: ulimit -Hn, /etc/security/limits.conf, or LimitNOFILE= for a service)")
	}
	return b.String()
}

// checkPorts fails when some source address would need more ephemeral
// ports to the destination than the range holds: connect() would fail
// with EADDRNOTAVAIL past that point.
func checkPorts(sc scenario.Scenario, workers int, h Host) error {
	ports := h.Ports()
	if ports == 0 || sc.Conns <= ports {
		return nil
	}
	worst, addr, err := portLoad(sc, workers)
	if err != nil || worst <= ports {
		return err
	}
	msg := fmt.Sprintf("%d connections from one source address (%s) to %s need %d ephemeral ports, but net.ipv4.ip_local_port_range %d-%d has %d, so connections past that fail with EADDRNOTAVAIL",
		worst, addr, destination(sc), worst, h.PortLo, h.PortHi, ports)
	return fmt.Errorf("%s; %s, or widen the range: sysctl -w net.ipv4.ip_local_port_range=\"1024 65535\"", msg, moreSources(sc, workers, ports))
}

// portWarning says when some source address will use more than half of
// the port range to the destination. That works, but the kernel's
// connect() tries the even half of the range first, so past it every new
// connection scans thousands of taken ports: the ramp slows to a crawl
// and the harness, not the proxy, sets the handshake latency.
func portWarning(sc scenario.Scenario, workers int, h Host) string {
	worst, addr := crowded(sc, workers, h)
	if worst == 0 || worst > h.Ports() {
		return ""
	}
	return fmt.Sprintf("%d connections from one source address (%s) to %s use more than half of the %d ephemeral ports; connect() slows down sharply past half (the kernel tries even ports first), which shows as handshake latency: %s",
		worst, addr, destination(sc), h.Ports(), moreSources(sc, workers, h.Ports()/2))
}

// CrowdsPortRange reports whether this process's connections will take
// more than half of some source address's ephemeral ports to the
// destination (see portWarning).
func CrowdsPortRange(sc scenario.Scenario, h Host) bool {
	worst, _ := crowded(sc, 1, h)
	return worst > 0
}

// crowded is the most connections one source address makes to the
// destination, and that address, when they are more than half of its
// ports; 0 otherwise.
func crowded(sc scenario.Scenario, workers int, h Host) (int, string) {
	ports := h.Ports()
	if ports == 0 || sc.Conns <= ports/2 {
		return 0, ""
	}
	worst, addr, err := portLoad(sc, workers)
	if err != nil || worst <= ports/2 {
		return 0, ""
	}
	return worst, addr
}

// portLoad is the most connections any one source address makes to the
// destination. Each worker spreads its share round-robin over the
// addresses it was dealt (see Shard.Of).
func portLoad(sc scenario.Scenario, workers int) (int, string, error) {
	load := map[string]int{}
	for i := range workers {
		sh := Shard{Index: i, Count: workers}
		if workers == 1 {
			sh = Shard{}
		}
		sub, err := sh.Of(sc)
		if err != nil {
			return 0, "", err // a bad --source-ip is reported by validation
		}
		addrs, err := scenario.ParseSourceIPs(sub.SourceIPs)
		if err != nil {
			return 0, "", err
		}
		if len(addrs) == 0 {
			load["the kernel's choice"] += sub.Conns
			continue
		}
		for j, a := range addrs {
			load[a.String()] += ShareOf(sub.Conns, Shard{Index: j, Count: len(addrs)})
		}
	}
	worst, worstAddr := 0, ""
	for a, n := range load {
		if n > worst || (n == worst && a < worstAddr) {
			worst, worstAddr = n, a
		}
	}
	return worst, worstAddr, nil
}

// moreSources is the fix: enough source addresses that each carries at
// most perSource connections (with 10% to spare), dealt evenly over the
// workers.
func moreSources(sc scenario.Scenario, workers, perSource int) string {
	need := ceilDiv(int(float64(sc.Conns)*1.1), max(perSource, 1))
	if workers > 1 {
		need = ceilDiv(need, workers) * workers
	}
	if loopbackTarget(sc) {
		return fmt.Sprintf("spread them over more source addresses, e.g. --source-ip 127.0.0.1-127.0.0.%d", min(need, 254))
	}
	return fmt.Sprintf("spread them over at least %d local addresses of this machine with --source-ip", need)
}

func destination(sc scenario.Scenario) string {
	if sc.Target == "" {
		return "the built-in target"
	}
	if u, err := url.Parse(sc.Target); err == nil && u.Host != "" {
		return u.Host
	}
	return sc.Target
}

func loopbackTarget(sc scenario.Scenario) bool {
	if sc.Target == "" {
		return true
	}
	u, err := url.Parse(sc.Target)
	if err != nil {
		return false
	}
	host := u.Hostname()
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func ceilDiv(a, b int) int {
	if b <= 0 {
		return a
	}
	return (a + b - 1) / b
}
