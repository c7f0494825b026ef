package engine

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/gobwas/ws"
)

// classify turns a failed attempt's error into a stable cause code (never a
// string that embeds an address, so results group and compare).
func classify(err error) (cause string, status int) {
	var se ws.StatusError
	var dnsErr *net.DNSError
	var certErr *tls.CertificateVerificationError
	var unknownAuth x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var recErr tls.RecordHeaderError
	var alertErr tls.AlertError
	switch {
	case errors.As(err, &se):
		return "http", int(se)
	case errors.Is(err, ws.ErrHandshakeBadSecAccept):
		return "bad_accept", 0
	case errors.Is(err, ws.ErrHandshakeBadUpgrade), errors.Is(err, ws.ErrHandshakeBadConnection):
		return "bad_upgrade", 0
	case errors.Is(err, ws.ErrHandshakeBadSubProtocol):
		return "bad_subprotocol", 0
	case errors.Is(err, ws.ErrHandshakeBadExtensions):
		return "bad_extensions", 0
	case errors.Is(err, ws.ErrHandshakeBadProtocol), errors.Is(err, ws.ErrMalformedResponse):
		return "bad_response", 0
	case errors.Is(err, context.Canceled):
		return "interrupted", 0
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused", 0
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "reset", 0
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return "emfile", 0
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return "eaddrnotavail", 0
	case errors.Is(err, syscall.EADDRINUSE):
		return "eaddrinuse", 0
	case errors.Is(err, syscall.ENOBUFS), errors.Is(err, syscall.ENOMEM):
		return "enobufs", 0
	case errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTUNREACH):
		return "unreachable", 0
	case errors.As(err, &dnsErr):
		return "dns", 0
	case errors.As(err, &certErr), errors.As(err, &unknownAuth), errors.As(err, &hostErr),
		errors.As(err, &recErr), errors.As(err, &alertErr):
		return "tls", 0
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "eof", 0
	case errors.Is(err, context.DeadlineExceeded), isTimeout(err):
		return "timeout", 0
	}
	return "error", 0
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
