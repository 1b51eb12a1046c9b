#!/usr/bin/env node
// Starts kinesis-local (kinesis-mock's Node build: an in-memory Kinesis Data
// Streams API) on 127.0.0.1 only: it binds every interface by itself, so every
// net.Server.listen in this process is forced onto 127.0.0.1. Streams are
// created at once (CREATE_STREAM_DURATION 0ms). Prints
// "kinesis-local listening on 127.0.0.1:PORT" (the plain HTTP port) when ready.
//   node kinesis-local.js PORT      PORT 0: a free one
// Its TLS port (self-signed, server.json) is picked free and not reported.
'use strict';

const net = require('net');
const path = require('path');

const pkg = path.dirname(require.resolve('kinesis-local/package.json'));

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function main() {
  let plain = Number(process.argv[2] || 0);
  if (plain === 0) plain = await freePort();
  const tlsPort = await freePort();

  const listen = net.Server.prototype.listen;
  net.Server.prototype.listen = function (...args) {
    if (typeof args[0] === 'object' && args[0] !== null && !Array.isArray(args[0])) {
      args[0] = { ...args[0], host: '127.0.0.1' };
    } else if (typeof args[0] === 'number' || typeof args[0] === 'string') {
      const rest = args.slice(1).filter((a) => typeof a !== 'string');  // drop a host argument
      args = [Number(args[0]), '127.0.0.1', ...rest];
    }
    this.once('listening', () => {
      const a = this.address();
      if (a && a.port === plain) console.log(`kinesis-local listening on ${a.address}:${a.port}`);
    });
    return listen.apply(this, args);
  };

  process.env.KINESIS_MOCK_CERT_PATH = path.join(pkg, 'server.json');
  process.env.KINESIS_MOCK_PLAIN_PORT = String(plain);
  process.env.KINESIS_MOCK_TLS_PORT = String(tlsPort);
  process.env.CREATE_STREAM_DURATION = process.env.CREATE_STREAM_DURATION || '0ms';
  process.env.LOG_LEVEL = process.env.LOG_LEVEL || 'WARN';
  process.on('SIGTERM', () => process.exit(0));
  require(path.join(pkg, 'main.js'));
}

main().catch((e) => {
  console.error(e.stack || String(e));
  process.exit(1);
});
