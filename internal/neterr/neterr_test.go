package neterr

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
)

func TestCauses(t *testing.T) {
	op := func(err error) error {
		return &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", err)}
	}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{&net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true}, "dns"},
		{&net.DNSError{Err: "i/o timeout", Name: "x", IsTimeout: true}, "dns"},
		{op(syscall.ECONNREFUSED), "refused"},
		{op(syscall.ECONNRESET), "reset"},
		{op(syscall.ENETUNREACH), "unreachable"},
		{op(syscall.EMFILE), "emfile"},
		{op(syscall.EADDRNOTAVAIL), "eaddrnotavail"},
		{context.DeadlineExceeded, "timeout"},
		{fmt.Errorf("reading: %w", io.ErrUnexpectedEOF), "eof"},
		{errors.New("something else"), ""},
	} {
		if got := Cause(tc.err); got != tc.want {
			t.Errorf("Cause(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
