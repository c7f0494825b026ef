// Package engine opens, holds and closes WebSocket client connections: the
// part of wshold that touches the network.
//
// Where to look:
//   - a ws:// connection is opened in upgrade_linux.go: a non-blocking
//     connect from an opener keeping the ramp's schedule (open, called by
//     startAttempts in engine.go), then the handshake as a state machine in
//     the epoll loop that will hold it (loop.handshake); a wss:// one in
//     dial.go (attempt, dialUpgrade), a goroutine per handshake in flight:
//     crypto/tls over a tlsrecord.Tap, then the bare descriptor and the
//     connection's record protection go to a loop. Both feed the answer to
//     response.go's answer, which asks the one judge (internal/handshake);
//     failures are classified in classify.go;
//   - it is held in loop_linux.go: after the upgrade its descriptor is moved
//     into an epoll set and costs no goroutine and no timer — one loop per
//     core reacts to readiness and walks a shared ping schedule;
//   - what a held connection does with frames — answer pings, time pongs,
//     skip data, take a close, reject a broken frame, send its own — is one
//     transport-neutral path in frames_linux.go (with frame.go's nextFrame,
//     the one frame reader); bytes reach it and leave
//     it through wire_linux.go (a plain socket, where a write the socket
//     does not take whole keeps its tail for later instead of tearing a
//     frame) or, for wss://, through tlsloop_linux.go (whole TLS records
//     opened and sealed on the loop, partial ones left in the kernel);
//   - it is counted as dropped in loop_linux.go (loop.end), with its age,
//     its idle time and how it ended (close frame, FIN, RST, pong timeout,
//     a broken rule; over wss:// also close_notify or another TLS alert);
//   - with Config.Reconnect it is opened again after a backoff
//     (reconnect.go: one goroutine and a heap of due reopenings), through
//     the same opening path, and reported as a reconnect.
//
// The engine never prints and never aggregates: it reports what it saw as
// event values to an event.Sink (the report's recorder).
package engine
