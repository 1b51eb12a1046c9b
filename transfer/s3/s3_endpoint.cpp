#include "transfer/s3/s3_endpoint.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/util/utf8.h"
#include "protocols/aws/credentials.h"
#include "protocols/aws/s3_client.h"
#include "transfer/planner.h"
#include "transfer/rel_path.h"
#include "transfer/s3/s3_resume.h"
#include "transfer/s3/s3_streams.h"

namespace sluice::transfer {
namespace {

// S3's CopyObject limit; larger objects need UploadPartCopy.
constexpr uint64_t kMaxCopyBytes = 5ull << 30;

std::string HexOfBase64(std::string_view b64) {
  std::string raw;
  if (!DecodeBase64(b64, raw)) return "";
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  for (unsigned char c : raw) {
    hex += kDigits[c >> 4];
    hex += kDigits[c & 15];
  }
  return hex;
}

class S3Endpoint final : public Endpoint {
 public:
  S3Endpoint(S3Url url, std::shared_ptr<aws::S3Client> client, const S3Options& options)
      : url_(ToString(url)), root_(std::move(url.prefix)), client_(std::move(client)), options_(options) {}

  const std::string& url() const override { return url_; }

  EndpointCapabilities capabilities() const override {
    EndpointCapabilities c;
    c.mtime_precision_ns = 1'000'000'000;
    c.max_name_bytes = options_.max_name_bytes;
    c.settable_times = false;
    c.atomic_writes = true;
    c.resumable_uploads = true;
    c.implicit_directories = true;
    c.versioned_reads = true;
    return c;
  }

  Result<EntryInfo> Stat(std::string_view path) override {
    if (Status p = Check(path); !p.ok()) return p;
    if (path.empty()) return DirEntry("");
    Result<aws::S3ObjectInfo> head = client_->Head(Key(path));
    if (head.ok()) return FileEntry(std::string(path), head.value());
    if (head.status().code() != ErrorCode::kNotFound) return head.status();
    Result<bool> dir = HasAnythingUnder(path);
    if (!dir.ok()) return dir.status();
    if (!dir.value()) return NotFound(path);
    return DirEntry(std::string(path));
  }

  Status List(std::string_view dir, const std::function<Status(const EntryInfo&)>& each) override {
    if (Status p = Check(dir); !p.ok()) return p;
    const std::string prefix = DirPrefix(dir);
    bool found = dir.empty();
    std::string token;
    do {
      Result<aws::S3ListPage> page = client_->List(prefix, "/", token, options_.list_page_keys);
      if (!page.ok()) return page.status();
      for (const aws::S3ObjectInfo& o : page.value().objects) {
        found = true;
        if (o.key == prefix) continue;  // the directory's own marker
        EntryInfo e = FileEntry(o.key.substr(prefix.size()), o);
        if (Status s = each(e); !s.ok()) return s;
      }
      for (const std::string& p : page.value().common_prefixes) {
        found = true;
        std::string name = p.substr(prefix.size());
        if (!name.empty() && name.back() == '/') name.pop_back();
        if (name.empty()) continue;  // a key with "//": not a name this tree can hold
        if (Status s = each(DirEntry(std::move(name))); !s.ok()) return s;
      }
      token = page.value().next_token;
    } while (!token.empty());
    if (!found) return NotFound(dir);
    return Status::Ok();
  }

  Result<std::unique_ptr<ReadStream>> OpenRead(std::string_view path, uint64_t offset) override {
    if (Status p = Check(path); !p.ok()) return p;
    // The first window's GET also says the object's size and ETag: no HEAD.
    Result<aws::S3Range> first = client_->GetRangeWithInfo(Key(path), offset, options_.read_window_bytes);
    if (!first.ok()) return first.status().code() == ErrorCode::kNotFound ? NotFound(path) : first.status();
    uint64_t size = first.value().object_size;
    std::string etag = first.value().etag;
    if (first.value().data.empty()) {
      // At or past the end (or empty): the answer carried no size; ask.
      Result<aws::S3ObjectInfo> head = client_->Head(Key(path));
      if (!head.ok()) return head.status().code() == ErrorCode::kNotFound ? NotFound(path) : head.status();
      size = head.value().size;
      etag = head.value().etag;
    }
    return std::unique_ptr<ReadStream>(std::make_unique<S3ReadStream>(client_, Key(path), std::move(etag), size, offset,
                                                                      std::move(first.value().data),
                                                                      options_.read_window_bytes, options_.read_depth));
  }

  Result<std::unique_ptr<WriteStream>> OpenUpload(std::string_view path, const EntryInfo& source,
                                                  bool resume) override {
    if (Status p = Check(path); !p.ok()) return p;
    if (path.empty()) return Status::InvalidArgument(url_ + ": the root is a directory, not a file");
    const std::string record = JoinPath(ParentOf(path), PartialName(NameOf(path), options_.max_name_bytes));
    return OpenS3ResumableUpload(client_, Key(path), Key(record), options_.part_bytes, source, resume);
  }

  Result<std::unique_ptr<WriteStream>> OpenWrite(std::string_view path, uint64_t offset) override {
    if (Status p = Check(path); !p.ok()) return p;
    if (path.empty()) return Status::InvalidArgument(url_ + ": the root is a directory, not a file");
    auto out = std::make_unique<S3WriteStream>(client_, Key(path), std::max<size_t>(options_.part_bytes, 5u << 20));
    if (offset > 0) {
      // An object cannot be appended to: the kept prefix is sent again.
      Result<std::unique_ptr<ReadStream>> in = OpenRead(path, 0);
      if (!in.ok()) return in.status();
      std::vector<char> buf(std::min<uint64_t>(offset, options_.read_window_bytes));
      for (uint64_t left = offset; left > 0;) {
        Result<size_t> n = in.value()->Read(std::span<char>(buf.data(), std::min<uint64_t>(buf.size(), left)));
        if (!n.ok()) return n.status();
        if (n.value() == 0) {
          return Status::InvalidArgument(fmt::format("{}: shorter than the {} bytes to keep", Describe(path), offset));
        }
        if (Status w = out->Write(std::string_view(buf.data(), n.value())); !w.ok()) return w;
        left -= n.value();
      }
    }
    return std::unique_ptr<WriteStream>(std::move(out));
  }

  Status Rename(std::string_view from, std::string_view to) override {
    if (Status p = Check(from); !p.ok()) return p;
    if (Status p = Check(to); !p.ok()) return p;
    Result<EntryInfo> st = Stat(from);
    if (!st.ok()) return st.status();
    if (st.value().type != EntryType::kFile) {
      return Status::Unsupported(
          fmt::format("{}: renaming a directory on S3 means copying every object under it", Describe(from)));
    }
    if (st.value().size > kMaxCopyBytes) {
      return Status::Unsupported(fmt::format("{}: S3 copies objects over 5 GiB only part by part", Describe(from)));
    }
    if (Status c = client_->Copy(Key(from), Key(to)); !c.ok()) return c;
    return client_->Delete(Key(from));
  }

  Status Remove(std::string_view path) override {
    if (Status p = Check(path); !p.ok()) return p;
    if (path.empty()) return Status::InvalidArgument(url_ + ": the root cannot be removed");
    Result<aws::S3ObjectInfo> head = client_->Head(Key(path));
    if (head.ok()) return client_->Delete(Key(path));
    if (head.status().code() != ErrorCode::kNotFound) return head.status();
    const std::string prefix = DirPrefix(path);
    Result<aws::S3ListPage> page = client_->List(prefix, "", "", 2);
    if (!page.ok()) return page.status();
    const auto& objects = page.value().objects;
    if (objects.empty()) return NotFound(path);
    if (objects.size() > 1 || objects.front().key != prefix) {
      return Status::Io(fmt::format("{}: directory not empty", Describe(path)));
    }
    return client_->Delete(prefix);
  }

  Status MakeDirectory(std::string_view path) override {
    if (Status p = Check(path); !p.ok()) return p;
    if (path.empty()) return Status::Ok();
    Result<aws::S3ObjectInfo> head = client_->Head(Key(path));
    if (head.ok()) return Status::InvalidArgument(fmt::format("{}: a file is there", Describe(path)));
    if (head.status().code() != ErrorCode::kNotFound) return head.status();
    Result<bool> exists = HasAnythingUnder(path);
    if (!exists.ok()) return exists.status();
    if (exists.value()) return Status::Ok();
    return client_->Put(DirPrefix(path), "");
  }

  Status SetTimes(std::string_view path, int64_t) override {
    return Status::Unsupported(
        fmt::format("{}: S3 keeps the time an object was stored; it cannot be set", Describe(path)));
  }
  Status SetMode(std::string_view path, uint32_t) override {
    return Status::Unsupported(fmt::format("{}: S3 objects have no permission bits", Describe(path)));
  }
  Status Symlink(std::string_view, std::string_view path) override {
    return Status::Unsupported(fmt::format("{}: S3 has no symlinks", Describe(path)));
  }

  Result<std::string> ServerHash(std::string_view path, std::string_view algorithm) override {
    if (algorithm != "crc64nvme") {
      return Status::Unsupported(fmt::format("S3 keeps no {} of an object", algorithm));
    }
    if (Status p = Check(path); !p.ok()) return p;
    Result<aws::S3ObjectInfo> head = client_->Head(Key(path));
    if (!head.ok()) return head.status();
    std::string hex = HexOfBase64(head.value().crc64nvme);
    if (hex.size() != 16) {
      return Status::Unsupported(fmt::format("{}: the store returned no full-object CRC-64/NVME", Describe(path)));
    }
    return hex;
  }

 private:
  Status Check(std::string_view path) const {
    if (std::string problem = RelativePathProblem(path); !problem.empty()) {
      return Status::InvalidArgument(url_ + ": " + problem);
    }
    return Status::Ok();
  }

  std::string Key(std::string_view path) const { return root_.empty() ? std::string(path) : JoinPath(root_, path); }
  std::string DirPrefix(std::string_view path) const {
    if (path.empty()) return root_.empty() ? std::string() : root_ + "/";
    return Key(path) + "/";
  }
  std::string Describe(std::string_view path) const { return JoinPath(url_, path); }
  Status NotFound(std::string_view path) const { return Status::NotFound(Describe(path) + ": not found"); }

  Result<bool> HasAnythingUnder(std::string_view path) {
    Result<aws::S3ListPage> page = client_->List(DirPrefix(path), "", "", 1);
    if (!page.ok()) return page.status();
    return !page.value().objects.empty() || !page.value().common_prefixes.empty();
  }

  // S3 has no directories: one is the common prefix of keys, without mtime or mode.
  static EntryInfo DirEntry(std::string name) {
    return EntryInfo{.name = std::move(name),
                     .type = EntryType::kDirectory,
                     .size = 0,
                     .mtime_ns = 0,
                     .mode = std::nullopt,
                     .link_target = "",
                     .uid = std::nullopt,
                     .gid = std::nullopt};
  }

  static EntryInfo FileEntry(std::string name, const aws::S3ObjectInfo& o) {
    return EntryInfo{.name = std::move(name),
                     .type = EntryType::kFile,
                     .size = o.size,
                     .mtime_ns = o.mtime_ns,
                     .mode = std::nullopt,
                     .link_target = "",
                     .uid = std::nullopt,
                     .gid = std::nullopt};
  }

  const std::string url_;
  const std::string root_;
  const std::shared_ptr<aws::S3Client> client_;
  const S3Options options_;
};

}  // namespace

Result<std::unique_ptr<Endpoint>> OpenS3Endpoint(const S3Url& url, const S3Options& options) {
  aws::CredentialSources sources;
  sources.profile = options.profile;
  sources.environment = aws::EnvironmentMap();
  aws::S3Config config;
  config.bucket = url.bucket;
  config.region = options.region;
  config.endpoint = options.endpoint;
  config.path_style = options.path_style;
  aws::ApplyEnvironmentDefaults(config, sources.environment);
  std::shared_ptr<aws::CredentialsProvider> credentials = options.credentials;
  if (credentials == nullptr) {
    // The whole chain (an EC2 instance's role included), asked now so that a
    // missing credential fails here, naming the URL, before any planning.
    credentials = aws::DefaultCredentialsChain(sources);
    if (Result<aws::SigV4Credentials> creds = credentials->Get(); !creds.ok()) {
      return Status(creds.status().code(), ToString(url) + ": " + creds.status().message());
    }
  }
  auto client = std::make_shared<aws::S3Client>(config, std::move(credentials));
  // One request that needs the bucket and the credentials.
  const std::string probe = url.prefix.empty() ? "" : url.prefix + "/";
  if (Result<aws::S3ListPage> page = client->List(probe, "/", "", 1); !page.ok()) {
    return Status(page.status().code(), ToString(url) + ": " + page.status().message());
  }
  return std::unique_ptr<Endpoint>(std::make_unique<S3Endpoint>(url, std::move(client), options));
}

}  // namespace sluice::transfer
