package report

import (
	"io"
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

// WriteResultFile writes res as JSON to path, atomically as
// WriteFileAtomic does, streaming the JSON into the file rather than
// building it in memory first: checkpoints of a long run are written every
// few seconds, and must not grow the harness.
func WriteResultFile(path string, res *Result) error {
	return safefile.WriteAtomicFunc(path, 0o644, func(w io.Writer) error { return WriteJSON(w, res) })
}
