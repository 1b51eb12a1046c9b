#include "appliance/manifest.h"

#include <fmt/format.h>
#include <uninorm.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "appliance/digest.h"
#include "appliance/format.h"
#include "core/util/utf8.h"
#include "transfer/hash.h"

namespace sluice::appliance {
namespace {

using nlohmann::json;

const char* TypeName(EntryType t) {
  switch (t) {
    case EntryType::kFile:
      return "file";
    case EntryType::kDir:
      return "dir";
    case EntryType::kSymlink:
      return "symlink";
  }
  return "?";
}

void PutBytes(json& j, const char* key, std::string_view bytes, bool with_nfc) {
  if (IsValidUtf8(bytes)) {
    j[key] = std::string(bytes);
    if (with_nfc) j["nfc"] = Nfc(bytes);
  } else {
    j[std::string(key) + "_b64"] = Base64(bytes);
  }
}

// The typed accessors throw json::exception naming the key; ParseEntry turns
// that into a message with the line.
std::string GetBytes(const json& j, const char* key) {
  if (j.contains(key)) return j.at(key).get<std::string>();
  const std::string b64 = j.at(std::string(key) + "_b64").get<std::string>();
  std::string out;
  if (!DecodeBase64(b64, out)) throw std::runtime_error(fmt::format("{}_b64 is not valid base64", key));
  return out;
}

std::string ModeString(uint32_t mode) { return fmt::format("{:04o}", mode & 07777); }

uint32_t ParseMode(const std::string& s) {
  char* end = nullptr;
  const unsigned long v = std::strtoul(s.c_str(), &end, 8);
  if (s.empty() || *end != '\0' || v > 07777)
    throw std::runtime_error(fmt::format("mode '{}' is not octal 0000-7777", s));
  return static_cast<uint32_t>(v);
}

bool IsHex(const std::string& s, size_t n) {
  return s.size() == n && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

Entry EntryFromJson(const json& j) {
  Entry e;
  e.path = GetBytes(j, "path");
  const std::string type = j.at("type").get<std::string>();
  if (type == "file") {
    e.type = EntryType::kFile;
  } else if (type == "dir") {
    e.type = EntryType::kDir;
  } else if (type == "symlink") {
    e.type = EntryType::kSymlink;
  } else {
    throw std::runtime_error(fmt::format("unknown type '{}'", type));
  }
  e.mtime_ns = j.at("mtime_ns").get<int64_t>();
  e.mode = ParseMode(j.at("mode").get<std::string>());
  if (e.type == EntryType::kFile) {
    e.size = j.at("size").get<uint64_t>();
    e.sha256 = j.at("sha256").get<std::string>();
    e.crc64nvme = j.at("crc64nvme").get<std::string>();
    if (!IsHex(e.sha256, 64)) throw std::runtime_error("sha256 is not 64 hex digits");
    if (!IsHex(e.crc64nvme, 16)) throw std::runtime_error("crc64nvme is not 16 hex digits");
    e.object = j.at("object").get<std::string>();
    e.member = j.contains("member") ? j.at("member").get<int64_t>() : -1;
  } else if (e.type == EntryType::kSymlink) {
    e.target = GetBytes(j, "target");
  }
  if (std::string p = PathProblem(e.path); !p.empty()) throw std::runtime_error(fmt::format("unsafe path: {}", p));
  return e;
}

std::string Line(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::strict) + "\n"; }

// Object names are Sluice's own: "bundles/NNNNNN..." or "files/NNNNNN...", nothing else.
bool ObjectNameOk(const std::string& name) {
  return (name.rfind("bundles/", 0) == 0 || name.rfind("files/", 0) == 0) && PathProblem(name).empty() &&
         name.find('/', name.find('/') + 1) == std::string::npos;
}

}  // namespace

std::string Nfc(std::string_view utf8) {
  // ASCII is its own NFC form; most paths are ASCII, and u8_normalize was a
  // tenth of a 100,000-file manifest's encoding.
  if (std::all_of(utf8.begin(), utf8.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; })) {
    return std::string(utf8);
  }
  size_t len = 0;
  std::unique_ptr<uint8_t, decltype(&std::free)> out(
      u8_normalize(UNINORM_NFC, reinterpret_cast<const uint8_t*>(utf8.data()), utf8.size(), nullptr, &len), &std::free);
  if (!out) return std::string(utf8);
  return std::string(reinterpret_cast<const char*>(out.get()), len);
}

std::string ShowPath(std::string_view path) {
  return IsValidUtf8(path) ? std::string(path) : "[base64 " + Base64(path) + "]";
}

std::string PathProblem(std::string_view path) {
  if (path.empty()) return "empty path";
  if (path.front() == '/') return "absolute path";
  if (path.find('\0') != std::string_view::npos) return "NUL byte in path";
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view part = path.substr(start, end - start);
    if (part.empty()) return "empty path component";
    if (part == ".") return "'.' component";
    if (part == "..") return "'..' component (escapes the destination)";
    start = end + 1;
  }
  return "";
}

std::string SymlinkProblem(std::string_view path, std::string_view target) {
  if (target.empty()) return "empty symlink target";
  if (target.front() == '/') return "symlink to an absolute path (points outside the destination)";
  if (target.find('\0') != std::string_view::npos) return "NUL byte in symlink target";
  // Depth of the link's directory, then walk the target's components.
  int depth = 0;
  for (char c : path) depth += c == '/';
  size_t start = 0;
  while (start <= target.size()) {
    size_t end = target.find('/', start);
    if (end == std::string_view::npos) end = target.size();
    const std::string_view part = target.substr(start, end - start);
    if (part == "..") {
      if (--depth < 0) return "symlink target climbs out of the destination";
    } else if (!part.empty() && part != ".") {
      ++depth;
    }
    start = end + 1;
  }
  return "";
}

namespace {

// What nlohmann's dump writes for a string: " and \ escaped, the short
// escapes, other control characters as \u00xx; everything else as it is.
void AppendQuoted(std::string& out, std::string_view s) {
  out += '"';
  size_t run = 0;  // start of the bytes not yet appended, which need no escape
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        out += fmt::format("\\u{:04x}", static_cast<unsigned>(c));
    }
  }
  out.append(s.data() + run, s.size() - run);
  out += '"';
}

void AppendKey(std::string& out, std::string_view key) {
  out += out.back() == '{' ? "\"" : ",\"";
  out += key;
  out += "\":";
}

}  // namespace

// The line nlohmann's dump of the entry as a json object would be (keys in its
// sorted order), written directly: the manifest and the journal have a line
// per file, and building a json object for each was most of the time spent
// writing them. Keys: crc64nvme, kind, member, mode, mtime_ns, nfc, object,
// path | path_b64, sha256, size, target | target_b64, type.
std::string EncodeEntry(const Entry& e) {
  std::string out;
  out.reserve(256 + e.path.size() * 2);
  out += '{';
  const bool file = e.type == EntryType::kFile;
  if (file) {
    AppendKey(out, "crc64nvme");
    AppendQuoted(out, e.crc64nvme);
  }
  AppendKey(out, "kind");
  out += "\"entry\"";
  if (file && e.member >= 0) {
    AppendKey(out, "member");
    out += std::to_string(e.member);
  }
  AppendKey(out, "mode");
  AppendQuoted(out, ModeString(e.mode));
  AppendKey(out, "mtime_ns");
  out += std::to_string(e.mtime_ns);
  const bool utf8_path = IsValidUtf8(e.path);
  if (utf8_path) {
    AppendKey(out, "nfc");
    AppendQuoted(out, Nfc(e.path));
  }
  if (file) {
    AppendKey(out, "object");
    AppendQuoted(out, e.object);
  }
  AppendKey(out, utf8_path ? "path" : "path_b64");
  AppendQuoted(out, utf8_path ? e.path : Base64(e.path));
  if (file) {
    AppendKey(out, "sha256");
    AppendQuoted(out, e.sha256);
    AppendKey(out, "size");
    out += std::to_string(e.size);
  }
  if (e.type == EntryType::kSymlink) {
    const bool utf8_target = IsValidUtf8(e.target);
    AppendKey(out, utf8_target ? "target" : "target_b64");
    AppendQuoted(out, utf8_target ? e.target : Base64(e.target));
  }
  AppendKey(out, "type");
  AppendQuoted(out, TypeName(e.type));
  out += "}\n";
  return out;
}

Result<Entry> ParseEntry(std::string_view line, const std::string& where) {
  try {
    const json j = json::parse(line);
    if (j.at("kind") != "entry") return Status::Corrupt(fmt::format("{}: not an entry", where));
    return EntryFromJson(j);
  } catch (const std::exception& e) {
    return Status::Corrupt(fmt::format("{}: {}", where, e.what()));
  }
}

json ObjectJson(const ObjectInfo& o) {
  json j = {{"kind", "object"},
            {"name", o.name},
            {"type", o.bundle     ? "bundle"
                     : o.part > 0 ? "chunk"
                                  : "file"},
            {"size", o.size},
            {"sha256", o.sha256}};
  if (o.bundle) j["members"] = o.members;
  if (o.volume > 0) j["volume"] = o.volume;
  if (o.part > 0) {
    j["part"] = o.part;
    j["parts"] = o.parts;
  }
  return j;
}

ObjectInfo ObjectFromJson(const json& j) {
  ObjectInfo o;
  o.name = j.at("name").get<std::string>();
  const std::string type = j.at("type").get<std::string>();
  if (type != "bundle" && type != "file" && type != "chunk") {
    throw std::runtime_error(fmt::format("bad object type '{}'", type));
  }
  o.bundle = type == "bundle";
  o.size = j.at("size").get<uint64_t>();
  o.sha256 = j.at("sha256").get<std::string>();
  o.volume = j.contains("volume") ? j.at("volume").get<uint32_t>() : 0;
  if (type == "chunk") {
    o.part = j.at("part").get<uint32_t>();
    o.parts = j.at("parts").get<uint32_t>();
    if (o.part < 1 || o.part > o.parts || o.parts < 2) {
      throw std::runtime_error(fmt::format("chunk part {} of {}", o.part, o.parts));
    }
  }
  o.members = o.bundle ? j.at("members").get<uint64_t>() : (o.part > 1 ? 0 : 1);
  return o;
}

std::string EncodeManifest(const Manifest& m) {
  constexpr size_t kEncodeSplitAt = 4096;
  std::string out;
  const ManifestHeader& h = m.header;
  json hj = {
      {"kind", "header"},
      {"format", h.format},
      {"tool", h.tool},
      {"host", h.host},
      {"created_ms", h.created_ms},
      {"encrypted", h.encrypted},
      {"compress", h.compress},
      {"signer", h.signer},
      {"custody_first", h.custody_first},
      {"totals",
       {{"files", h.files}, {"dirs", h.dirs}, {"symlinks", h.symlinks}, {"bytes", h.bytes}, {"objects", h.objects}}}};
  PutBytes(hj, "source", h.source, false);
  if (h.format >= 2) hj["volumes"] = h.volumes;
  out += Line(hj);
  for (const ObjectInfo& o : m.objects) out += Line(ObjectJson(o));
  // The entries are encoded on two threads (the second half into a string of
  // its own, appended after the first), the larger part of a big manifest's
  // time at the end of an export.
  // The whole text's room is taken at once: a string that doubles while it
  // grows holds up to twice a manifest of tens of MB. A line is ~290 bytes
  // besides its names (path, nfc, object, target) with the longest numbers;
  // only escaped or base64 names exceed the guess.
  const auto guess = [&m](size_t from, size_t to) {
    size_t bytes = 0;
    for (size_t i = from; i < to; ++i) {
      const Entry& e = m.entries[i];
      bytes += 290 + 2 * e.path.size() + e.object.size() + e.target.size();
    }
    return bytes;
  };
  auto encode = [&m](size_t from, size_t to, std::string& into) {
    for (size_t i = from; i < to; ++i) into += EncodeEntry(m.entries[i]);
  };
  const size_t n = m.entries.size();
  out.reserve(out.size() + guess(0, n) + 1024);
  if (n >= kEncodeSplitAt) {
    std::string second;
    std::thread other([&] {
      second.reserve(guess(n / 2, n));
      encode(n / 2, n, second);
    });
    encode(0, n / 2, out);
    other.join();
    out += second;
  } else {
    encode(0, n, out);
  }
  const size_t lines = 1 + m.objects.size() + m.entries.size();
  out += Line(json{{"kind", "trailer"}, {"lines", lines}, {"sha256", Sha256Hex(out)}});
  return out;
}

Result<Manifest> ParseManifest(std::string_view text, const std::string& where) {
  Manifest m;
  size_t line_no = 0;
  size_t pos = 0;
  bool trailer = false;
  auto sha = transfer::Hasher::Create(transfer::HashAlgorithm::kSha256);
  std::set<std::string> paths;
  std::map<std::string, size_t> objects;  // name -> index
  std::vector<uint64_t> members_seen;
  while (pos < text.size()) {
    ++line_no;
    const size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) {
      return Status::Corrupt(fmt::format("{} line {}: no newline at the end (truncated?)", where, line_no));
    }
    const std::string_view line = text.substr(pos, nl - pos);
    const std::string at = fmt::format("{} line {}", where, line_no);
    if (trailer) return Status::Corrupt(fmt::format("{}: a line after the trailer", at));
    try {
      const json j = json::parse(line);
      const std::string kind = j.at("kind").get<std::string>();
      if (line_no == 1 && kind != "header")
        return Status::Corrupt(fmt::format("{}: the first line is not the header", at));
      if (kind == "header") {
        if (line_no != 1) return Status::Corrupt(fmt::format("{}: a second header", at));
        ManifestHeader& h = m.header;
        h.format = j.at("format").get<int>();
        if (h.format != kFormatVersion && h.format != kSingleVolumeFormat) {
          return Status::Unsupported(fmt::format("{}: format version {}; this sluice reads versions {} and {}", at,
                                                 h.format, kSingleVolumeFormat, kFormatVersion));
        }
        h.tool = j.at("tool").get<std::string>();
        h.source = GetBytes(j, "source");
        h.host = j.at("host").get<std::string>();
        h.created_ms = j.at("created_ms").get<int64_t>();
        h.encrypted = j.at("encrypted").get<bool>();
        h.compress = j.at("compress").get<std::string>();
        if (h.compress != "zstd" && h.compress != "none") {
          return Status::Corrupt(fmt::format("{}: compress '{}' is neither zstd nor none", at, h.compress));
        }
        h.signer = j.at("signer").get<std::string>();
        h.custody_first = j.at("custody_first").get<std::string>();
        const json& t = j.at("totals");
        h.files = t.at("files").get<uint64_t>();
        h.dirs = t.at("dirs").get<uint64_t>();
        h.symlinks = t.at("symlinks").get<uint64_t>();
        h.bytes = t.at("bytes").get<uint64_t>();
        h.objects = t.at("objects").get<uint64_t>();
        if (h.format >= 2) {
          h.volumes = j.at("volumes").get<uint32_t>();
          if (h.volumes < 1) return Status::Corrupt(fmt::format("{}: volumes is 0", at));
        }
      } else if (kind == "object") {
        if (!m.entries.empty()) return Status::Corrupt(fmt::format("{}: an object line after the entries", at));
        ObjectInfo o = ObjectFromJson(j);
        if (!ObjectNameOk(o.name)) return Status::Corrupt(fmt::format("{}: bad object name '{}'", at, o.name));
        if (!IsHex(o.sha256, 64)) return Status::Corrupt(fmt::format("{}: sha256 is not 64 hex digits", at));
        const uint32_t volumes = m.header.volumes;
        if (volumes == 0 ? (o.volume != 0 || o.part != 0) : (o.volume < 1 || o.volume > volumes)) {
          return Status::Corrupt(
              fmt::format("{}: object {} is on volume {} of an export of {} volumes", at, o.name, o.volume, volumes));
        }
        // A chunk follows the one before it: part k+1 of the same file, on a later volume.
        if (o.part > 1) {
          const ObjectInfo* prev = m.objects.empty() ? nullptr : &m.objects.back();
          if (prev == nullptr || prev->part + 1 != o.part || prev->parts != o.parts || prev->volume >= o.volume) {
            return Status::Corrupt(
                fmt::format("{}: chunk {} is not the next part after the object before it", at, o.name));
          }
        } else if (!m.objects.empty() && m.objects.back().part != m.objects.back().parts) {
          return Status::Corrupt(fmt::format("{}: {} cuts into the chunks of {}", at, o.name, m.objects.back().name));
        }
        if (!objects.emplace(o.name, m.objects.size()).second) {
          return Status::Corrupt(fmt::format("{}: object {} listed twice", at, o.name));
        }
        m.objects.push_back(std::move(o));
        members_seen.push_back(0);
      } else if (kind == "entry") {
        Entry e = EntryFromJson(j);
        if (!paths.insert(e.path).second) {
          return Status::Corrupt(fmt::format("{}: duplicate path {}", at, ShowPath(e.path)));
        }
        if (e.type == EntryType::kFile) {
          auto it = objects.find(e.object);
          if (it == objects.end()) {
            return Status::Corrupt(
                fmt::format("{}: {} lives in object {}, which is not listed", at, ShowPath(e.path), e.object));
          }
          const ObjectInfo& o = m.objects[it->second];
          if (o.part > 1) {
            return Status::Corrupt(
                fmt::format("{}: {} names chunk {}, not the first part", at, ShowPath(e.path), e.object));
          }
          const int64_t want = o.bundle ? static_cast<int64_t>(members_seen[it->second]) : -1;
          if (e.member != want || (!o.bundle && members_seen[it->second] != 0)) {
            return Status::Corrupt(fmt::format("{}: {} is not the next member of {}", at, ShowPath(e.path), e.object));
          }
          ++members_seen[it->second];
        }
        m.entries.push_back(std::move(e));
      } else if (kind == "trailer") {
        const uint64_t lines = j.at("lines").get<uint64_t>();
        const std::string digest = j.at("sha256").get<std::string>();
        if (lines != line_no - 1) {
          return Status::Corrupt(
              fmt::format("{}: the trailer counts {} lines before it, there are {}", at, lines, line_no - 1));
        }
        if (digest != sha->HexDigest()) {
          return Status::Corrupt(fmt::format("{}: the trailer's SHA-256 does not match the lines before it", at));
        }
        trailer = true;
      } else {
        return Status::Corrupt(fmt::format("{}: unknown kind '{}'", at, kind));
      }
    } catch (const std::exception& e) {
      return Status::Corrupt(fmt::format("{}: {}", at, e.what()));
    }
    if (!trailer) sha->Update(text.substr(pos, nl + 1 - pos));
    pos = nl + 1;
  }
  if (line_no == 0) return Status::Corrupt(fmt::format("{}: empty", where));
  if (!trailer) return Status::Corrupt(fmt::format("{}: no trailer line (truncated?)", where));
  if (!m.objects.empty() && m.objects.back().part != m.objects.back().parts) {
    return Status::Corrupt(
        fmt::format("{}: the chunks of {} end before their last part", where, m.objects.back().name));
  }
  for (size_t i = 0; i < m.objects.size(); ++i) {
    if (members_seen[i] != m.objects[i].members) {
      return Status::Corrupt(fmt::format("{}: object {} lists {} members, the entries place {} in it", where,
                                         m.objects[i].name, m.objects[i].members, members_seen[i]));
    }
  }
  // A file may not sit below a symlink: creating it would write through the link.
  std::set<std::string> links;
  for (const Entry& e : m.entries) {
    if (e.type == EntryType::kSymlink) links.insert(e.path);
  }
  for (const Entry& e : m.entries) {
    for (size_t slash = e.path.find('/'); slash != std::string::npos; slash = e.path.find('/', slash + 1)) {
      if (links.count(e.path.substr(0, slash)) != 0) {
        return Status::Corrupt(fmt::format("{}: {} lies below the symlink {} (would write through it)", where,
                                           ShowPath(e.path), ShowPath(e.path.substr(0, slash))));
      }
    }
  }
  return m;
}

}  // namespace sluice::appliance
