package report

import (
	"fmt"
	"slices"
	"strings"

	"github.com/wshold/wshold/internal/identify"
)

// hint is a cluster's explanation and the defaults it matches, best
// first.
type hint struct {
	text    string
	matches []string
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
			if m := matchesFor(c.AlternativeAtMs, c.Kind, a.alternative, ctx); len(m) > 0 {
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
		ms := matchesFor(c.AtMs, c.Kind, a.cause, ctx)
		var also []string
		for i, m := range ms {
			h.matches = append(h.matches, m.name)
			if i == 0 {
				parts = append(parts, fmt.Sprintf("matches %s: %s", m.name, m.fix))
				continue
			}
			if d, ok := defaultNamed(m.name); ok {
				also = append(also, d.Title+" ("+d.Setting+")")
			} else {
				also = append(also, m.name)
			}
		}
		if len(also) > 0 {
			parts = append(parts, "also matches the defaults of "+strings.Join(also, ", "))
		}
		if len(ms) == 0 {
			parts = append(parts, noMatchHint(c, a.cause))
		}
		if a.cause == causeIdle {
			if s := inFront(ctx.proxy, ms, TimesIdle, TimesClientIdle); s != "" {
				parts = append(parts, s)
			}
		}
		switch a.alternative {
		case causeLifetime:
			alt := fmt.Sprintf("a maximum lifetime looks the same without a pinging control group (run with --ping %s "+
				"--ping-fraction 0.5 to tell)", pingToTell(c.AtMs))
			if m := matchesFor(c.AtMs, c.Kind, causeLifetime, ctx); len(m) > 0 {
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
	if k := kindHint(c.Kind); k != "" {
		parts = append(parts, k)
	}
	h.text = strings.Join(parts, "; ")
	return h
}

func clockIndex(name string) int {
	if i := slices.Index(clockNames[:], name); i >= 0 {
		return i
	}
	return clockWall
}

// noMatchHint says honestly that no known default matches, and where to
// look instead.
func noMatchHint(c Cluster, cause string) string {
	if cause == causeLifetime {
		return fmt.Sprintf("no known default matches: connections live at most %s whatever their traffic: a maximum "+
			"connection lifetime (a load balancer's backend timeout, Envoy max_connection_duration, the backend's own limit); "+
			"pings do not help", msText(c.AtMs))
	}
	return fmt.Sprintf("no known default matches an idle timeout of %s: look for a configured one (nginx proxy_read_timeout; "+
		"HAProxy timeout tunnel, or min(timeout client, timeout server) without it; Apache max(Timeout, ProxyTimeout); "+
		"lighttpd server.max-read-idle; Varnish pipe_timeout; a load balancer's idle timeout)", msText(c.AtMs))
}

// inFront names the setting to raise on the proxy in front when its own
// default is not among the matches (a configured value, or one no default
// explains).
func inFront(proxy string, ms []match, times ...Timer) string {
	if proxy == "" {
		return ""
	}
	for _, m := range ms {
		if m.rank <= 1 {
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

// kindHint explains the way connections ended, when that alone says
// something.
func kindHint(kind string) string {
	switch kind {
	case "close_1001":
		return "close 1001 (going away): the server or proxy shut down or reloaded; " +
			"Caddy closes every WebSocket with 1001 on any config reload"
	case "close_1002":
		return "close 1002 (protocol error): the server or proxy rejected a frame; during a Caddy reload it is " +
			"the backend refusing the unmasked close frame Caddy 2.6 sends it, relayed before Caddy's own 1001"
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
// (60 s); also matches the defaults of AWS ALB, Apache".
func clusterWhy(res *Result, c Cluster) string {
	c.Matches = verdictMatches(res, c)
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
	switch n := len(c.Matches); {
	case n == 0 && (c.Cause == causeIdle || c.Cause == causeLifetime):
		why += ": no known default matches"
	case n > 0:
		why += ": matches " + c.Matches[0]
	}
	if n := len(c.Matches); n > 1 {
		var defaults, others []string
		for _, m := range c.Matches[1:] {
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
		why += "; also matches " + strings.Join(others, "; ")
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
		value = secText(c.SparedMs) + " to " + value
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

// verdictMatches are a cluster's matches for the verdict line; a result
// written before clusters kept their matches gets them computed again.
func verdictMatches(res *Result, c Cluster) []string {
	if c.Matches != nil || c.Evidence != nil {
		return c.Matches
	}
	var out []string
	for _, m := range matchesFor(c.AtMs, c.Kind, c.Cause, contextOf(res)) {
		out = append(out, m.name)
	}
	return out
}
