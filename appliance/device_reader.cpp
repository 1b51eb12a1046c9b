#include "appliance/device_reader.h"

#include <fmt/format.h>

#include <fstream>
#include <set>
#include <sstream>

#include "appliance/custody_log.h"
#include "appliance/digest.h"
#include "appliance/format.h"
#include "appliance/keys.h"
#include "appliance/sealed_stream.h"
#include "appliance/tar_format.h"
#include "core/checksum/crc64nvme.h"
#include "core/util/utf8.h"
#include "transfer/hash.h"

namespace sluice::appliance {
namespace {

namespace fs = std::filesystem;

constexpr size_t kReadBytes = 256 * 1024;

using ReadFn = std::function<Result<size_t>(char*, size_t)>;

// Streams one file's bytes through the hashes (and the sink). A read error is
// the object's problem and is returned; a mismatch is the entry's, recorded here.
Status CheckEntry(const Entry& e, const ReadFn& read, EntrySink* sink, std::vector<Problem>& problems,
                  ReadTotals& totals) {
  bool sink_ok = true;
  if (sink != nullptr) {
    if (Status s = sink->Begin(e); !s.ok()) {
      problems.push_back({ShowPath(e.path), s.message()});
      sink_ok = false;
    }
  }
  auto sha = transfer::Hasher::Create(transfer::HashAlgorithm::kSha256);
  uint64_t crc = 0, total = 0;
  std::string buf(kReadBytes, '\0');
  for (;;) {
    Result<size_t> got = read(buf.data(), buf.size());
    if (!got.ok()) {
      if (sink != nullptr && sink_ok) (void)sink->End(e, false);
      return got.status();
    }
    if (got.value() == 0) break;
    const std::string_view data(buf.data(), got.value());
    total += data.size();
    sha->Update(data);
    crc = Crc64Nvme(data, crc);
    if (sink != nullptr && sink_ok) {
      if (Status s = sink->Data(data); !s.ok()) {
        problems.push_back({ShowPath(e.path), s.message()});
        sink_ok = false;
      }
    }
  }
  std::vector<std::string> bad;
  if (total != e.size) bad.push_back(fmt::format("size {} where the manifest says {}", total, e.size));
  if (const std::string got = sha->HexDigest(); got != e.sha256) {
    bad.push_back(fmt::format("SHA-256 {} where the manifest says {}", got, e.sha256));
  }
  if (const std::string got = fmt::format("{:016x}", crc); got != e.crc64nvme) {
    bad.push_back(fmt::format("CRC-64/NVME {} where the manifest says {}", got, e.crc64nvme));
  }
  for (const std::string& b : bad) problems.push_back({ShowPath(e.path), b + " (in " + e.object + ")"});
  ++totals.files;
  totals.bytes += total;
  if (sink != nullptr && sink_ok) {
    if (Status s = sink->End(e, bad.empty()); !s.ok()) problems.push_back({ShowPath(e.path), s.message()});
  }
  return Status::Ok();
}

Status ReadBundle(const ObjectInfo& o, const std::vector<const Entry*>& members, ObjectReader& reader, EntrySink* sink,
                  std::vector<Problem>& problems, ReadTotals& totals) {
  TarReader tar([&](char* p, size_t n) { return ReadUpTo([&](char* q, size_t k) { return reader.Read(q, k); }, p, n); },
                o.name);
  for (size_t k = 0; k < members.size(); ++k) {
    const Entry& e = *members[k];
    Result<std::optional<TarMember>> m = tar.Next();
    if (!m.ok()) return m.status();
    if (!m.value()) {
      return Status::Corrupt(
          fmt::format("{}: the bundle ends after {} members; the manifest lists {}", o.name, k, members.size()));
    }
    if (m.value()->path != e.path) {
      return Status::Corrupt(fmt::format("{}: member {} is {}; the manifest lists {} there", o.name, k,
                                         ShowPath(m.value()->path), ShowPath(e.path)));
    }
    if (m.value()->size != e.size) {
      return Status::Corrupt(fmt::format("{}: member {} ({}) holds {} bytes; the manifest says {}", o.name, k,
                                         ShowPath(e.path), m.value()->size, e.size));
    }
    if (Status s = CheckEntry(
            e, [&](char* p, size_t n) { return tar.ReadData(p, n); }, sink, problems, totals);
        !s.ok()) {
      return s;
    }
    if (Status s = tar.EndMember(); !s.ok()) return s;
  }
  Result<std::optional<TarMember>> extra = tar.Next();
  if (!extra.ok()) return extra.status();
  if (extra.value()) {
    return Status::Corrupt(
        fmt::format("{}: holds {}, which the manifest does not list", o.name, ShowPath(extra.value()->path)));
  }
  char byte;
  Result<size_t> after = reader.Read(&byte, 1);
  if (!after.ok()) return after.status();
  if (after.value() != 0) return Status::Corrupt(fmt::format("{}: data after the end of the tar archive", o.name));
  return Status::Ok();
}

}  // namespace

Result<TrustedManifest> OpenManifest(const fs::path& device, const std::string& public_key,
                                     const std::string& encrypt_key, bool insecure_unsigned) {
  const bool sealed = fs::exists(device / kSealedManifestName);
  const fs::path mpath = device / (sealed ? kSealedManifestName : kManifestName);
  Result<std::string> stored = ReadWholeFile(mpath);
  if (!stored.ok()) {
    return Status::NotFound(fmt::format("{} is missing: not a device, or its export did not finish (rerun the export)",
                                        (device / kManifestName).string()));
  }
  TrustedManifest t;
  t.sha256 = Sha256Hex(stored.value());
  const fs::path spath = device / kSignatureName;
  if (insecure_unsigned) {
    t.signature = "not checked (--insecure-unsigned)";
  } else {
    Result<std::string> sig_line = ReadWholeFile(spath);
    if (!sig_line.ok()) {
      return Status::Corrupt(fmt::format(
          "{} is missing: the manifest is unsigned (pass --insecure-unsigned to accept that)", spath.string()));
    }
    std::string line = sig_line.value();
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    std::string sig;
    if (!DecodeBase64(line, sig)) return Status::Corrupt(fmt::format("{}: not a base64 signature", spath.string()));
    if (!CheckSignature(public_key, stored.value(), sig)) {
      return Status::Corrupt(fmt::format(
          "{} does not match {} under the given public key ({}): the manifest was altered, or signed with another key",
          spath.string(), mpath.string(), Base64(public_key)));
    }
    t.signature = "valid";
  }
  if (sealed) {
    if (encrypt_key.empty()) {
      return Status::InvalidArgument(fmt::format("{}: the device is encrypted: pass --encrypt-key", mpath.string()));
    }
    SealOptions seal;
    seal.key = encrypt_key;
    Result<std::unique_ptr<ObjectReader>> r = ObjectReader::Open(mpath, seal);
    if (!r.ok()) return r.status();
    std::string buf(1 << 16, '\0');
    for (;;) {
      Result<size_t> got = r.value()->Read(buf.data(), buf.size());
      if (!got.ok()) return Status::Corrupt("cannot read the encrypted manifest: " + got.status().message());
      if (got.value() == 0) break;
      t.text.append(buf.data(), got.value());
    }
  } else {
    t.text = std::move(stored).value();
  }
  Result<Manifest> m = ParseManifest(t.text, mpath.string());
  if (!m.ok()) return m.status();
  t.manifest = std::move(m).value();
  return t;
}

void CheckDeviceFiles(const fs::path& device, const Manifest& m, std::vector<Problem>& problems) {
  std::set<std::string> listed;
  for (const ObjectInfo& o : m.objects) listed.insert(o.name);
  static const std::set<std::string> kTop = {std::string(kManifestName), std::string(kSealedManifestName),
                                             std::string(kSignatureName), std::string(kCustodyName),
                                             std::string(kVerifyReportName)};
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(device, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    const std::string rel = it->path().lexically_relative(device).string();
    const bool is_dir = it->is_directory() && !it->is_symlink();
    if (it.depth() == 0) {
      if (is_dir && (rel == kBundleDir || rel == kFileDir || rel == kJournalDir)) continue;
      if (!is_dir && kTop.count(rel) != 0) continue;
    } else if (!is_dir && (listed.count(rel) != 0 || rel == kJournalName)) {
      continue;
    }
    problems.push_back({rel, "extra file: the device holds it and the manifest does not list it"});
    if (is_dir) it.disable_recursion_pending();
  }
  if (ec) problems.push_back({device.string(), "cannot list the device: " + ec.message()});
  for (const std::string& name : listed) {
    if (!fs::exists(device / name)) problems.push_back({name, "missing: the manifest lists it, the device lacks it"});
  }
}

void CheckCustody(const fs::path& device, const TrustedManifest& t, std::vector<Problem>& problems) {
  Result<std::vector<CustodyEvent>> log = ReadCustodyLog(device);
  if (!log.ok()) {
    problems.push_back({std::string(kCustodyName), log.status().message()});
    return;
  }
  if (log.value().empty() || log.value().front().hash != t.manifest.header.custody_first) {
    problems.push_back({std::string(kCustodyName),
                        "the first event is not the one the signed manifest records (the log was replaced)"});
  }
  bool finished = false;
  for (const CustodyEvent& e : log.value()) {
    finished |= e.event.value("event", "") == "export_finished" && e.event.value("manifest_sha256", "") == t.sha256;
  }
  if (!finished) {
    problems.push_back({std::string(kCustodyName), "no export_finished event names this manifest's SHA-256"});
  }
}

ReadTotals ReadObjects(const fs::path& device, const Manifest& m, const std::string& encrypt_key, EntrySink* sink,
                       std::vector<Problem>& problems, const std::function<void(const nlohmann::json&)>& progress) {
  ReadTotals totals;
  if (m.header.encrypted && encrypt_key.empty()) {
    problems.push_back({std::string(kManifestName), "the device is encrypted: pass --encrypt-key to read it"});
    return totals;
  }
  if (progress) progress({{"event", "plan"}, {"objects", m.objects.size()}, {"bytes", m.header.bytes}});
  std::map<std::string, std::vector<const Entry*>> members;
  for (const Entry& e : m.entries) {
    if (e.type == EntryType::kFile) members[e.object].push_back(&e);
  }
  for (const ObjectInfo& o : m.objects) {
    SealOptions seal;
    seal.compress = o.bundle && m.header.compress == "zstd";
    if (m.header.encrypted) seal.key = encrypt_key;
    Result<std::unique_ptr<ObjectReader>> reader = ObjectReader::Open(device / o.name, seal);
    if (!reader.ok()) {
      problems.push_back({o.name, reader.status().message()});
      continue;
    }
    const std::vector<const Entry*>& mine = members[o.name];
    Status s;
    if (o.bundle) {
      s = ReadBundle(o, mine, *reader.value(), sink, problems, totals);
    } else if (mine.size() == 1) {
      s = CheckEntry(
          *mine.front(), [&](char* p, size_t n) { return reader.value()->Read(p, n); }, sink, problems, totals);
    } else {
      s = Status::Corrupt(fmt::format("{}: a file object with {} entries", o.name, mine.size()));
    }
    if (!s.ok()) {
      problems.push_back({o.name, s.message()});
      continue;
    }
    const StoredObject stored = reader.value()->Stored();
    if (stored.size != o.size || stored.sha256 != o.sha256) {
      problems.push_back({o.name, fmt::format("stored bytes do not match the manifest: {} bytes, SHA-256 {}; the "
                                              "manifest says {} bytes, SHA-256 {}",
                                              stored.size, stored.sha256, o.size, o.sha256)});
    }
    ++totals.objects;
    if (progress) {
      progress({{"event", "object"}, {"name", o.name}, {"files", totals.files}, {"bytes_done", totals.bytes}});
    }
  }
  return totals;
}

}  // namespace sluice::appliance
