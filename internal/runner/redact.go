package runner

import (
	"net/url"
	"strings"

	"github.com/wshold/wshold/scenario"
)

// alwaysRedacted are headers whose values are credentials. Their values
// never reach a result, a report or a log: results get shared, attached to
// CI runs and pasted into issues.
var alwaysRedacted = []string{"Authorization", "Proxy-Authorization", "Cookie"}

// redacted returns sc as it may be written down: header values of
// credential headers (and of those named in extra) replaced.
func redacted(sc scenario.Scenario, extra []string) scenario.Scenario {
	names := append(append([]string{}, alwaysRedacted...), extra...)
	headers := make([]string, len(sc.Headers))
	for i, h := range sc.Headers {
		name, _, _ := strings.Cut(h, ":")
		headers[i] = h
		for _, n := range names {
			if strings.EqualFold(strings.TrimSpace(name), n) {
				headers[i] = strings.TrimSpace(name) + ": [redacted]"
			}
		}
	}
	sc.Headers = headers
	if u, err := url.Parse(sc.Target); err == nil && u.User != nil {
		sc.Target = u.Redacted()
	}
	return sc
}
