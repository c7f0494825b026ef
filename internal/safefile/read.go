// Package safefile reads and writes the files wshold is pointed at as
// hostile input: every read is bounded (a result, a scenario file or a CA
// named /dev/zero must not grow the process without end), and a write
// never replaces what wshold did not create (a device node, a FIFO or a
// symbolic link at the output path is refused, not renamed over).
package safefile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// Size limits of the files wshold reads. Each is far above what a real
// file of its kind holds and far below what would hurt a test host.
const (
	// MaxResult bounds a result file (report, merge, compare): a million
	// dropped connections, each with its drop event, write about 130 MB.
	MaxResult = 256 << 20
	// MaxScenario bounds a scenario file: the example is 5 KB, and a file
	// of a thousand scenarios is still under 1 MB.
	MaxScenario = 1 << 20
	// MaxCA bounds a --ca PEM bundle: the system's whole bundle is 220 KB.
	MaxCA = 4 << 20
	// MaxProxyConfig bounds a --proxy-config file, which is hashed, never
	// parsed: the largest real proxy configurations are a few MB.
	MaxProxyConfig = 64 << 20
)

// TooLargeError says a file is larger than its kind may be.
type TooLargeError struct {
	Path  string
	Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s is larger than %s, the most wshold reads from such a file; is it the file you meant?", e.Path, Size(e.Limit))
}

// Size writes n bytes as "256 MiB", "4 KiB" or "12 bytes".
func Size(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// ReadFile reads path, at most limit bytes: a longer file (or an endless
// one such as /dev/zero, or a pipe that never ends) is a *TooLargeError,
// found without reading more than limit+1 bytes. Errors name the path.
func ReadFile(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err // *fs.PathError names the path
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil {
		switch m := fi.Mode(); {
		case m.IsRegular() && fi.Size() > limit:
			return nil, &TooLargeError{Path: path, Limit: limit}
		case m&(fs.ModeDevice|fs.ModeCharDevice|fs.ModeSocket) != 0, m.IsDir():
			// A pipe is read (process substitution, <(…)); a device such
			// as /dev/zero is not a file of anything.
			return nil, fmt.Errorf("%s is %s, not a file; name a file", path, describe(path, m))
		}
	}
	return readAll(f, path, limit)
}

// ReadAll reads at most limit bytes of r, failing with a *TooLargeError
// naming name past that (for a stream such as standard input).
func ReadAll(r io.Reader, name string, limit int64) ([]byte, error) {
	return readAll(r, name, limit)
}

func readAll(r io.Reader, name string, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		var pe *fs.PathError
		if !errors.As(err, &pe) {
			err = fmt.Errorf("read %s: %w", name, err)
		}
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, &TooLargeError{Path: name, Limit: limit}
	}
	return data, nil
}

// Copy copies at most limit bytes of path to w (e.g. a hash), with the
// errors of ReadFile.
func Copy(w io.Writer, path string, limit int64) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	n, err := io.Copy(w, io.LimitReader(f, limit+1))
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if n > limit {
		return &TooLargeError{Path: path, Limit: limit}
	}
	return nil
}
