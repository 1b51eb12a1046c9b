#!/usr/bin/env node
// A Firehose contract server for the tests: no emulator of Amazon Data
// Firehose exists, so this server checks every request against the API as
// documented (PutRecordBatch, JSON 1.1, SigV4) and answers as Firehose does.
//
//   node firehose-contract.js --port P --dir DIR --streams a,b [--access-key K --secret S --region R]
//        [--refuse-rate F] [--fail-first N] [--seed N]
//
// Checks (each violation is answered 400 ValidationException and logged):
//   - POST /, Content-Type application/x-amz-json-1.1,
//     X-Amz-Target Firehose_20150804.PutRecordBatch;
//   - a valid SigV4 Authorization for service "firehose" in the region,
//     signed with the configured secret (the signature is recomputed);
//   - the body: exactly {DeliveryStreamName, Records}; the name 1-64 of
//     [a-zA-Z0-9_.-]; 1 to 500 records, each exactly {Data} with base64 of
//     1 to 1,024,000 bytes; at most 4 MiB of record data per request.
// Answers: unknown stream -> 400 ResourceNotFoundException. The first
// --fail-first requests -> 500 ServiceUnavailableException (whole request).
// Otherwise each record is refused with probability --refuse-rate
// (ServiceUnavailableException in its RequestResponses entry, FailedPutCount
// counted) or stored.
//
// Files in DIR: records.jsonl (one {stream, data (base64)} per stored
// record, in order), requests.jsonl (one line per request: {n, status,
// records, bytes, refused, violation}). Prints "listening on 127.0.0.1:PORT".
'use strict';

const http = require('http');
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

function args() {
  const a = { port: 0, dir: '.', streams: '', 'access-key': '', secret: '', region: 'us-east-1',
    'refuse-rate': 0, 'fail-first': 0, seed: 1 };
  const v = process.argv.slice(2);
  for (let i = 0; i < v.length; i += 2) {
    const k = v[i].replace(/^--/, '');
    if (!(k in a)) throw new Error(`unknown option ${v[i]}`);
    a[k] = v[i + 1];
  }
  return a;
}

const opt = args();
const streams = new Set(String(opt.streams).split(',').filter((s) => s));
const refuseRate = Number(opt['refuse-rate']);
let failFirst = Number(opt['fail-first']);
let seed = Number(opt.seed) >>> 0 || 1;
function random() {  // xorshift32: reproducible refusals for a seed
  seed ^= seed << 13; seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5; seed >>>= 0;
  return seed / 4294967296;
}

const recordsFile = fs.openSync(path.join(opt.dir, 'records.jsonl'), 'a');
const requestsFile = fs.openSync(path.join(opt.dir, 'requests.jsonl'), 'a');
let requestNumber = 0;

const hmac = (key, data) => crypto.createHmac('sha256', key).update(data).digest();
const sha256 = (data) => crypto.createHash('sha256').update(data).digest('hex');

// The RFC 3986 encoding SigV4 uses for query strings.
const uriEncode = (s) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());

function checkSignature(req, body) {
  const auth = req.headers.authorization || '';
  const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
  if (!m) return `Authorization is not a SigV4 header: ${auth.slice(0, 80)}`;
  const [, key, date, region, service, signedHeaders, signature] = m;
  if (service !== 'firehose') return `signed for service ${service}, not firehose`;
  if (region !== opt.region) return `signed for region ${region}, not ${opt.region}`;
  if (opt['access-key'] && key !== opt['access-key']) return `unknown access key ${key}`;
  const amzDate = req.headers['x-amz-date'] || '';
  if (!amzDate.startsWith(date)) return `X-Amz-Date ${amzDate} does not match the credential date ${date}`;
  const names = signedHeaders.split(';');
  for (const required of ['host', 'x-amz-date', 'x-amz-target']) {
    if (!names.includes(required)) return `${required} is not signed`;
  }
  if (req.headers['x-amz-security-token'] && !names.includes('x-amz-security-token')) {
    return 'x-amz-security-token is sent but not signed';
  }
  if (!opt.secret) return '';
  const [pathPart, query = ''] = req.url.split('?');
  const canonicalQuery = query.split('&').filter((q) => q).map((q) => q.split('='))
    .map(([k, v = '']) => [uriEncode(decodeURIComponent(k)), uriEncode(decodeURIComponent(v))])
    .sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : x[1] < y[1] ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`).join('&');
  const canonicalHeaders = names.map((n) => {
    const value = req.headers[n];
    if (value === undefined) return null;
    return `${n}:${String(value).trim().replace(/\s+/g, ' ')}\n`;
  });
  if (canonicalHeaders.includes(null)) return 'a signed header is missing from the request';
  const canonical = ['POST', pathPart, canonicalQuery, canonicalHeaders.join(''), signedHeaders, sha256(body)].join('\n');
  const scope = `${date}/${region}/${service}/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
  const k = hmac(hmac(hmac(hmac('AWS4' + opt.secret, date), region), service), 'aws4_request');
  const expected = hmac(k, toSign).toString('hex');
  if (expected !== signature) return 'the signature does not match (recomputed with the configured secret)';
  return '';
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function checkBody(body) {
  let j;
  try { j = JSON.parse(body.toString('utf8')); } catch (e) { return { violation: `body is not JSON: ${e.message}` }; }
  if (j === null || typeof j !== 'object' || Array.isArray(j)) return { violation: 'body is not a JSON object' };
  const keys = Object.keys(j).sort().join(',');
  if (keys !== 'DeliveryStreamName,Records') return { violation: `body members are ${keys}` };
  const name = j.DeliveryStreamName;
  if (typeof name !== 'string' || !/^[a-zA-Z0-9_.-]{1,64}$/.test(name)) return { violation: `bad DeliveryStreamName ${name}` };
  if (!Array.isArray(j.Records) || j.Records.length < 1 || j.Records.length > 500) {
    return { violation: `Records must be an array of 1 to 500 (got ${Array.isArray(j.Records) ? j.Records.length : typeof j.Records})` };
  }
  let total = 0;
  const data = [];
  for (let i = 0; i < j.Records.length; ++i) {
    const r = j.Records[i];
    if (r === null || typeof r !== 'object' || Object.keys(r).join(',') !== 'Data') return { violation: `record ${i} is not {Data}` };
    if (typeof r.Data !== 'string' || !BASE64.test(r.Data)) return { violation: `record ${i} Data is not base64` };
    const bytes = Buffer.from(r.Data, 'base64');
    if (bytes.length < 1 || bytes.length > 1024000) return { violation: `record ${i} has ${bytes.length} bytes (1 to 1,024,000)` };
    total += bytes.length;
    data.push(r.Data);
  }
  if (total > 4 * 1024 * 1024) return { violation: `request carries ${total} bytes of records (at most 4 MiB)` };
  return { name, data, total };
}

function answer(res, status, obj) {
  const text = JSON.stringify(obj);
  res.writeHead(status, { 'Content-Type': 'application/x-amz-json-1.1', 'Content-Length': Buffer.byteLength(text),
    'x-amzn-RequestId': crypto.randomUUID() });
  res.end(text);
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const n = ++requestNumber;
    const log = (entry) => fs.writeSync(requestsFile, JSON.stringify({ n, ...entry }) + '\n');
    const violate = (violation) => {
      log({ status: 400, violation });
      answer(res, 400, { __type: 'ValidationException', message: violation });
    };
    if (req.method !== 'POST' || req.url.split('?')[0] !== '/') return violate(`${req.method} ${req.url}`);
    if (req.headers['content-type'] !== 'application/x-amz-json-1.1') {
      return violate(`Content-Type ${req.headers['content-type']}`);
    }
    if (req.headers['x-amz-target'] !== 'Firehose_20150804.PutRecordBatch') {
      return violate(`X-Amz-Target ${req.headers['x-amz-target']}`);
    }
    const sig = checkSignature(req, body);
    if (sig) return violate(sig);
    const parsed = checkBody(body);
    if (parsed.violation) return violate(parsed.violation);
    if (!streams.has(parsed.name)) {
      log({ status: 400, records: parsed.data.length, bytes: parsed.total, refused: 0 });
      return answer(res, 400, { __type: 'ResourceNotFoundException',
        message: `Firehose ${parsed.name} under account 123456789012 not found.` });
    }
    if (failFirst > 0) {
      --failFirst;
      log({ status: 500, records: parsed.data.length, bytes: parsed.total, refused: 0 });
      return answer(res, 500, { __type: 'ServiceUnavailableException', message: 'Slow down.' });
    }
    const responses = [];
    let refused = 0;
    for (const d of parsed.data) {
      if (random() < refuseRate) {
        ++refused;
        responses.push({ ErrorCode: 'ServiceUnavailableException', ErrorMessage: 'Slow down.' });
      } else {
        fs.writeSync(recordsFile, JSON.stringify({ stream: parsed.name, data: d }) + '\n');
        responses.push({ RecordId: crypto.randomBytes(32).toString('hex') });
      }
    }
    log({ status: 200, records: parsed.data.length, bytes: parsed.total, refused });
    answer(res, 200, { FailedPutCount: refused, Encrypted: false, RequestResponses: responses });
  });
});

server.listen(Number(opt.port), '127.0.0.1', () => {
  console.log(`listening on 127.0.0.1:${server.address().port}`);
});
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
