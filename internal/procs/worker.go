package procs

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/wshold/wshold/internal/runner"
)

// tailLines is how many of a worker's last stderr lines are kept to explain
// why it could not start.
const tailLines = 5

// worker is one 'wshold run --shard I/N' child process.
type worker struct {
	shard runner.Shard
	out   string // its -o file: checkpoints while it runs, its result at the end
	cmd   *exec.Cmd
	done  chan struct{} // closed when it has exited and its stderr is drained
	err   error         // from Wait, valid after done
	ended time.Time     // when Wait returned, valid after done

	mu   sync.Mutex
	tail []string
}

// lockedWriter serialises the lines of several relays on one writer.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) println(s string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintln(l.w, s)
}

// startWorker starts the child and relays its stderr, each line prefixed
// with its shard, so an error or an --at command's output says where it
// came from.
func startWorker(exe string, args []string, spec []byte, w *worker, stderr *lockedWriter) error {
	cmd := exec.Command(exe, args...)
	// The scenario comes through a pipe on descriptor 3 (scenarioFD),
	// written whole and closed, so the worker reads it to its end.
	specR, specW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("a pipe for worker %s's scenario: %w", w.shard, err)
	}
	defer specR.Close()
	cmd.ExtraFiles = []*os.File{specR}
	// Its own process group: a Ctrl-C on the terminal reaches the parent
	// only, which forwards it once (a worker that got it twice would quit
	// without writing its result). Pdeathsig: a parent killed outright
	// still gets its workers to close their connections and stop.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	pipe, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		specW.Close()
		return fmt.Errorf("starting worker %s: %w", w.shard, err)
	}
	// A goroutine: a scenario larger than the pipe's buffer must not
	// block the parent until the worker reads it.
	go func() {
		_, _ = specW.Write(spec)
		specW.Close()
	}()
	w.cmd = cmd
	w.done = make(chan struct{})
	prefix := fmt.Sprintf("wshold: shard %s (pid %d): ", w.shard, cmd.Process.Pid)
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			line := strings.TrimPrefix(sc.Text(), "wshold: ")
			if strings.TrimSpace(line) == "" {
				continue
			}
			w.mu.Lock()
			w.tail = append(w.tail, line)
			if len(w.tail) > tailLines {
				w.tail = w.tail[1:]
			}
			w.mu.Unlock()
			stderr.println(prefix + line)
		}
		w.err = cmd.Wait()
		w.ended = time.Now()
		close(w.done)
	}()
	return nil
}

func (w *worker) exited() bool {
	select {
	case <-w.done:
		return true
	default:
		return false
	}
}

// signal sends sig to a worker still running.
func (w *worker) signal(sig syscall.Signal) {
	if w.cmd != nil && !w.exited() {
		_ = w.cmd.Process.Signal(sig)
	}
}

// stopAll interrupts every running worker and waits for them, killing
// those that take longer than stopWait.
func stopAll(ws []*worker) {
	for _, w := range ws {
		w.signal(syscall.SIGINT)
	}
	deadline := time.After(stopWait)
	for _, w := range ws {
		if w.done == nil {
			continue
		}
		select {
		case <-w.done:
		case <-deadline:
			w.signal(syscall.SIGKILL)
			<-w.done
		}
	}
}

// status is how a worker ended: its exit code (-1 when killed by a
// signal) and a description such as "exited with status 2" or "was
// killed by SIGKILL".
func (w *worker) status() (int, string) {
	code := -1
	var ee *exec.ExitError
	switch {
	case w.err == nil:
		code = 0
	case errors.As(w.err, &ee):
		code = ee.ExitCode()
	}
	return code, exitText(w.err)
}

func (w *worker) lastWords() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.tail, "; ")
}
