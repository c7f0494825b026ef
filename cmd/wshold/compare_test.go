package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestCompareCommand(t *testing.T) {
	dir, failing, passing := repFiles(t)
	t0 := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	dupA := repWrite(t, dir, "a/result.json", repResult(t, "x", t0, 10, false))
	dupB := repWrite(t, dir, "b/result.json", repResult(t, "x", t0, 10, true))
	runCLICases(t, []cliCase{
		{"two runs, named after their files", []string{"compare", failing, passing}, exitPass, "nginx-fixed", ""},
		{"differences listed, still exit 0", []string{"compare", failing, passing}, exitPass, "verdict: nginx-default FAIL, nginx-fixed PASS", ""},
		{"names", []string{"compare", "--names", "before,after", failing, passing}, exitPass, "verdict: before FAIL, after PASS", ""},
		{"same file names in two directories", []string{"compare", dupA, dupB}, exitPass, filepath.Join(dir, "b", "result"), ""},
		{"three runs", []string{"compare", failing, passing, passing}, exitPass, "", ""},
		{"help", []string{"compare", "--help"}, exitPass, "Usage: wshold compare", ""},
		{"one file", []string{"compare", failing}, exitUsage, "", "at least two result files"},
		{"nothing", []string{"compare"}, exitUsage, "", "at least two"},
		{"names do not match files", []string{"compare", "--names", "a,b,c", failing, passing}, exitUsage, "", "3 names for 2 files"},
		{"bad file", []string{"compare", failing, filepath.Join(dir, "other.json")}, exitUsage, "", "other.json"},
		{"missing file", []string{"compare", failing, "nope.json"}, exitUsage, "", "nope.json does not exist"},
	})
}

func TestCompareColumnsAreRunsSideBySide(t *testing.T) {
	_, failing, passing := repFiles(t)
	var out, errb bytes.Buffer
	if code := dispatch([]string{"compare", failing, passing}, &out, &errb); code != exitPass {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	var header, verdict string
	for _, line := range strings.Split(out.String(), "\n") {
		switch {
		case header == "" && strings.Contains(line, "nginx-default") && strings.Contains(line, "nginx-fixed"):
			header = line
		case strings.Contains(line, "verdict") && strings.Contains(line, "FAIL"):
			verdict = line
		}
	}
	if header == "" || verdict == "" {
		t.Fatalf("want a header row naming both runs and a verdict row:\n%s", out.String())
	}
	if strings.Index(header, "nginx-default") > strings.Index(header, "nginx-fixed") ||
		strings.Index(verdict, "FAIL") > strings.Index(verdict, "PASS") {
		t.Errorf("columns should follow the order of the files:\n%s\n%s", header, verdict)
	}
}
