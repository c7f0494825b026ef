package runner

import (
	"net"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestProcAddressesAreRead(t *testing.T) {
	for in, want := range map[string]string{
		"0100007F:4A33":                         "127.0.0.1:18995",
		"00000000000000000000000001000000:1F90": "[::1]:8080",
	} {
		got, ok := parseProcAddr(in)
		if !ok || got != netip.MustParseAddrPort(want) {
			t.Errorf("%s: got %v %v, want %s", in, got, ok, want)
		}
	}
	if _, ok := parseProcAddr("zz:1"); ok {
		t.Error("garbage parsed")
	}
}

// Sockets the client closes first linger in TIME_WAIT on the client's
// side; enough of them to one target earn a warning naming it.
func TestManyTimeWaitSocketsToTheTargetAreWarnedAbout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { buf := make([]byte, 1); _, _ = c.Read(buf); c.Close() }()
		}
	}()
	const n = 1200
	for i := 0; i < n; i++ {
		c, err := net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.Close() // the active closer keeps the TIME_WAIT
	}
	dst := netip.MustParseAddrPort(ln.Addr().String())
	deadline := time.Now().Add(5 * time.Second)
	// A few connections may be closed by the server first (its TIME_WAIT,
	// not ours); nearly all are the client's.
	for countTimeWait(dst) < n-100 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if got := countTimeWait(dst); got < n-100 || got > n {
		t.Fatalf("counted %d sockets in TIME_WAIT to %s, want about %d", got, dst, n)
	}
	u, _ := url.Parse("ws://" + ln.Addr().String() + "/ws")
	w := timeWaitWarning(u, 32768, 40000)
	if !strings.Contains(w, "TIME_WAIT") || !strings.Contains(w, ln.Addr().String()) || !strings.Contains(w, "--source-ip") {
		t.Fatalf("warning %q", w)
	}
	if w := timeWaitWarning(u, 1024, 65535); w != "" {
		t.Fatalf("1200 of 64k ports is no reason to warn, got %q", w)
	}
}
