package integration

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wshold/wshold/internal/labcert"
	"github.com/wshold/wshold/internal/labtest"
	"github.com/wshold/wshold/internal/server"
	"github.com/wshold/wshold/report"
)

// wss:// end to end: verification, names, versions, ALPN and resumption
// against `wshold serve` speaking TLS itself; drops through its TLS front;
// and TLS terminated by real nginx, HAProxy and Caddy.

// tlsSeen is what a TLS server saw of its clients' handshakes.
type tlsSeen struct {
	mu       sync.Mutex
	sni      []string
	offered  [][]string // ALPN protocols offered
	chosen   []string   // ALPN protocol negotiated
	versions []uint16
	resumed  int
}

// wssServe starts the built-in target speaking wss:// with a certificate
// of opts, signed by a CA made for the test, whose PEM file it returns.
// tweak may adjust the server's TLS config; what the server saw of every
// handshake is recorded.
func wssServe(t *testing.T, opts labcert.Options, tweak func(*tls.Config)) (addr, caFile string, seen *tlsSeen) {
	t.Helper()
	ca, err := labcert.NewCA()
	if err != nil {
		t.Fatal(err)
	}
	files, err := ca.Sign(opts)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := tls.X509KeyPair(files.CertPEM, files.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	caFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, ca.PEM, 0o644); err != nil {
		t.Fatal(err)
	}
	seen = &tlsSeen{}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}}
	cfg.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		seen.mu.Lock()
		seen.sni = append(seen.sni, hello.ServerName)
		seen.offered = append(seen.offered, slices.Clone(hello.SupportedProtos))
		seen.mu.Unlock()
		return nil, nil
	}
	cfg.VerifyConnection = func(cs tls.ConnectionState) error {
		seen.mu.Lock()
		seen.chosen = append(seen.chosen, cs.NegotiatedProtocol)
		seen.versions = append(seen.versions, cs.Version)
		if cs.DidResume {
			seen.resumed++
		}
		seen.mu.Unlock()
		return nil
	}
	if tweak != nil {
		tweak(cfg)
	}
	srv, err := server.Start(server.Config{Listen: []string{"127.0.0.1:0"}, TLS: cfg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv.Addrs()[0].String(), caFile, seen
}

func wantAllUpgraded(t *testing.T, res *report.Result, n int64) {
	t.Helper()
	if res.Counts.Upgraded != n || res.Counts.Failed != 0 || res.Counts.Dropped != 0 || res.Verdict != "pass" {
		t.Fatalf("counts %+v verdict %s failures %+v, want %d upgraded and held", res.Counts, res.Verdict, res.Failures, n)
	}
}

func wantTLSFailures(t *testing.T, res *report.Result, n int64, example, hint string) {
	t.Helper()
	if res.Counts.Failed != n || len(res.Failures) != 1 || res.Failures[0].Cause != "tls" {
		t.Fatalf("failures %+v counts %+v, want all %d failed as tls", res.Failures, res.Counts, n)
	}
	f := res.Failures[0]
	if !strings.Contains(f.Example, example) || !strings.Contains(f.Hint, hint) {
		t.Fatalf("failure example %q hint %q, want them to say %q and %q", f.Example, f.Hint, example, hint)
	}
}

// Certificates are verified by default, with clear causes: a server whose
// CA is not trusted fails as tls with a hint naming --ca and --insecure;
// --ca trusts it; an expired certificate and one for another name say so.
func TestWSSVerification(t *testing.T) {
	t.Parallel()
	t.Run("untrusted CA", func(t *testing.T) {
		t.Parallel()
		addr, _, _ := wssServe(t, labcert.Options{}, nil)
		res := run(t, scenarioFor("wss://"+addr+"/ws", 10, 200, time.Second))
		wantTLSFailures(t, res, 10, "unknown authority", "--ca FILE")
		if !strings.Contains(res.Failures[0].Hint, "--insecure") || res.Verdict != "fail" {
			t.Fatalf("hint %q verdict %s, want --insecure named and a fail", res.Failures[0].Hint, res.Verdict)
		}
	})
	t.Run("--ca", func(t *testing.T) {
		t.Parallel()
		addr, ca, _ := wssServe(t, labcert.Options{}, nil)
		sc := scenarioFor("wss://"+addr+"/ws", 10, 200, time.Second)
		sc.CA = ca
		wantAllUpgraded(t, run(t, sc), 10)
	})
	t.Run("expired", func(t *testing.T) {
		t.Parallel()
		addr, ca, _ := wssServe(t, labcert.Options{NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)}, nil)
		sc := scenarioFor("wss://"+addr+"/ws", 10, 200, time.Second)
		sc.CA = ca
		wantTLSFailures(t, run(t, sc), 10, "expired", "expired")
	})
	t.Run("wrong name", func(t *testing.T) {
		t.Parallel()
		addr, ca, _ := wssServe(t, labcert.Options{Names: []string{"other.example"}}, nil)
		sc := scenarioFor("wss://"+addr+"/ws", 10, 200, time.Second)
		sc.CA = ca
		wantTLSFailures(t, run(t, sc), 10, "127.0.0.1", "does not carry the name")
	})
}

// The name sent in SNI and checked against the certificate is the URL's
// host, or -H Host:'s when it replaces it; ALPN offers http/1.1 only (a
// server that prefers h2 must not get it); TLS 1.2 and 1.3 both hold.
func TestWSSNamesVersionsAndALPN(t *testing.T) {
	t.Parallel()
	t.Run("SNI from the URL host", func(t *testing.T) {
		t.Parallel()
		addr, ca, seen := wssServe(t, labcert.Options{}, nil)
		_, port, _ := strings.Cut(addr, ":")
		sc := scenarioFor("wss://localhost:"+port+"/ws", 5, 200, 500*time.Millisecond)
		sc.CA = ca
		wantAllUpgraded(t, run(t, sc), 5)
		seen.mu.Lock()
		defer seen.mu.Unlock()
		if len(seen.sni) != 5 || seen.sni[0] != "localhost" {
			t.Fatalf("SNI seen %q, want localhost each time", seen.sni)
		}
	})
	t.Run("SNI from -H Host", func(t *testing.T) {
		t.Parallel()
		addr, ca, seen := wssServe(t, labcert.Options{Names: []string{"wss.example"}}, nil)
		sc := scenarioFor("wss://"+addr+"/ws", 5, 200, 500*time.Millisecond)
		sc.CA = ca
		sc.Headers = []string{"Host: wss.example"}
		wantAllUpgraded(t, run(t, sc), 5)
		seen.mu.Lock()
		defer seen.mu.Unlock()
		if len(seen.sni) != 5 || seen.sni[0] != "wss.example" {
			t.Fatalf("SNI seen %q, want wss.example (the Host header's) each time", seen.sni)
		}
	})
	t.Run("ALPN http/1.1", func(t *testing.T) {
		t.Parallel()
		addr, ca, seen := wssServe(t, labcert.Options{}, func(c *tls.Config) { c.NextProtos = []string{"h2", "http/1.1"} })
		sc := scenarioFor("wss://"+addr+"/ws", 5, 200, 500*time.Millisecond)
		sc.CA = ca
		wantAllUpgraded(t, run(t, sc), 5)
		seen.mu.Lock()
		defer seen.mu.Unlock()
		if len(seen.chosen) != 5 || seen.chosen[0] != "http/1.1" || !slices.Equal(seen.offered[0], []string{"http/1.1"}) {
			t.Fatalf("ALPN offered %q chosen %q, want http/1.1 alone", seen.offered, seen.chosen)
		}
	})
	for _, vers := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		t.Run(tls.VersionName(vers), func(t *testing.T) {
			t.Parallel()
			addr, ca, seen := wssServe(t, labcert.Options{}, func(c *tls.Config) { c.MinVersion, c.MaxVersion = vers, vers })
			sc := scenarioFor("wss://"+addr+"/ws", 20, 400, time.Second)
			sc.CA = ca
			sc.Ping = 200_000_000 // pings and pongs through the records
			wantAllUpgraded(t, run(t, sc), 20)
			seen.mu.Lock()
			defer seen.mu.Unlock()
			for _, v := range seen.versions {
				if v != vers {
					t.Fatalf("negotiated %s, want %s", tls.VersionName(v), tls.VersionName(vers))
				}
			}
		})
	}
}

// --tls-resume resumes sessions from the run's first connections on, in
// TLS 1.2 and 1.3; without it every handshake is full.
func TestWSSResume(t *testing.T) {
	t.Parallel()
	for _, vers := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		for _, resume := range []bool{false, true} {
			name := tls.VersionName(vers) + map[bool]string{false: " full", true: " resumed"}[resume]
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				addr, ca, seen := wssServe(t, labcert.Options{}, func(c *tls.Config) { c.MaxVersion = vers })
				sc := scenarioFor("wss://"+addr+"/ws", 20, 100, 500*time.Millisecond)
				sc.CA = ca
				sc.TLSResume = resume
				sc.MaxInFlight = 1
				res := run(t, sc)
				wantAllUpgraded(t, res, 20)
				seen.mu.Lock()
				defer seen.mu.Unlock()
				if resume && seen.resumed < 15 || !resume && seen.resumed != 0 {
					t.Fatalf("%d of 20 handshakes resumed", seen.resumed)
				}
				if res.Phases == nil || res.Phases.TLS.Count != 20 || res.Phases.TLSResumed != int64(seen.resumed) {
					t.Fatalf("phases %+v, want 20 TLS handshakes timed, %d resumed as the server saw", res.Phases, seen.resumed)
				}
			})
		}
	}
}

// Through a TLS front, what the server does to its end arrives as a TLS
// terminator would send it: a FIN as close_notify (its own kind, not eof),
// an RST as an RST, a close frame as that close frame.
func TestWSSDropKindsThroughTLS(t *testing.T) {
	t.Parallel()
	addr, ca, _ := wssServe(t, labcert.Options{}, nil)
	for _, tc := range []struct{ query, kind string }{
		{"fin_after=1s", "tls_close_notify"},
		{"rst_after=1s", "reset"},
		{"close=1001&after=1s", "close_1001"},
	} {
		t.Run(tc.query, func(t *testing.T) {
			t.Parallel()
			sc := scenarioFor("wss://"+addr+"/ws?"+tc.query, 20, 400, 4*time.Second)
			sc.CA = ca
			res := run(t, sc)
			if res.Counts.Dropped != 20 || res.Drops.ByKind[tc.kind] != 20 {
				t.Fatalf("drops %v (counts %+v), want 20 %s", res.Drops.ByKind, res.Counts, tc.kind)
			}
			if c := res.Drops.Clusters; len(c) == 0 || c[0].AtMs < 900 || c[0].AtMs > 1600 {
				t.Fatalf("clusters %+v, want the drops at about 1 s", c)
			}
		})
	}
}

// Real proxies terminating TLS in front of plain `wshold serve`, and nginx
// re-encrypting to a `wshold serve` that speaks wss itself: every
// connection upgrades, pings and pongs cross, and nothing drops.
func TestWSSThroughTLSTerminatingProxies(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		kind labtest.Kind
		conf string
	}{
		{labtest.KindNginx, "nginx-tls.conf"},
		{labtest.KindHAProxy, "haproxy-tls.cfg"},
		{labtest.KindCaddy, "Caddyfile-tls"},
	} {
		t.Run(tc.conf, func(t *testing.T) {
			t.Parallel()
			p := labtest.Start(t, tc.kind, tc.conf, map[string]string{"UPSTREAM": backend(t)})
			if !strings.HasPrefix(p.URL("/ws"), "wss://") {
				t.Fatalf("%s: URL %s, want wss://", tc.conf, p.URL("/ws"))
			}
			sc := scenarioFor(p.URL("/ws"), 200, 400, 2*time.Second)
			sc.CA = p.CAFile()
			sc.Ping = 500_000_000
			wantAllUpgraded(t, run(t, sc), 200)
		})
	}
	t.Run("nginx-tls-reencrypt.conf", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		ca, err := labcert.NewCA()
		if err != nil {
			t.Fatal(err)
		}
		files, err := ca.Sign(labcert.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := labcert.Write(dir, ca, files); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, 0o755); err != nil { // nginx's workers read it as another user
			t.Fatal(err)
		}
		tc, err := server.LoadTLS(filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"))
		if err != nil {
			t.Fatal(err)
		}
		srv, err := server.Start(server.Config{Listen: []string{"127.0.0.1:0"}, TLS: tc})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { srv.Close() })
		p := labtest.Nginx(t, "nginx-tls-reencrypt.conf", map[string]string{"UPSTREAM": srv.Addrs()[0].String(), "TLS_DIR": dir})
		sc := scenarioFor(p.URL("/ws"), 100, 400, 2*time.Second)
		sc.CA = filepath.Join(dir, "ca.pem")
		sc.Ping = 500_000_000
		wantAllUpgraded(t, run(t, sc), 100)
	})
}

// The seed's story over wss: nginx terminating TLS with a short
// proxy_read_timeout cuts every idle connection at the timeout, in order
// (close_notify, then FIN: measured with nginx 1.22 and OpenSSL 3), and
// the verdict says so as it does over ws://: drops at the timeout,
// attributed to an idle timeout. Not parallel, like its ws:// twin, so that
// a machine busy with other tests does not make nginx fire its timers late
// (on a loaded machine some still come in a later batch, which must be the
// same idle timeout, never an event).
func TestWSSIdleTimeoutThroughNginx(t *testing.T) {
	nginx := labtest.Nginx(t, "nginx-tls.conf", map[string]string{"UPSTREAM": backend(t), "TIMEOUT": "3"})
	sc := scenarioFor(nginx.URL("/ws"), 200, 400, 6*time.Second)
	sc.CA = nginx.CAFile()
	res := run(t, sc)
	if res.Counts.Upgraded != 200 || res.Counts.Dropped != 200 || res.Verdict != "fail" {
		t.Fatalf("counts %+v verdict %s, want 200 upgraded and dropped, a fail; failures %+v", res.Counts, res.Verdict, res.Failures)
	}
	if res.Drops.ByKind["tls_close_notify"] != 200 {
		t.Fatalf("drops by kind %v, want 200 tls_close_notify: nginx closes TLS in order when its timer fires", res.Drops.ByKind)
	}
	if c := res.Drops.Clusters[0]; c.AtMs < 2700 || c.AtMs > 3300 || c.Count < 100 || c.Cause != "idle_timeout" {
		t.Fatalf("first cluster %+v, want most drops at 3000 ms ± 300, attributed to an idle timeout", c)
	}
	for _, e := range res.Drops.Events {
		if e.AgeMs < 2700 || e.AgeMs > 4500 {
			t.Fatalf("a drop at %.0f ms of age, want every one at the 3 s timeout (fired late at worst)", e.AgeMs)
		}
	}
	line := report.VerdictLine(res)
	if !strings.Contains(line, "200 dropped") || !strings.Contains(line, "idle timeout") || !strings.Contains(line, "TLS close_notify") {
		t.Fatalf("verdict line %q, want the drops, the TLS close and the idle timeout named", line)
	}
	t.Logf("%s", line)
}
