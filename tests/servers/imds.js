#!/usr/bin/env node
// An emulator of the EC2 instance metadata service, IMDSv2 only, for tests:
// plain HTTP on 127.0.0.1, Node's built-ins alone.
//   PUT /latest/api/token  (X-aws-ec2-metadata-token-ttl-seconds: 1..21600)  -> a token
//   GET /latest/meta-data/iam/security-credentials/          -> the role's name
//   GET /latest/meta-data/iam/security-credentials/<role>    -> {"Code":"Success",
//       "AccessKeyId","SecretAccessKey","Token","Expiration",...}
// Every GET needs a valid X-aws-ec2-metadata-token: 401 without one (as EC2
// does when IMDSv1 is turned off). A PUT without the TTL header is a 400.
//
// The test looks and steers under /control/ (no token needed):
//   GET /control/stats              {"tokens":N,"credentials":N,"unauthorized":N}
//   GET /control/fail?status=500    answer every metadata request so (0: stop)
//   GET /control/lifetime?seconds=N credentials from now on live N seconds
// Prints "imds listening on 127.0.0.1:PORT".
//
//   node imds.js [--port N] [--role R] [--lifetime S] [--access-key K --secret-key S]
'use strict';

const crypto = require('crypto');
const http = require('http');

const opts = { port: 0, role: 'sluice-test-role', lifetime: 21600 };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const name = argv[i].replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase());
  opts[name] = argv[i + 1];
}
const state = { tokens: 0, credentials: 0, unauthorized: 0, failStatus: 0, lifetime: Number(opts.lifetime) };
const tokens = new Map();  // token -> expiry (ms)
const base = '/latest/meta-data/iam/security-credentials/';

function send(res, status, body, type) {
  res.writeHead(status, { 'Content-Type': type || 'text/plain', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function isoSeconds(ms) {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://127.0.0.1');
  if (url.pathname.startsWith('/control/')) {
    if (url.pathname === '/control/stats') {
      const { tokens: t, credentials, unauthorized } = state;
      return send(res, 200, JSON.stringify({ tokens: t, credentials, unauthorized }), 'application/json');
    }
    if (url.pathname === '/control/fail') {
      state.failStatus = Number(url.searchParams.get('status') || 0);
      return send(res, 200, 'ok');
    }
    if (url.pathname === '/control/lifetime') {
      state.lifetime = Number(url.searchParams.get('seconds'));
      return send(res, 200, 'ok');
    }
    return send(res, 404, 'unknown control');
  }
  if (state.failStatus) return send(res, state.failStatus, 'injected failure');
  if (url.pathname === '/latest/api/token') {
    if (req.method !== 'PUT') return send(res, 405, 'Method Not Allowed');
    const ttl = Number(req.headers['x-aws-ec2-metadata-token-ttl-seconds']);
    if (!(ttl >= 1 && ttl <= 21600)) return send(res, 400, 'Bad Request');
    const token = crypto.randomBytes(32).toString('base64');
    tokens.set(token, Date.now() + ttl * 1000);
    state.tokens += 1;
    res.setHeader('X-aws-ec2-metadata-token-ttl-seconds', String(ttl));
    return send(res, 200, token);
  }
  const token = req.headers['x-aws-ec2-metadata-token'];
  if (!token || !tokens.has(token) || tokens.get(token) < Date.now()) {
    state.unauthorized += 1;
    return send(res, 401, 'Unauthorized');
  }
  if (req.method !== 'GET') return send(res, 405, 'Method Not Allowed');
  if (url.pathname === base) return opts.role ? send(res, 200, opts.role) : send(res, 404, 'Not Found');
  if (opts.role && url.pathname === base + opts.role) {
    state.credentials += 1;
    const n = state.credentials;
    const now = Date.now();
    const body = {
      Code: 'Success',
      LastUpdated: isoSeconds(now),
      Type: 'AWS-HMAC',
      AccessKeyId: opts.accessKey || `ASIAIMDS${String(n).padStart(8, '0')}`,
      SecretAccessKey: opts.secretKey || `imds-secret-${n}-${crypto.randomBytes(12).toString('hex')}`,
      Token: `imds-session-token-${n}-${crypto.randomBytes(24).toString('base64')}`,
      Expiration: isoSeconds(now + state.lifetime * 1000),
    };
    return send(res, 200, JSON.stringify(body, null, 2), 'text/plain');
  }
  return send(res, 404, 'Not Found');
});

server.listen(Number(opts.port), '127.0.0.1', () => {
  console.log(`imds listening on 127.0.0.1:${server.address().port}`);
});
process.on('SIGTERM', () => {
  server.close();
  process.exit(0);
});
