package labtest

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestRender(t *testing.T) {
	tests := []struct {
		name    string
		tmpl    string
		vars    map[string]string
		want    string
		wantErr string // substring; "" means success
	}{
		{"fills every placeholder", "listen {{LISTEN}}; pass {{UPSTREAM}}; again {{LISTEN}}",
			map[string]string{"LISTEN": "127.0.0.1:1", "UPSTREAM": "127.0.0.1:2"},
			"listen 127.0.0.1:1; pass 127.0.0.1:2; again 127.0.0.1:1", ""},
		{"default when not given", "timeout {{TIMEOUT:3}}s", nil, "timeout 3s", ""},
		{"given value beats the default", "timeout {{TIMEOUT:3}}s", map[string]string{"TIMEOUT": "9"}, "timeout 9s", ""},
		{"a default may hold slashes and colons", "{{MODULES:/usr/lib/a:b}}/x.so", nil, "/usr/lib/a:b/x.so", ""},
		{"an empty default is a default", "a{{X:}}b", nil, "ab", ""},
		{"text without placeholders passes through", "map $http_upgrade { '' close; }", nil, "map $http_upgrade { '' close; }", ""},
		{"lower-case braces are not placeholders", "{{lower}} {single}", nil, "{{lower}} {single}", ""},
		{"every missing name is reported", "{{UPSTREAM}} {{PREFIX}} {{UPSTREAM}}", nil, "", "PREFIX, UPSTREAM"},
		{"a line break in a value is refused", "{{UPSTREAM}}", map[string]string{"UPSTREAM": "a;\nevil on;"}, "", "line break"},
		{"a brace in a value is refused", "{{UPSTREAM}}", map[string]string{"UPSTREAM": "a}"}, "", "brace"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Render(tc.tmpl, tc.vars)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Render error = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Render: %v", err)
			}
			if got != tc.want {
				t.Fatalf("Render = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPlaceholders(t *testing.T) {
	got := Placeholders("{{UPSTREAM}} {{TIMEOUT:3}} {{LISTEN}} {{UPSTREAM}} {{lower}}")
	want := []string{"LISTEN", "TIMEOUT", "UPSTREAM"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Placeholders = %v, want %v", got, want)
	}
}

// The templates are read by people and rendered by lab.sh too: each says
// what it is for, and renders with only what the lab fills in, so every
// other placeholder needs a default.
func TestTemplatesRenderWithTheLabsValuesAlone(t *testing.T) {
	labFills := map[string]string{"PREFIX": "/p", "LISTEN": "127.0.0.1:1", "HOST": "127.0.0.1",
		"PORT": "1", "ADMIN": "127.0.0.1:2", "UPSTREAM": "127.0.0.1:3", "UPSTREAM_HOST": "127.0.0.1", "UPSTREAM_PORT": "3", "TLS_DIR": "/t"}
	files, err := filepath.Glob(filepath.Join(LabDir(t), "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no templates in %s (err %v)", LabDir(t), err)
	}
	for _, f := range files {
		if filepath.Ext(f) == ".md" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		text, name := string(b), filepath.Base(f)
		if !strings.HasPrefix(text, "# wshold lab: ") {
			t.Errorf("%s: first line should be \"# wshold lab: CASE - what it shows\"", name)
		}
		out, err := Render(text, labFills)
		if err != nil {
			t.Errorf("%s: %v (give such placeholders a default: {{NAME:value}})", name, err)
			continue
		}
		if strings.Contains(out, "{{") {
			t.Errorf("%s: \"{{\" left after rendering", name)
		}
	}
}
