package engine

import (
	"context"
	"errors"
	"net"

	"github.com/wshold/wshold/internal/handshake"
	"github.com/wshold/wshold/internal/neterr"
)

// classify turns a failed attempt's error into a stable cause code (never a
// string that embeds an address, so results group and compare): the
// judge's refusals first (internal/handshake), then the network's
// (neterr).
func classify(err error) (cause string, status int) {
	var he *handshake.Error
	switch {
	case errors.As(err, &he):
		if he.Cause == handshake.CauseHTTP {
			return "http", he.Status
		}
		return he.Cause, 0
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
