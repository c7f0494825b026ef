package scenario

import (
	"net/netip"
	"strings"
	"testing"
)

func TestParseSourceIPsExpandsAddressesAndRanges(t *testing.T) {
	t.Parallel()
	addrs := func(ss ...string) []netip.Addr {
		out := make([]netip.Addr, len(ss))
		for i, s := range ss {
			out[i] = netip.MustParseAddr(s)
		}
		return out
	}
	tests := []struct {
		name string
		in   []string
		want []netip.Addr
	}{
		{"none", nil, nil},
		{"one", []string{"127.0.0.2"}, addrs("127.0.0.2")},
		{"spaces trimmed", []string{" 127.0.0.2 "}, addrs("127.0.0.2")},
		{"v4 range inclusive", []string{"127.0.0.1-127.0.0.4"}, addrs("127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4")},
		{"range of one", []string{"127.0.0.9-127.0.0.9"}, addrs("127.0.0.9")},
		{"range crossing an octet", []string{"127.0.0.254 - 127.0.1.1"}, addrs("127.0.0.254", "127.0.0.255", "127.0.1.0", "127.0.1.1")},
		{"v6", []string{"::1"}, addrs("::1")},
		{"v6 range", []string{"fd00::fffe-fd00::1:1"}, addrs("fd00::fffe", "fd00::ffff", "fd00::1:0", "fd00::1:1")},
		{"zoned v6 address", []string{"fe80::1%lo"}, addrs("fe80::1%lo")},
		{"order kept", []string{"127.0.0.3", "127.0.0.1-127.0.0.2"}, addrs("127.0.0.3", "127.0.0.1", "127.0.0.2")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseSourceIPs(tt.in)
			if err != nil {
				t.Fatalf("ParseSourceIPs(%q): %v", tt.in, err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("ParseSourceIPs(%q) = %v, want %v", tt.in, got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("ParseSourceIPs(%q) = %v, want %v", tt.in, got, tt.want)
				}
			}
		})
	}
}

func TestParseSourceIPsNamesTheBadEntry(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   []string
		want string
	}{
		{"empty entry", []string{""}, `source IP "": empty entry; write an address`},
		{"not an address", []string{"localhost"}, `source IP "localhost": not an IP address`},
		{"cidr is not a range", []string{"127.0.0.0/8"}, `source IP "127.0.0.0/8": not an IP address`},
		{"half a range", []string{"127.0.0.1-"}, `source IP "127.0.0.1-": a range needs an address on each side`},
		{"backwards", []string{"127.0.0.9-127.0.0.1"}, "ends before it starts"},
		{"mixed families", []string{"127.0.0.1-::1"}, "must not mix IPv4 and IPv6"},
		{"zone in range", []string{"fe80::1%lo-fe80::2%lo"}, "cannot carry a zone"},
		{"too long", []string{"10.0.0.0-10.1.0.0"}, "holds more than 65536 addresses"},
		{"v6 too long", []string{"fd00::-fd00::1:0:0"}, "holds more than 65536 addresses"},
		{"wildcard", []string{"0.0.0.0"}, "the wildcard address"},
		{"wildcard in range", []string{"0.0.0.0-0.0.0.3"}, "0.0.0.0 is the wildcard address"},
		{"v6 wildcard", []string{"::"}, "the wildcard address"},
		{"multicast", []string{"224.0.0.1"}, "multicast"},
		{"broadcast", []string{"255.255.255.255"}, "broadcast"},
		{"duplicate", []string{"127.0.0.1-127.0.0.3", "127.0.0.2"}, `source IP "127.0.0.2": 127.0.0.2 is already in "127.0.0.1-127.0.0.3"`},
		{"total too long", []string{"10.0.0.0-10.0.255.255", "10.1.0.0"}, "the list now holds more than 65536"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseSourceIPs(tt.in)
			if err == nil {
				t.Fatalf("ParseSourceIPs(%q) = %d addresses, want an error containing %q", tt.in, len(got), tt.want)
			}
			if got != nil {
				t.Errorf("ParseSourceIPs returned addresses with an error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseSourceIPs(%q) error\n got %q\nwant it to contain %q", tt.in, err, tt.want)
			}
		})
	}
}

func TestParseSourceIPsReportsEveryBadEntry(t *testing.T) {
	t.Parallel()
	_, err := ParseSourceIPs([]string{"nope", "127.0.0.1", "127.0.0.5-127.0.0.2"})
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{`"nope"`, `"127.0.0.5-127.0.0.2"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
}

func TestParseSourceIPsMaxRange(t *testing.T) {
	t.Parallel()
	got, err := ParseSourceIPs([]string{"10.0.0.0-10.0.255.255"})
	if err != nil || len(got) != MaxSourceIPs {
		t.Fatalf("a range of exactly %d: got %d addresses, %v", MaxSourceIPs, len(got), err)
	}
}
