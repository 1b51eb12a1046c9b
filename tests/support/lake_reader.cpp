#include "tests/support/lake_reader.h"

#include <sys/stat.h>
#include <zstd.h>

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <stdexcept>

#include "core/util/utf8.h"
#include "tests/support/temp_dir.h"

namespace sluice::test {
namespace fs = std::filesystem;

std::string ZstdDecompress(const std::string& compressed) {
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> ctx(ZSTD_createDCtx(), &ZSTD_freeDCtx);
  if (!ctx) throw std::runtime_error("ZSTD_createDCtx failed");
  std::string out;
  std::string chunk(ZSTD_DStreamOutSize(), '\0');
  ZSTD_inBuffer in{compressed.data(), compressed.size(), 0};
  size_t last = 0;
  while (in.pos < in.size) {
    ZSTD_outBuffer o{chunk.data(), chunk.size(), 0};
    last = ZSTD_decompressStream(ctx.get(), &o, &in);
    if (ZSTD_isError(last)) throw std::runtime_error(std::string("zstd: ") + ZSTD_getErrorName(last));
    out.append(chunk.data(), o.pos);
  }
  // Flush what the decoder still holds for a frame whose input is all consumed.
  while (last != 0) {
    ZSTD_outBuffer o{chunk.data(), chunk.size(), 0};
    last = ZSTD_decompressStream(ctx.get(), &o, &in);
    if (ZSTD_isError(last)) throw std::runtime_error(std::string("zstd: ") + ZSTD_getErrorName(last));
    out.append(chunk.data(), o.pos);
    if (o.pos == 0 && last != 0) throw std::runtime_error("zstd: truncated frame");
  }
  return out;
}

namespace {

void ReadFileRecords(const fs::path& file, LakeContents& out) {
  std::string data;
  try {
    data = ZstdDecompress(ReadFile(file));
  } catch (const std::exception& e) {
    out.problems.push_back(file.string() + ": " + e.what());
    return;
  }
  if (!data.empty() && data.back() != '\n') out.problems.push_back(file.string() + ": last line has no newline");
  size_t start = 0;
  size_t line_no = 0;
  while (start < data.size()) {
    size_t end = data.find('\n', start);
    if (end == std::string::npos) end = data.size();
    ++line_no;
    const std::string_view line(data.data() + start, end - start);
    start = end + 1;
    const std::string where = file.string() + ":" + std::to_string(line_no) + ": ";
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) {
      out.problems.push_back(where + "not a JSON object: " + std::string(line.substr(0, 200)));
      continue;
    }
    LakeRecord r;
    r.file = file;
    const auto str = [&](const char* key) -> std::string {
      auto it = j.find(key);
      return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    r.record = j;
    r.source = str("source");
    r.host = str("host");
    r.path = str("path");
    r.ts = str("ts");
    if (j.contains("topic")) {  // an MQTT record: payload instead of msg
      r.topic = str("topic");
      r.qos = j.value("qos", -1);
      r.retain = j.value("retain", false);
      auto payload = j.find("payload");
      if (payload == j.end()) {
        out.problems.push_back(where + "MQTT record without payload");
        continue;
      }
      r.payload = *payload;
      if (payload->is_string()) {
        r.msg = payload->get<std::string>();
      } else if (payload->is_object() && payload->size() == 1 && payload->contains("base64") &&
                 (*payload)["base64"].is_string()) {
        if (!DecodeBase64((*payload)["base64"].get<std::string>(), r.msg)) {
          out.problems.push_back(where + "payload.base64 is not valid base64");
          continue;
        }
        r.msg_was_base64 = true;
      } else {
        r.msg = payload->dump();
      }
      out.records.push_back(std::move(r));
      continue;
    }
    auto msg = j.find("msg");
    if (msg == j.end()) {
      // A transform's record whose text was parsed into fields, or an event.
      if (j.contains("fields") || j.contains("event")) {
        out.records.push_back(std::move(r));
      } else {
        out.problems.push_back(where + "no msg");
      }
      continue;
    }
    if (msg->is_string()) {
      r.msg = msg->get<std::string>();
    } else if (msg->is_object() && msg->contains("base64") && (*msg)["base64"].is_string()) {
      if (!DecodeBase64((*msg)["base64"].get<std::string>(), r.msg)) {
        out.problems.push_back(where + "msg.base64 is not valid base64");
        continue;
      }
      r.msg_was_base64 = true;
    } else {
      out.problems.push_back(where + "msg is neither a string nor {\"base64\":...}");
      continue;
    }
    out.records.push_back(std::move(r));
  }
}

}  // namespace

LakeContents ReadLake(const fs::path& lake, const std::string& source) {
  LakeContents out;
  const fs::path root = source.empty() ? lake / "raw" : lake / "raw" / source;
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return out;
  static const std::regex kDt(R"(dt=\d{4}-\d{2}-\d{2})");
  static const std::regex kHr(R"(hr=\d{2})");
  std::vector<fs::path> finals;
  // The walk tolerates files renamed or removed under it (the agent keeps writing).
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    const fs::path& p = it->path();
    const std::string name = p.filename().string();
    std::error_code type_ec;
    if (it->is_directory(type_ec)) continue;
    if (!name.empty() && name[0] == '.') {
      out.temp_files.push_back(p);
      continue;
    }
    // Expect <root>/<source>/dt=/hr=/<file> (or one level less with a source).
    const fs::path rel = fs::relative(p, lake / "raw", type_ec);
    std::vector<std::string> parts;
    for (const auto& part : rel) parts.push_back(part.string());
    const bool layout_ok = parts.size() == 4 && std::regex_match(parts[1], kDt) && std::regex_match(parts[2], kHr) &&
                           name.size() > 10 && name.ends_with(".jsonl.zst");
    if (!layout_ok) {
      out.problems.push_back(p.string() + ": not in the raw zone layout <source>/dt=YYYY-MM-DD/hr=HH/<id>.jsonl.zst");
      continue;
    }
    finals.push_back(p);
  }
  if (ec) out.problems.push_back(root.string() + ": walk failed: " + ec.message());
  std::sort(finals.begin(), finals.end());
  for (const fs::path& f : finals) {
    out.files.push_back(f);
    ReadFileRecords(f, out);
  }
  std::sort(out.temp_files.begin(), out.temp_files.end());
  return out;
}

uint64_t LakeLineCounter::Count() {
  const fs::path root = source_.empty() ? lake_ / "raw" : lake_ / "raw" / source_;
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return 0;
  uint64_t total = 0;
  std::map<std::string, std::pair<Key, uint64_t>> seen;
  for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.' || !name.ends_with(".jsonl.zst")) continue;
    struct stat st {};
    if (::stat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    const Key key{static_cast<uint64_t>(st.st_ino), static_cast<uint64_t>(st.st_size),
                  static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
    const std::string path = it->path().string();
    uint64_t lines = 0;
    auto cached = cache_.find(path);
    if (cached != cache_.end() && cached->second.first == key) {
      lines = cached->second.second;
    } else {
      try {
        const std::string data = ZstdDecompress(ReadFile(it->path()));
        lines = static_cast<uint64_t>(std::count(data.begin(), data.end(), '\n'));
      } catch (const std::exception&) {
        continue;  // renamed away or being replaced: counted on the next poll
      }
    }
    seen[path] = {key, lines};
    total += lines;
  }
  cache_ = std::move(seen);
  return total;
}

}  // namespace sluice::test
