package main

import (
	"bytes"
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
