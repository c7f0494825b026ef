package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/wshold/wshold/internal/safefile"
)

// WriteJSON writes res as indented JSON, the -o result file format.
// HTML is not escaped: bodies of failed upgrades ("<html>502 ...") stay
// readable.
func WriteJSON(w io.Writer, res *Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(res); err != nil {
		return fmt.Errorf("write result JSON: %w", err)
	}
	return nil
}

// ReadResult reads a result written by WriteJSON. It rejects anything that
// is not a wshold.result/v1 document with a message saying what it is,
// and a result whose figures do not add up (CheckInvariants).
// Unknown fields are ignored: v1 may gain fields, and an older wshold must
// still read a newer v1 result.
func ReadResult(r io.Reader) (*Result, error) {
	data, err := safefile.ReadAll(r, "the result", safefile.MaxResult)
	if err != nil {
		return nil, fmt.Errorf("read result: %w", err)
	}
	var probe struct {
		Schema *string `json:"schema"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		if json.Valid(data) {
			return nil, fmt.Errorf("read result: JSON, but not an object, so not a wshold result; pass a file written by 'wshold run -o'")
		}
		return nil, fmt.Errorf("read result: not JSON (%w); pass a file written by 'wshold run -o'", err)
	}
	switch {
	case probe.Schema == nil:
		return nil, fmt.Errorf("read result: no \"schema\" field, so not a wshold result; pass a file written by 'wshold run -o'")
	case *probe.Schema != Schema:
		if strings.HasPrefix(*probe.Schema, "wshold.result/") {
			return nil, fmt.Errorf("read result: schema %q is not %q, which this wshold reads; use the wshold version that wrote it", *probe.Schema, Schema)
		}
		return nil, fmt.Errorf("read result: schema %q is not a wshold result (want %q)", *probe.Schema, Schema)
	}
	var res Result
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&res); err != nil {
		return nil, fmt.Errorf("read result: %w", err)
	}
	if err := CheckInvariants(&res); err != nil {
		return nil, fmt.Errorf("read result: %w", err)
	}
	return &res, nil
}

// ReadResultFile reads the result in path (see ReadResult).
func ReadResultFile(path string) (*Result, error) {
	data, err := safefile.ReadFile(path, safefile.MaxResult)
	if err != nil {
		return nil, err // already names the path and the reason
	}
	res, err := ReadResult(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return res, nil
}
