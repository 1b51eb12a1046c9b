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
'use strict';

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

require('s3rver/bin/s3rver.js');
