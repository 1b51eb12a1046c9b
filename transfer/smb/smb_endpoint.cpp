// The Endpoint over a pool of libsmbclient contexts: path checks, the
// conformance semantics (MakeDirectory with parents, Remove of files and empty
// directories), and the streams (one open SMB file each, holding its context).
#include "transfer/smb/smb_endpoint.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>

#include <cstdlib>
#include <utility>

#include "core/util/lease_pool.h"
#include "core/util/secret_file.h"
#include "protocols/smb/smb_client.h"
#include "transfer/smb/smb_names.h"

namespace sluice::transfer {
namespace {

using smb::SmbClient;
using smb::SmbHandle;
using SmbPool = LeasePool<SmbClient>;

constexpr size_t kDefaultIdleContexts = 4;

EntryInfo FromSmbStat(std::string name, const struct stat& st) {
  EntryInfo e;
  e.name = std::move(name);
  if (S_ISREG(st.st_mode)) {
    e.type = EntryType::kFile;
    e.size = static_cast<uint64_t>(st.st_size);
  } else if (S_ISDIR(st.st_mode)) {
    e.type = EntryType::kDirectory;
  }
  e.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  return e;
}

class SmbReadStream final : public ReadStream {
 public:
  SmbReadStream(SmbPool::Lease lease, SmbHandle handle, std::string what)
      : lease_(std::move(lease)), handle_(std::move(handle)), what_(std::move(what)) {}
  Result<size_t> Read(std::span<char> buf) override { return lease_->Read(handle_, buf, what_); }

 private:
  SmbPool::Lease lease_;  // declared first: the handle closes before the context goes back
  SmbHandle handle_;
  const std::string what_;
};

class SmbWriteStream final : public WriteStream {
 public:
  SmbWriteStream(SmbPool::Lease lease, SmbHandle handle, std::string what)
      : lease_(std::move(lease)), handle_(std::move(handle)), what_(std::move(what)) {}
  Status Write(std::string_view data) override {
    if (closed_) return Status::Internal(what_ + ": write after close");
    return lease_->Write(handle_, data, what_);
  }
  Status Close() override {
    if (closed_) return Status::Ok();
    closed_ = true;
    Status s = handle_.Close(what_);
    lease_.Return();
    return s;
  }

 private:
  SmbPool::Lease lease_;
  SmbHandle handle_;
  const std::string what_;
  bool closed_ = false;
};

class SmbEndpoint final : public Endpoint {
 public:
  SmbEndpoint(std::string url, std::unique_ptr<SmbPool> pool) : url_(std::move(url)), pool_(std::move(pool)) {}

  const std::string& url() const override { return url_; }

  EndpointCapabilities capabilities() const override {
    EndpointCapabilities c;
    c.case_insensitive = true;     // Samba's default for SMB2 clients, and Windows'
    c.mtime_precision_ns = 1'000;  // libsmbclient sets times as a timeval
    c.max_name_bytes = 255;
    return c;
  }

  Result<EntryInfo> Stat(std::string_view path) override {
    if (Status s = Check(path); !s.ok()) return s;
    Result<SmbPool::Lease> c = pool_->Get();
    if (!c.ok()) return c.status();
    Result<struct stat> st = (*c)->Stat(EncodeSmbName(path), Where(path));
    if (!st.ok()) return st.status();
    return FromSmbStat(std::string(path), *st);
  }

  Status List(std::string_view dir, const std::function<Status(const EntryInfo&)>& each) override {
    if (Status s = Check(dir); !s.ok()) return s;
    Result<SmbPool::Lease> c = pool_->Get();
    if (!c.ok()) return c.status();
    // Gathered first: `each` may call back into this endpoint.
    std::vector<EntryInfo> entries;
    Status s = (*c)->List(EncodeSmbName(dir), Where(dir), [&](std::string_view name, const struct stat& st) {
      entries.push_back(FromSmbStat(DecodeSmbName(name), st));
      return Status::Ok();
    });
    if (!s.ok()) return s;
    c->Return();
    for (const EntryInfo& e : entries) {
      if (Status r = each(e); !r.ok()) return r;
    }
    return Status::Ok();
  }

  Result<std::unique_ptr<ReadStream>> OpenRead(std::string_view path, uint64_t offset) override {
    if (Status s = Check(path); !s.ok()) return s;
    Result<SmbPool::Lease> c = pool_->Get();
    if (!c.ok()) return c.status();
    const std::string where = Where(path);
    Result<SmbHandle> h = (*c)->Open(EncodeSmbName(path), O_RDONLY, where);
    if (!h.ok()) return h.status();
    if (offset > 0) {
      if (Status s = (*c)->Seek(*h, offset, where); !s.ok()) return s;
    }
    return std::unique_ptr<ReadStream>(
        std::make_unique<SmbReadStream>(std::move(c).value(), std::move(h).value(), where));
  }

  Result<std::unique_ptr<WriteStream>> OpenWrite(std::string_view path, uint64_t offset) override {
    if (Status s = Check(path); !s.ok()) return s;
    if (path.empty()) return Status::InvalidArgument("cannot write the root itself");
    Result<SmbPool::Lease> c = pool_->Get();
    if (!c.ok()) return c.status();
    const std::string where = Where(path);
    // Read access too when resuming: the size of what is there is asked first.
    Result<SmbHandle> h = (*c)->Open(EncodeSmbName(path), offset == 0 ? O_WRONLY | O_CREAT | O_TRUNC : O_RDWR, where);
    if (!h.ok()) return h.status();
    if (offset > 0) {
      // Resume: keep the verified prefix, cut what follows it.
      Result<struct stat> st = (*c)->Fstat(*h, where);
      if (!st.ok()) return st.status();
      const auto size = static_cast<uint64_t>(st->st_size);
      if (size < offset) {
        return Status::InvalidArgument(
            fmt::format("{} has {} bytes, fewer than the {} to resume after", where, size, offset));
      }
      if (size > offset) {
        if (Status s = (*c)->Truncate(*h, offset, "truncate " + where); !s.ok()) return s;
      }
      if (Status s = (*c)->Seek(*h, offset, where); !s.ok()) return s;
    }
    return std::unique_ptr<WriteStream>(
        std::make_unique<SmbWriteStream>(std::move(c).value(), std::move(h).value(), where));
  }

  Status Rename(std::string_view from, std::string_view to) override {
    if (Status s = Check(from); !s.ok()) return s;
    if (Status s = Check(to); !s.ok()) return s;
    Result<SmbPool::Lease> c = pool_->Get();
    if (!c.ok()) return c.status();
    return (*c)->Rename(EncodeSmbName(from), EncodeSmbName(to), "rename " + Where(from) + " to " + Where(to));
  }

  Status Remove(std::string_view path) override {
    if (Status s = Check(path); !s.ok()) return s;
    if (path.empty()) return Status::InvalidArgument("cannot remove the root");
    Result<SmbPool::Lease> c = pool_->Get();
    if (!c.ok()) return c.status();
    const std::string where = Where(path);
    const std::string remote = EncodeSmbName(path);
    // The type first: libsmbclient's unlink of a directory that is not empty
    // reports success and leaves it there.
    Result<struct stat> st = (*c)->Stat(remote, where);
    if (!st.ok()) return st.status();
    if (S_ISDIR(st->st_mode)) return (*c)->Rmdir(remote, "remove directory " + where);
    return (*c)->Unlink(remote, "remove " + where);
  }

  Status MakeDirectory(std::string_view path) override {
    if (Status s = Check(path); !s.ok()) return s;
    Result<SmbPool::Lease> c = pool_->Get();
    if (!c.ok()) return c.status();
    return MakeDirectories(**c, std::string(path));
  }

  Status SetTimes(std::string_view path, int64_t mtime_ns) override {
    if (Status s = Check(path); !s.ok()) return s;
    Result<SmbPool::Lease> c = pool_->Get();
    if (!c.ok()) return c.status();
    return (*c)->SetMtime(EncodeSmbName(path), mtime_ns, "set mtime of " + Where(path));
  }

  Status SetMode(std::string_view path, uint32_t) override {
    return Status::Unsupported("SMB keeps no Unix modes: " + Where(path));
  }

  Status Symlink(std::string_view, std::string_view path) override {
    return Status::Unsupported("SMB2 symlinks are not supported: " + Where(path));
  }

 private:
  static Status Check(std::string_view path) {
    if (std::string problem = RelativePathProblem(path); !problem.empty()) return Status::InvalidArgument(problem);
    return Status::Ok();
  }
  std::string Where(std::string_view path) const { return path.empty() ? url_ : url_ + "/" + std::string(path); }

  Status MakeDirectories(SmbClient& c, const std::string& path) {
    return MakeDirectoryPath(
        path, [&](const std::string& p) { return c.Mkdir(EncodeSmbName(p), "mkdir " + Where(p)); },
        [&](const std::string& p) -> Result<bool> {
          Result<struct stat> st = c.Stat(EncodeSmbName(p), Where(p));
          if (!st.ok()) return st.status();
          return S_ISDIR(st->st_mode);
        },
        [&](const std::string& p) { return Where(p); });
  }

  const std::string url_;
  std::unique_ptr<SmbPool> pool_;
};

}  // namespace

Result<std::unique_ptr<Endpoint>> OpenSmbEndpoint(const smb::SmbUrl& url, const SmbOptions& options) {
  const std::string where = url.ToString();
  smb::SmbClientOptions co;
  co.domain = url.domain.empty() ? options.domain : url.domain;
  co.user = url.user;
  co.encrypt = options.encrypt;
  co.timeout = options.timeout;
  if (!options.password_file.empty()) {
    Result<std::string> pw = ReadSecretLine(options.password_file, "--smb-password-file");
    if (!pw.ok()) return Status::InvalidArgument(where + ": " + pw.status().message());
    co.password = std::move(pw).value();
  } else if (const char* env = options.password_env.empty() ? nullptr : std::getenv(options.password_env.c_str())) {
    co.password = env;
  }
  const size_t idle = options.connections > 0 ? static_cast<size_t>(options.connections) : kDefaultIdleContexts;
  auto pool = std::make_unique<SmbPool>([url, co] { return SmbClient::Create(url, co); }, idle,
                                        [](const SmbClient& c) { return !c.broken(); });
  // The first connection is made here: a wrong password or share fails now.
  Result<SmbPool::Lease> c = pool->Get();
  if (!c.ok()) return Status(c.status().code(), c.status().message());
  Result<struct stat> st = (*c)->Stat("", where);
  if (!st.ok()) return st.status();
  if (!S_ISDIR(st->st_mode)) return Status::NotFound(where + " is not a directory");
  c->Return();
  return std::unique_ptr<Endpoint>(std::make_unique<SmbEndpoint>(where, std::move(pool)));
}

}  // namespace sluice::transfer
