#!/usr/bin/env node
// upgrade-relay.js - a reverse proxy for WebSocket upgrades on Node's core
// http module alone, relaying them the way the npm package http-proxy's ws
// pass does (lib/http-proxy/passes/ws-incoming.js, 1.18.1): it sends the
// upgrade request to the backend with http.request, and on the backend's
// 101 writes the status line and res.headers — the header map Node's
// parser keeps, every name lower-cased — to the client, then pipes the two
// sockets. Nothing in its answers names it: no Server, no Via. It is a
// proxy that writes lower-case header names and is not HAProxy.
//
//   node scripts/node/upgrade-relay.js BACKEND_HOST:PORT [HOST [PORT]]
//
// It prints the address it listens on ("127.0.0.1:PORT") as its first
// line. IDLE_MS, when set, ends a tunnel that carried nothing either way
// for that long (socket.setTimeout + destroy, the usual way to add one:
// a FIN, no close frame). It exits when its standard input closes, so a
// test that dies takes it along.
'use strict';

const http = require('http');

const [backendHost, backendPort] = (process.argv[2] || '').split(':');
const host = process.argv[3] || '127.0.0.1';
const port = Number(process.argv[4] || 0);
const idleMs = Number(process.env.IDLE_MS || 0);

const server = http.createServer((req, res) => {
  res.writeHead(426, { 'content-type': 'text/plain' });
  res.end('upgrade-relay only relays upgrades\n');
});

server.on('upgrade', (req, socket, head) => {
  const out = http.request({
    host: backendHost, port: Number(backendPort), method: req.method, path: req.url, headers: req.headers,
  });
  out.on('error', () => socket.destroy());
  out.on('response', (res) => {
    // Not an upgrade: relay the answer as it came, names lower-cased.
    let lines = `HTTP/1.1 ${res.statusCode} ${res.statusMessage}\r\n`;
    for (const [k, v] of Object.entries(res.headers)) lines += `${k}: ${v}\r\n`;
    socket.write(lines + '\r\n');
    res.pipe(socket);
  });
  out.on('upgrade', (res, backend, backendHead) => {
    let lines = 'HTTP/1.1 101 Switching Protocols\r\n';
    for (const [k, v] of Object.entries(res.headers)) lines += `${k}: ${v}\r\n`;
    socket.write(lines + '\r\n');
    if (backendHead.length) socket.write(backendHead);
    // What the client sent after its request belongs to the tunnel.
    if (head.length) backend.write(head);
    socket.on('error', () => backend.destroy());
    backend.on('error', () => socket.destroy());
    socket.pipe(backend).pipe(socket);
    if (idleMs > 0) {
      // Node's socket timer counts reads and writes: any frame either way
      // re-arms it.
      socket.setTimeout(idleMs);
      socket.on('timeout', () => { socket.destroy(); backend.destroy(); });
    }
  });
  out.end();
});

server.listen(port, host, () => {
  const a = server.address();
  process.stdout.write(`${a.address}:${a.port}\n`);
});
server.on('error', (err) => {
  process.stderr.write(`upgrade-relay: ${err.message}\n`);
  process.exit(1);
});

process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
