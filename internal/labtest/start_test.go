package labtest

import (
	"strings"
	"testing"
)

// Mistakes in vars are caught before any process starts, with a message
// naming the variable and what to pass instead.
func TestCheckVars(t *testing.T) {
	const tmpl = "listen {{LISTEN}}; pass {{UPSTREAM}}; timeout {{TIMEOUT:3}}s; dir {{PREFIX}}"
	tests := []struct {
		name    string
		vars    map[string]string
		wantErr string // substring; "" means accepted
	}{
		{"upstream on 127.0.0.1", map[string]string{"UPSTREAM": "127.0.0.1:18001"}, ""},
		{"upstream on 127.0.0.2 with a timeout", map[string]string{"UPSTREAM": "127.0.0.2:80", "TIMEOUT": "5"}, ""},
		{"upstream on ::1", map[string]string{"UPSTREAM": "[::1]:80"}, ""},
		{"upstream on localhost", map[string]string{"UPSTREAM": "localhost:80"}, ""},
		{"no upstream", nil, "UPSTREAM"},
		{"upstream off the machine", map[string]string{"UPSTREAM": "10.0.0.1:80"}, "not a loopback address"},
		{"upstream by a remote name", map[string]string{"UPSTREAM": "example.com:80"}, "not a loopback address"},
		{"upstream without a port", map[string]string{"UPSTREAM": "127.0.0.1"}, "not host:port"},
		{"timeout with a unit", map[string]string{"UPSTREAM": "127.0.0.1:1", "TIMEOUT": "3s"}, "whole seconds"},
		{"zero timeout", map[string]string{"UPSTREAM": "127.0.0.1:1", "TIMEOUT": "0"}, "whole seconds"},
		{"misspelt name", map[string]string{"UPSTREAM": "127.0.0.1:1", "TIMEOUTS": "3"}, "no {{TIMEOUTS}}"},
		{"name the lab chooses", map[string]string{"UPSTREAM": "127.0.0.1:1", "LISTEN": "127.0.0.1:80"}, "chosen by labtest"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := checkVars(tmpl, tc.vars)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("checkVars: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("checkVars error = %v, want one containing %q", err, tc.wantErr)
			}
		})
	}
}

func TestReadTemplateRefusesPaths(t *testing.T) {
	for _, name := range []string{"", "../go.mod", "/etc/passwd", "lab/nginx-broken.conf"} {
		if _, err := readTemplate(name); err == nil {
			t.Errorf("readTemplate(%q) succeeded, want an error", name)
		}
	}
	if _, err := readTemplate("no-such-template.conf"); err == nil || !strings.Contains(err.Error(), "scripts/lab") {
		t.Errorf("readTemplate of a missing file: err = %v, want one pointing at scripts/lab", err)
	}
}

func TestTail(t *testing.T) {
	if got := tail("a\nb\nc\n", 2); got != "[... 1 earlier lines]\nb\nc" {
		t.Errorf("tail = %q", got)
	}
	if got := tail("a\nb", 5); got != "a\nb" {
		t.Errorf("tail = %q", got)
	}
}
