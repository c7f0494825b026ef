package runner

import (
	"errors"
	"fmt"
	"net"
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

// PlanRun decides how many processes rs needs (rs.Procs, or when 0 enough
// for the open-files limit) and checks, before anything starts, that the
// run fits this host: descriptors per process, and ephemeral ports per
// source address to the one destination. Each problem that would make
// connections fail says what will not fit and the fix.
func PlanRun(rs *scenario.Resolved, h Host) (Plan, error) {
	conns := max(rs.Conns, 0)
	embedded := rs.Builtin()
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
	case rs.Procs > 0:
		p.Workers = rs.Procs
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
	if w := portWarning(rs, p.Workers, h); w != "" {
		p.Warnings = append(p.Warnings, w)
	}
	return p, checkPlan(rs, p, h)
}

// checkPlan says what of rs will not fit on h when laid out as p.
func checkPlan(rs *scenario.Resolved, p Plan, h Host) error {
	var noFile error
	if limit := int(min(h.NoFile, 1<<30)); limit != 0 {
		share := ceilDiv(max(rs.Conns, 0), p.Workers)
		need := share + fdMargin
		if rs.Builtin() && !p.Spawn {
			need += share
		}
		if need > limit {
			noFile = errors.New(noFileMessage(rs, p, share, need, h))
		}
	}
	return errors.Join(noFile, checkPorts(rs, p.Workers, h), checkSourceAddrs(rs))
}

func noFileMessage(rs *scenario.Resolved, p Plan, share, need int, h Host) string {
	var b strings.Builder
	if p.Workers > 1 {
		fmt.Fprintf(&b, "%d connections over %d processes need about %d open files in each", rs.Conns, p.Workers, need)
	} else {
		fmt.Fprintf(&b, "%d connections in one process need about %d open files", share, need)
		if rs.Builtin() {
			b.WriteString(" (the built-in target runs in the same process and holds the other end)")
		}
	}
	fmt.Fprintf(&b, ", but a process may open %d here (hard limit %d)", h.NoFile, h.NoFileMax)
	auto := ceilDiv(rs.Conns, max(int(h.NoFile)-autoMargin, 1))
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
func checkPorts(rs *scenario.Resolved, workers int, h Host) error {
	ports := h.Ports()
	if ports == 0 || rs.Conns <= ports {
		return nil
	}
	worst, addr := portLoad(rs, workers)
	if worst <= ports {
		return nil
	}
	msg := fmt.Sprintf("%d connections from one source address (%s) to %s need %d ephemeral ports, but net.ipv4.ip_local_port_range %d-%d has %d, so connections past that fail with EADDRNOTAVAIL",
		worst, addr, destination(rs), worst, h.PortLo, h.PortHi, ports)
	return fmt.Errorf("%s; %s, or widen the range: sysctl -w net.ipv4.ip_local_port_range=\"1024 65535\"", msg, moreSources(rs, workers, ports))
}

// portWarning says when some source address will use more than half of
// the port range to the destination. That works, but the kernel's
// connect() tries the even half of the range first, so past it every new
// connection scans thousands of taken ports: the ramp slows to a crawl
// and the harness, not the proxy, sets the handshake latency.
func portWarning(rs *scenario.Resolved, workers int, h Host) string {
	worst, addr := crowded(rs, workers, h)
	if worst == 0 || worst > h.Ports() {
		return ""
	}
	return fmt.Sprintf("%d connections from one source address (%s) to %s use more than half of the %d ephemeral ports; connect() slows down sharply past half (the kernel tries even ports first), which shows as handshake latency: %s",
		worst, addr, destination(rs), h.Ports(), moreSources(rs, workers, h.Ports()))
}

// CrowdsPortRange reports whether this process's connections will take
// more than half of some source address's ephemeral ports to the
// destination (see portWarning).
func CrowdsPortRange(rs *scenario.Resolved, h Host) bool {
	worst, _ := crowded(rs, 1, h)
	return worst > 0
}

// crowded is the most connections one source address makes to the
// destination, and that address, when they are more than half of its
// ports; 0 otherwise.
func crowded(rs *scenario.Resolved, workers int, h Host) (int, string) {
	ports := h.Ports()
	if ports == 0 || rs.Conns <= ports/2 {
		return 0, ""
	}
	worst, addr := portLoad(rs, workers)
	if worst <= ports/2 {
		return 0, ""
	}
	return worst, addr
}

// portLoad is the most connections any one source address makes to the
// destination. Each worker spreads its share round-robin over the
// addresses it was dealt (see Shard.Of).
func portLoad(rs *scenario.Resolved, workers int) (int, string) {
	load := map[string]int{}
	for i := range workers {
		sh := Shard{Index: i, Count: workers}
		if workers == 1 {
			sh = Shard{}
		}
		sub := sh.Of(rs)
		if len(sub.Sources) == 0 {
			load["the kernel's choice"] += sub.Conns
			continue
		}
		for j, a := range sub.Sources {
			load[a.String()] += ShareOf(sub.Conns, Shard{Index: j, Count: len(sub.Sources)})
		}
	}
	worst, worstAddr := 0, ""
	for a, n := range load {
		if n > worst || (n == worst && a < worstAddr) {
			worst, worstAddr = n, a
		}
	}
	return worst, worstAddr
}

// SourceSharePct is the most of a source address's ephemeral port range
// (to one destination) that wshold plans to use: past half, connect() slows
// down sharply (see portWarning), and 45 % leaves room for the sockets the
// machine opens besides. scripts/tune-host.sh and scripts/lab-scale.sh apply
// the same rule (TestTuneHostSuggestsWhatRunAccepts keeps them together).
const SourceSharePct = 45

// SourceAddrsFor is how many source addresses conns connections to one
// destination need so that none carries more than SourceSharePct of the
// ports ports: a multiple of workers when there are several addresses, as
// each worker takes its own addresses (2 addresses over 3 workers would put
// two workers' shares on one).
func SourceAddrsFor(conns, ports, workers int) int {
	n := ceilDiv(conns, max(ports*SourceSharePct/100, 1))
	if n > 1 && workers > 1 {
		n = ceilDiv(n, workers) * workers
	}
	return max(n, 1)
}

// moreSources is the fix: as many source addresses as SourceAddrsFor says
// for a range of ports ports.
func moreSources(rs *scenario.Resolved, workers, ports int) string {
	need := SourceAddrsFor(rs.Conns, ports, workers)
	if loopbackTarget(rs) {
		return fmt.Sprintf("spread them over more source addresses, e.g. --source-ip 127.0.0.1-127.0.0.%d", min(need, 254))
	}
	return fmt.Sprintf("spread them over at least %d local addresses of this machine with --source-ip", need)
}

func destination(rs *scenario.Resolved) string {
	if rs.Builtin() {
		return "the built-in target"
	}
	return rs.URL.Host
}

func loopbackTarget(rs *scenario.Resolved) bool {
	if rs.Builtin() {
		return true
	}
	host := rs.URL.Hostname()
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
