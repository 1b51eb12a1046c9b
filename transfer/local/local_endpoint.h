// The local file system as an Endpoint: a directory tree on a mounted disk
// (ext4, XFS, an NFS or SMB mount). Operations are relative to a directory
// descriptor of the root opened once (openat/renameat/...), so a root that is
// renamed or replaced meanwhile is never written through a stale path, and
// symlinks inside the tree are never followed on the way to an entry
// (O_NOFOLLOW per component is not needed: paths are checked to be relative
// and ".."-free, and the final component is opened with O_NOFOLLOW).
// Writes are fsynced on Close; a rename is followed by an fsync of the
// directory so the new name survives a power cut.
// Thread-safe: every call is independent system calls on the shared root fd.
#pragma once

#include <filesystem>
#include <memory>

#include "transfer/endpoint.h"

namespace sluice::transfer {

// Opens `root` (which must be an existing directory). kNotFound / kPermissionDenied otherwise.
Result<std::unique_ptr<Endpoint>> OpenLocalEndpoint(const std::filesystem::path& root);

}  // namespace sluice::transfer
