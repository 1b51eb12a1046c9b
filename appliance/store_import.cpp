#include "appliance/store_import.h"

#include <fmt/format.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>

#include "core/checksum/crc64nvme.h"
#include "core/util/utf8.h"

namespace sluice::appliance {
namespace {

// Bytes read from the device and not yet sent, per upload: the reading thread
// waits beyond this, so memory stays near transfers x 2 x this.
constexpr size_t kUploadBufferBytes = 8u << 20;

// Runs fn(i) for i in [0, count) on `threads` threads.
void ParallelFor(size_t threads, size_t count, const std::function<void(size_t)>& fn) {
  std::atomic<size_t> next{0};
  std::vector<std::thread> pool;
  for (size_t t = 0; t < std::min(threads, count); ++t) {
    pool.emplace_back([&] {
      for (size_t i = next++; i < count; i = next++) fn(i);
    });
  }
  for (std::thread& t : pool) t.join();
}

// How a stored object was confirmed to hold the manifest's bytes.
enum class Confirmed { kStoreCrc, kSize, kReadBack };

// The store's CRC-64/NVME of `path` against the manifest's; where the store
// keeps none, its size (after an upload whose bytes were just checked) or,
// with `read_back`, the CRC of the object read back (an object found stored).
Result<Confirmed> ConfirmStored(transfer::Endpoint& store, const Entry& e, bool read_back) {
  Result<std::string> crc = store.ServerHash(e.path, "crc64nvme");
  if (crc.ok()) {
    if (crc.value() != e.crc64nvme) {
      return Status::Corrupt(
          fmt::format("the stored object's CRC-64/NVME is {}; the manifest says {}", crc.value(), e.crc64nvme));
    }
    return Confirmed::kStoreCrc;
  }
  if (crc.status().code() != ErrorCode::kUnsupported) return crc.status();
  if (!read_back) {
    Result<transfer::EntryInfo> st = store.Stat(e.path);
    if (!st.ok()) return st.status();
    if (st.value().size != e.size) {
      return Status::Corrupt(
          fmt::format("the stored object holds {} bytes; the manifest says {}", st.value().size, e.size));
    }
    return Confirmed::kSize;
  }
  Result<std::unique_ptr<transfer::ReadStream>> in = store.OpenRead(e.path, 0);
  if (!in.ok()) return in.status();
  std::string buf(1 << 20, '\0');
  uint64_t sum = 0, total = 0;
  for (;;) {
    Result<size_t> n = in.value()->Read(std::span<char>(buf.data(), buf.size()));
    if (!n.ok()) return n.status();
    if (n.value() == 0) break;
    sum = Crc64Nvme(buf.data(), n.value(), sum);
    total += n.value();
  }
  if (total != e.size || fmt::format("{:016x}", sum) != e.crc64nvme) {
    return Status::Corrupt(
        fmt::format("the stored object ({} bytes, CRC-64/NVME {:016x}) is not the manifest's ({} "
                    "bytes, {})",
                    total, sum, e.size, e.crc64nvme));
  }
  return Confirmed::kReadBack;
}

// One file on its way to the store: the reading thread appends chunks and
// then the verdict; one worker sends them.
struct Upload {
  Entry entry;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::string> chunks;
  size_t buffered = 0;
  bool ended = false;   // End was called
  bool good = false;    // ... and the device bytes matched the manifest
  bool failed = false;  // the worker gave up: further bytes are dropped
};

class StoreSink final : public EntrySink {
 public:
  StoreSink(transfer::Endpoint& store, size_t transfers, const std::set<std::string>& stored)
      : store_(store), transfers_(std::max<size_t>(transfers, 1)), stored_(stored) {
    for (size_t i = 0; i < transfers_; ++i) workers_.emplace_back([this] { Work(); });
  }
  ~StoreSink() override { Finish(); }

  Status Begin(const Entry& e) override {
    current_.reset();
    keep_ = stored_.count(e.path) != 0;
    if (keep_) return Status::Ok();
    current_ = std::make_shared<Upload>();
    current_->entry = e;
    {
      std::unique_lock lock(mu_);
      // At most `transfers_` uploads wait for a worker: the reader does not run ahead.
      cv_.wait(lock, [&] { return jobs_.size() < transfers_; });
      jobs_.push_back(current_);
    }
    cv_.notify_all();
    return Status::Ok();
  }

  Status Data(std::string_view bytes) override {
    if (!current_) return Status::Ok();
    Upload& u = *current_;
    {
      std::unique_lock lock(u.mu);
      u.cv.wait(lock, [&] { return u.failed || u.buffered < kUploadBufferBytes; });
      if (u.failed) return Status::Ok();  // the worker records why
      u.chunks.emplace_back(bytes);
      u.buffered += bytes.size();
    }
    u.cv.notify_all();
    return Status::Ok();
  }

  Status End(const Entry& e, bool good) override {
    if (keep_) {
      if (good) ++kept_;
      return Status::Ok();
    }
    (void)e;
    if (!current_) return Status::Ok();
    {
      std::lock_guard lock(current_->mu);
      current_->ended = true;
      current_->good = good;
    }
    current_->cv.notify_all();
    current_.reset();
    return Status::Ok();
  }

  // Waits for every upload; then the counts and problems below are final.
  void Finish() {
    {
      std::lock_guard lock(mu_);
      closed_ = true;
    }
    cv_.notify_all();
    for (std::thread& t : workers_) t.join();
    workers_.clear();
  }

  uint64_t written() const { return written_; }
  uint64_t bytes() const { return bytes_; }
  uint64_t kept() const { return kept_; }
  uint64_t by_store_crc() const { return by_store_crc_; }
  uint64_t by_size() const { return by_size_; }
  std::vector<Problem> TakeProblems() { return std::move(problems_); }

 private:
  void Work() {
    for (;;) {
      std::shared_ptr<Upload> u;
      {
        std::unique_lock lock(mu_);
        cv_.wait(lock, [&] { return closed_ || !jobs_.empty(); });
        if (jobs_.empty()) return;
        u = std::move(jobs_.front());
        jobs_.pop_front();
      }
      cv_.notify_all();
      if (Status s = Send(*u); !s.ok()) {
        {
          std::lock_guard lock(u->mu);
          u->failed = true;
          u->chunks.clear();
          u->buffered = 0;
        }
        u->cv.notify_all();
        std::lock_guard lock(mu_);
        problems_.push_back({ShowPath(u->entry.path), "not stored: " + s.message()});
      }
    }
  }

  Status Send(Upload& u) {
    Result<std::unique_ptr<transfer::WriteStream>> out = store_.OpenWrite(u.entry.path, 0);
    if (!out.ok()) return out.status();
    for (;;) {
      std::string chunk;
      bool end = false, good = false;
      {
        std::unique_lock lock(u.mu);
        u.cv.wait(lock, [&] { return u.ended || !u.chunks.empty(); });
        if (!u.chunks.empty()) {
          chunk = std::move(u.chunks.front());
          u.chunks.pop_front();
          u.buffered -= chunk.size();
        } else {
          end = true;
          good = u.good;
        }
      }
      u.cv.notify_all();
      // A mismatch is already the reader's problem; destroying the stream
      // without Close aborts the upload, so nothing appears under the key.
      if (end && !good) return Status::Ok();
      if (end) break;
      if (Status s = out.value()->Write(chunk); !s.ok()) return s;
    }
    if (Status s = out.value()->Close(); !s.ok()) return s;
    Result<Confirmed> c = ConfirmStored(store_, u.entry, false);
    if (!c.ok()) return c.status();
    ++(c.value() == Confirmed::kStoreCrc ? by_store_crc_ : by_size_);
    ++written_;
    bytes_ += u.entry.size;
    return Status::Ok();
  }

  transfer::Endpoint& store_;
  const size_t transfers_;
  const std::set<std::string>& stored_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<Upload>> jobs_;
  bool closed_ = false;
  std::vector<Problem> problems_;  // the workers': ReadObjects' own list is the reader's
  std::atomic<uint64_t> written_{0}, bytes_{0}, kept_{0}, by_store_crc_{0}, by_size_{0};
  std::shared_ptr<Upload> current_;  // the reader's
  bool keep_ = false;
  std::vector<std::thread> workers_;  // last: started once the rest exists
};

// The files already stored with the manifest's size and content: the listing
// of every directory the manifest has, then each candidate confirmed.
std::set<std::string> FindStored(transfer::Endpoint& store, const Manifest& m, size_t transfers,
                                 std::vector<Problem>& problems, uint64_t& by_store_crc, uint64_t& by_read_back) {
  std::map<std::string, uint64_t> listed;
  std::vector<std::string> dirs = {""};
  for (const Entry& e : m.entries) {
    if (e.type == EntryType::kDir) dirs.push_back(e.path);
  }
  for (const std::string& dir : dirs) {
    Status s = store.List(dir, [&](const transfer::EntryInfo& info) {
      if (info.type == transfer::EntryType::kFile) listed[transfer::JoinPath(dir, info.name)] = info.size;
      return Status::Ok();
    });
    if (!s.ok() && s.code() != ErrorCode::kNotFound) problems.push_back({store.url(), s.message()});
  }
  std::vector<const Entry*> candidates;
  for (const Entry& e : m.entries) {
    auto it = listed.find(e.path);
    if (e.type == EntryType::kFile && it != listed.end() && it->second == e.size) candidates.push_back(&e);
  }
  std::vector<Result<Confirmed>> results(candidates.size(), Status::Internal("not checked"));
  ParallelFor(transfers, candidates.size(), [&](size_t i) { results[i] = ConfirmStored(store, *candidates[i], true); });
  std::set<std::string> stored;
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (!results[i].ok()) continue;  // stored again
    stored.insert(candidates[i]->path);
    ++(results[i].value() == Confirmed::kStoreCrc ? by_store_crc : by_read_back);
  }
  return stored;
}

}  // namespace

Status CheckStorable(const Manifest& m, bool skip_symlinks) {
  std::vector<std::string> links, not_utf8;
  for (const Entry& e : m.entries) {
    if (e.type == EntryType::kSymlink) links.push_back(ShowPath(e.path));
    if (!IsValidUtf8(e.path) && !(e.type == EntryType::kSymlink && skip_symlinks)) not_utf8.push_back(ShowPath(e.path));
  }
  if (!links.empty() && !skip_symlinks) {
    return Status::InvalidArgument(
        fmt::format("the device holds {} symlinks (the first: {}) and an object store cannot hold symlinks: pass "
                    "--skip-symlinks to import without them, or import to a directory",
                    links.size(), links.front()));
  }
  if (!not_utf8.empty()) {
    return Status::InvalidArgument(
        fmt::format("the device holds {} names that are not UTF-8 (the first: {}) and object keys are UTF-8: import to "
                    "a directory",
                    not_utf8.size(), not_utf8.front()));
  }
  return Status::Ok();
}

void ImportToStore(const DeviceSet& devices, const Manifest& m, const std::string& encrypt_key,
                   transfer::Endpoint& store, const ImportOptions& options, ImportReport& report) {
  uint64_t found_by_crc = 0, found_by_read = 0;
  const std::set<std::string> stored =
      FindStored(store, m, options.transfers, report.problems, found_by_crc, found_by_read);
  {
    StoreSink sink(store, options.transfers, stored);
    ReadObjects(devices, m, encrypt_key, &sink, report.problems, options.progress);
    sink.Finish();
    for (Problem& p : sink.TakeProblems()) report.problems.push_back(std::move(p));
    report.files_written = sink.written();
    report.files_kept = sink.kept();
    report.bytes = sink.bytes();
    if (sink.written() > 0) {
      report.notes.push_back(
          fmt::format("{} objects stored, confirmed by the store's CRC-64/NVME: {}, by size only (the store keeps no "
                      "CRC-64/NVME; the bytes sent were checked against the manifest as read): {}",
                      sink.written(), sink.by_store_crc(), sink.by_size()));
    }
  }
  if (found_by_crc + found_by_read > 0) {
    report.notes.push_back(
        fmt::format("{} files were already stored: confirmed by the store's CRC-64/NVME: {}, by "
                    "reading them back: {}",
                    found_by_crc + found_by_read, found_by_crc, found_by_read));
  }
  // S3 has no empty directories: a marker keeps those with nothing below them.
  std::set<std::string> has_below;
  for (const Entry& e : m.entries) {
    if (e.type == EntryType::kSymlink) continue;
    for (size_t slash = e.path.rfind('/'); slash != std::string::npos && slash > 0;
         slash = e.path.rfind('/', slash - 1)) {
      if (!has_below.insert(e.path.substr(0, slash)).second) break;
    }
  }
  for (const Entry& e : m.entries) {
    if (e.type == EntryType::kSymlink) ++report.symlinks_skipped;
    if (e.type != EntryType::kDir) continue;
    ++report.dirs;
    if (has_below.count(e.path) != 0) continue;
    if (Status s = store.MakeDirectory(e.path); !s.ok()) report.problems.push_back({ShowPath(e.path), s.message()});
  }
  if (report.symlinks_skipped > 0) {
    report.notes.push_back(fmt::format("{} symlinks left out (--skip-symlinks): an object store cannot hold them",
                                       report.symlinks_skipped));
  }
  report.notes.push_back(
      "modes and mtimes are not kept: an object store cannot set them (the manifest on the device has them)");
}

}  // namespace sluice::appliance
