#!/usr/bin/env node
// The peer for bench/agent_aws.sh: the AWS SDK for JavaScript v3 putting the
// lines of a file into a stream with PutRecords, 500 records or 5 MiB per
// request, one request at a time (as the agent's sink sends), random
// partition keys, refused entries resent. Prints {records, requests, bytes}.
//   node kinesis-put.js ENDPOINT STREAM FILE
'use strict';

const fs = require('fs');
const readline = require('readline');
const crypto = require('crypto');
const path = require('path');
const os = require('os');
const serversModules = path.join(__dirname, '../../tests/servers/node_modules');
const { KinesisClient, PutRecordsCommand } = require(path.join(serversModules, '@aws-sdk/client-kinesis'));
const { NodeHttpHandler } = require(path.join(serversModules, '@smithy/node-http-handler'));

async function main() {
  const [endpoint, stream, file] = process.argv.slice(2);
  const host = os.hostname();
  const client = new KinesisClient({ endpoint, region: process.env.AWS_REGION || 'us-east-1',
    requestHandler: new NodeHttpHandler() });
  let records = 0;
  let requests = 0;
  let bytes = 0;
  let batch = [];
  let batchBytes = 0;
  const flush = async () => {
    let pending = batch;
    while (pending.length > 0) {
      ++requests;
      const r = await client.send(new PutRecordsCommand({ StreamName: stream, Records: pending }));
      pending = pending.filter((_, i) => r.Records[i].ErrorCode);
    }
    batch = [];
    batchBytes = 0;
  };
  const lines = readline.createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity });
  for await (const line of lines) {
    const key = crypto.randomBytes(8).toString('hex');
    // The same record the agent sends for the line (agent/record/json_record.cpp).
    const data = Buffer.from(JSON.stringify({ ts: new Date().toISOString(), source: 'app', host, path: file, msg: line }));
    const size = data.length + key.length;
    if (batch.length === 500 || batchBytes + size > 5 * 1024 * 1024) await flush();
    batch.push({ Data: data, PartitionKey: key });
    batchBytes += size;
    bytes += size;
    ++records;
  }
  await flush();
  console.log(JSON.stringify({ records, requests, bytes }));
}

main().catch((e) => {
  console.error(e.stack || String(e));
  process.exit(1);
});
