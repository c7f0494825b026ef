package engine

import (
	"context"
	"errors"
	"net"

	"github.com/gobwas/ws"

	"github.com/wshold/wshold/internal/neterr"
)

// classify turns a failed attempt's error into a stable cause code (never a
// string that embeds an address, so results group and compare): the
// handshake's own failures first, then the network's (neterr).
func classify(err error) (cause string, status int) {
	var se ws.StatusError
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
	}
	if cause := neterr.Cause(err); cause != "" {
		return cause, 0
	}
	return "error", 0
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
