// The NFS endpoint: a tree under nfs://host/export/path, reached with libnfs
// (protocols/nfs/) in user space: no mount, no root, no kernel client.
// NFSv4 is what the tests run (against nfs-ganesha); NFSv3 works through the
// same calls where the server offers it (see the README for why CI does not
// start an NFSv3 server).
//
// Capabilities: Unix modes and symlinks, mtime to the microsecond (libnfs
// sets times as a timeval), case-sensitive names. Rename is NFS RENAME, which
// replaces the target atomically; WriteStream::Close() is COMMIT (the data
// is on the server's stable storage) and CLOSE. Metadata operations are
// synchronous on an NFS server, so Flush() has nothing to do. Owners (uid,
// gid) are not carried: the Endpoint interface has no owner yet.
//
// Thread-safe as every Endpoint: a pool of libnfs contexts, each lent to one
// thread at a time (a stream keeps its context until it is destroyed); a
// context whose connection broke is dropped, so the next call connects again.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "core/status.h"
#include "protocols/nfs/nfs_url.h"
#include "transfer/endpoint.h"

namespace sluice::transfer {

struct NfsOptions {
  // Contexts (connections) kept open when idle (0: 4); more are made while
  // more threads need one at once.
  int connections = 0;
  // An RPC unanswered this long is a lost connection (kUnavailable).
  std::chrono::milliseconds timeout{30000};
};

// Connects and mounts once (so an unreachable server or a missing path fails
// here) and returns the endpoint rooted at url.path, which must be a
// directory (kNotFound otherwise).
Result<std::unique_ptr<Endpoint>> OpenNfsEndpoint(const nfs::NfsUrl& url, const NfsOptions& options);

}  // namespace sluice::transfer
