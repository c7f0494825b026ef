package labtest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wshold/wshold/internal/labcert"
)

// SServer is an OpenSSL s_server on loopback: a TLS peer nobody here wrote,
// for tests of wshold's own TLS record protection (internal/tlsrecord). It
// is not a WebSocket server: what a client sends shows in its output (raw,
// between the lines of its -msg trace), and what is written to its stdin
// goes to the client as application data — except s_server's one-letter
// commands, a line of one letter such as "K\n" (a KeyUpdate that asks for
// the client's), "k\n", "R\n" (renegotiation) or "q\n" (close_notify and
// close). So a test can play any protocol through it, KeyUpdates included.
//
// It serves one connection at a time, with a self-signed certificate for
// 127.0.0.1 (ECDSA P-256, or RSA 2048 for TLS 1.2's ECDHE-RSA suites), and
// is killed by t.Cleanup, which prints the tail of its output when the
// test failed.
type SServer struct {
	Addr string // 127.0.0.1:PORT

	cmd   *exec.Cmd
	stdin *os.File
	out   lockedBuffer
}

// OpenSSLServer starts `openssl s_server -msg` with args (protocol version,
// suites, -num_tickets...) added, and waits until it accepts.
func OpenSSLServer(t testing.TB, rsaKey bool, args ...string) *SServer {
	t.Helper()
	bin := RequireBinary(t, "openssl")
	dir := t.TempDir()
	ca, err := labcert.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	f, err := ca.Sign(labcert.Options{Names: []string{"127.0.0.1"}, RSA: rsaKey})
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, f.CertPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, f.KeyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	s := &SServer{Addr: FreePort(t)}
	full := append([]string{"s_server", "-accept", s.Addr, "-cert", certFile, "-key", keyFile, "-msg"}, args...)
	s.cmd = exec.Command(bin, full...)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	s.stdin = w
	s.cmd.Stdin = r
	s.cmd.Stdout = &s.out
	s.cmd.Stderr = &s.out
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("labtest: starting openssl s_server: %v", err)
	}
	r.Close()
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		w.Close()
		if t.Failed() {
			out := s.Output()
			t.Logf("openssl %s\n... last of its output:\n%s", strings.Join(full, " "), lastBytes(shortenRuns(out), 6000))
		}
	})
	s.WaitFor(t, 0, "ACCEPT\n", 10*time.Second)
	return s
}

// Write sends p to the client (one write to s_server's stdin, which
// s_server reads and sends in one go when it is at most 16 KiB). A line
// of one of its command letters is a command instead.
func (s *SServer) Write(t testing.TB, p []byte) {
	t.Helper()
	if _, err := s.stdin.Write(p); err != nil {
		t.Fatalf("labtest: writing to s_server: %v", err)
	}
}

// Output is everything s_server printed so far: its trace, and what the
// client sent.
func (s *SServer) Output() string { return s.out.String() }

// Mark is the length of the output so far: WaitFor from here looks only at
// what comes after.
func (s *SServer) Mark() int { return s.out.Len() }

// WaitFor waits until want appears in the output past from, and returns
// the offset just past it. It fails the test after timeout.
func (s *SServer) WaitFor(t testing.TB, from int, want string, timeout time.Duration) int {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		out := s.Output()
		if i := strings.Index(out[min(from, len(out)):], want); i >= 0 {
			return from + i + len(want)
		}
		if time.Now().After(deadline) {
			t.Fatalf("labtest: s_server did not print %q within %v", want, timeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// shortenRuns cuts runs of one byte (test data) to 16 and a count, for a
// failed test's log.
func shortenRuns(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && s[j] == s[i] {
			j++
		}
		if j-i > 32 {
			fmt.Fprintf(&b, "%s…(%d×%q)", s[i:i+16], j-i, s[i])
		} else {
			b.WriteString(s[i:j])
		}
		i = j
	}
	return b.String()
}

// lockedBuffer is an output buffer written by the process and read by the
// test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func (b *lockedBuffer) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Len()
}
