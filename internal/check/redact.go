package check

import "github.com/wshold/wshold/internal/redact"

// hide returns h with its value hidden if r says the name is secret.
func hide(r *redact.Redactor, h Header) Header {
	if r.Secret(h.Name) {
		h.Value = redact.Mark
	}
	return h
}
