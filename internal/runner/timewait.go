package runner

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// timeWaitWarning says when earlier runs left many sockets to the target in
// TIME_WAIT. They occupy ephemeral ports for a minute, and on a busy range
// the kernel's search for a free port makes every connect() slower: the
// handshake latency of this run then includes the last run's leftovers.
func timeWaitWarning(u *url.URL, portLo, portHi int) string {
	host, port := u.Hostname(), u.Port()
	if port == "" {
		port = map[string]string{"ws": "80", "wss": "443"}[u.Scheme]
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		addrs, lerr := net.LookupHost(host)
		if lerr != nil || len(addrs) == 0 {
			return ""
		}
		if ip, err = netip.ParseAddr(addrs[0]); err != nil {
			return ""
		}
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return ""
	}
	n := countTimeWait(netip.AddrPortFrom(ip.Unmap(), uint16(p)))
	ports := portHi - portLo + 1
	if n < 1000 || ports <= 0 || n*10 < ports {
		return ""
	}
	return fmt.Sprintf("%d sockets to %s are in TIME_WAIT from earlier runs (%.0f%% of the %d ephemeral ports): connect() is slower while they last, and the handshake latency includes it — wait a minute between runs, or spread connections with --source-ip", n, net.JoinHostPort(host, port), 100*float64(n)/float64(ports), ports)
}

// countTimeWait counts sockets in TIME_WAIT whose remote end is dst, from
// /proc/net/tcp and tcp6.
func countTimeWait(dst netip.AddrPort) int {
	n := 0
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		file, err := os.Open(f)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(file)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			// sl local rem st ...; state 06 is TIME_WAIT.
			if len(fields) < 4 || fields[3] != "06" {
				continue
			}
			if ap, ok := parseProcAddr(fields[2]); ok && ap.Addr().Unmap() == dst.Addr() && ap.Port() == dst.Port() {
				n++
			}
		}
		file.Close()
	}
	return n
}

// parseProcAddr reads /proc/net/tcp's "0100007F:4A33": the address as
// 32-bit words in host (little-endian) order, then the port in hex.
func parseProcAddr(s string) (netip.AddrPort, bool) {
	a, p, ok := strings.Cut(s, ":")
	if !ok {
		return netip.AddrPort{}, false
	}
	raw, err := hex.DecodeString(a)
	if err != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.AddrPort{}, false
	}
	for i := 0; i < len(raw); i += 4 {
		raw[i], raw[i+1], raw[i+2], raw[i+3] = raw[i+3], raw[i+2], raw[i+1], raw[i]
	}
	port, err := strconv.ParseUint(p, 16, 16)
	if err != nil {
		return netip.AddrPort{}, false
	}
	addr, _ := netip.AddrFromSlice(raw)
	return netip.AddrPortFrom(addr.Unmap(), uint16(port)), true
}
