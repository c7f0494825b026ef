package report

import (
	"strings"
	"testing"
	"time"

	"github.com/wshold/wshold/internal/event"
	"github.com/wshold/wshold/internal/identify"
)

const (
	lighttpd101 = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: x=\r\n" +
		"Connection: upgrade\r\nDate: Thu, 03 Dec 2026 13:34:31 GMT\r\nServer: lighttpd/1.4.69\r\n\r\n"
	plain101 = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: x=\r\n\r\n"
	// As Node's http-proxy 1.18.1 relays a ws backend's 101 (measured).
	node101    = "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: x=\r\n\r\n"
	varnish400 = "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nX-Varnish: 2\r\nVia: 1.1 varnish (Varnish/7.1)\r\n\r\nmissing \"Upgrade: websocket\" header"
)

func TestRecorderGroupsAnswersAndNamesTheProxy(t *testing.T) {
	rec := NewRecorder(t0, 10)
	a := identify.Parse([]byte(lighttpd101), nil)
	for i := range 200 {
		rec.Upgraded(event.Upgraded{AtNs: int64(i) * int64(time.Millisecond), LatencyNs: 1e6, Answer: a})
	}
	res := rec.Result(Meta{})
	if len(res.Answers) != 1 || res.Answers[0].Count != 200 || res.Answers[0].Server != "lighttpd/1.4.69" {
		t.Fatalf("answers %+v: want one identity counted 200 times", res.Answers)
	}
	p := res.Proxy
	if p == nil || p.Name != "lighttpd" || p.Version != "1.4.69" || !p.Known ||
		len(p.Evidence) != 1 || p.Evidence[0] != "Server: lighttpd/1.4.69 (200 of 200 answers)" {
		t.Fatalf("proxy %+v: want lighttpd 1.4.69 named by its Server header", p)
	}
}

func TestRecorderAnswerAllocatesNothingForAKnownIdentity(t *testing.T) {
	rec := NewRecorder(t0, 10)
	a := identify.Parse([]byte(lighttpd101), nil)
	rec.Upgraded(event.Upgraded{AtNs: 1, Answer: a})
	if n := testing.AllocsPerRun(100, func() { rec.Upgraded(event.Upgraded{AtNs: 2, LatencyNs: 1000, Answer: a}) }); n != 0 {
		t.Errorf("recording an upgrade with a known identity allocates %v times", n)
	}
}

func TestRecorderBoundsDistinctAnswers(t *testing.T) {
	rec := NewRecorder(t0, 10)
	for i := range 100 {
		raw := strings.Replace(plain101, "\r\n\r\n", "\r\nServer: s"+itoa(int64(i))+"\r\n\r\n", 1)
		rec.Failed(event.Failed{AtNs: 1, Cause: "http", Status: 400, Answer: identify.Parse([]byte(raw), nil)})
	}
	res := rec.Result(Meta{})
	if len(res.Answers) != maxAnswerGroups+1 || !res.Answers[len(res.Answers)-1].Other || res.Answers[len(res.Answers)-1].Count != 100-maxAnswerGroups {
		t.Fatalf("got %d answers, want %d described and the rest counted as other", len(res.Answers), maxAnswerGroups)
	}
}

func TestDeriveProxy(t *testing.T) {
	answer := func(raw string, n int64) Answer {
		return answerOf(identify.Parse([]byte(raw), nil), n)
	}
	tests := []struct {
		name      string
		res       Result
		want      string
		known     bool
		evidence  string
		wantNoOne bool
	}{
		{name: "Via names Varnish in a refusal", res: Result{Answers: []Answer{answer(varnish400, 20)}},
			want: "varnish", known: true, evidence: "Via: 1.1 varnish (Varnish/7.1) (20 of 20 answers)"},
		{name: "a piped 101 names nothing", res: Result{Answers: []Answer{answer(plain101, 20)}}, wantNoOne: true},
		{name: "stated with --proxy when nothing names it", res: func() Result {
			r := Result{Answers: []Answer{answer(plain101, 20)}}
			r.Scenario.Proxy = "Varnish"
			return r
		}(), want: "varnish", known: true, evidence: "stated with --proxy Varnish"},
		{name: "an unknown product is still named", res: Result{Answers: []Answer{answer("HTTP/1.1 101 S\r\nServer: frontdoor\r\n\r\n", 5)}},
			want: "frontdoor", known: false, evidence: "Server: frontdoor"},
		{name: "nghttpx, with its rows", res: Result{Answers: []Answer{answer("HTTP/1.1 101 S\r\nServer: nghttpx\r\nVia: 1.1 nghttpx\r\n\r\n", 5)}},
			want: "nghttpx", known: true, evidence: "Server: nghttpx"},
		{name: "a product with no row is not known", res: Result{Answers: []Answer{answer("HTTP/1.1 101 S\r\nServer: Traefik\r\n\r\n", 5)}},
			want: "traefik", known: false, evidence: "Server: Traefik"},
		{name: "lower-case header names name no one", res: Result{Answers: []Answer{answer(node101, 5)}}, wantNoOne: true},
		{name: "the answers' product before a config's kind they contradict", res: Result{
			Answers:      []Answer{answer("HTTP/1.1 101 S\r\nServer: nghttpx\r\n\r\n", 5)},
			ProxyConfigs: []ProxyConfig{{Path: "haproxy.cfg", Product: "haproxy"}}},
			want: "nghttpx", known: true, evidence: "Server: nghttpx"},
		{name: "a backend's own Server names no proxy", res: Result{Answers: []Answer{answer("HTTP/1.1 101 S\r\nServer: Python/3.11 websockets/10.4\r\n\r\n", 5)}},
			wantNoOne: true},
		{name: "a config file's kind", res: Result{ProxyConfigs: []ProxyConfig{{Path: "pipe.vcl", Product: "varnish"}}},
			want: "varnish", known: true, evidence: "--proxy-config pipe.vcl is a Varnish configuration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := tt.res
			DeriveProxy(&res)
			if tt.wantNoOne {
				if res.Proxy != nil {
					t.Fatalf("proxy %+v, want none", res.Proxy)
				}
				return
			}
			p := res.Proxy
			if p == nil || p.Name != tt.want || p.Known != tt.known || !strings.Contains(strings.Join(p.Evidence, "|"), tt.evidence) {
				t.Fatalf("proxy %+v, want %s (known %v) from %q", p, tt.want, tt.known, tt.evidence)
			}
		})
	}
}

// Lower-case header names are a clue, kept with its alternatives, and
// shown where the proxy in front would be; a config's kind that the
// answers contradict is said to be so, not taken for the proxy in front.
func TestDeriveProxyKeepsCluesAndDisagreements(t *testing.T) {
	res := Result{Answers: []Answer{answerOf(identify.Parse([]byte(node101), nil), 50)}}
	DeriveProxy(&res)
	if res.Proxy != nil || len(res.ProxyClues) != 1 || !strings.Contains(res.ProxyClues[0], "HAProxy") ||
		!strings.Contains(res.ProxyClues[0], "Node") || !strings.HasSuffix(res.ProxyClues[0], "(50 of 50 answers)") {
		t.Fatalf("proxy %+v, clues %q: want no proxy and one clue with its alternatives", res.Proxy, res.ProxyClues)
	}
	if line := proxyLine(&res); !strings.HasPrefix(line, "not named by the answers — every header name is lower-case") {
		t.Errorf("proxy line %q", line)
	}

	res = Result{
		Answers:      []Answer{answerOf(identify.Parse([]byte("HTTP/1.1 101 S\r\nServer: nghttpx\r\n\r\n"), nil), 20)},
		ProxyConfigs: []ProxyConfig{{Path: "/etc/haproxy/haproxy.cfg", Product: "haproxy"}},
	}
	DeriveProxy(&res)
	if p := res.Proxy; p == nil || p.Name != "nghttpx" || len(p.Also) != 1 ||
		!strings.Contains(p.Also[0], "HAProxy (--proxy-config /etc/haproxy/haproxy.cfg is a HAProxy configuration, but the answers name nghttpx") {
		t.Fatalf("proxy %+v: want nghttpx, with the config's HAProxy said to disagree", res.Proxy)
	}
}

// A refused upgrade's hint gives the fix of the proxy in front first; with
// nothing named, the fixes of the usual suspects.
func TestFailureHintNamesTheProxyInFront(t *testing.T) {
	p := &Proxy{Name: "lighttpd", Known: true, Evidence: []string{"Server: lighttpd/1.4.69"}}
	if h := FailureHintFor("http", 400, "", p); !strings.Contains(h, `for lighttpd add proxy.header = ("upgrade" => "enable")`) || strings.Contains(h, "nginx") {
		t.Errorf("hint %q: want lighttpd's fix alone", h)
	}
	v := &Proxy{Name: "varnish", Known: true, Evidence: []string{"Via: 1.1 varnish (Varnish/7.1)"}}
	if h := FailureHintFor("http", 400, "", v); !strings.Contains(h, "return (pipe) in vcl_recv") {
		t.Errorf("hint %q: want Varnish's fix", h)
	}
	if h := FailureHintFor("http", 400, "", nil); !strings.Contains(h, "for nginx add") || !strings.Contains(h, "lighttpd") {
		t.Errorf("hint %q: want the usual fixes", h)
	}
	// h2o without proxy.websocket (H5): h2o's switch, no one else's.
	h2o := &Proxy{Name: "h2o", Known: true, Evidence: []string{"Server: h2o/2.2.5 (20 of 20 answers)"}}
	if h := FailureHintFor("http", 400, "", h2o); !strings.Contains(h, "for h2o set proxy.websocket: ON") || strings.Contains(h, "nginx") {
		t.Errorf("hint %q: want h2o's fix alone", h)
	}
	// A product with no recipe: what any proxy must do, and no other
	// product's recipe.
	fd := &Proxy{Name: "frontdoor", Evidence: []string{"Server: frontdoor (5 of 5 answers)"}}
	if h := FailureHintFor("http", 400, "", fd); !strings.Contains(h, "wshold has no recipe for frontdoor: make it speak HTTP/1.1") ||
		strings.Contains(h, "nginx") || strings.Contains(h, "Apache") {
		t.Errorf("hint %q: want the generic fix alone", h)
	}
}

func TestMergeAddsAnswersByIdentity(t *testing.T) {
	a := answerOf(identify.Parse([]byte(lighttpd101), nil), 10)
	b := answerOf(identify.Parse([]byte(plain101), nil), 3)
	got := mergeAnswers([]*Result{{Answers: []Answer{a, b}}, {Answers: []Answer{a}}})
	if len(got) != 2 || got[0].Count != 20 || got[1].Count != 3 {
		t.Fatalf("merged %+v: want lighttpd ×20 and the plain one ×3", got)
	}
}

// The verdict line names the proxy in front when it guesses the stripped
// upgrade headers.
func TestVerdictNamesTheProxyThatStrippedTheUpgrade(t *testing.T) {
	res := &Result{Verdict: "fail", Counts: Counts{Attempted: 50, Failed: 50},
		Failures: []Failure{{Cause: "http", Status: 400, Count: 50}},
		Proxy:    &Proxy{Name: "lighttpd", Known: true, Evidence: []string{"Server: lighttpd/1.4.69"}}}
	if line := VerdictLine(res); !strings.Contains(line, "HTTP 400 (lighttpd stripped Upgrade/Connection?)") {
		t.Errorf("verdict %q", line)
	}
}
