#include "appliance/device_reader.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

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
  // One buffer per thread, not one zero-filled per file: for 4 KiB files the
  // memset of a fresh 256 KiB buffer was the largest cost of verify.
  thread_local std::string buf(kReadBytes, '\0');
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

void CheckVolumeFiles(const fs::path& device, bool several, const std::set<std::string>& listed,
                      std::vector<Problem>& problems);

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

Result<std::pair<TrustedManifest, DeviceSet>> OpenDevices(const std::vector<fs::path>& given,
                                                          const std::string& public_key, const std::string& encrypt_key,
                                                          bool insecure_unsigned) {
  Result<TrustedManifest> t = OpenManifest(given.front(), public_key, encrypt_key, insecure_unsigned);
  if (!t.ok()) return t.status();
  const uint32_t volumes = t.value().manifest.header.volumes;
  DeviceSet set;
  if (volumes == 0) {
    if (given.size() > 1) {
      return Status::InvalidArgument(
          fmt::format("{} is a single-volume export: give only its directory", given.front().string()));
    }
    set.volumes = given;
    return std::make_pair(std::move(t).value(), std::move(set));
  }
  set.volumes.resize(volumes);
  const std::string_view manifest_name = t.value().manifest.header.encrypted ? kSealedManifestName : kManifestName;
  for (const fs::path& dir : given) {
    uint32_t k = 0;
    try {
      Result<std::string> vj = ReadWholeFile(dir / kVolumeName);
      if (!vj.ok()) throw std::runtime_error(vj.status().message());
      const nlohmann::json j = nlohmann::json::parse(vj.value());
      k = j.at("volume").get<uint32_t>();
      if (j.at("volumes").get<uint32_t>() != volumes) throw std::runtime_error("another number of volumes");
    } catch (const std::exception& e) {
      return Status::Corrupt(fmt::format("{}: not a volume of this {}-volume export ({}: {})", dir.string(), volumes,
                                         kVolumeName, e.what()));
    }
    if (dir != given.front()) {
      Result<std::string> stored = ReadWholeFile(dir / manifest_name);
      if (!stored.ok() || Sha256Hex(stored.value()) != t.value().sha256) {
        return Status::Corrupt(fmt::format(
            "{} holds a volume of another export: its {} is not the one on {} (volumes of one export carry the same "
            "signed manifest)",
            dir.string(), manifest_name, given.front().string()));
      }
    }
    if (k < 1 || k > volumes) {
      return Status::Corrupt(fmt::format("{}: volume {} of an export of {} volumes", dir.string(), k, volumes));
    }
    if (!set.volumes[k - 1].empty()) {
      return Status::InvalidArgument(fmt::format("{} and {} are both volume {}: give each volume once",
                                                 set.volumes[k - 1].string(), dir.string(), k));
    }
    set.volumes[k - 1] = dir;
  }
  std::vector<std::string> missing;
  for (uint32_t k = 1; k <= volumes; ++k) {
    if (set.volumes[k - 1].empty()) missing.push_back(std::to_string(k));
  }
  if (!missing.empty()) {
    std::string list;
    for (const std::string& m : missing) list += (list.empty() ? "" : ", ") + m;
    return Status::NotFound(fmt::format(
        "the export has {} volumes and {} {} missing: give every volume's directory (in any order)", volumes,
        missing.size() == 1 ? "volume " + list : "volumes " + list, missing.size() == 1 ? "is" : "are"));
  }
  return std::make_pair(std::move(t).value(), std::move(set));
}

void CheckDeviceFiles(const DeviceSet& devices, const Manifest& m, std::vector<Problem>& problems) {
  for (size_t v = 0; v < devices.volumes.size(); ++v) {
    const fs::path& device = devices.volumes[v];
    // One directory: names relative to it, as before volumes; several: the full path.
    const bool several = devices.volumes.size() > 1;
    std::set<std::string> listed;
    for (const ObjectInfo& o : m.objects) {
      if (o.volume == 0 || o.volume == v + 1) listed.insert(o.name);
    }
    CheckVolumeFiles(device, several, listed, problems);
  }
}

namespace {

void CheckVolumeFiles(const fs::path& device, bool several, const std::set<std::string>& listed,
                      std::vector<Problem>& problems) {
  // Also the report's temporary name: a verify stopped while writing its
  // report (power loss) leaves it, and the next verify replaces it.
  static const std::set<std::string> kTop = {
      std::string(kManifestName), std::string(kSealedManifestName), std::string(kSignatureName),
      std::string(kCustodyName),  std::string(kVerifyReportName),   "." + std::string(kVerifyReportName) + ".tmp",
      std::string(kVolumeName)};
  auto where = [&](const std::string& rel) { return several ? (device / rel).string() : rel; };
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
    problems.push_back({where(rel), "extra file: the device holds it and the manifest does not list it"});
    if (is_dir) it.disable_recursion_pending();
  }
  if (ec) problems.push_back({device.string(), "cannot list the device: " + ec.message()});
  for (const std::string& name : listed) {
    if (!fs::exists(device / name)) {
      problems.push_back({where(name), "missing: the manifest lists it, the device lacks it"});
    }
  }
}

}  // namespace

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

ReadTotals ReadObjects(const DeviceSet& devices, const Manifest& m, const std::string& encrypt_key, EntrySink* sink,
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
  const std::vector<const Entry*> none;
  auto members_of = [&](const ObjectInfo& o) -> const std::vector<const Entry*>& {
    auto it = members.find(o.name);
    return it == members.end() ? none : it->second;
  };
  auto seal_of = [&](const ObjectInfo& o) {
    SealOptions seal;
    seal.compress = o.bundle && m.header.compress == "zstd";
    if (m.header.encrypted) seal.key = encrypt_key;
    return seal;
  };
  // What reading one group of objects found: an object, or a chunked file's parts.
  struct Outcome {
    std::vector<Problem> problems;
    ReadTotals totals;
  };
  // Stored size and SHA-256 of an object read to its end, against the manifest.
  auto check_stored = [&](const ObjectInfo& o, ObjectReader& reader, Outcome& out) {
    const StoredObject stored = reader.Stored();
    if (stored.size != o.size || stored.sha256 != o.sha256) {
      out.problems.push_back({o.name, fmt::format("stored bytes do not match the manifest: {} bytes, SHA-256 {}; the "
                                                  "manifest says {} bytes, SHA-256 {}",
                                                  stored.size, stored.sha256, o.size, o.sha256)});
    }
    ++out.totals.objects;
  };
  auto read_group = [&](size_t i, Outcome& out) {
    const ObjectInfo& o = m.objects[i];
    const std::vector<const Entry*>& mine = members_of(o);
    if (o.part > 0) {
      // A file split into chunks: its parts, consecutive from here, read as one stream.
      const size_t end = std::min<size_t>(i + o.parts, m.objects.size());
      std::unique_ptr<ObjectReader> reader;
      size_t at = i;  // the part being read
      auto open_part = [&](size_t k) {
        Result<std::unique_ptr<ObjectReader>> r =
            ObjectReader::Open(devices.Of(m.objects[k]) / m.objects[k].name, seal_of(m.objects[k]));
        if (!r.ok()) return Status(r.status().code(), m.objects[k].name + ": " + r.status().message());
        reader = std::move(r).value();
        return Status::Ok();
      };
      ReadFn read = [&](char* p, size_t n) -> Result<size_t> {
        for (;;) {
          if (!reader) {
            if (Status s = open_part(at); !s.ok()) return s;
          }
          Result<size_t> got = reader->Read(p, n);
          if (!got.ok() || got.value() > 0 || at + 1 == end) return got;
          check_stored(m.objects[at], *reader, out);
          reader.reset();
          ++at;
        }
      };
      Status s = mine.size() == 1
                     ? CheckEntry(*mine.front(), read, sink, out.problems, out.totals)
                     : Status::Corrupt(fmt::format("{}: a chunked file with {} entries", o.name, mine.size()));
      if (s.ok() && reader) check_stored(m.objects[at], *reader, out);
      if (!s.ok()) out.problems.push_back({m.objects[at].name, s.message()});
      return;
    }
    Result<std::unique_ptr<ObjectReader>> reader = ObjectReader::Open(devices.Of(o) / o.name, seal_of(o));
    if (!reader.ok()) {
      out.problems.push_back({o.name, reader.status().message()});
      return;
    }
    Status s;
    if (o.bundle) {
      s = ReadBundle(o, mine, *reader.value(), sink, out.problems, out.totals);
    } else if (mine.size() == 1) {
      s = CheckEntry(
          *mine.front(), [&](char* p, size_t n) { return reader.value()->Read(p, n); }, sink, out.problems, out.totals);
    } else {
      s = Status::Corrupt(fmt::format("{}: a file object with {} entries", o.name, mine.size()));
    }
    if (!s.ok()) {
      out.problems.push_back({o.name, s.message()});
      return;
    }
    check_stored(o, *reader.value(), out);
  };
  std::vector<size_t> groups;
  for (size_t i = 0; i<m.objects.size(); i += m.objects[i].part> 0 ? m.objects[i].parts : 1) groups.push_back(i);
  std::vector<Outcome> outcomes(groups.size());
  std::mutex progress_mu;
  ReadTotals so_far;
  auto done = [&](size_t g) {
    if (!progress) return;
    std::lock_guard lock(progress_mu);
    so_far.files += outcomes[g].totals.files;
    so_far.bytes += outcomes[g].totals.bytes;
    progress({{"event", "object"},
              {"name", m.objects[groups[g]].name},
              {"files", so_far.files},
              {"bytes_done", so_far.bytes}});
  };
  // Verify (no sink) reads objects on every core, each object on one thread
  // (decryption, decompression and the hashes of an object are sequential);
  // import writes in manifest order from this thread.
  const size_t threads =
      sink != nullptr ? 1 : std::min<size_t>(groups.size(), std::clamp(std::thread::hardware_concurrency(), 1u, 4u));
  if (threads <= 1) {
    for (size_t g = 0; g < groups.size(); ++g) {
      read_group(groups[g], outcomes[g]);
      done(g);
    }
  } else {
    std::atomic<size_t> next{0};
    std::vector<std::thread> pool;
    for (size_t t = 0; t < threads; ++t) {
      pool.emplace_back([&] {
        for (size_t g = next++; g < groups.size(); g = next++) {
          read_group(groups[g], outcomes[g]);
          done(g);
        }
      });
    }
    for (std::thread& t : pool) t.join();
  }
  // Problems in manifest order, whichever thread found them.
  for (Outcome& out : outcomes) {
    for (Problem& p : out.problems) problems.push_back(std::move(p));
    totals.objects += out.totals.objects;
    totals.files += out.totals.files;
    totals.bytes += out.totals.bytes;
  }
  return totals;
}

}  // namespace sluice::appliance
