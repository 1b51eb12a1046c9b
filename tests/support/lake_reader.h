// Reads what the lake sink wrote, the way a query engine would:
//   <lake>/raw/<source>/dt=YYYY-MM-DD/hr=HH/<batch-id>.jsonl.zst
// Every final file is decompressed (concatenated zstd frames form one
// stream) and each JSON line parsed. Dot-prefixed files are temporary files
// a reader must ignore; they are listed, not read. Anything a reader would
// choke on (a truncated frame, a line that is not JSON, a file outside the
// layout) is reported in `problems`, so a test can assert there is none.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

namespace sluice::test {

struct LakeRecord {
  std::string msg;      // the line, base64-decoded when it was {"base64":...}
  bool msg_was_base64 = false;
  std::string source;
  std::string host;
  std::string path;
  std::string ts;
  std::filesystem::path file;  // the lake file it came from
  // MQTT records (DESIGN.md's record format): msg above is the payload's bytes
  // when it was a string or base64, else the JSON value's compact text.
  std::string topic;  // empty for log lines
  int qos = -1;
  bool retain = false;
  nlohmann::json payload;
  nlohmann::json record;  // the whole record (a transform's output: "fields"; an event: "event")
};

struct LakeContents {
  std::vector<LakeRecord> records;              // in file name order, then line order
  std::vector<std::filesystem::path> files;     // final files read
  std::vector<std::filesystem::path> temp_files;  // dot-prefixed, ignored
  std::vector<std::string> problems;            // each names the file
};

// Reads the whole raw zone, or one source's part of it when `source` is set.
// A lake that does not exist yet reads as empty.
LakeContents ReadLake(const std::filesystem::path& lake, const std::string& source = "");

// Counts the lines in the lake cheaply enough to poll: a final file is
// decompressed once and its count cached by (inode, size, mtime), so a file
// replaced by a redelivery is counted again. Unreadable files count 0.
class LakeLineCounter {
 public:
  explicit LakeLineCounter(std::filesystem::path lake, std::string source = "")
      : lake_(std::move(lake)), source_(std::move(source)) {}
  uint64_t Count();

 private:
  using Key = std::tuple<uint64_t, uint64_t, int64_t>;
  std::filesystem::path lake_;
  std::string source_;
  std::map<std::string, std::pair<Key, uint64_t>> cache_;
};

// Decompresses a whole zstd stream (one or more frames); throws
// std::runtime_error on corrupt or truncated input.
std::string ZstdDecompress(const std::string& compressed);

}  // namespace sluice::test
