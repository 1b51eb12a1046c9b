#include "transfer/subtree_endpoint.h"

namespace sluice::transfer {
namespace {

class SubtreeEndpoint final : public Endpoint {
 public:
  SubtreeEndpoint(std::unique_ptr<Endpoint> base, std::string prefix)
      : base_(std::move(base)), prefix_(std::move(prefix)), url_(base_->url() + "/" + prefix_) {}

  const std::string& url() const override { return url_; }
  EndpointCapabilities capabilities() const override { return base_->capabilities(); }

  Result<EntryInfo> Stat(std::string_view path) override {
    if (Status s = Check(path); !s.ok()) return s;
    return base_->Stat(Map(path));
  }
  Status List(std::string_view dir, const std::function<Status(const EntryInfo&)>& each) override {
    if (Status s = Check(dir); !s.ok()) return s;
    return base_->List(Map(dir), each);
  }
  Result<std::unique_ptr<ReadStream>> OpenRead(std::string_view path, uint64_t offset) override {
    if (Status s = Check(path); !s.ok()) return s;
    return base_->OpenRead(Map(path), offset);
  }
  Result<std::unique_ptr<WriteStream>> OpenWrite(std::string_view path, uint64_t offset) override {
    if (Status s = Check(path); !s.ok()) return s;
    return base_->OpenWrite(Map(path), offset);
  }
  Result<std::unique_ptr<WriteStream>> OpenUpload(std::string_view path, const EntryInfo& source,
                                                  bool resume) override {
    if (Status s = Check(path); !s.ok()) return s;
    return base_->OpenUpload(Map(path), source, resume);
  }
  Status Rename(std::string_view from, std::string_view to) override {
    if (Status s = Check(from); !s.ok()) return s;
    if (Status s = Check(to); !s.ok()) return s;
    return base_->Rename(Map(from), Map(to));
  }
  Status Remove(std::string_view path) override {
    if (Status s = Check(path); !s.ok()) return s;
    return base_->Remove(Map(path));
  }
  Status MakeDirectory(std::string_view path) override {
    if (Status s = Check(path); !s.ok()) return s;
    return base_->MakeDirectory(Map(path));
  }
  Status SetTimes(std::string_view path, int64_t mtime_ns) override {
    if (Status s = Check(path); !s.ok()) return s;
    return base_->SetTimes(Map(path), mtime_ns);
  }
  Status SetMode(std::string_view path, uint32_t mode) override {
    if (Status s = Check(path); !s.ok()) return s;
    return base_->SetMode(Map(path), mode);
  }
  Status SetOwner(std::string_view path, uint32_t uid, uint32_t gid) override {
    if (Status s = Check(path); !s.ok()) return s;
    return base_->SetOwner(Map(path), uid, gid);
  }
  Status SetAttributes(std::string_view path, const FileAttributes& attrs) override {
    if (Status s = Check(path); !s.ok()) return s;
    return base_->SetAttributes(Map(path), attrs);
  }
  Status Symlink(std::string_view target, std::string_view path) override {
    if (Status s = Check(path); !s.ok()) return s;
    return base_->Symlink(target, Map(path));
  }
  Status Flush() override { return base_->Flush(); }
  Result<std::string> ServerHash(std::string_view path, std::string_view algorithm) override {
    if (Status s = Check(path); !s.ok()) return s;
    return base_->ServerHash(Map(path), algorithm);
  }

 private:
  // Checked here: "" is fine for us but must not become "prefix/" below.
  static Status Check(std::string_view path) {
    const std::string problem = RelativePathProblem(path);
    return problem.empty() ? Status::Ok() : Status::InvalidArgument(problem);
  }
  std::string Map(std::string_view path) const { return path.empty() ? prefix_ : JoinPath(prefix_, path); }

  std::unique_ptr<Endpoint> base_;
  const std::string prefix_;
  const std::string url_;
};

}  // namespace

std::unique_ptr<Endpoint> MakeSubtreeEndpoint(std::unique_ptr<Endpoint> base, std::string prefix) {
  return std::make_unique<SubtreeEndpoint>(std::move(base), std::move(prefix));
}

}  // namespace sluice::transfer
