package procs

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/wshold/wshold/internal/server"
)

// serveReady is the line 'wshold serve' prints once it listens.
var serveReady = regexp.MustCompile(`listening on (ws://\S+/)`)

const (
	// serveStartWait bounds how long a serve process may take to listen.
	serveStartWait = 30 * time.Second
	// stopWait is how long a process may take to finish after SIGTERM
	// before it is killed.
	stopWait = 15 * time.Second
)

// target is the built-in server for a run without a target URL: in this
// process when its descriptors fit here, else 'wshold serve' processes
// sharing one port with SO_REUSEPORT.
type target struct {
	url    string
	srv    *server.Server
	serves []*exec.Cmd
	exited []chan error
}

// startTarget starts the built-in target with n serve processes (0: in
// this process) and returns it with the URL the workers dial.
func startTarget(exe string, n int) (*target, error) {
	t := &target{}
	if n == 0 {
		srv, err := server.Start(server.Config{Listen: []string{"127.0.0.1:0"}})
		if err != nil {
			return nil, fmt.Errorf("starting the built-in target: %w", err)
		}
		t.srv = srv
		t.url = "ws://" + srv.Addrs()[0].String() + "/"
		return t, nil
	}
	listen := "127.0.0.1:0"
	for i := range n {
		url, err := t.startServe(exe, listen)
		if err != nil {
			t.stop()
			return nil, fmt.Errorf("starting the built-in target ('wshold serve' %d of %d): %w", i+1, n, err)
		}
		if i == 0 {
			t.url = url
			// The others share the port the first one was given.
			listen = strings.TrimSuffix(strings.TrimPrefix(url, "ws://"), "/")
		}
	}
	return t, nil
}

func (t *target) startServe(exe, listen string) (string, error) {
	cmd := exec.Command(exe, "serve", "--listen", listen, "--reuseport")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", err
	}
	exited := make(chan error, 1)
	urls := make(chan string, 1)
	var said []string
	lines := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		found := false
		for sc.Scan() {
			if found {
				continue // keep draining: a full pipe would block the server
			}
			if m := serveReady.FindStringSubmatch(sc.Text()); m != nil {
				found = true
				urls <- m[1]
				continue
			}
			said = append(said, sc.Text())
		}
		close(lines)
		exited <- cmd.Wait()
	}()
	t.serves = append(t.serves, cmd)
	t.exited = append(t.exited, exited)
	select {
	case u := <-urls:
		return u, nil
	case <-lines:
		return "", fmt.Errorf("it exited before listening: %s", strings.Join(said, "; "))
	case <-time.After(serveStartWait):
		return "", fmt.Errorf("it did not listen within %s", serveStartWait)
	}
}

// stop ends the target: the in-process server, or every serve process
// (SIGTERM, then SIGKILL after stopWait).
func (t *target) stop() {
	if t.srv != nil {
		_ = t.srv.Close()
	}
	for _, c := range t.serves {
		_ = c.Process.Signal(syscall.SIGTERM)
	}
	ctx, cancel := context.WithTimeout(context.Background(), stopWait)
	defer cancel()
	for i, c := range t.serves {
		select {
		case <-t.exited[i]:
		case <-ctx.Done():
			_ = c.Process.Kill()
			<-t.exited[i]
		}
	}
	t.serves, t.exited = nil, nil
}

// lost reports a serve process that ended before it was told to: the
// workers' failures then come from the target, not the proxy or harness.
func (t *target) lost() error {
	var errs []error
	for i, ch := range t.exited {
		select {
		case err := <-ch:
			t.exited[i] = make(chan error, 1)
			t.exited[i] <- err
			errs = append(errs, fmt.Errorf("the built-in target's serve process %d (pid %d) ended during the run: it %v", i+1, t.serves[i].Process.Pid, exitText(err)))
		default:
		}
	}
	return errors.Join(errs...)
}

// exitText says how a process ended, from its Wait error: "was killed
// by SIGKILL", "exited with status 3".
func exitText(err error) string {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			name := unix.SignalName(ws.Signal())
			if name == "" {
				name = "signal " + strconv.Itoa(int(ws.Signal()))
			}
			return "was killed by " + name
		}
		return fmt.Sprintf("exited with status %d", ee.ExitCode())
	}
	if err == nil {
		return "exited with status 0"
	}
	return err.Error()
}
