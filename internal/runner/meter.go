package runner

import (
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/wshold/wshold/report"
)

// meter watches the harness's own cost, so a reader can tell whether the
// harness, rather than the proxy, was the bottleneck.
type meter struct {
	mu      sync.Mutex
	baseRSS int64
	holdRSS int64
	// holdAlive is how many connections were up when holdRSS was taken:
	// the ones that RSS holds, whatever drops later.
	holdAlive int64
	// CPU seconds of this process at the hold's start and its planned
	// end (holdEndCPU < 0 until then); holdEnd fires at that end.
	holdCPU, holdEndCPU float64
	holdEnd             *time.Timer
}

func startMeter() *meter {
	settle()
	return &meter{baseRSS: rss(), holdEndCPU: -1}
}

// holdStarted records RSS at the start of the hold, after returning the
// garbage of the ramp (handshake buffers) to the system: what remains is
// what holding costs. The CPU spent from here to the hold's planned end is
// what holding costs in time.
func (m *meter) holdStarted(hold time.Duration, alive int64) {
	settle()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.holdRSS = rss()
	m.holdAlive = alive
	m.holdCPU = cpuSeconds()
	m.holdEnd = time.AfterFunc(hold, func() {
		c := cpuSeconds()
		m.mu.Lock()
		m.holdEndCPU = c
		m.mu.Unlock()
	})
}

// stop ends the hold's CPU count early when the run ends before it.
func (m *meter) stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.holdEnd != nil && m.holdEnd.Stop() {
		m.holdEndCPU = cpuSeconds()
	}
}

func (m *meter) resources(alive int64) report.Resources {
	m.mu.Lock()
	defer m.mu.Unlock()
	cpu := cpuSeconds()
	r := report.Resources{PeakRSSBytes: peakRSS(), CPUSeconds: cpu}
	if m.holdRSS > 0 && m.holdAlive > 0 {
		r.RSSPerConnBytes = float64(max(0, m.holdRSS-m.baseRSS)) / float64(m.holdAlive)
	}
	if m.holdEnd != nil {
		end := m.holdEndCPU
		if end < 0 {
			end = cpu // a checkpoint during the hold: the hold so far
		}
		r.HoldCPUSeconds = math.Round(max(0, end-m.holdCPU)*1e6) / 1e6
	}
	r.Procs = []report.ProcResources{{PID: os.Getpid(), PeakRSSBytes: r.PeakRSSBytes, CPUSeconds: cpu,
		RSSPerConnBytes: r.RSSPerConnBytes, HoldCPUSeconds: r.HoldCPUSeconds, Held: alive}}
	return r
}

// cpuSeconds is this process's user + system CPU time so far.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

func settle() {
	runtime.GC()
	debug.FreeOSMemory()
}

func rss() int64     { return statusKB("VmRSS:") * 1024 }
func peakRSS() int64 { return statusKB("VmHWM:") * 1024 }

// statusKB reads one "Field:   123 kB" line of /proc/self/status.
func statusKB(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, field); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				v, _ := strconv.ParseInt(f[0], 10, 64)
				return v
			}
		}
	}
	return 0
}
