#!/usr/bin/env node
// An independent S3 client for the tests, on the AWS SDK for JavaScript v3:
//   node s3-client.js ENDPOINT list BUCKET [PREFIX]      prints every object under PREFIX, one JSON
//                                                        object per line: {key, size, etag}
//   node s3-client.js ENDPOINT get BUCKET PREFIX DIR     downloads every object under PREFIX to
//                                                        DIR/<key without PREFIX>, and prints each as list does
//                                                        (a zero-byte KEY/ directory marker becomes a directory)
// Lists with ListObjectsV2, page by page; path-style addressing. Credentials
// and region come from the environment (AWS_ACCESS_KEY_ID, ..., AWS_REGION).
'use strict';

const fs = require('fs');
const path = require('path');
const { S3Client, ListObjectsV2Command, GetObjectCommand } = require('@aws-sdk/client-s3');

async function* listAll(client, bucket, prefix) {
  let token;
  do {
    const page = await client.send(new ListObjectsV2Command({
      Bucket: bucket, Prefix: prefix || undefined, ContinuationToken: token, MaxKeys: 1000,
    }));
    for (const o of page.Contents || []) yield o;
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}

async function main() {
  const [endpoint, command, bucket, prefix = '', dir] = process.argv.slice(2);
  const client = new S3Client({
    endpoint, region: process.env.AWS_REGION || 'us-east-1', forcePathStyle: true,
  });
  if (command !== 'list' && command !== 'get') throw new Error(`unknown command ${command}`);
  for await (const o of listAll(client, bucket, prefix)) {
    if (command === 'get') {
      const rest = o.Key.slice(prefix.length).replace(/^\/+/, '');
      if (rest === '' || rest.split('/').includes('..')) throw new Error(`cannot store key ${o.Key} under ${dir}`);
      const target = path.join(dir, rest);
      if (rest.endsWith('/') && o.Size === 0) {
        // A directory marker (S3 console's "Create folder"): a directory here.
        fs.mkdirSync(target, { recursive: true });
        process.stdout.write(JSON.stringify({ key: o.Key, size: o.Size, etag: o.ETag }) + '\n');
        continue;
      }
      fs.mkdirSync(path.dirname(target), { recursive: true });
      const got = await client.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key }));
      const bytes = Buffer.from(await got.Body.transformToByteArray());
      if (bytes.length !== o.Size) throw new Error(`${o.Key}: got ${bytes.length} bytes, listed ${o.Size}`);
      fs.writeFileSync(target, bytes);
    }
    process.stdout.write(JSON.stringify({ key: o.Key, size: o.Size, etag: o.ETag }) + '\n');
  }
}

main().catch((e) => {
  console.error(e.stack || String(e));
  process.exit(1);
});
