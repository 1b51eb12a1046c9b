#!/usr/bin/env node
// Starts kinesalite (an in-memory Kinesis Data Streams API) on 127.0.0.1 only:
// its own command line binds every interface. Streams are created at once
// (createStreamMs 0). Prints "kinesalite listening on 127.0.0.1:PORT" when
// ready; the port is the one given, or a free one for 0.
//   node kinesalite.js PORT [SHARD_LIMIT]
'use strict';

const kinesalite = require('kinesalite');

const port = Number(process.argv[2] || 0);
const shardLimit = Number(process.argv[3] || 50);
const server = kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit });
server.listen(port, '127.0.0.1', (err) => {
  if (err) {
    console.error(err);
    process.exit(1);
  }
  console.log(`kinesalite listening on 127.0.0.1:${server.address().port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
