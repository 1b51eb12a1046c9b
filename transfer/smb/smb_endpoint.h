// The SMB endpoint: a tree under smb://host/share/path, reached with
// libsmbclient (protocols/smb/), SMB2 and SMB3 only, without mounting.
// Passes the endpoint conformance suite against a real Samba smbd.
//
// What SMB is, and the capabilities say: names are case-insensitive (the
// planner's pre-flight check refuses a tree with "A" and "a" going there), no
// Unix modes, no symlinks, mtime kept to the microsecond. Names with
// characters SMB refuses (a newline, ':') are stored as look-alikes and read
// back as they were (smb_names.h). Two limits of
// libsmbclient's API, documented rather than hidden:
//  - Rename over an existing file is an unlink followed by a rename (the API
//    has no replace-if-exists): a crash between the two leaves the complete
//    partial file and no final name, which the next run's resume verifies
//    and renames.
//  - There is no flush call: WriteStream::Close() is the SMB2 CLOSE, and the
//    data is as durable as the server makes a closed file ("strict sync").
//
// Thread-safe as every Endpoint: a pool of libsmbclient contexts, each lent
// to one thread at a time (a stream keeps its context until it is
// destroyed); a context whose connection broke is dropped, so the next call
// connects again.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "core/status.h"
#include "protocols/smb/smb_url.h"
#include "transfer/endpoint.h"

namespace sluice::transfer {

struct SmbOptions {
  // The password: from this file (its first line), else from the environment
  // variable. Never in the URL.
  std::string password_file;
  std::string password_env = "SLUICE_SMB_PASSWORD";
  // The domain or workgroup when the URL names none (smb://DOMAIN;user@...).
  std::string domain;
  // Require SMB3 encryption (the connection fails if the server cannot).
  bool encrypt = false;
  // Contexts (connections) kept open when idle (0: 4); more are made while
  // more threads need one at once.
  int connections = 0;
  std::chrono::milliseconds timeout{30000};
};

// Connects once (authenticating, so a wrong password fails here, clearly)
// and returns the endpoint rooted at url.path, which must exist and be a
// directory (kNotFound otherwise). Errors name the URL (without secrets).
Result<std::unique_ptr<Endpoint>> OpenSmbEndpoint(const smb::SmbUrl& url, const SmbOptions& options);

}  // namespace sluice::transfer
