#include "agent/sinks/lake/lake_sink.h"

#include <ctime>
#include <map>
#include <set>

#include "core/util/durable_file.h"

namespace sluice {

std::string LakePartition(std::string_view source, int64_t ts_ms) {
  const std::time_t t = static_cast<std::time_t>(ts_ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[48];
  std::strftime(buf, sizeof buf, "/dt=%Y-%m-%d/hr=%H", &tm);
  return "raw/" + std::string(source) + buf;
}

Status ForEachLakeGroup(std::span<const BatchInfo> batches,
                        const std::function<Status(const std::string&, std::span<const BatchInfo>)>& each,
                        const StartsFile& starts_file) {
  size_t i = 0;
  while (i < batches.size()) {
    const BatchInfo& first = batches[i];
    const std::string partition = LakePartition(first.source, first.first_ts_ms);
    size_t j = i + 1;
    while (j < batches.size() && batches[j].source == first.source &&
           LakePartition(batches[j].source, batches[j].first_ts_ms) == partition &&
           !(starts_file && starts_file(partition, batches[j]))) {
      ++j;
    }
    if (Status s = each(partition, batches.subspan(i, j - i)); !s.ok()) return s;
    i = j;
  }
  return Status::Ok();
}

LakeConfig ParseLakeConfig(TableReader& r) {
  LakeConfig c;
  c.path = r.RequiredString("path", "the lake's root directory; files go under <path>/raw/<source>/");
  c.fsync = r.Bool("fsync", true, "fsync each file and its directory before the batch counts as delivered");
  return c;
}

namespace {

class LakeSink final : public Sink {
 public:
  LakeSink(std::string name, LakeConfig config, BatchPolicy policy, Logger log, bool replay)
      : name_(std::move(name)), config_(std::move(config)), policy_(policy), log_(std::move(log)), replay_(replay) {}

  const std::string& name() const override { return name_; }
  BatchPolicy policy() const override { return policy_; }

  Status Deliver(std::span<const BatchInfo> batches, const BatchLoader& load) override {
    StartsFile starts_file;
    std::map<std::string, std::set<std::string>> existing;  // partition -> batch ids that start a file
    if (replay_) {
      starts_file = [&](const std::string& partition, const BatchInfo& b) {
        auto it = existing.find(partition);
        if (it == existing.end()) it = existing.emplace(partition, FileStarts(partition)).first;
        return it->second.count(b.id) != 0;
      };
    }
    return ForEachLakeGroup(
        batches,
        [&](const std::string& partition, std::span<const BatchInfo> group) {
          return WriteGroup(partition, group, load);
        },
        starts_file);
  }

 private:
  // The batch ids that name the final files of a partition.
  std::set<std::string> FileStarts(const std::string& partition) const {
    std::set<std::string> ids;
    std::error_code ec;
    constexpr std::string_view kSuffix = ".jsonl.zst";
    for (const auto& e : std::filesystem::directory_iterator(config_.path / partition, ec)) {
      const std::string n = e.path().filename().string();
      if (n.starts_with('.') || !n.ends_with(kSuffix)) continue;
      ids.insert(n.substr(0, n.size() - kSuffix.size()));
    }
    return ids;
  }

  Status WriteGroup(const std::string& partition, std::span<const BatchInfo> group, const BatchLoader& load) {
    const std::filesystem::path dir = config_.path / partition;
    if (known_dirs_.count(dir.string()) == 0) {
      if (Status s = CreateDirectoriesDurable(dir, config_.fsync); !s.ok()) return s;
      if (known_dirs_.size() > 1024) known_dirs_.clear();
      known_dirs_.insert(dir.string());
    }
    const std::filesystem::path final_path = dir / (group.front().id + ".jsonl.zst");
    Result<AtomicFile> file = AtomicFile::Create(final_path, config_.fsync);
    if (!file.ok()) {
      known_dirs_.erase(dir.string());  // the directory may have been removed under us
      return file.status();
    }
    for (const BatchInfo& b : group) {
      Result<std::string> data = load(b);
      if (!data.ok()) return data.status();
      if (Status s = file->Append(data.value()); !s.ok()) return s;
    }
    return file->Commit();
  }

  std::string name_;
  LakeConfig config_;
  BatchPolicy policy_;
  Logger log_;
  bool replay_;
  std::set<std::string> known_dirs_;
};

}  // namespace

std::unique_ptr<Sink> MakeLakeSink(std::string name, LakeConfig config, BatchPolicy policy, Logger log, bool replay) {
  return std::make_unique<LakeSink>(std::move(name), std::move(config), policy, std::move(log), replay);
}

}  // namespace sluice
