#!/usr/bin/env node
// De-aggregates Kinesis records with the reference implementation,
// aws-kinesis-agg (npm), checking each aggregate's MD5:
//   node kpl-deaggregate.js FILE
// FILE holds one Kinesis record per line, {shard, seq, key, data (base64)}
// as kinesis-client.js prints them. Prints one user record per line:
// {shard, seq, sub (null for a plain record), key, data (base64)}. Exits 1
// on the first record it cannot de-aggregate.
'use strict';

const fs = require('fs');
const agg = require('aws-kinesis-agg');

const lines = fs.readFileSync(process.argv[2], 'utf8').split('\n').filter((l) => l);
for (const line of lines) {
  const r = JSON.parse(line);
  agg.deaggregateSync({ partitionKey: r.key, sequenceNumber: r.seq, data: r.data }, true, (err, users) => {
    if (err) {
      console.error(`record ${r.seq} of ${r.shard}: ${err.message || err}`);
      process.exit(1);
    }
    for (const u of users) {
      process.stdout.write(JSON.stringify({
        shard: r.shard, seq: r.seq, sub: u.subSequenceNumber === undefined ? null : u.subSequenceNumber,
        key: u.partitionKey, data: u.data,
      }) + '\n');
    }
  });
}
