package labtest

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
)

const ephemeralRangeFile = "/proc/sys/net/ipv4/ip_local_port_range"

// Ports that scripts/lab.sh uses by default (18001 backend, 18081-18584
// proxies). Tests stay off them so that they run beside a lab someone has up.
const labPortsLo, labPortsHi = 18000, 18599

// parsePortRange reads the two numbers of ip_local_port_range.
func parsePortRange(s string) (lo, hi int, err error) {
	f := strings.Fields(s)
	if len(f) != 2 {
		return 0, 0, fmt.Errorf("port range %q: want two numbers", s)
	}
	lo, err1 := strconv.Atoi(f[0])
	hi, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil || lo < 1 || hi > 65535 || lo > hi {
		return 0, 0, fmt.Errorf("port range %q: want two ports, low then high", s)
	}
	return lo, hi, nil
}

// ephemeralRange is the kernel's range of source ports for outgoing
// connections; Linux's default when it cannot be read.
func ephemeralRange() (lo, hi int) {
	b, err := os.ReadFile(ephemeralRangeFile)
	if err == nil {
		if lo, hi, err := parsePortRange(string(b)); err == nil {
			return lo, hi
		}
	}
	return 32768, 60999
}

// listenCandidates are the ports a test proxy may listen on: unprivileged,
// outside the ephemeral range [lo, hi] (an outgoing connection, or its
// TIME_WAIT, could hold such a port: then bind fails with EADDRINUSE), and
// outside the lab's default ports. Ports from 20000 up are preferred, away
// from the usual services; below that only if the range leaves too few.
func listenCandidates(lo, hi int) []int {
	collect := func(from int) []int {
		var ports []int
		for p := from; p <= 65535; p++ {
			if (p >= lo && p <= hi) || (p >= labPortsLo && p <= labPortsHi) {
				continue
			}
			ports = append(ports, p)
		}
		return ports
	}
	if ports := collect(20000); len(ports) >= 1000 {
		return ports
	}
	return collect(1025)
}

var (
	portsMu    sync.Mutex
	portsGiven = map[int]bool{} // handed out in this process; never given twice
)

// FreePort returns a loopback address ("127.0.0.1:PORT") on which nothing
// listens now, outside the ephemeral port range. Ports are not reused within
// one test binary; between binaries a clash is unlikely, and Start retries on
// one.
func FreePort(t testing.TB) string {
	t.Helper()
	addr, err := freePort()
	if err != nil {
		t.Fatalf("labtest: %v", err)
	}
	return addr
}

func freePort() (string, error) {
	lo, hi := ephemeralRange()
	cands := listenCandidates(lo, hi)
	if len(cands) == 0 {
		return "", fmt.Errorf("no listen port outside the ephemeral range %d-%d; narrow it (sysctl net.ipv4.ip_local_port_range)", lo, hi)
	}
	portsMu.Lock()
	defer portsMu.Unlock()
	for range 200 {
		p := cands[rand.IntN(len(cands))]
		if portsGiven[p] {
			continue
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		ln.Close()
		portsGiven[p] = true
		return addr, nil
	}
	return "", fmt.Errorf("no free loopback port found in 200 tries outside the ephemeral range %d-%d; is the machine out of ports?", lo, hi)
}
