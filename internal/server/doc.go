// Package server is `wshold serve`, the built-in WebSocket target: an echo
// and hold server for labs, CI, the embedded default of `wshold run`, and
// the backend behind real proxies in integration tests. It must hold tens
// of thousands of idle connections next to the load client and the proxy
// on one small machine, so an idle connection costs a small record and one
// file descriptor: no goroutine, no timer, no buffer.
//
// # Life of a connection
//
// An accept loop per listener gives each new connection a short-lived
// goroutine that reads the upgrade request (with its own bufio.Reader, so
// bytes sent right behind the request are kept) and answers it. The
// handshake is written here rather than with ws.Upgrader because the
// answers must be exact and scriptable: a 400 whose one-line body names
// what is missing (the message a user behind a misconfigured proxy needs),
// and deliberately broken answers for testing clients. An upgraded
// connection's socket is then duplicated, the net.Conn closed (so exactly
// one fd remains, outside Go's poller), and the fd handed to one of a few
// epoll loops.
//
// Each loop (Config.Loops, default GOMAXPROCS) waits on a level-triggered
// epoll set: a readable connection gets one read per wake-up into the
// loop's one buffer, and is reported again while bytes remain. Frames are
// parsed in place: masks removed in place, and an echo's or pong's header
// written over the tail of the client's header (4 bytes longer, the mask)
// so header and payload leave in one write without a copy. Output the
// socket does not take is queued per connection, bounded (see outCap), and
// flushed on EPOLLOUT, which is asked for only while something is queued.
//
// The server echoes text and binary messages frame by frame, answers pings
// with pongs, answers a close frame with the same close frame and then
// closes TCP, and refuses client frames that break RFC 6455 (unmasked,
// reserved bits or opcodes, bad control frames, frames over 1 MiB) with a
// close frame 1002 (1009 for size, 1007 for a close reason that is not
// UTF-8). It does not validate UTF-8 in text messages: it echoes them.
//
// Everything timed (server pings, pushes, scripted actions, closing grace)
// sits in each loop's one schedule, a heap the loop consults between epoll
// waits.
//
// # Pushes and broadcasts
//
// With Config.PushEvery (or ?push=D) the server pushes each connection a
// timestamped binary message (internal/stamp) on that schedule; with
// Config.BroadcastEvery one goroutine stamps the moment a broadcast begins
// and hands it to every loop, which writes the same frame to each of its
// connections. The stamps carry the server's wall clock, so `wshold run`
// on the same host measures one-way delay and fan-out. A push or copy that
// comes due while an echo is half written waits for the echoed frame to
// end; one for a connection with outCap bytes waiting is skipped.
//
// # Scripted misbehaviour
//
// The request's query string picks how a connection misbehaves, so the
// choice passes through proxies to this backend; QueryHelp lists the
// parameters (close, closecode, flood, bigframe, badopcode, rsv, masked,
// after, fin_after, rst_after, ping, noupgrade, badaccept, noupgradehdr,
// garbage, status). Unknown parameters are ignored.
package server
