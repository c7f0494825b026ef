package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTablePutsBothClientsSideBySideWithRatios(t *testing.T) {
	dir := t.TempDir()
	wshold := `{"schema":"wshold.result/v1","scenario":{"conns":1000,"rate":2000,"hold":"20s"},
		"start":"2026-01-01T00:00:00Z","hold_start":"2026-01-01T00:00:00.5Z",
		"counts":{"upgraded":1000,"failed":0,"dropped":0},"handshake":{"p50_ms":1.5,"p99_ms":10},
		"resources":{"peak_rss_bytes":20971520,"cpu_seconds":1.1,"rss_per_conn_bytes":300,"hold_cpu_seconds":0.1}}`
	baseline := `{"client":"goroutine-per-connection","conns":1000,"upgraded":1000,"failed":2,"dropped":1,"ramp_s":1,
		"handshake_p50_ms":3,"handshake_p99_ms":40,"peak_rss_bytes":41943040,"rss_per_conn_bytes":6000,
		"cpu_total_s":2.2,"cpu_hold_s":0.2,"hold_s":20}`
	w, b := filepath.Join(dir, "w.json"), filepath.Join(dir, "b.json")
	if err := os.WriteFile(w, []byte(wshold), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b, []byte(baseline), 0o644); err != nil {
		t.Fatal(err)
	}
	ws, err := readWshold(w)
	if err != nil {
		t.Fatal(err)
	}
	bs, err := readBaseline(b)
	if err != nil {
		t.Fatal(err)
	}
	bs.rate = ws.rate
	var out bytes.Buffer
	write(&out, [][2]side{{ws, bs}})
	for _, want := range []string{
		"| figure | wshold 1000 | baseline 1000 | baseline ÷ wshold |",
		"| failed + dropped | 0 | 3 |  |",
		"| upgrades/s reached | 2000 | 1000 | 0.5× |",
		"| handshake p99 (ms) | 10.0 | 40.0 | 4.0× |",
		"| RSS per held connection (bytes) | 300 | 6000 | 20.0× |",
		"| CPU s, ramp and close | 1.00 | 2.00 | 2.0× |",
		"| idle CPU (% of a core) | 0.50 | 1.00 | 2.0× |",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, out.String())
		}
	}
	if _, err := readWshold(b); err == nil {
		t.Error("a baseline line read as a wshold result")
	}
}
