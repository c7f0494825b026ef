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
func checkSourceAddrs(rs *scenario.Resolved) error {
	ips := rs.Sources
	if len(ips) == 0 {
		return nil
	}
	var errs []error
	v4 := ips[0].Unmap().Is4()
	for _, ip := range ips {
		if ip.Unmap().Is4() != v4 {
			return fmt.Errorf("--source-ip mixes IPv4 and IPv6 (%s and %s): a connection goes from one family to the same family; give addresses of one", ips[0], ip)
		}
	}
	// Binding a UDP socket is the kernel's own answer to "is this address
	// mine", without taking a TCP port.
	var foreign []string
	for _, ip := range ips {
		c, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 0)))
		switch {
		case err == nil:
			c.Close()
		case errors.Is(err, syscall.EADDRNOTAVAIL):
			foreign = append(foreign, ip.String())
		default:
			foreign = append(foreign, fmt.Sprintf("%s (%v)", ip, err))
		}
	}
	if len(foreign) > 0 {
		errs = append(errs, fmt.Errorf("--source-ip %s: not an address of this machine, so no connection can start from it; give local addresses (ip -brief addr lists them; on loopback any of 127.0.0.1-127.255.255.254 works)", joinFirst(foreign, 5)))
	}
	if !targetHasFamily(rs.URL, v4) {
		src, dst, example := "IPv6", "IPv4", "127.0.0.2"
		if v4 {
			src, dst, example = "IPv4", "IPv6", "::1"
		}
		errs = append(errs, fmt.Errorf("--source-ip %s is %s but the target %s has only %s addresses: give %s source addresses (e.g. %s), or leave --source-ip out",
			ips[0], src, targetName(rs), dst, dst, example))
	}
	return errors.Join(errs...)
}

// targetHasFamily says whether the target's host has an address of the
// family (IPv4 when v4); the built-in target (u nil) is 127.0.0.1. A host
// that does not resolve counts as having it: resolvable says what is
// wrong with it, with its own advice.
func targetHasFamily(u *url.URL, v4 bool) bool {
	host := "127.0.0.1"
	if u != nil {
		host = u.Hostname()
	}
	var addrs []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		addrs = append(addrs, ip)
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if addrs, err = net.DefaultResolver.LookupNetIP(ctx, "ip", host); err != nil {
			return true
		}
	}
	for _, a := range addrs {
		if a.Unmap().Is4() == v4 {
			return true
		}
	}
	return false
}

func targetName(rs *scenario.Resolved) string {
	if rs.Builtin() {
		return "(the built-in one, on 127.0.0.1)"
	}
	return rs.RedactURL(rs.Target)
}

func joinFirst(s []string, n int) string {
	if len(s) <= n {
		return strings.Join(s, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(s[:n], ", "), len(s)-n)
}
