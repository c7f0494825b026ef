package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// syncBuffer is a bytes.Buffer that the server goroutine writes while the
// test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestServeHelpTeachesTheQueryParameters(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	if code := dispatch([]string{"serve", "--help"}, &out, &out); code != exitPass {
		t.Fatalf("exit %d, want 0", code)
	}
	for _, want := range []string{
		"--listen", "--ping", "--reuseport", "--loops", "--stats-interval",
		"--push-every", "--push-size", "--broadcast-every", "push=DUR",
		"close=CODE", "closecode=", "flood=1", "bigframe=1", "badopcode=1", "rsv=1", "masked=1", "after=DUR",
		"fin_after=DUR", "rst_after=DUR", "ping=DUR",
		"noupgrade=1", "badaccept=1", "noupgradehdr=1", "garbage=1", "status=CODE",
		"400 Bad Request",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help does not mention %q", want)
		}
	}
}

func TestServeRejectsBadUsage(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { taken.Close() }) // after the parallel subtests, unlike defer
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--nope"}, "unknown flag: --nope"},
		{[]string{"127.0.0.1:8080"}, "takes no arguments"},
		{[]string{"--ping", "-1s"}, "--ping -1s is negative"},
		{[]string{"--loops", "-2"}, "--loops -2 is negative"},
		{[]string{"--push-every", "-1s"}, "--push-every -1s is negative"},
		{[]string{"--broadcast-every", "-1s"}, "--broadcast-every -1s is negative"},
		{[]string{"--push-size", "8"}, "--push-size 8: give 16"},
		{[]string{"--stats-interval", "-1s"}, "negative"},
		{[]string{"--listen", ""}, "--listen is empty"},
		{[]string{"--listen", taken.Addr().String()}, "address already in use"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			var out, errOut bytes.Buffer
			// If serve wrongly starts, this signal ends it instead of the test timing out.
			stop := make(chan os.Signal, 1)
			timer := time.AfterFunc(10*time.Second, func() { stop <- syscall.SIGTERM })
			defer timer.Stop()
			if code := exitCode(serve(tc.args, &out, &errOut, stop), &errOut); code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			if !strings.Contains(errOut.String(), tc.want) {
				t.Errorf("stderr %q does not say %q", errOut.String(), tc.want)
			}
		})
	}
}

func TestServeRunsUntilSignalled(t *testing.T) {
	t.Parallel()
	var stdout, stderr syncBuffer
	stop := make(chan os.Signal, 1)
	done := make(chan error, 1)
	go func() {
		done <- serve([]string{"--listen", "127.0.0.1:0,127.0.0.1:0", "--stats-interval", "20ms", "--loops", "1"}, &stdout, &stderr, stop)
	}()

	listening := regexp.MustCompile(`wshold serve: listening on ws://(127\.0\.0\.1:\d+)/ \(any path\)`)
	var addrs [][]string
	deadline := time.Now().Add(10 * time.Second)
	for len(addrs) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("no two listening lines; stderr:\n%s", stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
		addrs = listening.FindAllStringSubmatch(stderr.String(), -1)
	}
	for _, a := range addrs {
		nc, _, _, err := ws.Dialer{Timeout: 10 * time.Second}.Dial(context.Background(), "ws://"+a[1]+"/")
		if err != nil {
			t.Fatalf("dial %s: %v", a[1], err)
		}
		_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
		if err := wsutil.WriteClientText(nc, []byte("hi")); err != nil {
			t.Fatal(err)
		}
		if got, err := wsutil.ReadServerText(nc); err != nil || string(got) != "hi" {
			t.Errorf("echo from %s: %q %v", a[1], got, err)
		}
		defer nc.Close()
	}
	// The stats line counts an upgrade a moment before the connection is
	// open; wait for the line that has both.
	const both = "wshold serve: accepted 2, upgraded 2, rejected 0, aborted 0, open 2, closed 0"
	waitUntil := time.Now().Add(10 * time.Second)
	for !strings.Contains(stderr.String(), both) && time.Now().Before(waitUntil) {
		time.Sleep(5 * time.Millisecond)
	}

	stop <- syscall.SIGTERM
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v, want nil after a signal", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not return after SIGTERM")
	}
	log := stderr.String()
	for _, want := range []string{
		both, // the stats ticker
		"wshold serve: terminated: closing every connection",
		"wshold serve: stopped; accepted 2, upgraded 2, rejected 0, aborted 0, open 0, closed 2",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("stderr lacks %q:\n%s", want, log)
		}
	}
	if stdout.String() != "" {
		t.Errorf("stdout %q, want nothing (the log goes to stderr)", stdout.String())
	}
}
