#!/usr/bin/env node
// Runs s3rver (same command line as its own bin/s3rver.js) with one fix.
//
// s3rver 3.7.1's ListObjects with a delimiter prunes its directory walk at
// the first delimiter below the prefix before it has seen the keys there, so
// a common prefix shows only when a key sits directly inside it: with the one
// key "a/b/c/leaf", prefix "a/" and delimiter "/" list nothing, where S3
// answers CommonPrefixes "a/b/". Here the walk goes without a delimiter and
// the keys are grouped afterwards, as S3 groups them.
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

require('s3rver/bin/s3rver.js');
