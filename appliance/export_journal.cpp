#include "appliance/export_journal.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sodium.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "appliance/format.h"
#include "core/util/durable_file.h"
#include "core/util/utf8.h"

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
// The record's lines, sealed into one line when there is a key.
std::string Seal(const std::string& lines, const std::string& key) {
  if (key.empty()) return lines;
  std::string box(
      crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + lines.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES, '\0');
  auto* nonce = reinterpret_cast<unsigned char*>(box.data());
  randombytes_buf(nonce, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
  unsigned long long len = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      nonce + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, &len, reinterpret_cast<const unsigned char*>(lines.data()),
      lines.size(), nullptr, 0, nullptr, nonce, reinterpret_cast<const unsigned char*>(key.data()));
  return nlohmann::json{{"kind", "sealed"}, {"data", Base64(box)}}.dump() + "\n";
}

// The lines inside a sealed line; throws when it does not open under the key.
std::string Unseal(const nlohmann::json& j, const std::string& key) {
  std::string box;
  if (key.empty() || !DecodeBase64(j.at("data").get<std::string>(), box) ||
      box.size() < crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + crypto_aead_xchacha20poly1305_ietf_ABYTES) {
    throw std::runtime_error("bad sealed record");
  }
  const auto* nonce = reinterpret_cast<const unsigned char*>(box.data());
  const size_t clen = box.size() - crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
  std::string out(clen, '\0');
  unsigned long long len = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(reinterpret_cast<unsigned char*>(out.data()), &len, nullptr,
                                                 nonce + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, clen, nullptr, 0,
                                                 nonce, reinterpret_cast<const unsigned char*>(key.data())) != 0) {
    throw std::runtime_error("sealed record does not open");
  }
  out.resize(len);
  return out;
}

std::map<std::string, JournalRecord> ReadRecords(const std::string& text, const std::string& fingerprint,
                                                 const std::string& key) {
  std::map<std::string, JournalRecord> out;
  std::istringstream in(text);
  std::string line;
  if (!std::getline(in, line)) return out;
  try {
    if (nlohmann::json::parse(line).at("fingerprint") != fingerprint) return out;
    JournalRecord pending;
    bool open = false;
    std::vector<std::string> queue;  // lines to process, from the file or from inside a sealed line
    while (std::getline(in, line)) {
      if (in.eof()) break;  // the last line had no newline: torn
      queue.clear();
      const nlohmann::json outer = nlohmann::json::parse(line);
      if (outer.at("kind") == "sealed") {
        std::istringstream inner(Unseal(outer, key));
        for (std::string l; std::getline(inner, l);) queue.push_back(l);
      } else {
        queue.push_back(line);
      }
      for (const std::string& l : queue) {
        const nlohmann::json j = nlohmann::json::parse(l);
        const std::string kind = j.at("kind");
        if (kind == "object") {
          pending = JournalRecord{};
          pending.object = ObjectFromJson(j);
          pending.object.members = j.at("members");
          open = true;
        } else if (kind == "entry" && open) {
          Result<Entry> e = ParseEntry(l, "journal");
          if (!e.ok()) return out;
          pending.entries.push_back(std::move(e).value());
        } else if (kind == "commit" && open && j.at("entries") == pending.entries.size()) {
          out[pending.object.name] = std::move(pending);
          open = false;
        }
      }
    }
  } catch (const std::exception&) {
    // A torn or foreign line ends what can be trusted; keep what was committed before it.
  }
  return out;
}

std::string RecordLines(const ObjectInfo& object, const std::vector<Entry>& entries) {
  nlohmann::json j = ObjectJson(object);
  j["members"] = object.members;
  std::string bytes = j.dump() + "\n";
  for (const Entry& e : entries) bytes += EncodeEntry(e);
  bytes += nlohmann::json{{"kind", "commit"}, {"entries", entries.size()}}.dump() + "\n";
  return bytes;
}

}  // namespace

Result<ExportJournal> ExportJournal::Open(const std::filesystem::path& device, const std::string& fingerprint,
                                          const std::string& key) {
  if (Status s = CreateDirectoriesDurable(device / kJournalDir, true); !s.ok()) return s;
  const std::string path = (device / kJournalName).string();
  std::string text;
  {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    text = ss.str();
  }
  std::map<std::string, JournalRecord> records = ReadRecords(text, fingerprint, key);
  // Rewritten from what was kept, so a torn tail never precedes new records.
  std::string keep = nlohmann::json{{"kind", "options"}, {"fingerprint", fingerprint}}.dump() + "\n";
  for (const auto& [name, r] : records) {
    keep += Seal(RecordLines(r.object, r.entries), key);
  }
  {
    Result<AtomicFile> f = AtomicFile::Create(path, true);
    if (!f.ok()) return f.status();
    if (Status s = f.value().Append(keep); !s.ok()) return s;
    if (Status s = f.value().Commit(); !s.ok()) return s;
  }
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, fmt::format("opening the journal {}", path));
  ExportJournal j(fd, path, key);
  j.records_ = std::move(records);
  return j;
}

ExportJournal::ExportJournal(ExportJournal&& o) noexcept
    : fd_(o.fd_), path_(std::move(o.path_)), key_(std::move(o.key_)), records_(std::move(o.records_)) {
  o.fd_ = -1;
}

ExportJournal::~ExportJournal() {
  if (fd_ >= 0) ::close(fd_);
}

Status ExportJournal::Record(const ObjectInfo& object, const std::vector<Entry>& entries) {
  return WriteAllSync(fd_, Seal(RecordLines(object, entries), key_), path_);
}

}  // namespace sluice::appliance
