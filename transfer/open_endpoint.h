// Endpoints by URL, as the command line names them: "/local/path" (or a
// relative local path), "sftp://user@host:port/path",
// "smb://[DOMAIN;]user@host:port/share/path",
// "nfs://host/export/path?version=4" and "s3://bucket/prefix".
//
// A source may name a single file: it is opened as its parent directory with
// `only` set to the file's name. A destination that does not exist yet is
// opened as its nearest existing ancestor viewed through the missing part
// (subtree_endpoint.h), and created only when the transfer runs.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"
#include "transfer/endpoint.h"
#include "transfer/nfs/nfs_endpoint.h"
#include "transfer/s3/s3_endpoint.h"
#include "transfer/sftp/sftp_endpoint.h"
#include "transfer/smb/smb_endpoint.h"

namespace sluice::transfer {

struct EndpointOptions {
  SftpOptions sftp;
  SmbOptions smb;
  NfsOptions nfs;
  S3Options s3;
};

struct OpenedSource {
  std::unique_ptr<Endpoint> endpoint;
  std::string only;  // the single file SRC named, or "" for a directory
};

// True for what OpenSource/OpenDestination accept, so usage errors are told
// apart from endpoints that cannot be reached.
std::string UrlProblem(std::string_view url);

Result<OpenedSource> OpenSource(std::string_view url, const EndpointOptions& options);
Result<std::unique_ptr<Endpoint>> OpenDestination(std::string_view url, const EndpointOptions& options);

}  // namespace sluice::transfer
