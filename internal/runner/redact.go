package runner

import (
	"net/url"

	"github.com/wshold/wshold/internal/redact"
	"github.com/wshold/wshold/scenario"
)

// redacted returns sc as it may be written down: the values of credential
// headers (and of those sc.Redact names) hidden, a URL's password too. r
// learns the hidden values, so that an echo of them can be scrubbed later.
func redacted(sc scenario.Scenario, r *redact.Redactor) scenario.Scenario {
	headers := make([]string, len(sc.Headers))
	for i, h := range sc.Headers {
		headers[i] = r.Line(h)
	}
	sc.Headers = headers
	if u, err := url.Parse(sc.Target); err == nil && u.User != nil {
		sc.Target = u.Redacted()
	}
	return sc
}
