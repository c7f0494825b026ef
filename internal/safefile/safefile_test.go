package safefile

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// Nothing but a regular file is ever replaced: a link, a FIFO and a
// device node at the output path are refused before anything is written,
// and are still what they were afterwards.
func TestWriteAtomicRefusesWhatIsNotARegularFile(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.json")
	if err := os.Symlink(victim, link); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo.json")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path, what string
		mode       fs.FileMode
	}{
		{link, "a symbolic link to " + victim, fs.ModeSymlink},
		{fifo, "a FIFO", fs.ModeNamedPipe},
		{"/dev/null", "a character device", fs.ModeCharDevice},
		{dir, "a directory", fs.ModeDir},
	} {
		err := WriteAtomic(tc.path, []byte("result"), 0o644)
		var nr *NotRegularError
		if !errors.As(err, &nr) || !strings.Contains(err.Error(), tc.what) || !strings.Contains(err.Error(), tc.path) {
			t.Errorf("WriteAtomic(%s) = %v, want a NotRegularError naming it as %s", tc.path, err, tc.what)
		}
		fi, err := os.Lstat(tc.path)
		if err != nil || fi.Mode()&tc.mode == 0 {
			t.Errorf("%s is now %v (%v), want it left as it was", tc.path, fi.Mode(), err)
		}
	}
	if b, _ := os.ReadFile(victim); string(b) != "keep me" {
		t.Errorf("the link's target now holds %q", b)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		t.Errorf("%d entries in the directory, want the 3 made here (no temporary file left)", len(entries))
	}
}

func TestWriteAtomicReplacesARegularFileAndCreatesANewOne(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r.json")
	for _, want := range []string{"first", "second"} {
		if err := WriteAtomic(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(path); string(b) != want {
			t.Fatalf("file holds %q, want %q", b, want)
		}
	}
}

func TestReadFileIsBounded(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, bytes.Repeat([]byte("x"), 2048), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := ReadFile(big, 1024)
	var tl *TooLargeError
	if !errors.As(err, &tl) || !strings.Contains(err.Error(), big) || !strings.Contains(err.Error(), "1 KiB") {
		t.Errorf("ReadFile(%s, 1 KiB) = %v, want a TooLargeError naming the file and the limit", big, err)
	}
	// A device is refused without reading it; an endless stream stops at
	// the limit.
	if _, err := ReadFile("/dev/zero", 1024); err == nil || !strings.Contains(err.Error(), "/dev/zero is a character device") {
		t.Errorf("ReadFile(/dev/zero) = %v, want it refused as a device", err)
	}
	zero, err := os.Open("/dev/zero")
	if err != nil {
		t.Fatal(err)
	}
	defer zero.Close()
	if _, err := ReadAll(zero, "standard input", 1024); !errors.As(err, &tl) {
		t.Errorf("ReadAll of an endless stream = %v, want a TooLargeError", err)
	}
	if b, err := ReadFile(big, 2048); err != nil || len(b) != 2048 {
		t.Errorf("a file of exactly the limit: %d bytes, %v", len(b), err)
	}
	if err := Copy(&bytes.Buffer{}, "/dev/zero", 1024); err == nil {
		t.Error("Copy of /dev/zero ended without an error")
	}
}
