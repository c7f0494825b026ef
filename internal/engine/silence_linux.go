package engine

import "github.com/wshold/wshold/internal/event"

// frame records a frame sent or received at now. The silence it ends is
// kept when it is the longest so far: a connection that lived through a
// silence of q cannot have been cut later by an idle timer shorter than q,
// which is how the report tells an application's timed close (server pings
// every 20 s, close at 30 s of age) from a 10 s idle timeout.
func (c *connState) frame(now int64) {
	if q := now - c.lastFrame; q > c.quiet {
		c.quiet = q
	}
	c.lastFrame = now
}

// pongWait is how long the oldest unanswered ping had waited when a
// connection ended as kind at now: the clock a pong timeout runs on. 0 for
// any other end.
func (c *connState) pongWait(kind event.DropKind, now int64) int64 {
	if kind != event.PongTimeout || c.pingSentAt == 0 {
		return 0
	}
	return now - c.pingSentAt
}
