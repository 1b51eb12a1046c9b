#!/usr/bin/env node
// An independent Kinesis client for the tests, on the AWS SDK for JavaScript v3:
//   node kinesis-client.js ENDPOINT create STREAM SHARDS   creates the stream and waits until it is ACTIVE
//   node kinesis-client.js ENDPOINT read STREAM            prints every record of every shard, one JSON
//                                                          object per line: {shard, seq, key, data (base64)}
// Reads each shard from TRIM_HORIZON until a GetRecords call returns no record
// (both emulators answer MillisBehindLatest 0 on every page, so that cannot
// tell a full page of 10,000 from the last one). Credentials and region come
// from the environment (AWS_ACCESS_KEY_ID, ..., AWS_REGION).
'use strict';

const {
  KinesisClient, CreateStreamCommand, DescribeStreamSummaryCommand, ListShardsCommand,
  GetShardIteratorCommand, GetRecordsCommand,
} = require('@aws-sdk/client-kinesis');
// HTTP/1.1: the SDK's default for Kinesis is HTTP/2, which kinesalite does not speak.
const { NodeHttpHandler } = require('@smithy/node-http-handler');

async function main() {
  const [endpoint, command, stream, shards] = process.argv.slice(2);
  const client = new KinesisClient({
    endpoint, region: process.env.AWS_REGION || 'us-east-1', requestHandler: new NodeHttpHandler(),
  });
  if (command === 'create') {
    await client.send(new CreateStreamCommand({ StreamName: stream, ShardCount: Number(shards) }));
    for (;;) {
      const d = await client.send(new DescribeStreamSummaryCommand({ StreamName: stream }));
      if (d.StreamDescriptionSummary.StreamStatus === 'ACTIVE') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    return;
  }
  if (command !== 'read') throw new Error(`unknown command ${command}`);
  const listed = await client.send(new ListShardsCommand({ StreamName: stream }));
  for (const shard of listed.Shards) {
    let it = (await client.send(new GetShardIteratorCommand({
      StreamName: stream, ShardId: shard.ShardId, ShardIteratorType: 'TRIM_HORIZON',
    }))).ShardIterator;
    while (it) {
      const got = await client.send(new GetRecordsCommand({ ShardIterator: it, Limit: 10000 }));
      for (const r of got.Records) {
        process.stdout.write(JSON.stringify({
          shard: shard.ShardId, seq: r.SequenceNumber, key: r.PartitionKey,
          data: Buffer.from(r.Data).toString('base64'),
        }) + '\n');
      }
      if (got.Records.length === 0) break;
      it = got.NextShardIterator;
    }
  }
}

main().catch((e) => {
  console.error(e.stack || String(e));
  process.exit(1);
});
