package scenario

import (
	"crypto/x509"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"slices"

	"github.com/wshold/wshold/internal/proxyconf"
	"github.com/wshold/wshold/internal/redact"
)

// Resolved is a scenario checked and converted, in one place (Resolve),
// into the typed values that every command uses: validate says a file is
// runnable because it resolves; run, its --procs workers and its shards
// run what resolved; merge judges by the same expectations. Nothing
// downstream parses a scenario's strings again.
//
// A key added to Scenario is checked in Scenario.resolve and, when its
// value needs converting (a URL, an address, a file's contents), gets its
// typed field here.
type Resolved struct {
	// Scenario is the scenario as given, for its plain values (Conns,
	// Rate, Hold…). Its strings that have a typed field below are not to
	// be parsed again; Record is what may be written down.
	Scenario
	// URL is the parsed target; nil means the built-in target.
	URL *url.URL
	// Header holds the extra request headers (Origin included, Host not).
	Header http.Header
	// Host replaces the URL's host:port in the request when non-empty
	// (-H 'Host: name': a name-routed proxy reached by address).
	Host string
	// Sources are the source addresses, ranges expanded, in order.
	Sources []netip.Addr
	// Expectations judge the run: the scenario's, or DefaultExpectations.
	Expectations []Expectation
	// TLS is the material for wss:// targets.
	TLS TLS
	// ProxyConfigFiles are the proxy_configs with their SHA-256.
	ProxyConfigFiles []FileDigest
	// Redactor knows the scenario's secrets (credential headers and those
	// named by redact, the URL's password, secret query parameters), so
	// that an echo of them anywhere is hidden.
	Redactor *redact.Redactor
}

// TLS is a scenario's TLS material.
type TLS struct {
	// Insecure skips certificate verification.
	Insecure bool
	// RootCAs is the system's pool plus the ca file's certificates; nil
	// means the system's pool alone.
	RootCAs *x509.CertPool
}

// FileDigest is a file's path and the hex SHA-256 of its contents.
type FileDigest struct {
	Path   string
	SHA256 string
	// Config is what the file configures, as far as proxyconf can read it:
	// the product and its timeouts that can end a WebSocket.
	Config proxyconf.Config
}

// Resolve checks s and converts it (see Resolved). Every problem is
// reported at once (errors.Join), each as "key: what is wrong and what to
// write instead"; messages never quote a secret.
func Resolve(s Scenario) (*Resolved, error) {
	r, p := s.resolve()
	if len(p) > 0 {
		return nil, errors.Join(p...)
	}
	return r, nil
}

// Builtin reports whether the run targets the built-in server.
func (r *Resolved) Builtin() bool { return r.URL == nil }

// Record is the scenario as it may be written into a result, a report or
// a log: the values of secret headers, the URL's password and the values
// of secret query parameters hidden (names kept). Redactions lists what it
// hid.
func (r *Resolved) Record() Scenario {
	s := r.Scenario
	s.Headers = make([]string, len(r.Scenario.Headers))
	for i, h := range r.Scenario.Headers {
		s.Headers[i] = r.Redactor.Line(h)
	}
	s.Target = r.Redactor.URL(r.Scenario.Target)
	s.Subprotocols = slices.Clone(s.Subprotocols)
	s.Expect = slices.Clone(s.Expect)
	s.SourceIPs = slices.Clone(s.SourceIPs)
	s.ProxyConfigs = slices.Clone(s.ProxyConfigs)
	s.Redact = slices.Clone(s.Redact)
	return s
}

// RedactURL is u as it may be written down (see Resolved.Record).
func (r *Resolved) RedactURL(u string) string { return r.Redactor.URL(u) }
