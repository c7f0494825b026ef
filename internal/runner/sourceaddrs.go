package runner

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/wshold/wshold/scenario"
)

// checkSourceAddrs refuses, before anything starts, source addresses that
// would fail every connection they carry: one that is not an address of
// this machine (connect() would say EADDRNOTAVAIL, which reads as "out of
// ephemeral ports" and sends the user to add more of the same), or one of
// the other family than the target (no route between them at all).
func checkSourceAddrs(sc scenario.Scenario) error {
	ips, err := scenario.ParseSourceIPs(sc.SourceIPs)
	if err != nil || len(ips) == 0 {
		return nil // Validate reports a malformed list
	}
	var errs []error
	v4 := ips[0].Unmap().Is4()
	for _, ip := range ips {
		if ip.Unmap().Is4() != v4 {
			return fmt.Errorf("--source-ip mixes IPv4 and IPv6 (%s and %s): a connection goes from one family to the same family; give addresses of one", ips[0], ip)
		}
	}
	var foreign []string
	for _, ip := range ips {
		if local, err := isLocal(ip); !local {
			if err != nil {
				foreign = append(foreign, fmt.Sprintf("%s (%v)", ip, err))
			} else {
				foreign = append(foreign, ip.String())
			}
		}
	}
	if len(foreign) > 0 {
		errs = append(errs, fmt.Errorf("--source-ip %s: not an address of this machine, so no connection can start from it; give local addresses (ip -brief addr lists them; on loopback any of 127.0.0.1-127.255.255.254 works)", joinFirst(foreign, 5)))
	}
	if fam, err := targetFamilies(sc.Target); err == nil && !fam[v4] {
		src, dst, example := "IPv6", "IPv4", "127.0.0.2"
		if v4 {
			src, dst, example = "IPv4", "IPv6", "::1"
		}
		errs = append(errs, fmt.Errorf("--source-ip %s is %s but the target %s has only %s addresses: give %s source addresses (e.g. %s), or leave --source-ip out",
			ips[0], src, targetName(sc.Target), dst, dst, example))
	}
	return errors.Join(errs...)
}

// isLocal binds a UDP socket to ip: the kernel's own answer to "is this
// address mine", without taking a TCP port.
func isLocal(ip netip.Addr) (bool, error) {
	c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 0)))
	if err == nil {
		c.Close()
		return true, nil
	}
	if errors.Is(err, syscall.EADDRNOTAVAIL) {
		return false, nil
	}
	return false, err
}

// targetFamilies says which families (true = IPv4) the target's host has;
// the built-in target is 127.0.0.1.
func targetFamilies(target string) (map[bool]bool, error) {
	host := "127.0.0.1"
	if target != "" {
		u, err := url.Parse(target)
		if err != nil {
			return nil, err
		}
		host = u.Hostname()
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		return map[bool]bool{ip.Unmap().Is4(): true}, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, err // resolvable() says so, with its own advice
	}
	fam := map[bool]bool{}
	for _, a := range addrs {
		fam[a.Unmap().Is4()] = true
	}
	return fam, nil
}

func targetName(target string) string {
	if target == "" {
		return "(the built-in one, on 127.0.0.1)"
	}
	return target
}

func joinFirst(s []string, n int) string {
	if len(s) <= n {
		return strings.Join(s, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(s[:n], ", "), len(s)-n)
}
