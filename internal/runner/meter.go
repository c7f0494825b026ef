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
	// end (holdEndCPU < 0 until then); holdEnd fires at that end, where
	// holdEndRSS is taken (0 until then).
	holdCPU, holdEndCPU float64
	holdEndRSS          int64
	holdEnd             *time.Timer
	// shard ("I/N", or "") labels this process's row: shards run in
	// containers are all PID 1, so a merged result needs more than PIDs.
	shard string
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
	m.holdEnd = time.AfterFunc(hold, m.holdEnded)
}

// holdEnded takes the CPU count and, after a GC like the one at the
// hold's start, the RSS: start and end then compare like with like.
func (m *meter) holdEnded() {
	c := cpuSeconds()
	settle()
	r := rss()
	m.mu.Lock()
	m.holdEndCPU, m.holdEndRSS = c, r
	m.mu.Unlock()
}

// stop ends the hold's counts early when the run ends before it.
func (m *meter) stop() {
	m.mu.Lock()
	early := m.holdEnd != nil && m.holdEnd.Stop()
	m.mu.Unlock()
	if early {
		m.holdEnded()
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
		r.HoldStartRSSBytes, r.HoldEndRSSBytes = m.holdRSS, m.holdEndRSS
		if r.HoldEndRSSBytes == 0 {
			r.HoldEndRSSBytes = rss() // a checkpoint during the hold: now
		}
	}
	r.Procs = []report.ProcResources{{PID: os.Getpid(), Shard: m.shard, PeakRSSBytes: r.PeakRSSBytes, CPUSeconds: cpu,
		RSSPerConnBytes: r.RSSPerConnBytes, HoldStartRSSBytes: r.HoldStartRSSBytes, HoldEndRSSBytes: r.HoldEndRSSBytes,
		HoldCPUSeconds: r.HoldCPUSeconds, Held: alive}}
	return r
}

// RSSOf is process pid's resident set size now, in bytes (0 if unknown,
// e.g. it has exited): what the --procs parent's progress line adds up.
func RSSOf(pid int) int64 { return procStatusKB("/proc/"+strconv.Itoa(pid)+"/status", "VmRSS:") * 1024 }

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
func statusKB(field string) int64 { return procStatusKB("/proc/self/status", field) }

func procStatusKB(path, field string) int64 {
	b, err := os.ReadFile(path)
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
