package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/wshold/wshold/internal/identify"
)

// maxAnswerGroups bounds the distinct answers a result keeps: a server
// that varies its headers per connection must not grow a result with
// every connection. Answers past it are counted in the last entry,
// marked Other.
const maxAnswerGroups = 32

// Answer is one distinct identity among the answers a run got (its 101s
// and its refusals), with how many answers had it: what names the proxy in
// front, and what tells two proxies apart in compare.
type Answer struct {
	Count int64 `json:"count"`
	// Status is the answers' HTTP status (101 for an upgrade).
	Status int    `json:"status"`
	Server string `json:"server,omitempty"`
	Via    string `json:"via,omitempty"`
	// Headers are the header names as sent, in order: their case and
	// order are evidence too (HAProxy lower-cases every name; Go servers
	// write Sec-Websocket-Accept).
	Headers []string `json:"headers"`
	// Extra are other identifying headers, "Name: value" (X-Cache,
	// X-Served-By, X-Powered-By, …).
	Extra []string `json:"extra,omitempty"`
	// Body is, for a refusal, its style: an HTML page's title, else its
	// first line.
	Body string `json:"body,omitempty"`
	// Other marks the entry that counts the answers beyond the first
	// maxAnswerGroups distinct ones, which are not described.
	Other bool `json:"other,omitempty"`
}

// Proxy is the proxy in front as far as the run can tell, and what says so.
type Proxy struct {
	// Name is a stable code ("nginx", "lighttpd", "varnish", "aws-elb")
	// for known products, else the product as the header names it, lower
	// case ("nghttpx").
	Name    string `json:"name"`
	Version string `json:"version,omitempty"`
	// Known is true when wshold knows the product: its fixes and its
	// defaults are in the table.
	Known bool `json:"known"`
	// Evidence lists what named it: "Server: lighttpd/1.4.69 (200 of 200
	// answers)", "stated with --proxy", "--proxy-config varnish.vcl is a
	// VCL file".
	Evidence []string `json:"evidence"`
	// Also names other proxies the answers show on the path (Via).
	Also []string `json:"also,omitempty"`
}

// Title is how people write the proxy's name.
func (p *Proxy) Title() string {
	if p == nil {
		return ""
	}
	return identify.Title(p.Name)
}

// answerGroup is the running count of one identity in a Recorder.
type answerGroup struct {
	a     *identify.Answer
	count int64
}

// answerList turns the recorder's groups into the result's list, most
// frequent first.
func answerList(groups []answerGroup, other int64) []Answer {
	if len(groups) == 0 && other == 0 {
		return nil
	}
	out := make([]Answer, 0, len(groups)+1)
	for _, g := range groups {
		out = append(out, answerOf(g.a, g.count))
	}
	if other > 0 {
		out = append(out, Answer{Count: other, Other: true, Headers: []string{}})
	}
	sortAnswers(out)
	return out
}

func answerOf(a *identify.Answer, n int64) Answer {
	return Answer{Count: n, Status: a.Status, Server: a.Server, Via: a.Via,
		Headers: append([]string{}, a.Names...), Extra: slices.Clone(a.Extra), Body: a.Body}
}

func sortAnswers(as []Answer) {
	slices.SortStableFunc(as, func(a, b Answer) int {
		return cmp.Or(mergeCmpBool(a.Other, b.Other), cmp.Compare(b.Count, a.Count), cmp.Compare(a.Status, b.Status),
			strings.Compare(answerKey(a), answerKey(b)))
	})
}

// answerKey is what makes two answers the same identity.
func answerKey(a Answer) string {
	return fmt.Sprint(a.Status, "\x00", a.Server, "\x00", a.Via, "\x00", strings.Join(a.Headers, "\x01"),
		"\x00", strings.Join(a.Extra, "\x01"), "\x00", a.Body, "\x00", a.Other)
}

// mergeAnswers adds up the shards' answers by identity, keeping at most
// maxAnswerGroups distinct ones.
func mergeAnswers(rs []*Result) []Answer {
	idx := map[string]int{}
	var out []Answer
	var other int64
	for _, r := range rs {
		for _, a := range r.Answers {
			if a.Other {
				other += a.Count
				continue
			}
			k := answerKey(a)
			if i, ok := idx[k]; ok {
				out[i].Count += a.Count
				continue
			}
			if len(out) == maxAnswerGroups {
				other += a.Count
				continue
			}
			idx[k] = len(out)
			out = append(out, a)
		}
	}
	if other > 0 {
		out = append(out, Answer{Count: other, Other: true, Headers: []string{}})
	}
	sortAnswers(out)
	return out
}

// identityOf is the identify form of a result's Answer.
func identityOf(a Answer) *identify.Answer {
	return &identify.Answer{Status: a.Status, Server: a.Server, Via: a.Via, Names: a.Headers, Extra: a.Extra, Body: a.Body}
}

// DeriveProxy names the proxy in front of res.Target: as stated with
// --proxy (nothing in a piped answer names Varnish), else what the answers
// name — Server, Via, weighted by how many answers say it — else the kind
// of a --proxy-config file. A product the table does not know is still
// named, as its header writes it; a WebSocket server's own Server header (a
// backend answering directly) names no proxy. A config whose kind the
// answers contradict (they name another product) is kept beside the
// answers' product, saying so, rather than winning silently: the file may
// configure a proxy behind it, or not be this path's. How the header names
// are written never names a product: it goes into res.ProxyClues. It sets
// res.Proxy (nil when nothing names one).
func DeriveProxy(res *Result) {
	var p *Proxy
	if s := strings.TrimSpace(res.Scenario.Proxy); s != "" {
		name, known := identify.Normalize(s)
		p = &Proxy{Name: name, Known: known, Evidence: []string{"stated with --proxy " + s}}
	}
	var total int64
	for _, a := range res.Answers {
		total += a.Count
	}
	type vote struct {
		g     identify.Guess
		count int64
		first int
	}
	var votes []vote
	clues := map[string]int64{}
	var clueOrder []string
	for _, a := range res.Answers {
		if a.Other {
			continue
		}
		id := identityOf(a)
		for i, g := range identify.Guesses(id) {
			if g.Role == identify.RoleBackend {
				continue
			}
			j := slices.IndexFunc(votes, func(v vote) bool { return v.g.Name == g.Name })
			if j < 0 {
				votes = append(votes, vote{g: g, first: i})
				j = len(votes) - 1
			}
			votes[j].count += a.Count
			votes[j].first = min(votes[j].first, i)
		}
		for _, c := range identify.Clues(id) {
			if _, ok := clues[c.Text]; !ok {
				clueOrder = append(clueOrder, c.Text)
			}
			clues[c.Text] += a.Count
		}
	}
	res.ProxyClues = nil
	for _, c := range clueOrder {
		res.ProxyClues = append(res.ProxyClues, fmt.Sprintf("%s (%d of %d answers)", c, clues[c], total))
	}
	// The product named first in the most answers, known proxies before
	// unknown names.
	slices.SortStableFunc(votes, func(a, b vote) int {
		return cmp.Or(cmp.Compare(a.first, b.first), cmp.Compare(b.count, a.count),
			mergeCmpBool(a.g.Role != identify.RoleProxy, b.g.Role != identify.RoleProxy))
	})
	for _, v := range votes {
		ev := fmt.Sprintf("%s (%d of %d answers)", v.g.Evidence, v.count, total)
		switch {
		case p == nil:
			p = &Proxy{Name: v.g.Name, Version: v.g.Version, Known: v.g.Role == identify.RoleProxy, Evidence: []string{ev}}
		case p.Name == v.g.Name:
			p.Evidence = append(p.Evidence, ev)
			if p.Version == "" {
				p.Version = v.g.Version
			}
		default:
			p.Also = append(p.Also, identify.Title(v.g.Name)+" ("+ev+")")
		}
	}
	for _, pc := range res.ProxyConfigs {
		if pc.Product == "" {
			continue
		}
		ev := fmt.Sprintf("--proxy-config %s is a %s configuration", pc.Path, identify.Title(pc.Product))
		switch {
		case p == nil:
			p = &Proxy{Name: pc.Product, Known: true, Evidence: []string{ev}}
		case p.Name == pc.Product:
			p.Evidence = append(p.Evidence, ev)
		case slices.ContainsFunc(votes, func(v vote) bool { return v.g.Name == pc.Product }):
			// The answers name it too, as another hop: it is in Also.
		default:
			p.Also = append(p.Also, fmt.Sprintf("%s (%s, but the answers name %s, not %s: it may sit behind %s, or the file is not this path's)",
				identify.Title(pc.Product), ev, p.Title(), identify.Title(pc.Product), p.Title()))
		}
	}
	if p != nil {
		// Known means wshold has the product's defaults: a known name
		// with no row (Traefik, Cloudflare) is not.
		p.Known = hasRows(p.Name)
	}
	res.Proxy = p
}
