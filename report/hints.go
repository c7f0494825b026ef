package report

import (
	"fmt"
	"slices"
	"strings"

	"github.com/wshold/wshold/internal/identify"
)

// hint is a cluster's explanation and the defaults it matches, best
// first: matches on the path, and possible ones whose product the
// answers do not show.
type hint struct {
	text     string
	matches  []string
	possible []string
}

// HintFor explains a cluster from its own fields (clock, kind, cause and
// alternative), with no knowledge of the run: the known defaults its value
// matches, or what its clock and kind suggest.
func HintFor(c Cluster) string {
	a := attribution{cause: c.Cause, alternative: c.Alternative, endpoint: strings.HasPrefix(c.Kind, "close_")}
	if c.Cause == "" && c.Clock != "wall" && c.Kind != "pong_timeout" && !a.endpoint {
		// A bare cluster: read it as its clock says.
		a.cause = causeIdle
		if c.Clock == "age" {
			a.cause, a.alternative = causeIdle, causeLifetime
		}
	}
	return hintFor(c, a, clusterContext{}).text
}

func hintFor(c Cluster, a attribution, ctx clusterContext) hint {
	var h hint
	var parts []string
	switch {
	case c.Kind == "pong_timeout" || c.Kind == "protocol_error":
	case a.cause == causeEvent:
		parts = append(parts, "an event at that moment (reload, restart, backend death), not a timer")
		if a.alternative != "" {
			alt := fmt.Sprintf("or %s of %s: the connections were opened together, so open them over a longer ramp (-r) to tell",
				causePhrase(a.alternative), msText(c.AlternativeAtMs))
			if m := onPath(matchesFor(c.AlternativeAtMs, c.Kind, a.alternative, ctx)); len(m) > 0 {
				alt += "; if it is a timer it matches " + m[0].name
			}
			parts = append(parts, alt)
		}
	case a.endpoint:
		what := "the backend's own limit on a connection's lifetime"
		switch {
		case a.cause == causeIdle && a.alternative == causeLifetime:
			what = fmt.Sprintf("the backend's own idle timeout or lifetime limit (silent connections cannot tell them apart: "+
				"run with --ping %s --ping-fraction 0.5 to tell)", pingToTell(c.AtMs))
		case a.cause == causeIdle:
			what = "the backend's own idle timeout"
		}
		parts = append(parts, fmt.Sprintf("the WebSocket endpoint closed them with %s at %s of %s: %s, or a proxy acting as an "+
			"endpoint; no proxy's idle timer sends a close frame, so no proxy default is blamed",
			kindText(c.Kind), msText(c.AtMs), clockWords(clockIndex(c.Clock)), what))
	default:
		at := timerValue(c, a)
		ms := matchesFor(at, c.Kind, a.cause, ctx)
		on, cands := onPath(ms), candidates(ms)
		for _, m := range on {
			h.matches = append(h.matches, m.name)
		}
		for _, m := range cands {
			h.possible = append(h.possible, m.name)
		}
		if len(on) > 0 {
			parts = append(parts, fmt.Sprintf("matches %s: %s", on[0].name, on[0].fix))
			var also []string
			for _, m := range on[1:] {
				d, ok := defaultNamed(m.name)
				if !ok {
					also = append(also, m.name)
					continue
				}
				if i := slices.IndexFunc(also, func(s string) bool { return strings.HasPrefix(s, d.Title+" (") }); i >= 0 {
					also[i] = strings.TrimSuffix(also[i], ")") + ", " + d.Setting + ")"
					continue
				}
				also = append(also, d.Title+" ("+d.Setting+")")
			}
			if len(also) > 0 {
				parts = append(parts, "also matches the defaults of "+strings.Join(also, ", "))
			}
		} else if a.cause == causeIdle || a.cause == causeLifetime {
			parts = append(parts, noMatchHint(at, c.PeriodMs, a.cause, ctx, len(cands) > 0))
		}
		if len(cands) > 0 {
			parts = append(parts, candidatesText(cands, ctx.proxy, len(on) > 0))
		}
		if a.cause == causeIdle {
			if s := inFront(ctx.proxy, ms, TimesIdle, TimesClientIdle); s != "" {
				parts = append(parts, s)
			}
		}
		switch a.alternative {
		case causeLifetime:
			alt := fmt.Sprintf("a maximum lifetime looks the same without a pinging control group (run with --ping %s "+
				"--ping-fraction 0.5 to tell)", pingToTell(at))
			if m := onPath(matchesFor(at, c.Kind, causeLifetime, ctx)); len(m) > 0 {
				alt += "; if it is one, it matches " + m[0].name + ": " + m[0].fix
				h.matches = append(h.matches, m[0].name)
			}
			parts = append(parts, alt)
		case causeIdle:
			parts = append(parts, "an idle timeout of the same value is about as likely")
		case causeEvent:
			parts = append(parts, "or an event at that moment: the connections were opened together, so open them over a longer ramp (-r) to tell")
		}
	}
	if k := kindHint(c.Kind, ctx); k != "" {
		parts = append(parts, k)
	}
	h.text = strings.Join(parts, "; ")
	return h
}

// timerValue is the value of the timer a cluster stands for, on the
// timer's own clock: a wall-clock cluster read as an idle timeout or a
// lifetime (its silent connections cut while pinging ones lived) is
// dated in seconds into the run, which is no timer's value.
func timerValue(c Cluster, a attribution) float64 {
	if a.timerAtMs > 0 {
		return a.timerAtMs
	}
	return c.AtMs
}

func clockIndex(name string) int {
	if i := slices.Index(clockNames[:], name); i >= 0 {
		return i
	}
	return clockWall
}

// noMatchHint says honestly that no default matches, and where to look
// instead: in the proxy in front, when the answers name one (wshold may
// have no row for it), else among the products that may be on the path.
func noMatchHint(atMs, periodMs float64, cause string, ctx clusterContext, candidates bool) string {
	front := ""
	if ctx.proxy != "" {
		front = identifyTitle(ctx.proxy)
	}
	if cause == causeLifetime {
		where := "a load balancer's backend timeout, Envoy max_connection_duration, the backend's own limit"
		if front != "" && !hasRows(ctx.proxy) {
			where = front + "'s own limit on a connection's lifetime (wshold has no row for " + front + "), or the backend's"
		}
		return fmt.Sprintf("no known default matches: connections live at most %s whatever their traffic: a maximum "+
			"connection lifetime (%s); pings do not help", msText(atMs), where)
	}
	switch {
	case front != "" && !hasRows(ctx.proxy):
		// A timer checked every period cuts between its value and a
		// period later, and one counting whole periods (lighttpd's whole
		// seconds) up to a period after that: the drops' lower edge can
		// lie a whole period above the setting.
		set := msText(atMs) + " or a little less"
		if periodMs > 0 {
			set = fmt.Sprintf("%s or up to one check period (%s) less", msText(atMs), msText(periodMs))
		}
		return fmt.Sprintf("%s is in front, and wshold has no row for its timeouts: look for its idle or read timeout "+
			"(one that counts frames either way), set to %s, and raise it, or send frames more often than it",
			front, set)
	case front != "":
		return fmt.Sprintf("no default of %s matches an idle timeout of %s: look for a configured one", front, msText(atMs))
	case candidates:
		// The candidates that follow are where to look.
		return fmt.Sprintf("the answers name no product whose default matches an idle timeout of %s", msText(atMs))
	}
	var where []string
	for _, d := range Defaults {
		if d.Times != TimesIdle && d.Times != TimesClientIdle {
			continue
		}
		if _, ok := ctx.path.rankOf(d, ""); !ok || d.Product == identify.ProxyAWSELB || d.Product == identify.ProxyHeroku ||
			d.Product == identify.ProxyAzure {
			continue
		}
		where = appendSetting(where, d)
	}
	where = append(where, "a load balancer's idle timeout")
	return fmt.Sprintf("no known default matches an idle timeout of %s: look for a configured one (%s)", msText(atMs),
		strings.Join(where, "; "))
}

// appendSetting adds "Title Setting" to a list, joining a product's
// settings ("HAProxy timeout tunnel or timeout client / timeout server").
func appendSetting(list []string, d Default) []string {
	for i, w := range list {
		if strings.HasPrefix(w, d.Title+" ") {
			list[i] = w + " or " + d.Setting
			return list
		}
	}
	return append(list, d.Title+" "+d.Setting)
}

// candidatesText names the defaults that match if their product is on the
// path, though the answers do not show it: products that would not show
// themselves, and ones the proxy in front would hide.
func candidatesText(cands []match, front string, matched bool) string {
	var unseen, behind []string
	for _, m := range cands {
		list := &unseen
		if m.rank == rankBehind {
			list = &behind
		}
		d, ok := defaultNamed(m.name)
		if !ok {
			*list = append(*list, m.name)
			continue
		}
		// One product's settings together: "nghttpx (frontend-read-timeout,
		// backend-read-timeout, 60 s)".
		if i := slices.IndexFunc(*list, func(s string) bool { return strings.HasPrefix(s, d.Title+" (") }); i >= 0 {
			(*list)[i] = strings.Replace((*list)[i], ", "+secondsText(d.Seconds)+")", ", "+d.Setting+", "+secondsText(d.Seconds)+")", 1)
			continue
		}
		*list = append(*list, fmt.Sprintf("%s (%s, %s)", d.Title, d.Setting, secondsText(d.Seconds)))
	}
	lead := "it may be the default of"
	if matched {
		lead = "it may also be the default of"
	}
	var parts []string
	if len(unseen) > 0 {
		parts = append(parts, lead+" "+strings.Join(unseen, ", ")+", if one of them is on the path (none names itself in the answers)")
		lead = "or of"
	}
	if len(behind) > 0 {
		parts = append(parts, fmt.Sprintf("%s %s, if one sits behind %s (whose Server header hides theirs)",
			lead, strings.Join(behind, ", "), identifyTitle(front)))
	}
	return strings.Join(parts, "; ")
}

// inFront names the setting to raise on the proxy in front when its own
// default is not among the matches (a configured value, or one no default
// explains).
func inFront(proxy string, ms []match, times ...Timer) string {
	if proxy == "" {
		return ""
	}
	for _, m := range ms {
		if m.rank <= rankFront {
			return ""
		}
	}
	rows := settingsOf(proxy, times...)
	if len(rows) == 0 {
		return ""
	}
	var names []string
	for _, d := range rows {
		names = append(names, d.Setting)
	}
	return fmt.Sprintf("%s is in front: the setting to raise there is %s (%s)", identifyTitle(proxy),
		strings.Join(names, " or "), rows[0].Fix)
}

// mayBe reports whether a product may be on the path: the proxy in front,
// named by the evidence, or nothing known of the answers. A product that
// names itself in every answer and was not named is not.
func (ctx clusterContext) mayBe(product string) bool {
	return ctx.proxy == product || !ctx.path.known || slices.Contains(ctx.path.named, product)
}

// kindHint explains the way connections ended, when that alone says
// something; what it says of a product only when that product may be on
// the path.
func kindHint(kind string, ctx clusterContext) string {
	switch kind {
	case "close_1001":
		s := "close 1001 (going away): the server or proxy shut down or reloaded"
		if ctx.mayBe(identify.ProxyCaddy) {
			s += "; Caddy closes every WebSocket with 1001 on any config reload"
		}
		return s
	case "close_1002":
		s := "close 1002 (protocol error): the server or proxy rejected a frame"
		if ctx.mayBe(identify.ProxyCaddy) {
			s += "; during a Caddy reload it is the backend refusing the unmasked close frame Caddy 2.6 sends it, relayed before Caddy's own 1001"
		}
		return s
	case "reset":
		return "RST rather than FIN: the proxy or a middlebox aborted the connection " +
			"(e.g. nginx reset_timedout_connection, a load balancer's idle reset)"
	case "pong_timeout":
		return "no pong within --pong-timeout: the server or proxy does not answer pings, or the path stalled"
	case "protocol_error":
		return "the peer broke a rule of RFC 6455 that a client must enforce (drops.protocol_errors names which): " +
			"a server or proxy that is not speaking WebSocket correctly, or bytes injected on the path"
	case "tls_close_notify":
		return "TLS close_notify without a close frame: whatever terminates TLS (a proxy, a load balancer) " +
			"ended the connection in order without closing the WebSocket, as its idle timeout or shutdown does"
	case "send_blocked":
		return "the server or proxy stopped reading: the client's pongs and pings no longer fit in its socket's send buffer " +
			"(a stalled backend behind a proxy that still holds the client side, or a server busy elsewhere)"
	}
	if strings.HasPrefix(kind, "tls_alert_") {
		return "a TLS alert from whatever terminates TLS: it found an error in the connection (the number is the alert, RFC 8446 §6)"
	}
	return ""
}

// causePhrase is a cause in the words of a hint: "an idle timeout".
func causePhrase(cause string) string {
	switch cause {
	case causeIdle:
		return "an idle timeout"
	case causeLifetime:
		return "a maximum lifetime"
	case causeEvent:
		return "an event"
	}
	return cause
}

func secondsText(s float64) string { return fmt.Sprintf("%g s", s) }

func identifyTitle(name string) string { return identify.Title(name) }

// clusterWhy is the verdict line's account of a cluster: the cause, the
// close alternative and how to tell them apart, and the defaults it
// matches — "idle timeout (or a maximum lifetime: run with --ping 30s
// --ping-fraction 0.5 to tell): matches nginx proxy_read_timeout default
// (60 s); also matches the defaults of AWS ALB, Apache" — naming first
// the proxy in front, and the defaults of products the answers do not
// show only as possible.
func clusterWhy(res *Result, c Cluster) string {
	c.Matches, c.Possible = verdictMatches(res, c)
	endpoint := strings.HasPrefix(c.Kind, "close_")
	var why string
	switch {
	case c.Kind == "pong_timeout":
		return "the server or the path stopped answering pings"
	case c.Cause == causeEvent && c.Alternative != "":
		return fmt.Sprintf("an event, or %s of %s%s", causePhrase(c.Alternative), msText(c.AlternativeAtMs), tellEvent(c))
	case c.Cause == causeEvent:
		return "an event (reload, restart, backend death?)"
	case endpoint && c.Cause == causeIdle && c.Alternative == causeLifetime:
		return fmt.Sprintf("the WebSocket endpoint closed them after that much idle time, or at that age: run with --ping %s "+
			"--ping-fraction 0.5 to tell (%s); no proxy default sends a close frame", pingToTell(c.AtMs), kindText(c.Kind))
	case endpoint && c.Cause != "":
		return fmt.Sprintf("the WebSocket endpoint closed them %s (%s); no proxy default sends a close frame",
			map[string]string{causeIdle: "after that much idle time", causeLifetime: "at that age"}[c.Cause], kindText(c.Kind))
	case c.Cause != "":
		why = causeText(c.Cause) + sweepsText(c)
	}
	switch c.Alternative {
	case causeLifetime:
		why += fmt.Sprintf(" (or a maximum lifetime: run with --ping %s --ping-fraction 0.5 to tell)", pingToTell(c.AtMs))
	case causeEvent:
		why += " (or an event: open over a longer ramp, -r, to tell)"
	case causeIdle:
		why += " (or an idle timeout)"
	}
	if why == "" {
		return ""
	}
	timer := c.Cause == causeIdle || c.Cause == causeLifetime
	possible := "; it may also be "
	switch n := len(c.Matches); {
	case n > 0:
		why += ": matches " + c.Matches[0]
	case timer && res.Proxy != nil && !hasRows(res.Proxy.Name):
		why += fmt.Sprintf(": %s is in front, and wshold has no defaults for it: look for its own timeout", res.Proxy.Title())
		possible = "; it may be "
	case timer && res.Proxy != nil:
		why += fmt.Sprintf(": no default of %s, in front, matches", res.Proxy.Title())
		possible = "; it may be "
	case timer && len(c.Possible) > 0:
		why += ": the answers name no product whose default matches"
		possible = "; it may be "
	case timer:
		why += ": no known default matches"
	}
	if n := len(c.Matches); n > 1 {
		// The headline's product's other settings are in the hint.
		first, _ := defaultNamed(c.Matches[0])
		var rest []string
		for _, m := range c.Matches[1:] {
			if d, ok := defaultNamed(m); !ok || d.Title != first.Title {
				rest = append(rest, m)
			}
		}
		if len(rest) > 0 {
			why += "; also matches " + defaultsList(rest)
		}
	}
	if len(c.Possible) > 0 {
		why += possible + defaultsList(c.Possible) + ", if on the path"
	}
	return why
}

// sweepsText says, for a timer that cut in sweeps, its value (the lower
// edge of its drops) and how it cut: " of 3.0 s, checked every 1.00 s".
func sweepsText(c Cluster) string {
	if c.ToMs == 0 {
		return ""
	}
	// The timer lies between the most a spared connection had and the
	// least a cut one had: both when they differ at this precision.
	value := secText(c.AtMs)
	if c.SparedMs > 0 && secText(c.SparedMs) != value {
		// A spared connection a little past the least cut one (within
		// the sweep's tolerance: whole-second clocks) still brackets it.
		lo, hi := min(c.SparedMs, c.AtMs), max(c.SparedMs, c.AtMs)
		value = secText(lo) + " to " + secText(hi)
	} else if c.SparedMs == 0 {
		value = "at most " + value
	}
	switch {
	case c.PeriodMs > 0:
		return fmt.Sprintf(" of %s, checked every %s", value, msText(c.PeriodMs))
	case c.Sweeps > 1:
		return fmt.Sprintf(" of %s, cut in %d sweeps", value, c.Sweeps)
	}
	return fmt.Sprintf(" of %s, cut in one sweep", value)
}

// defaultsList names matches shortly: the products of table rows ("the
// defaults of Apache, AWS ALB"), and other matches as they are.
func defaultsList(ms []string) string {
	var defaults, others []string
	for _, m := range ms {
		if d, ok := defaultNamed(m); ok {
			if !slices.Contains(defaults, d.Title) {
				defaults = append(defaults, d.Title)
			}
			continue
		}
		others = append(others, m)
	}
	if len(defaults) > 0 {
		others = append(others, "the defaults of "+strings.Join(defaults, ", "))
	}
	return strings.Join(others, "; ")
}

// defaultNamed finds the table row a match names.
func defaultNamed(m string) (Default, bool) {
	for _, d := range Defaults {
		if strings.HasPrefix(m, d.Name()+" (") {
			return d, true
		}
	}
	return Default{}, false
}

// tellEvent is how to tell an event from a close timer alternative: a
// longer ramp when the connections were opened together, else a second
// run (a timer cuts at the same age every time).
func tellEvent(c Cluster) string {
	for _, e := range c.Evidence {
		if strings.Contains(e, "opened within") {
			return ": open over a longer ramp (-r) to tell"
		}
	}
	return ": run again to tell (a timer cuts at the same age every time)"
}

// verdictMatches are a cluster's matches and possible matches for the
// verdict line; a result written before clusters kept their matches gets
// them computed again.
func verdictMatches(res *Result, c Cluster) (matches, possible []string) {
	if c.Matches != nil || c.Possible != nil || c.Evidence != nil {
		return c.Matches, c.Possible
	}
	for _, m := range matchesFor(c.AtMs, c.Kind, c.Cause, contextOf(res)) {
		if m.candidate() {
			possible = append(possible, m.name)
		} else {
			matches = append(matches, m.name)
		}
	}
	return matches, possible
}
