// Command baseline is the usual way to hold WebSockets in Go, kept as the
// yardstick for scripts/bench.sh: gobwas/ws Dialer.Dial for each
// connection, then one goroutine per connection blocked in
// wsutil.ReadServerData until the connection ends. Over wss:// each keeps
// its tls.Conn too: what wshold held per wss connection before its loops
// carried TLS records themselves. It opens -c connections
// at -r per second, holds them -hold, closes them, and prints one JSON line
// of figures measured the way wshold measures its own (see Figures).
//
// Benchmark code, not product: it has no expectations, no report, no
// retries.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"net"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// Figures is the JSON line baseline prints. Times in seconds unless the
// name says otherwise.
type Figures struct {
	Client   string `json:"client"`
	Conns    int    `json:"conns"`
	Upgraded int64  `json:"upgraded"`
	Failed   int64  `json:"failed"`
	// Dropped counts connections that ended during the hold.
	Dropped int64 `json:"dropped"`
	// RampS runs from the first attempt's start to the last attempt's end.
	RampS         float64 `json:"ramp_s"`
	UpgradesPerS  float64 `json:"upgrades_per_s"`
	HandshakeP50  float64 `json:"handshake_p50_ms"`
	HandshakeP99  float64 `json:"handshake_p99_ms"`
	PeakRSSBytes  int64   `json:"peak_rss_bytes"`
	RSSPerConn    float64 `json:"rss_per_conn_bytes"`
	CPUTotalS     float64 `json:"cpu_total_s"`
	CPUHoldS      float64 `json:"cpu_hold_s"`
	HoldS         float64 `json:"hold_s"`
	FirstFailures string  `json:"first_failure,omitempty"`
}

func main() {
	url := flag.String("url", "", "ws:// or wss:// URL to connect to (loopback)")
	ca := flag.String("ca", "", "wss://: trust the CA certificates in this PEM file")
	conns := flag.Int("c", 1000, "connections")
	rate := flag.Float64("r", 1000, "new connections per second (0: all at once)")
	hold := flag.Duration("hold", 10*time.Second, "hold after the last attempt ended")
	timeout := flag.Duration("handshake-timeout", 10*time.Second, "bound on one dial + upgrade")
	flag.Parse()
	if *url == "" || *conns < 1 {
		fmt.Fprintln(os.Stderr, "baseline: give -url ws://HOST:PORT/ and -c N >= 1")
		os.Exit(2)
	}
	var tc *tls.Config
	if *ca != "" {
		pem, err := os.ReadFile(*ca)
		if err != nil {
			fmt.Fprintln(os.Stderr, "baseline:", err)
			os.Exit(2)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			fmt.Fprintln(os.Stderr, "baseline: no PEM certificate in", *ca)
			os.Exit(2)
		}
		tc = &tls.Config{RootCAs: pool, NextProtos: []string{"http/1.1"}}
	}
	f := run(*url, *conns, *rate, *hold, *timeout, tc)
	b, _ := json.Marshal(f)
	fmt.Println(string(b))
}

func run(url string, n int, rate float64, hold, timeout time.Duration, tc *tls.Config) Figures {
	f := Figures{Client: "goroutine-per-connection", Conns: n}
	settle()
	baseRSS := rss()
	cpu0 := cpuSeconds()

	var (
		mu       sync.Mutex
		hist     = hdrhistogram.New(1, 3_600_000_000, 3)
		held     = make([]net.Conn, 0, n)
		closing  atomic.Bool
		dropped  atomic.Int64
		failed   atomic.Int64
		firstErr atomic.Value
		dials    sync.WaitGroup
		readers  sync.WaitGroup
	)
	dialer := ws.Dialer{Timeout: timeout, TLSConfig: tc}
	start := time.Now()
	for i := 0; i < n; i++ {
		intended := start
		if rate > 0 {
			intended = start.Add(time.Duration(float64(i) / rate * float64(time.Second)))
			time.Sleep(time.Until(intended))
		}
		dials.Add(1)
		go func() {
			defer dials.Done()
			conn, _, _, err := dialer.Dial(context.Background(), url)
			if err != nil {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err.Error())
				return
			}
			// From the intended start, as wshold measures: a client that
			// falls behind its schedule shows it as latency.
			lat := time.Since(intended).Microseconds()
			mu.Lock()
			_ = hist.RecordValue(max(lat, 1))
			held = append(held, conn)
			mu.Unlock()
			readers.Add(1)
			go func() {
				defer readers.Done()
				for {
					if _, _, err := wsutil.ReadServerData(conn); err != nil {
						if !closing.Load() {
							dropped.Add(1)
						}
						return
					}
				}
			}()
		}()
	}
	dials.Wait()
	f.RampS = time.Since(start).Seconds()

	settle()
	holdRSS := rss()
	cpuHold := cpuSeconds()
	time.Sleep(hold)
	f.CPUHoldS = cpuSeconds() - cpuHold
	f.HoldS = hold.Seconds()

	closing.Store(true)
	mu.Lock()
	for _, c := range held {
		_ = ws.WriteFrame(c, ws.MaskFrame(ws.NewCloseFrame(ws.NewCloseFrameBody(ws.StatusNormalClosure, ""))))
		c.Close()
	}
	mu.Unlock()
	readers.Wait()

	f.Upgraded = hist.TotalCount()
	f.Failed = failed.Load()
	f.Dropped = dropped.Load()
	if v, ok := firstErr.Load().(string); ok {
		f.FirstFailures = v
	}
	if f.RampS > 0 {
		f.UpgradesPerS = round(float64(f.Upgraded) / f.RampS)
	}
	f.HandshakeP50 = float64(hist.ValueAtQuantile(50)) / 1000
	f.HandshakeP99 = float64(hist.ValueAtQuantile(99)) / 1000
	if alive := f.Upgraded - f.Dropped; alive > 0 {
		f.RSSPerConn = round(float64(max(0, holdRSS-baseRSS)) / float64(alive))
	}
	f.PeakRSSBytes = statusKB("VmHWM:") * 1024
	f.CPUTotalS = round6(cpuSeconds() - cpu0)
	f.CPUHoldS = round6(f.CPUHoldS)
	f.RampS = round6(f.RampS)
	return f
}

// settle returns the garbage of the ramp to the system before RSS is read,
// as wshold does at the start of its hold.
func settle() {
	runtime.GC()
	debug.FreeOSMemory()
}

func rss() int64 { return statusKB("VmRSS:") * 1024 }

func statusKB(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if rest, ok := bytes.CutPrefix(sc.Bytes(), []byte(field)); ok {
			if f := bytes.Fields(rest); len(f) > 0 {
				v, _ := strconv.ParseInt(string(f[0]), 10, 64)
				return v
			}
		}
	}
	return 0
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}

func round(v float64) float64  { return math.Round(v) }
func round6(v float64) float64 { return math.Round(v*1e6) / 1e6 }
