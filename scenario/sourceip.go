package scenario

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// MaxSourceIPs caps one range and the whole list. Each source address
// brings its own ephemeral port range (~28k ports), so 65536 of them cover
// any connection count one run can hold; a longer list is a typo such as
// 10.0.0.0-10.255.255.255.
const MaxSourceIPs = 1 << 16

const sourceIPForms = "write an address (127.0.0.2, ::1) or an inclusive range (127.0.0.2-127.0.0.9)"

// ParseSourceIPs expands a list of local addresses and inclusive ranges
// ("127.0.0.1-127.0.0.8", IPv4 or IPv6) into addresses, in order. Every bad
// entry is reported, named as written; an address listed twice is an error
// because it would silently skew how connections spread over sources.
func ParseSourceIPs(entries []string) ([]netip.Addr, error) {
	var (
		out  []netip.Addr
		errs []error
		seen = make(map[netip.Addr]string)
	)
	for _, entry := range entries {
		addrs, err := parseSourceIPEntry(entry)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, a := range addrs {
			if prev, dup := seen[a]; dup {
				errs = append(errs, fmt.Errorf("source IP %q: %s is already in %q; list each address once", entry, a, prev))
				break
			}
			seen[a] = entry
			out = append(out, a)
		}
		if len(out) > MaxSourceIPs {
			errs = append(errs, fmt.Errorf("source IP %q: the list now holds more than %d addresses; one source address serves ~28k connections, so use fewer", entry, MaxSourceIPs))
			break
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

func parseSourceIPEntry(entry string) ([]netip.Addr, error) {
	t := strings.TrimSpace(entry)
	if t == "" {
		return nil, fmt.Errorf("source IP %q: empty entry; %s", entry, sourceIPForms)
	}
	first, last, isRange := strings.Cut(t, "-")
	if !isRange {
		a, err := netip.ParseAddr(t)
		if err != nil {
			return nil, fmt.Errorf("source IP %q: not an IP address; %s", entry, sourceIPForms)
		}
		if err := bindable(a); err != nil {
			return nil, fmt.Errorf("source IP %q: %w", entry, err)
		}
		return []netip.Addr{a}, nil
	}
	lo, err1 := netip.ParseAddr(strings.TrimSpace(first))
	hi, err2 := netip.ParseAddr(strings.TrimSpace(last))
	switch {
	case err1 != nil || err2 != nil:
		return nil, fmt.Errorf("source IP %q: a range needs an address on each side of '-'; %s", entry, sourceIPForms)
	case lo.Zone() != "" || hi.Zone() != "":
		return nil, fmt.Errorf("source IP %q: a range cannot carry a zone (%%eth0); list zoned addresses one by one", entry)
	case lo.Is4() != hi.Is4():
		return nil, fmt.Errorf("source IP %q: a range must not mix IPv4 and IPv6", entry)
	case lo.Compare(hi) > 0:
		return nil, fmt.Errorf("source IP %q: the range ends before it starts; write the lower address first", entry)
	}
	var out []netip.Addr
	for a := lo; ; a = a.Next() {
		if len(out) == MaxSourceIPs {
			return nil, fmt.Errorf("source IP %q: the range holds more than %d addresses; one source address serves ~28k connections, so a shorter range will do", entry, MaxSourceIPs)
		}
		if err := bindable(a); err != nil {
			return nil, fmt.Errorf("source IP %q: %w", entry, err)
		}
		out = append(out, a)
		if a == hi {
			return out, nil
		}
	}
}

// bindable rejects addresses a connection cannot use as its local end.
func bindable(a netip.Addr) error {
	switch {
	case a.IsUnspecified():
		return fmt.Errorf("%s is the wildcard address; name the local addresses to use, e.g. 127.0.0.2-127.0.0.9", a)
	case a.IsMulticast():
		return fmt.Errorf("%s is a multicast address; a TCP connection needs a unicast local address", a)
	case a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return fmt.Errorf("%s is the broadcast address; a TCP connection needs a unicast local address", a)
	}
	return nil
}
