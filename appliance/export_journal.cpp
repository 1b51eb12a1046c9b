#include "appliance/export_journal.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "appliance/format.h"
#include "core/util/durable_file.h"

namespace sluice::appliance {
namespace {

Status WriteAllSync(int fd, const std::string& bytes, const std::string& path) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, fmt::format("writing the journal {}", path));
    }
    done += static_cast<size_t>(n);
  }
  if (::fdatasync(fd) != 0) return Status::FromErrno(errno, fmt::format("fsync of the journal {}", path));
  return Status::Ok();
}

// Committed records of an existing journal with the same fingerprint; empty
// when there is none, it is for other options, or it cannot be read.
std::map<std::string, JournalRecord> ReadRecords(const std::string& text, const std::string& fingerprint) {
  std::map<std::string, JournalRecord> out;
  std::istringstream in(text);
  std::string line;
  if (!std::getline(in, line)) return out;
  try {
    if (nlohmann::json::parse(line).at("fingerprint") != fingerprint) return out;
    JournalRecord pending;
    bool open = false;
    while (std::getline(in, line)) {
      if (in.eof()) break;  // the last line had no newline: torn
      const nlohmann::json j = nlohmann::json::parse(line);
      const std::string kind = j.at("kind");
      if (kind == "object") {
        pending = JournalRecord{};
        pending.object.name = j.at("name");
        pending.object.bundle = j.at("type") == "bundle";
        pending.object.size = j.at("size");
        pending.object.sha256 = j.at("sha256");
        pending.object.members = j.at("members");
        open = true;
      } else if (kind == "entry" && open) {
        Result<Entry> e = ParseEntry(line, "journal");
        if (!e.ok()) return out;
        pending.entries.push_back(std::move(e).value());
      } else if (kind == "commit" && open && j.at("entries") == pending.entries.size()) {
        out[pending.object.name] = std::move(pending);
        open = false;
      }
    }
  } catch (const std::exception&) {
    // A torn or foreign line ends what can be trusted; keep what was committed before it.
  }
  return out;
}

std::string RecordLines(const ObjectInfo& object, const std::vector<Entry>& entries) {
  std::string bytes =
      nlohmann::json{{"kind", "object"},    {"name", object.name},     {"type", object.bundle ? "bundle" : "file"},
                     {"size", object.size}, {"sha256", object.sha256}, {"members", object.members}}
          .dump() +
      "\n";
  for (const Entry& e : entries) bytes += EncodeEntry(e);
  bytes += nlohmann::json{{"kind", "commit"}, {"entries", entries.size()}}.dump() + "\n";
  return bytes;
}

}  // namespace

Result<ExportJournal> ExportJournal::Open(const std::filesystem::path& device, const std::string& fingerprint) {
  if (Status s = CreateDirectoriesDurable(device / kJournalDir, true); !s.ok()) return s;
  const std::string path = (device / kJournalName).string();
  std::string text;
  {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }
  std::map<std::string, JournalRecord> records = ReadRecords(text, fingerprint);
  // Rewritten from what was kept, so a torn tail never precedes new records.
  std::string keep = nlohmann::json{{"kind", "options"}, {"fingerprint", fingerprint}}.dump() + "\n";
  for (const auto& [name, r] : records) {
    keep += RecordLines(r.object, r.entries);
  }
  {
    Result<AtomicFile> f = AtomicFile::Create(path, true);
    if (!f.ok()) return f.status();
    if (Status s = f.value().Append(keep); !s.ok()) return s;
    if (Status s = f.value().Commit(); !s.ok()) return s;
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, fmt::format("opening the journal {}", path));
  ExportJournal j(fd, path);
  j.records_ = std::move(records);
  return j;
}

ExportJournal::ExportJournal(ExportJournal&& o) noexcept
    : fd_(o.fd_), path_(std::move(o.path_)), records_(std::move(o.records_)) {
  o.fd_ = -1;
}

ExportJournal::~ExportJournal() {
  if (fd_ >= 0) ::close(fd_);
}

Status ExportJournal::Record(const ObjectInfo& object, const std::vector<Entry>& entries) {
  if (Status s = WriteAllSync(fd_, RecordLines(object, entries), path_); !s.ok()) return s;
  records_[object.name] = JournalRecord{object, entries};
  return Status::Ok();
}

}  // namespace sluice::appliance
