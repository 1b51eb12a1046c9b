#!/usr/bin/env node
// A fault-injecting HTTP proxy for tests, between a client under test and an
// emulator (kinesalite, kinesis-local, s3rver), on 127.0.0.1 only. Node
// built-ins only.
//   node fault-proxy.js UPSTREAM_URL LOG_FILE [PORT]
// Prints "fault-proxy listening on 127.0.0.1:PORT" when ready (PORT 0 or
// absent: a free one).
//
// Every request is read whole, then one fault is drawn for it from a seeded
// generator (the n-th request always draws the n-th number of the sequence):
//   throttle    not forwarded; Kinesis: HTTP 400 ProvisionedThroughputExceededException
//               (JSON __type), S3: 503 SlowDown
//   error500    not forwarded; HTTP 500 (InternalFailure / InternalError)
//   error503    not forwarded; HTTP 503 (ServiceUnavailable)
//   partial     Kinesis PutRecords only: each entry is refused with probability
//               partialEntries (at least one); only the others are forwarded, and
//               the answer is the emulator's results with refused entries
//               (ErrorCode ProvisionedThroughputExceededException) at their
//               positions and FailedRecordCount counting them
//   dropBefore  the client's connection is destroyed, nothing forwarded
//   dropAfter   forwarded (the emulator stores it), then the client's connection
//               is destroyed before the answer
//   slow        forwarded, answered after slowMs
//   none        forwarded as is
// With outageStatus set, every request is answered with that status (fault
// "outage") and nothing is forwarded, until it is cleared.
//
// Control (not logged): PUT /__fault-proxy/faults with a JSON object replaces
// the fault settings (fields as in DEFAULTS; a new seed restarts the sequence);
// GET /__fault-proxy/faults returns them.
//
// Log: one JSON object per request, per line, written when the request is
// settled: n, t (ms since the epoch when it arrived), ms (time to settle),
// method, path, target (X-Amz-Target), bytes (request body), fault, status
// (answered; null when the connection was dropped), upstream (the emulator's
// status; null when not forwarded), and for PutRecords: stream, records,
// recordBytes (each entry's data, decoded, plus its partition key, in bytes),
// forwarded and refused (entries).
'use strict';

const fs = require('fs');
const http = require('http');

const DEFAULTS = {
  seed: 1,
  throttle: 0,
  error500: 0,
  error503: 0,
  partial: 0,
  partialEntries: 0.3,
  dropBefore: 0,
  dropAfter: 0,
  slow: 0,
  slowMs: 1000,
  outageStatus: 0,
};
const KINDS = ['throttle', 'error500', 'error503', 'partial', 'dropBefore', 'dropAfter', 'slow'];

const upstream = new URL(process.argv[2]);
const logFd = fs.openSync(process.argv[3], 'a');
const port = Number(process.argv[4] || 0);
const upstreamAgent = new http.Agent({ keepAlive: true, maxSockets: 16 });

let faults = { ...DEFAULTS };
let rng = mulberry32(faults.seed);
let sequence = 0;

// A small, well-distributed seeded generator: uniform in [0, 1).
function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function readBody(stream) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    stream.on('data', (c) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

// Decoded length of standard base64 text, without decoding it.
function base64Bytes(s) {
  if (typeof s !== 'string' || s.length === 0) return 0;
  let pad = 0;
  if (s.endsWith('==')) pad = 2;
  else if (s.endsWith('=')) pad = 1;
  return Math.floor((s.length * 3) / 4) - pad;
}

function forward(req, body) {
  return new Promise((resolve, reject) => {
    const headers = { ...req.headers };
    delete headers['transfer-encoding'];
    delete headers.connection;
    delete headers['keep-alive'];
    headers['content-length'] = String(body.length);
    const up = http.request({
      host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers, agent: upstreamAgent,
    }, async (res) => {
      try {
        resolve({ status: res.statusCode, headers: res.headers, body: await readBody(res) });
      } catch (e) {
        reject(e);
      }
    });
    up.on('error', reject);
    up.end(body);
  });
}

function answer(req, res, status, headers, body) {
  const out = {};
  for (const [k, v] of Object.entries(headers)) {
    if (!['transfer-encoding', 'connection', 'keep-alive', 'content-length'].includes(k)) out[k] = v;
  }
  if (req.method === 'HEAD') {
    if (headers['content-length'] !== undefined) out['content-length'] = headers['content-length'];
    res.writeHead(status, out);
    res.end();
    return;
  }
  out['content-length'] = String(body.length);
  res.writeHead(status, out);
  res.end(body);
}

function errorAnswer(isKinesis, status, type, message) {
  if (isKinesis) {
    return {
      headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': 'fault-proxy' },
      body: Buffer.from(JSON.stringify({ __type: type, message })),
    };
  }
  return {
    headers: { 'content-type': 'application/xml', 'x-amz-request-id': 'fault-proxy' },
    body: Buffer.from(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${type}</Code>` +
      `<Message>${message}</Message><RequestId>fault-proxy</RequestId></Error>`),
  };
}

function injected(isKinesis, fault, status) {
  if (fault === 'throttle') {
    return isKinesis
      ? { status: 400, ...errorAnswer(true, 400, 'ProvisionedThroughputExceededException', 'Rate exceeded (injected)') }
      : { status: 503, ...errorAnswer(false, 503, 'SlowDown', 'Please reduce your request rate (injected)') };
  }
  if (status >= 500 && status !== 503) {
    return { status, ...errorAnswer(isKinesis, status, isKinesis ? 'InternalFailure' : 'InternalError', 'injected') };
  }
  if (status === 503) {
    return { status, ...errorAnswer(isKinesis, status, isKinesis ? 'ServiceUnavailable' : 'ServiceUnavailable', 'injected') };
  }
  return { status, ...errorAnswer(isKinesis, status, 'InjectedFault', 'injected') };
}

function choose(isPutRecords) {
  if (faults.outageStatus) return 'outage';
  const r = rng();
  let acc = 0;
  for (const kind of KINDS) {
    acc += Number(faults[kind]) || 0;
    if (r < acc) return kind === 'partial' && !isPutRecords ? 'none' : kind;
  }
  return 'none';
}

function control(req, res, body) {
  if (req.method === 'PUT' || req.method === 'POST') {
    const next = { ...DEFAULTS, ...JSON.parse(body.toString('utf8') || '{}') };
    if (next.seed !== faults.seed) rng = mulberry32(next.seed);
    faults = next;
  }
  const text = Buffer.from(JSON.stringify(faults));
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(text.length), connection: 'close' });
  res.end(text);
}

async function handle(req, res) {
  const body = await readBody(req);
  if (req.url.startsWith('/__fault-proxy/')) {
    control(req, res, body);
    return;
  }
  const started = Date.now();
  const target = req.headers['x-amz-target'] || '';
  const isKinesis = target !== '';
  const entry = {
    n: sequence++, t: started, ms: 0, method: req.method, path: req.url, target, bytes: body.length,
    fault: 'none', status: null, upstream: null,
  };
  let records = null;
  let parsed = null;
  if (target.endsWith('.PutRecords')) {
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch (e) {
      parsed = null;
    }
    if (parsed && Array.isArray(parsed.Records)) {
      records = parsed.Records;
      entry.stream = parsed.StreamName;
      entry.records = records.length;
      entry.recordBytes = records.map((r) => base64Bytes(r.Data) + Buffer.byteLength(r.PartitionKey || '', 'utf8'));
      entry.forwarded = 0;
      entry.refused = 0;
    }
  }
  const fault = choose(records !== null && records.length > 0);
  entry.fault = fault;
  const finish = () => {
    entry.ms = Date.now() - started;
    fs.writeSync(logFd, JSON.stringify(entry) + '\n');
  };

  try {
    if (fault === 'outage' || fault === 'throttle' || fault === 'error500' || fault === 'error503') {
      const status = fault === 'outage' ? faults.outageStatus : fault === 'error503' ? 503 : 500;
      const a = injected(isKinesis, fault, status);
      entry.status = a.status;
      answer(req, res, a.status, a.headers, a.body);
      return;
    }
    if (fault === 'dropBefore') {
      req.socket.destroy();
      return;
    }
    if (fault === 'partial') {
      const refused = records.map(() => rng() < faults.partialEntries);
      if (!refused.includes(true)) refused[Math.floor(rng() * records.length)] = true;
      const kept = records.filter((_, i) => !refused[i]);
      entry.refused = records.length - kept.length;
      let results = [];
      let failed = 0;
      let extra = {};
      if (kept.length > 0) {
        const up = await forward(req, Buffer.from(JSON.stringify({ ...parsed, Records: kept })));
        entry.upstream = up.status;
        if (up.status !== 200) {
          entry.status = up.status;
          answer(req, res, up.status, up.headers, up.body);
          return;
        }
        entry.forwarded = kept.length;
        const j = JSON.parse(up.body.toString('utf8'));
        results = j.Records;
        failed = j.FailedRecordCount || 0;
        extra = j;
      }
      const merged = [];
      let k = 0;
      for (let i = 0; i < records.length; ++i) {
        if (refused[i]) {
          merged.push({
            ErrorCode: 'ProvisionedThroughputExceededException',
            ErrorMessage: `Rate exceeded for shard in stream ${parsed.StreamName} (injected)`,
          });
        } else {
          merged.push(results[k++]);
        }
      }
      const out = Buffer.from(JSON.stringify({ ...extra, FailedRecordCount: failed + entry.refused, Records: merged }));
      entry.status = 200;
      answer(req, res, 200, { 'content-type': 'application/x-amz-json-1.1' }, out);
      return;
    }
    const up = await forward(req, body);
    entry.upstream = up.status;
    if (records !== null) entry.forwarded = records.length;
    if (fault === 'dropAfter') {
      req.socket.destroy();
      return;
    }
    if (fault === 'slow') await sleep(faults.slowMs);
    entry.status = up.status;
    answer(req, res, up.status, up.headers, up.body);
  } catch (e) {
    entry.fault = `${fault}+upstream-error`;
    entry.error = String(e && e.message);
    entry.status = 502;
    if (!res.headersSent) {
      const a = errorAnswer(isKinesis, 502, 'BadGateway', 'fault-proxy: upstream failed');
      answer(req, res, 502, a.headers, a.body);
    }
  } finally {
    finish();
  }
}

const server = http.createServer((req, res) => {
  handle(req, res).catch((e) => {
    console.error(e.stack || String(e));
    req.socket.destroy();
  });
});
server.keepAliveTimeout = 30000;
server.listen(port, '127.0.0.1', () => {
  console.log(`fault-proxy listening on 127.0.0.1:${server.address().port}`);
});
process.on('SIGTERM', () => {
  server.close();
  fs.closeSync(logFd);
  process.exit(0);
});
