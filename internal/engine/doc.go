// Package engine opens, holds and closes WebSocket client connections: the
// part of wshold that touches the network.
//
// Where to look:
//   - a connection is opened in dial.go (attempt): TCP connect, upgrade with
//     gobwas/ws, validation of the 101, classification of failures;
//   - it is held in loop_linux.go: after the upgrade its descriptor is moved
//     into an epoll set and costs no goroutine and no timer — one loop per
//     core reacts to readiness and walks a shared ping schedule;
//   - it is counted as dropped in loop_linux.go (loop.drop), with its age,
//     its idle time and how it ended (close frame, FIN, RST, pong timeout).
//
// The engine never prints and never aggregates: it reports what it saw as
// event values to an event.Sink (the report's recorder).
package engine
