#!/usr/bin/env node
// ws-echo.js - a WebSocket echo server built on the npm package "ws", as a
// backend that nobody on this project wrote: the integration tests put it
// behind real proxies next to `wshold serve`.
//
//   node scripts/node/ws-echo.js [HOST [PORT]]     (default 127.0.0.1, a free port)
//
// It prints the address it listens on ("127.0.0.1:PORT") as its first line,
// echoes every message, answers pings (ws does), and answers a request that
// is not an upgrade with 426 Upgrade Required, as ws's standalone server
// does. It exits when its standard input closes, so a test that dies takes
// it along. Find "ws" with NODE_PATH=PREFIX/node_modules (.ci/run installs
// it into /opt/wshold-node).
'use strict';

const { WebSocketServer } = require('ws');

const host = process.argv[2] || '127.0.0.1';
const port = Number(process.argv[3] || 0);

const wss = new WebSocketServer({ host, port });
wss.on('listening', () => {
  const a = wss.address();
  process.stdout.write(`${a.address}:${a.port}\n`);
});
wss.on('error', (err) => {
  process.stderr.write(`ws-echo: ${err.message}\n`);
  process.exit(1);
});
wss.on('connection', (sock) => {
  sock.on('message', (data, isBinary) => sock.send(data, { binary: isBinary }));
  sock.on('error', () => sock.terminate());
});

process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
