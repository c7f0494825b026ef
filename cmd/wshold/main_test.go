package main

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

// 'wshold help CMD' prints what 'wshold CMD --help' prints, and exits 0.
func TestHelpCommandShowsThatCommandsHelp(t *testing.T) {
	for _, c := range commands() {
		var want, wantErr bytes.Buffer
		wantCode := dispatch([]string{c.name, "--help"}, &want, &wantErr)
		var got, gotErr bytes.Buffer
		code := dispatch([]string{"help", c.name}, &got, &gotErr)
		if code != exitPass || wantCode != exitPass {
			t.Errorf("help %s: exit %d (%s --help: exit %d); want 0", c.name, code, c.name, wantCode)
		}
		if got.String() != want.String() || got.Len() == 0 {
			t.Errorf("help %s printed:\n%s\nwant what '%s --help' prints:\n%s", c.name, got.String(), c.name, want.String())
		}
	}
}

// 'wshold help nosuch' is bad usage: exit 2, naming the word and listing
// the commands there are.
func TestHelpForAnUnknownCommandIsAnError(t *testing.T) {
	var out, errb bytes.Buffer
	code := dispatch([]string{"help", "nosuch"}, &out, &errb)
	if code != exitUsage {
		t.Errorf("exit %d; want 2", code)
	}
	msg := errb.String()
	if !strings.Contains(msg, `"nosuch"`) {
		t.Errorf("stderr does not name the unknown command: %q", msg)
	}
	for _, c := range commands() {
		if !strings.Contains(msg, c.name) {
			t.Errorf("stderr does not list command %s: %q", c.name, msg)
		}
	}
}

// Bare 'wshold help' still prints the overview and exits 0.
func TestHelpAloneShowsTheOverview(t *testing.T) {
	var out, errb bytes.Buffer
	if code := dispatch([]string{"help"}, &out, &errb); code != exitPass || !strings.Contains(out.String(), "Commands:") {
		t.Errorf("exit %d, stdout:\n%s", code, out.String())
	}
}

// A misspelt flag gets the flag it is most likely a typo of, on every
// command, as a misspelt key in a scenario file does; a word that is no
// flag's typo gets no guess.
func TestMisspeltFlagsGetASuggestion(t *testing.T) {
	for _, tc := range []struct{ args, want []string }{
		{[]string{"run", "--hodl", "5s"}, []string{"unknown flag: --hodl", "did you mean --hold?"}},
		{[]string{"run", "--cons", "5"}, []string{"did you mean --conns?"}},
		{[]string{"check", "--timout", "1s", "ws://127.0.0.1:9/"}, []string{"did you mean --timeout?"}},
		{[]string{"serve", "--listn", "127.0.0.1:0"}, []string{"did you mean --listen?"}},
		{[]string{"report", "--fromat", "json", "r.json"}, []string{"did you mean --format?"}},
	} {
		var out, errb bytes.Buffer
		if code := dispatch(tc.args, &out, &errb); code != exitUsage {
			t.Errorf("%v: exit %d, want 2", tc.args, code)
		}
		for _, w := range tc.want {
			if !strings.Contains(errb.String(), w) {
				t.Errorf("%v: stderr %q lacks %q", tc.args, errb.String(), w)
			}
		}
	}
	var errb bytes.Buffer
	dispatch([]string{"run", "--zzzzzz"}, &bytes.Buffer{}, &errb)
	if strings.Contains(errb.String(), "did you mean") {
		t.Errorf("a word that is no flag's typo got a guess: %q", errb.String())
	}

	// Every flag of every command, one letter too long, is recognised.
	flagRE := regexp.MustCompile(`(?m)^\s+(?:-[a-zA-Z], )?--([a-z][a-z0-9-]{3,})`)
	for _, c := range commands() {
		var help bytes.Buffer
		dispatch([]string{c.name, "--help"}, &help, &help)
		for _, m := range flagRE.FindAllStringSubmatch(help.String(), -1) {
			if m[1] == "help" {
				continue
			}
			var errb bytes.Buffer
			dispatch([]string{c.name, "--" + m[1] + "q"}, &bytes.Buffer{}, &errb)
			if !strings.Contains(errb.String(), "did you mean --") {
				t.Errorf("%s --%sq: no suggestion in %q", c.name, m[1], errb.String())
			}
		}
	}
}
