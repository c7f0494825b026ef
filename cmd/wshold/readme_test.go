package main

import (
	"bytes"
	"os"
	"regexp"
	"testing"
)

// The guide's command reference (docs/commands.md, linked from the README)
// documents every flag of every command: a flag added to the code without a
// word there fails here.
func TestCommandsPageNamesEveryFlag(t *testing.T) {
	readme, err := os.ReadFile("../../docs/commands.md")
	if err != nil {
		t.Fatal(err)
	}
	flagRE := regexp.MustCompile(`(?m)^\s+(?:-[a-zA-Z], )?(--[a-z][a-z0-9-]*)`)
	for _, cmd := range commands() {
		var out, errb bytes.Buffer
		dispatch([]string{cmd.name, "--help"}, &out, &errb)
		help := out.String() + errb.String()
		flags := flagRE.FindAllStringSubmatch(help, -1)
		if len(flags) == 0 && cmd.name != "validate" {
			t.Errorf("%s --help lists no flags:\n%s", cmd.name, help)
		}
		for _, m := range flags {
			flag := m[1]
			if flag == "--help" {
				continue
			}
			if !regexp.MustCompile(regexp.QuoteMeta(flag) + `([^a-z0-9-]|$)`).Match(readme) {
				t.Errorf("docs/commands.md does not mention %s %s", cmd.name, flag)
			}
		}
	}
}
