// Package engine opens, holds and closes WebSocket client connections: the
// part of wshold that touches the network.
//
// Where to look:
//   - a ws:// connection is opened in upgrade_linux.go: a non-blocking
//     connect from an opener keeping the ramp's schedule (open, called by
//     startAttempts in engine.go), then the handshake as a state machine in
//     the epoll loop that will hold it (loop.handshake), the answer judged
//     by gobwas/ws's rules in response.go (judgeAnswer); a wss:// one in
//     tlsdial.go (attemptTLS), a goroutine per handshake in flight:
//     crypto/tls over a tlsrecord.Tap, the upgrade judged by the same
//     judgeAnswer, then the bare descriptor and the connection's record
//     protection go to a loop; failures of both are classified in
//     classify.go (dial.go keeps gobwas/ws's dialer, for tests that hold
//     the loops' handshake to it);
//   - it is held in loop_linux.go: after the upgrade its descriptor is moved
//     into an epoll set and costs no goroutine and no timer — one loop per
//     core reacts to readiness and walks a shared ping schedule;
//   - what a held connection does with frames — answer pings, time pongs,
//     skip data, take a close, reject a broken frame, send its own — is one
//     transport-neutral path in frames_linux.go; bytes reach it and leave
//     it through wire_linux.go (a plain socket, where a write the socket
//     does not take whole keeps its tail for later instead of tearing a
//     frame) or, for wss://, through tlsloop_linux.go (whole TLS records
//     opened and sealed on the loop, partial ones left in the kernel);
//   - it is counted as dropped in loop_linux.go (loop.drop), with its age,
//     its idle time and how it ended (close frame, FIN, RST, pong timeout).
//
// The engine never prints and never aggregates: it reports what it saw as
// event values to an event.Sink (the report's recorder).
package engine
