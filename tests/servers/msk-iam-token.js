#!/usr/bin/env node
// Builds the Amazon MSK IAM OAUTHBEARER token the way AWS's signer libraries
// do (aws-msk-iam-sasl-signer-js: the AWS SDK's SigV4 presigner on
// GET https://kafka.<region>.amazonaws.com/?Action=kafka-cluster:Connect,
// service kafka-cluster, 900 s, User-Agent appended after signing,
// base64url without padding), for a test to compare with Sluice's:
//   node msk-iam-token.js ACCESS_KEY SECRET SESSION_TOKEN|- REGION EPOCH_SECONDS USER_AGENT
// Prints the token.
'use strict';

const crypto = require('crypto');
const { SignatureV4 } = require('@smithy/signature-v4');

// The Hash interface the signer takes, over Node's crypto.
class Sha256 {
  constructor(secret) {
    this.h = secret ? crypto.createHmac('sha256', secret) : crypto.createHash('sha256');
  }
  update(data) { this.h.update(data); }
  async digest() { return new Uint8Array(this.h.digest()); }
}

async function main() {
  const [accessKeyId, secretAccessKey, token, region, epoch, userAgent] = process.argv.slice(2);
  const credentials = { accessKeyId, secretAccessKey };
  if (token !== '-') credentials.sessionToken = token;
  const signer = new SignatureV4({ credentials, region, service: 'kafka-cluster', sha256: Sha256 });
  const host = `kafka.${region}.amazonaws.com`;
  const presigned = await signer.presign({
    method: 'GET', protocol: 'https:', hostname: host, path: '/',
    headers: { host }, query: { Action: 'kafka-cluster:Connect' },
  }, { expiresIn: 900, signingDate: new Date(Number(epoch) * 1000) });
  const q = Object.entries(presigned.query).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
  q.push(`User-Agent=${encodeURIComponent(userAgent)}`);
  const url = `https://${host}/?${q.join('&')}`;
  process.stdout.write(Buffer.from(url).toString('base64url') + '\n');
}

main().catch((e) => { console.error(e.message || e); process.exit(1); });
