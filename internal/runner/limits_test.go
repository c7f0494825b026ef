package runner

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/wshold/wshold/internal/labtest"
	"github.com/wshold/wshold/scenario"
)

// thisBox is the machine these numbers were planned on: 20000 open files,
// the Debian default port range (28232 ports).
var thisBox = Host{NoFile: 20000, NoFileMax: 20000, PortLo: 32768, PortHi: 60999}

func TestPlanRunLaysOutProcessesForTheOpenFilesLimit(t *testing.T) {
	t.Parallel()
	const url = "ws://127.0.0.1:8080/ws"
	cases := []struct {
		name    string
		target  string
		conns   int
		procs   int
		ips     []string
		want    Plan
		wantErr []string // every fragment must be in the error; nil = no error
	}{
		{name: "small run in one process", target: url, conns: 1000, want: Plan{Workers: 1}},
		{name: "embedded default, both ends fit", conns: 9000, want: Plan{Workers: 1}},
		{name: "embedded default, server moves to the parent", conns: 15000, want: Plan{Workers: 1, Spawn: true}},
		{name: "15k to a URL fits one process", target: url, conns: 15000, want: Plan{Workers: 1}},
		{name: "50k to a URL: 3 processes", target: url, conns: 50000, ips: []string{"127.0.0.1-127.0.0.3"},
			want: Plan{Workers: 3, Spawn: true}},
		{name: "embedded 50k: serve processes too", conns: 50000, ips: []string{"127.0.0.1-127.0.0.3"},
			want: Plan{Workers: 3, Spawn: true, Servers: 3}},
		{name: "explicit procs", target: url, conns: 1000, procs: 2, want: Plan{Workers: 2, Spawn: true}},
		{name: "no more processes than connections", target: url, conns: 3, procs: 8, want: Plan{Workers: 3, Spawn: true}},
		{name: "explicit procs too few", target: url, conns: 25000, procs: 1, want: Plan{Workers: 1},
			wantErr: []string{"25000 connections in one process need about 25064 open files", "may open 20000", "--procs 2", "hard limit"}},
		{name: "one source address cannot reach 50k", target: url, conns: 50000, want: Plan{Workers: 3, Spawn: true},
			wantErr: []string{"50000 connections from one source address", "28232", "EADDRNOTAVAIL",
				"--source-ip 127.0.0.1-127.0.0.6", "sysctl -w net.ipv4.ip_local_port_range"}},
		{name: "both problems at once", target: url, conns: 60000, procs: 1, want: Plan{Workers: 1},
			wantErr: []string{"--procs 4", "--source-ip 127.0.0.1-127.0.0.5"}},
		{name: "a remote target needs local addresses", target: "ws://10.0.0.9:80/", conns: 30000, want: Plan{Workers: 2, Spawn: true},
			wantErr: []string{"at least 4 local addresses of this machine"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sc := scenario.Defaults()
			sc.Target, sc.Conns, sc.Procs, sc.SourceIPs = tc.target, tc.conns, tc.procs, tc.ips
			got, err := PlanRun(resolved(t, sc), thisBox)
			got.Warnings = nil // see TestPlanWarnsPastHalfThePortRange
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("plan %+v, want %+v", got, tc.want)
			}
			switch {
			case tc.wantErr == nil && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tc.wantErr != nil && err == nil:
				t.Errorf("no error; want one saying %q", tc.wantErr)
			case err != nil:
				for _, frag := range tc.wantErr {
					if !strings.Contains(err.Error(), frag) {
						t.Errorf("error %q\ndoes not say %q", err, frag)
					}
				}
			}
		})
	}
}

func TestPortsCountPerSourceAddressAfterTheShardsSplitThem(t *testing.T) {
	t.Parallel()
	sc := scenario.Defaults()
	sc.Target, sc.Conns = "ws://127.0.0.1:8080/", 56000
	// Two addresses over three workers: worker 2 shares 127.0.0.1 with
	// worker 0, which then carries 18667 + 18666 = 37333 > 28232.
	sc.SourceIPs = []string{"127.0.0.1-127.0.0.2"}
	if err := checkPorts(resolved(t, sc), 3, thisBox); err == nil || !strings.Contains(err.Error(), "(127.0.0.1)") {
		t.Errorf("uneven deal not caught: %v", err)
	}
	sc.SourceIPs = []string{"127.0.0.1-127.0.0.3"}
	if err := checkPorts(resolved(t, sc), 3, thisBox); err != nil {
		t.Errorf("three addresses for three workers: %v", err)
	}
	unknown := thisBox
	unknown.PortLo, unknown.PortHi = 0, 0
	sc.SourceIPs = nil
	if err := checkPorts(resolved(t, sc), 1, unknown); err != nil {
		t.Errorf("an unknown port range must not refuse a run: %v", err)
	}
}

func TestSoftLimitBelowHardSaysUlimit(t *testing.T) {
	t.Parallel()
	h := Host{NoFile: 1024, NoFileMax: 20000}
	sc := scenario.Defaults()
	sc.Target, sc.Conns, sc.Procs = "ws://127.0.0.1:1/", 5000, 1
	_, err := PlanRun(resolved(t, sc), h)
	if err == nil || !strings.Contains(err.Error(), "ulimit -n 20000") {
		t.Errorf("error %v; want the ulimit -n fix", err)
	}
}

func TestASmallLimitGetsFewProcessesOrAnAnswer(t *testing.T) {
	t.Parallel()
	sc := scenario.Defaults()
	sc.Target, sc.Conns = "ws://127.0.0.1:1/", 300
	p, err := PlanRun(resolved(t, sc), Host{NoFile: 420, NoFileMax: 420})
	if err != nil || !reflect.DeepEqual(p, Plan{Workers: 1}) {
		t.Errorf("300 connections under 420 files: %+v, %v; want one process", p, err)
	}
	sc.Conns = 100000
	_, err = PlanRun(resolved(t, sc), Host{NoFile: 1024, NoFileMax: 4096})
	if err == nil || !strings.Contains(err.Error(), "raise the limit") {
		t.Errorf("100000 connections under 1024 files: %v; want an answer, not 130 processes", err)
	}
}

// The fix a refusal or a warning suggests is one run accepts without a
// warning: SourceAddrsFor's 45 % per address, dealt over the workers, is
// under half of every address's range (a suggestion of 59 % each would be
// warned about on the next try).
func TestSuggestedSourceAddressesAreAcceptedWithoutWarning(t *testing.T) {
	t.Parallel()
	suggested := regexp.MustCompile(`--source-ip (127\.0\.0\.1-127\.0\.0\.\d+)`)
	for _, conns := range []int{15000, 30000, 50000, 100000, 150000} {
		sc := scenario.Defaults()
		sc.Target, sc.Conns = "ws://127.0.0.1:8080/", conns
		p, err := PlanRun(resolved(t, sc), thisBox)
		msg := strings.Join(append(p.Warnings, fmt.Sprint(err)), "\n")
		m := suggested.FindStringSubmatch(msg)
		if m == nil {
			t.Errorf("%d connections from one address: no --source-ip suggested in %q", conns, msg)
			continue
		}
		sc.SourceIPs = []string{m[1]}
		p, err = PlanRun(resolved(t, sc), thisBox)
		if err != nil || len(p.Warnings) > 0 {
			t.Errorf("%d connections with the suggested --source-ip %s: error %v, warnings %q", conns, m[1], err, p.Warnings)
		}
		if worst, _ := portLoad(resolved(t, sc), p.Workers); worst > thisBox.Ports()*SourceSharePct/100 {
			t.Errorf("%d connections over %s: %d on one address, more than %d%% of %d", conns, m[1], worst, SourceSharePct, thisBox.Ports())
		}
	}
}

func TestPlanWarnsPastHalfThePortRange(t *testing.T) {
	t.Parallel()
	sc := scenario.Defaults()
	sc.Target, sc.Conns = "ws://127.0.0.1:8080/", 18000
	p, err := PlanRun(resolved(t, sc), thisBox)
	if err != nil {
		t.Fatal(err)
	}
	w := strings.Join(p.Warnings, "\n")
	for _, want := range []string{"18000 connections from one source address", "more than half of the 28232", "--source-ip 127.0.0.1-127.0.0.2"} {
		if !strings.Contains(w, want) {
			t.Errorf("warnings %q do not say %q", w, want)
		}
	}
	sc.SourceIPs = []string{"127.0.0.1-127.0.0.2"}
	if p, _ := PlanRun(resolved(t, sc), thisBox); len(p.Warnings) != 0 {
		t.Errorf("9000 per address is well under half the range, yet: %q", p.Warnings)
	}
}

// A source address that cannot carry a single connection is refused before
// the run, saying why: one that is not this machine's (connect() would say
// EADDRNOTAVAIL, which reads as port exhaustion) and one of the other
// family than the target.
func TestSourceAddressesThatCannotConnectAreRefused(t *testing.T) {
	cases := []struct {
		target string
		ips    []string
		want   []string // fragments of the error; nil = accepted
	}{
		{"ws://127.0.0.1:9/", []string{"127.0.0.1-127.0.0.3"}, nil},
		{"", []string{"127.0.0.2"}, nil},
		{"ws://127.0.0.1:9/", []string{"192.0.2.7"}, []string{"192.0.2.7", "not an address of this machine", "ip -brief addr"}},
		{"ws://127.0.0.1:9/", []string{"::1"}, []string{"::1 is IPv6", "only IPv4", "give IPv4 source addresses (e.g. 127.0.0.2)"}},
		{"ws://[::1]:9/", []string{"127.0.0.2"}, []string{"127.0.0.2 is IPv4", "only IPv6", "(e.g. ::1)"}},
		{"ws://127.0.0.1:9/", []string{"127.0.0.2", "::1"}, []string{"mixes IPv4 and IPv6"}},
	}
	for _, tc := range cases {
		sc := scenario.Defaults()
		sc.Target, sc.Conns, sc.SourceIPs = tc.target, 10, tc.ips
		_, err := PlanRun(resolved(t, sc), thisBox)
		if tc.want == nil {
			if err != nil {
				t.Errorf("%s from %v: %v, want it accepted", tc.target, tc.ips, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s from %v: accepted, want it refused", tc.target, tc.ips)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s from %v: %q does not say %q", tc.target, tc.ips, err, w)
			}
		}
	}
}

// scripts/tune-host.sh, which tells an operator how to prepare a host for N
// connections, suggests as many source addresses as run itself would: the
// same 45 % rule, rounded to the same number of processes.
func TestTuneHostSuggestsWhatRunAccepts(t *testing.T) {
	t.Parallel()
	script := filepath.Join(labtest.RepoRoot(t), "scripts", "tune-host.sh")
	h := ReadHost()
	for _, n := range []int{20000, 50000, 100000, 250000} {
		out, err := exec.Command("bash", script, "-c", strconv.Itoa(n)).CombinedOutput()
		if err != nil {
			t.Fatalf("tune-host.sh -c %d: %v\n%s", n, err, out)
		}
		procs := 1
		if m := regexp.MustCompile(`--procs (\d+)`).FindSubmatch(out); m != nil {
			procs, _ = strconv.Atoi(string(m[1]))
		}
		want := SourceAddrsFor(n, h.Ports(), procs)
		m := regexp.MustCompile(`need (\d+) source addresses`).FindSubmatch(out)
		got := 1
		if m != nil {
			got, _ = strconv.Atoi(string(m[1]))
		}
		if got != want {
			t.Errorf("tune-host.sh -c %d (--procs %d) suggests %d source addresses, run's rule %d:\n%s", n, procs, got, want, out)
		}
	}
}
