package report

import (
	"os"

	"github.com/wshold/wshold/internal/safefile"
)

// WriteFileAtomic writes data to path so that a reader sees either the old
// file or the whole new one, never a torn result (a temporary file in the
// same directory, synced, renamed over path), and never replaces anything
// but a regular file: a symbolic link, device node or FIFO at path is
// refused (see safefile.WriteAtomic). perm is the new file's mode (results
// use 0644).
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	return safefile.WriteAtomic(path, data, perm)
}
