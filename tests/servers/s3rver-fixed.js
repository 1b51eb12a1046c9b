#!/usr/bin/env node
// Runs s3rver (same command line as its own bin/s3rver.js) with two fixes.
//
// 1. s3rver 3.7.1's ListObjects with a delimiter prunes its directory walk at
// the first delimiter below the prefix before it has seen the keys there, so
// a common prefix shows only when a key sits directly inside it: with the one
// key "a/b/c/leaf", prefix "a/" and delimiter "/" list nothing, where S3
// answers CommonPrefixes "a/b/". Here the walk goes without a delimiter and
// the keys are grouped afterwards, as S3 groups them.
//
// 2. A ranged GET of an empty object answers 206 "bytes 0-0/0" with a
// Content-Length of 1 and no body, so the client waits for a byte that never
// comes. S3 refuses it (416 InvalidRange: no byte of an empty object can be
// asked for); so does this.
//
// 3. Multipart uploads as S3 keeps them, for resumable uploads: ListParts
// (GET ?uploadId, paged by max-parts and part-number-marker) and
// AbortMultipartUpload (DELETE ?uploadId) are added (s3rver answers both
// MethodNotAllowed); UploadPart, ListParts, Complete and Abort of an upload
// that does not exist answer 404 NoSuchUpload (s3rver created a part of an
// unknown upload as a new one, and completing it failed with a 500). Each
// stored part is logged to stderr as "s3rver-fixed: stored part N of ID,
// SIZE bytes" so a test can count what a client sent.
'use strict';

const fs = require('fs');
const path = require('path');
const router = require('s3rver/lib/routes');
const S3Error = require('s3rver/lib/models/error');

const FilesystemStore = require('s3rver/lib/stores/filesystem');

const listObjects = FilesystemStore.prototype.listObjects;
FilesystemStore.prototype.listObjects = async function (bucket, options) {
  const { delimiter = '', prefix = '', maxKeys = Infinity } = options;
  if (!delimiter) return listObjects.call(this, bucket, options);
  const all = await listObjects.call(this, bucket, { ...options, delimiter: '', maxKeys: Infinity });
  const objects = [];
  const commonPrefixes = new Set();
  let isTruncated = false;
  for (const object of all.objects) {
    const idx = object.key.slice(prefix.length).indexOf(delimiter);
    if (idx !== -1) {
      commonPrefixes.add(object.key.slice(0, prefix.length + idx + delimiter.length));
    } else if (objects.length < maxKeys) {
      objects.push(object);
    } else {
      isTruncated = true;
      break;
    }
  }
  return { objects, commonPrefixes: [...commonPrefixes].sort(), isTruncated };
};

const getObject = FilesystemStore.prototype.getObject;
FilesystemStore.prototype.getObject = async function (bucket, key, options) {
  const object = await getObject.call(this, bucket, key, options);
  const ranged = options && (options.start !== undefined || options.end);
  if (object && ranged && object.size === 0) {
    if (object.content) object.content.destroy();
    object.content = null;  // the controller answers InvalidRange for a range without content
  }
  return object;
};

function uploadDir(store, bucket, uploadId) {
  if (!/^[0-9a-f]+$/.test(uploadId || '')) return null;  // s3rver's ids are hex: no path tricks
  return path.join(store.getResourcePath(bucket, undefined, 'uploads'), uploadId);
}

function requireUpload(store, bucket, uploadId) {
  const dir = uploadDir(store, bucket, uploadId);
  if (!dir || !fs.existsSync(path.join(dir, 'key'))) {
    throw new S3Error(
      'NoSuchUpload',
      'The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
      { UploadId: uploadId },
    );
  }
  return dir;
}

// The parts of an upload in number order: a part counts once its MD5 file is
// written (s3rver writes it after the part's bytes), so a part whose upload
// was cut off is not listed.
function storedParts(dir) {
  const parts = [];
  for (const name of fs.readdirSync(dir)) {
    if (!/^[0-9]+$/.test(name) || !fs.existsSync(path.join(dir, name + '.md5'))) continue;
    const stat = fs.statSync(path.join(dir, name));
    parts.push({
      PartNumber: Number(name),
      LastModified: stat.mtime.toISOString(),
      ETag: JSON.stringify(fs.readFileSync(path.join(dir, name + '.md5')).toString()),
      Size: stat.size,
    });
  }
  return parts.sort((a, b) => a.PartNumber - b.PartNumber);
}

const putPart = FilesystemStore.prototype.putPart;
FilesystemStore.prototype.putPart = async function (bucket, uploadId, partNumber, content) {
  requireUpload(this, bucket, uploadId);
  const result = await putPart.call(this, bucket, uploadId, partNumber, content);
  console.error(`s3rver-fixed: stored part ${partNumber} of ${uploadId}, ${result.size} bytes`);
  return result;
};

const putObjectMultipart = FilesystemStore.prototype.putObjectMultipart;
FilesystemStore.prototype.putObjectMultipart = async function (bucket, uploadId, parts) {
  requireUpload(this, bucket, uploadId);
  return putObjectMultipart.call(this, bucket, uploadId, parts);
};

async function listParts(ctx) {
  const dir = requireUpload(ctx.store, ctx.params.bucket, ctx.query.uploadId);
  const maxParts = Math.min(Number(ctx.query['max-parts'] || 1000), 1000);
  const marker = Number(ctx.query['part-number-marker'] || 0);
  const after = storedParts(dir).filter(p => p.PartNumber > marker);
  const page = after.slice(0, maxParts);
  const truncated = after.length > page.length;
  ctx.body = {
    ListPartsResult: {
      '@': { xmlns: 'http://s3.amazonaws.com/doc/2006-03-01/' },
      Bucket: ctx.params.bucket,
      Key: ctx.params.key,
      UploadId: ctx.query.uploadId,
      PartNumberMarker: marker,
      NextPartNumberMarker: page.length ? page[page.length - 1].PartNumber : marker,
      MaxParts: maxParts,
      IsTruncated: truncated,
      Part: page,
    },
  };
}

async function abortUpload(ctx) {
  const dir = requireUpload(ctx.store, ctx.params.bucket, ctx.query.uploadId);
  fs.rmSync(dir, { recursive: true, force: true });
  ctx.status = 204;
}

// Ahead of s3rver's own object routes, which would refuse these two.
const before = router.stack.length;
router.get('/:bucket/:key+', async (ctx, next) => {
  if (!('uploadId' in ctx.query)) return next();
  await ctx.store.getBucket(ctx.params.bucket).then(b => {
    if (!b) throw new S3Error('NoSuchBucket', 'The specified bucket does not exist', { BucketName: ctx.params.bucket });
  });
  return listParts(ctx);
});
router.delete('/:bucket/:key+', async (ctx, next) => {
  if (!('uploadId' in ctx.query)) return next();
  return abortUpload(ctx);
});
router.stack.unshift(...router.stack.splice(before));

require('s3rver/bin/s3rver.js');
