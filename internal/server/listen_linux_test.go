package server

import (
	"net"
	"strings"
	"testing"
)

// A listen that fails says what to do about its own cause: "the port is
// taken" only when it is, and for the other causes the advice that fits.
func TestListenErrorsGiveTheAdviceForTheirCause(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	const portTaken = "port is taken"
	for _, tc := range []struct {
		name, addr, want string
	}{
		{"port taken", taken.Addr().String(), portTaken},
		{"no port", "127.0.0.1", "give HOST:PORT, e.g. 127.0.0.1:8080"},
		{"too many colons", "1:2:3", "give HOST:PORT"},
		{"port out of range", "127.0.0.1:99999", "give 1 to 65535"},
		{"port not a number", "127.0.0.1:nosuchservice", `port "nosuchservice" is not a number`},
		// 192.0.2.0/24 is TEST-NET-1 (RFC 5737): never an address of this
		// machine, and binding to it sends nothing anywhere.
		{"not this machine's", "192.0.2.1:0", "not an address of this machine"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Start(Config{Listen: []string{tc.addr}})
			if err == nil {
				s.Close()
				t.Fatalf("Start(%q) succeeded", tc.addr)
			}
			msg := err.Error()
			if !strings.Contains(msg, tc.want) {
				t.Errorf("Start(%q): %q does not say %q", tc.addr, msg, tc.want)
			}
			if tc.want != portTaken && strings.Contains(msg, portTaken) {
				t.Errorf("Start(%q): %q blames a taken port", tc.addr, msg)
			}
			if !strings.Contains(msg, tc.addr) {
				t.Errorf("Start(%q): %q does not name the address", tc.addr, msg)
			}
		})
	}
}

// A host name that does not resolve is named as such, not as a taken port.
// The resolver's error is made up here, so the test asks no DNS server.
func TestListenAdviceForAHostThatDoesNotResolve(t *testing.T) {
	err := &net.OpError{Op: "listen", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "nosuchhost.invalid", IsNotFound: true}}
	if got := listenAdvice("nosuchhost.invalid:8080", err); !strings.Contains(got, `host "nosuchhost.invalid" does not resolve`) {
		t.Errorf("advice %q does not say the host does not resolve", got)
	}
}
