#include "transfer/drop/landed_log.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <nlohmann/json.hpp>

namespace sluice::transfer::drop {
namespace {

std::string IsoTime(int64_t unix_ms) {
  const std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return std::string(buf) + "." + std::to_string(1000 + unix_ms % 1000).substr(1) + "Z";
}

}  // namespace

Result<std::unique_ptr<LandedLog>> LandedLog::Open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Status::FromErrno(errno, path + ": cannot open the landed log");
  return std::unique_ptr<LandedLog>(new LandedLog(fd, path));
}

LandedLog::~LandedLog() { ::close(fd_); }

std::string LandedLog::Line(const FileRow& row) {
  nlohmann::json j;
  j["ts"] = IsoTime(row.updated_ms);
  j["id"] = row.id;
  j["drop"] = row.drop;
  j["event"] = FileStateName(row.state);
  j["path"] = row.path;
  j["size"] = row.size;
  j["mtime_ns"] = row.mtime_ns;
  j["sha256"] = row.sha256;
  if (row.state == FileState::kLanded) {
    j["landed_path"] = row.landed_path;
    j["landed_bytes"] = row.landed_bytes;
    j["version"] = row.version;
  }
  if (!row.reason.empty()) j["reason"] = row.reason;
  j["first_seen_ms"] = row.first_seen_ms;
  j["claimed_ms"] = row.claimed_ms;
  // File names are bytes and JSON wants UTF-8: invalid sequences become
  // U+FFFD here (the ledger keeps the exact bytes).
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

Status LandedLog::Append(const std::vector<FileRow>& rows) {
  if (rows.empty()) return Status::Ok();
  std::string text;
  for (const FileRow& r : rows) text += Line(r);
  std::lock_guard lock(mu_);
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd_, text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, path_ + ": writing the landed log");
    }
    done += static_cast<size_t>(n);
  }
  if (::fdatasync(fd_) != 0) return Status::FromErrno(errno, path_ + ": fdatasync of the landed log");
  return Status::Ok();
}

}  // namespace sluice::transfer::drop
