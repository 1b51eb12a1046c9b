// The HTTP sink's options (`type = "http"`), read and validated from its
// table by ParseHttpSinkConfig; each option's default and meaning are in the
// .cpp, printed by `sluice agent check`. Secrets are never part of the
// configuration: the token and the password are read from files when a
// delivery starts, and only the files' paths are printed.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "agent/sinks/batch_encoding.h"
#include "agent/sinks/record_template.h"
#include "core/config/reader.h"

namespace sluice {

// The shape of a request body (see http_body.h).
enum class HttpFormat { kNdjson, kJsonArray, kElasticsearch, kSplunkHec };

struct HttpSinkConfig {
  std::string url;
  HttpFormat format = HttpFormat::kNdjson;
  RecordEncoding encoding = RecordEncoding::kJson;
  ObjectCompression compression = ObjectCompression::kNone;
  std::vector<std::pair<std::string, std::string>> headers;
  std::optional<std::string> token_file;  // Authorization: Bearer (Splunk for splunk_hec) <first line>
  std::optional<std::string> user;        // with password_file: Authorization: Basic
  std::optional<std::string> password_file;
  uint64_t max_request_bytes = 1u << 20;  // uncompressed body; a single larger record goes alone
  int64_t max_records = 10000;
  std::chrono::milliseconds timeout{30000};
  std::string ca_file;
  std::filesystem::path dead_letter;  // "" = <data_dir>/dead-letter/<sink name>
  // elasticsearch: the bulk action and _index; splunk_hec: the event's index.
  std::string index;
  std::string bulk_action = "create";  // elasticsearch: "create" | "index"
  bool document_ids = true;            // elasticsearch: _id = "<batch id>-<record index>"
  std::string sourcetype;              // splunk_hec
};

HttpSinkConfig ParseHttpSinkConfig(TableReader& r);

}  // namespace sluice
