package labtest

import (
	"net"
	"strconv"
	"testing"
)

func TestParsePortRange(t *testing.T) {
	tests := []struct {
		in     string
		lo, hi int
		ok     bool
	}{
		{"32768\t60999\n", 32768, 60999, true},
		{"1024 65000", 1024, 65000, true},
		{"", 0, 0, false},
		{"32768", 0, 0, false},
		{"60999 32768", 0, 0, false},
		{"0 100", 0, 0, false},
		{"1024 70000", 0, 0, false},
		{"a b", 0, 0, false},
	}
	for _, tc := range tests {
		lo, hi, err := parsePortRange(tc.in)
		if (err == nil) != tc.ok || lo != tc.lo || hi != tc.hi {
			t.Errorf("parsePortRange(%q) = %d, %d, %v; want %d, %d, ok=%v", tc.in, lo, hi, err, tc.lo, tc.hi, tc.ok)
		}
	}
}

func TestListenCandidatesAvoidEphemeralAndLabPorts(t *testing.T) {
	tests := []struct {
		name   string
		lo, hi int
	}{
		{"Linux default range", 32768, 60999},
		{"wide range leaves few high ports", 1024, 65000},
		{"range at the top", 49152, 65535},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cands := listenCandidates(tc.lo, tc.hi)
			if len(cands) < 100 {
				t.Fatalf("only %d candidates", len(cands))
			}
			for _, p := range cands {
				if p <= 1024 || p > 65535 || (p >= tc.lo && p <= tc.hi) || (p >= labPortsLo && p <= labPortsHi) {
					t.Fatalf("candidate %d is privileged, ephemeral (%d-%d) or a lab port", p, tc.lo, tc.hi)
				}
			}
		})
	}
}

func TestFreePortIsFreeOutsideTheRangeAndNotRepeated(t *testing.T) {
	lo, hi := ephemeralRange()
	seen := map[string]bool{}
	for range 20 {
		addr := FreePort(t)
		if seen[addr] {
			t.Fatalf("FreePort gave %s twice", addr)
		}
		seen[addr] = true
		host, port, err := net.SplitHostPort(addr)
		if err != nil || host != "127.0.0.1" {
			t.Fatalf("FreePort = %q, want 127.0.0.1:PORT", addr)
		}
		p, _ := strconv.Atoi(port)
		if p >= lo && p <= hi {
			t.Fatalf("FreePort = %s, inside the ephemeral range %d-%d", addr, lo, hi)
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatalf("FreePort gave %s, which cannot be bound: %v", addr, err)
		}
		ln.Close()
	}
}
