package safefile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// NotRegularError says an output path holds something wshold must not
// replace: a symbolic link, a device node, a FIFO, a socket.
type NotRegularError struct {
	Path string
	What string // "a symbolic link to /etc/passwd", "a character device", …
}

func (e *NotRegularError) Error() string {
	return fmt.Sprintf("%s is %s, not a regular file: wshold writes a result whole and renames it into place, which would replace it; name a regular file (or a new one)", e.Path, e.What)
}

// CheckTarget says whether path may be written by WriteAtomic: nil when
// nothing is there or a regular file is (which is replaced), a
// *NotRegularError when something else is. It does not follow a symbolic
// link: the link itself is what a rename would replace.
func CheckTarget(path string) error {
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode().IsRegular() {
		// Nothing there; or a path that cannot be looked at (a file in
		// the way of a directory, no permission), which creating the
		// temporary file beside it explains better.
		return nil
	}
	return &NotRegularError{Path: path, What: describe(path, fi.Mode())}
}

func describe(path string, m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		if to, err := os.Readlink(path); err == nil {
			return "a symbolic link to " + to
		}
		return "a symbolic link"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO (named pipe)"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return "not a regular file (" + m.String() + ")"
}

// WriteAtomic writes data to path so that a reader sees either the old
// file or the whole new one, never a torn one: a temporary file in the
// same directory, synced, then renamed over path. It refuses (with a
// *NotRegularError, before writing anything) a path that holds anything
// but a regular file, and when nothing is there it renames without
// replacing, so a link planted meanwhile is not overwritten either. perm
// is the new file's mode.
func WriteAtomic(path string, data []byte, perm os.FileMode) error {
	return WriteAtomicFunc(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteAtomicFunc is WriteAtomic with the contents written by write, which
// streams them into the temporary file: a large result (a checkpoint of a
// long soak, every few seconds) is never held whole in memory a second
// time.
func WriteAtomicFunc(path string, perm os.FileMode, write func(io.Writer) error) (err error) {
	if err := CheckTarget(path); err != nil {
		return fmt.Errorf("write %w", err)
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w (is the directory writable?)", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	bw := bufio.NewWriterSize(tmp, 64<<10)
	if err = write(bw); err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = tmp.Chmod(perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("write %s: sync: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	// The rename is durable only once the directory is synced; failing
	// that is not worth failing a written file for.
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// rename moves tmp to path. Where path was empty when checked, it must
// still be: RENAME_NOREPLACE fails rather than replace what appeared in
// between; a regular file found there is replaced as rename(2) does.
func rename(tmp, path string) error {
	if _, err := os.Lstat(path); errors.Is(err, fs.ErrNotExist) {
		err := unix.Renameat2(unix.AT_FDCWD, tmp, unix.AT_FDCWD, path, unix.RENAME_NOREPLACE)
		if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOSYS) {
			if errors.Is(err, unix.EEXIST) {
				return fmt.Errorf("%s appeared while the file was being written; not replacing it", path)
			}
			return err
		}
		// A file system without RENAME_NOREPLACE: plain rename.
	} else if err := CheckTarget(path); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
