package labtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// run starts the proxy and reports that on started, then waits for the
// leader to exit, kills what is left of its group (nginx workers, Apache
// children still holding the listening socket) and only then reaps the
// leader: while it is a zombie its PID, which is also the group's ID, stays
// taken, so no kill of the group can reach a process that reused it.
//
// Pdeathsig fires when the OS thread that forked the child ends, not the
// process, and Go ends the threads of goroutines that exit while locked to
// one; forking and waiting from this goroutine, locked to its thread, keeps
// that thread alive exactly as long as the proxy.
func (p *Proxy) run(cmd *exec.Cmd, started chan<- error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := cmd.Start(); err != nil {
		started <- err
		return
	}
	started <- nil
	pid := cmd.Process.Pid
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err != unix.EINTR {
			break
		}
	}
	deadline := time.Now().Add(stopTimeout)
	for groupRunning(pid) && time.Now().Before(deadline) {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		time.Sleep(10 * time.Millisecond)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	_ = cmd.Wait() // how it exited shows in its log
	close(p.done)
}

// signalLeader signals the proxy's leader process, if it is still there.
func (p *Proxy) signalLeader(sig syscall.Signal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil && !p.exited() {
		_ = syscall.Kill(p.cmd.Process.Pid, sig)
	}
}

// signalGroup signals every process of the proxy's group, if the leader has
// not been reaped (see run).
func (p *Proxy) signalGroup(sig syscall.Signal) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil && !p.exited() {
		_ = syscall.Kill(-p.cmd.Process.Pid, sig)
	}
}

// childPids lists the live children of pid.
func childPids(pid int) []string {
	var kids []string
	forEachProc(func(child, state, ppid, _ string) {
		if state != "Z" && ppid == strconv.Itoa(pid) {
			kids = append(kids, child)
		}
	})
	return kids
}

// groupRunning reports whether a process of group pgid is alive (zombies,
// dead but not yet reaped by their new parent, do not count).
func groupRunning(pgid int) bool {
	found := false
	forEachProc(func(_, state, _, pgrp string) {
		if state != "Z" && pgrp == strconv.Itoa(pgid) {
			found = true
		}
	})
	return found
}

// forEachProc calls fn with the pid, state, parent pid and process group of
// every process in /proc.
func forEachProc(fn func(pid, state, ppid, pgrp string)) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces and parens.
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 {
			continue
		}
		if f := strings.Fields(string(b[i+1:])); len(f) >= 3 {
			fn(e.Name(), f[0], f[1], f[2])
		}
	}
}
