package labtest

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// placeholderRE matches {{NAME}} and {{NAME:default}}. scripts/lab.sh renders
// the same syntax with sed; keep the two in step.
var placeholderRE = regexp.MustCompile(`\{\{([A-Z][A-Z0-9_]*)(?::([^{}]*))?\}\}`)

// Render fills the placeholders of a lab template: {{NAME}} takes vars[NAME]
// and fails when it is missing; {{NAME:default}} falls back to the default.
// Every missing name is reported at once.
func Render(tmpl string, vars map[string]string) (string, error) {
	missing := map[string]bool{}
	var bad []error
	out := placeholderRE.ReplaceAllStringFunc(tmpl, func(m string) string {
		idx := placeholderRE.FindStringSubmatchIndex(m)
		name, hasDef := m[idx[2]:idx[3]], idx[4] >= 0
		if v, ok := vars[name]; ok {
			return v
		}
		if hasDef {
			return m[idx[4]:idx[5]]
		}
		missing[name] = true
		return m
	})
	for name, v := range vars {
		// A value is pasted into a config file: a line break or a brace would
		// let it add directives or open blocks nobody asked for.
		if strings.ContainsAny(v, "\n\r{}") {
			bad = append(bad, fmt.Errorf("value of %s = %q contains a line break or brace; pass a plain value", name, v))
		}
	}
	if len(missing) > 0 {
		bad = append(bad, fmt.Errorf("template needs %s; pass them in vars", strings.Join(sortedKeys(missing), ", ")))
	}
	if len(bad) > 0 {
		return "", errors.Join(bad...)
	}
	return out, nil
}

// Placeholders lists the names a template uses, sorted, each once.
func Placeholders(tmpl string) []string {
	seen := map[string]bool{}
	for _, sub := range placeholderRE.FindAllStringSubmatch(tmpl, -1) {
		seen[sub[1]] = true
	}
	return sortedKeys(seen)
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
