package runner

import (
	"bufio"
	"bytes"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"syscall"

	"github.com/wshold/wshold/report"
)

// meter watches the harness's own cost, so a reader can tell whether the
// harness, rather than the proxy, was the bottleneck.
type meter struct {
	mu        sync.Mutex
	baseRSS   int64
	holdRSS   int64
	holdAlive int64
}

func startMeter() *meter {
	settle()
	return &meter{baseRSS: rss()}
}

// holdStarted records RSS at the start of the hold, after returning the
// garbage of the ramp (handshake buffers) to the system: what remains is
// what holding costs.
func (m *meter) holdStarted() {
	settle()
	m.mu.Lock()
	m.holdRSS = rss()
	m.mu.Unlock()
}

func (m *meter) resources(alive int64) report.Resources {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	cpu := float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
	r := report.Resources{PeakRSSBytes: peakRSS(), CPUSeconds: cpu}
	if m.holdRSS > 0 && alive > 0 {
		r.RSSPerConnBytes = float64(max(0, m.holdRSS-m.baseRSS)) / float64(alive)
	}
	r.Procs = []report.ProcResources{{PID: os.Getpid(), PeakRSSBytes: r.PeakRSSBytes, CPUSeconds: cpu,
		RSSPerConnBytes: r.RSSPerConnBytes, Held: alive}}
	return r
}

func settle() {
	runtime.GC()
	debug.FreeOSMemory()
}

func rss() int64     { return statusKB("VmRSS:") * 1024 }
func peakRSS() int64 { return statusKB("VmHWM:") * 1024 }

func statusKB(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := cutPrefix(line, field); ok {
			f := bytes.Fields([]byte(rest))
			if len(f) > 0 {
				v, _ := strconv.ParseInt(string(f[0]), 10, 64)
				return v
			}
		}
	}
	return 0
}

func cutPrefix(s, p string) (string, bool) {
	if len(s) >= len(p) && s[:len(p)] == p {
		return s[len(p):], true
	}
	return "", false
}
