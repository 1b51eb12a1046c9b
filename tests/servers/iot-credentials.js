#!/usr/bin/env node
// An emulator of AWS IoT Core's credentials provider for tests, on 127.0.0.1
// only, with Node's built-ins alone:
//   GET /role-aliases/<alias>/credentials  (x-amzn-iot-thingname: <thing>)
// over mutual TLS (a client certificate from --ca is required; any other is
// refused during the handshake), answering as AWS IoT does:
//   {"credentials":{"accessKeyId","secretAccessKey","sessionToken","expiration"}}
// An unknown role alias is a 404, a missing or other thing name a 403, both
// with {"message": ...}.
//
// A second, plain HTTP listener on 127.0.0.1 lets the test look and steer:
//   GET /stats                  {"total":N,"served":N,"failed":N,"requests":{"<thing>/<alias>":N}}
//   GET /fail?status=500        answer every request with this status (0: stop failing)
//   GET /garbage?on=1           answer 200 with a body that is not credentials (but holds a secret)
//   GET /lifetime?seconds=N     credentials handed out from now on live N seconds
// Prints "iot-credentials listening on 127.0.0.1:PORT control 127.0.0.1:PORT".
//
//   node iot-credentials.js --cert F --key F --ca F --role-alias A --thing T
//        [--port N] [--lifetime S] [--access-key K --secret-key S]
// Without --access-key each answer has fresh keys (ASIAIOT<n>, a random secret).
'use strict';

const crypto = require('crypto');
const fs = require('fs');
const http = require('http');
const https = require('https');

function args() {
  const a = { port: 0, lifetime: 3600 };
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i += 2) {
    const name = argv[i].replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    a[name] = argv[i + 1];
  }
  for (const required of ['cert', 'key', 'ca', 'roleAlias', 'thing']) {
    if (!a[required]) {
      console.error(`missing --${required}`);
      process.exit(2);
    }
  }
  a.port = Number(a.port);
  a.lifetime = Number(a.lifetime);
  return a;
}

const opts = args();
const state = { total: 0, served: 0, failed: 0, requests: {}, failStatus: 0, garbage: false, lifetime: opts.lifetime };

function json(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function isoSeconds(ms) {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const server = https.createServer(
  {
    cert: fs.readFileSync(opts.cert),
    key: fs.readFileSync(opts.key),
    ca: fs.readFileSync(opts.ca),
    requestCert: true,
    rejectUnauthorized: true,
  },
  (req, res) => {
    state.total += 1;
    const m = /^\/role-aliases\/([^/]+)\/credentials$/.exec(req.url);
    const thing = req.headers['x-amzn-iot-thingname'] || '';
    const alias = m ? decodeURIComponent(m[1]) : '';
    const key = `${thing}/${alias}`;
    state.requests[key] = (state.requests[key] || 0) + 1;
    if (state.failStatus) {
      state.failed += 1;
      return json(res, state.failStatus, { message: 'Injected failure' });
    }
    if (req.method !== 'GET' || !m) {
      state.failed += 1;
      return json(res, 404, { message: 'Not Found' });
    }
    if (alias !== opts.roleAlias) {
      state.failed += 1;
      return json(res, 404, { message: 'Role alias does not exist' });
    }
    if (thing !== opts.thing) {
      state.failed += 1;
      return json(res, 403, { message: 'Access Denied' });
    }
    const n = state.served + 1;
    const secret = opts.secretKey || `iot-secret-${n}-${crypto.randomBytes(12).toString('hex')}`;
    if (state.garbage) {
      state.failed += 1;
      res.writeHead(200, { 'Content-Type': 'application/json' });
      return res.end(`{"credentials":{"secretAccessKey":"${secret}","sessionToken":"half-a-token`);
    }
    state.served = n;
    return json(res, 200, {
      credentials: {
        accessKeyId: opts.accessKey || `ASIAIOT${String(n).padStart(8, '0')}`,
        secretAccessKey: secret,
        sessionToken: `iot-session-token-${n}-${crypto.randomBytes(24).toString('base64')}`,
        expiration: isoSeconds(Date.now() + state.lifetime * 1000),
      },
    });
  },
);

const control = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://127.0.0.1');
  if (url.pathname === '/stats') {
    return json(res, 200, { total: state.total, served: state.served, failed: state.failed, requests: state.requests });
  }
  if (url.pathname === '/fail') {
    state.failStatus = Number(url.searchParams.get('status') || 0);
    return json(res, 200, { failStatus: state.failStatus });
  }
  if (url.pathname === '/garbage') {
    state.garbage = url.searchParams.get('on') === '1';
    return json(res, 200, { garbage: state.garbage });
  }
  if (url.pathname === '/lifetime') {
    state.lifetime = Number(url.searchParams.get('seconds'));
    return json(res, 200, { lifetime: state.lifetime });
  }
  return json(res, 404, { message: 'unknown control' });
});

server.listen(opts.port, '127.0.0.1', () => {
  control.listen(0, '127.0.0.1', () => {
    console.log(
      `iot-credentials listening on 127.0.0.1:${server.address().port} control 127.0.0.1:${control.address().port}`,
    );
  });
});
process.on('SIGTERM', () => {
  server.close();
  control.close();
  process.exit(0);
});
