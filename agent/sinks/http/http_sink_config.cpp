#include "agent/sinks/http/http_sink_config.h"

#include <algorithm>
#include <cctype>

namespace sluice {
namespace {

std::string LowerCase(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// Headers the sink sets itself, or that would carry a secret in the configuration.
void CheckHeaderName(TableReader& h, const std::string& name) {
  const std::string lower = LowerCase(name);
  if (name.empty() || name.find_first_of(" \t\r\n:") != std::string::npos) {
    h.Fail(name, "not a valid header name");
  }
  if (lower == "authorization" || lower == "proxy-authorization") {
    h.Fail(name, "a secret is never written in the configuration: use token_file, or user and password_file");
  }
  for (const char* own : {"content-type", "content-encoding", "content-length", "transfer-encoding", "host"}) {
    if (lower == own) h.Fail(name, "set by the sink (format, compression and url decide it)");
  }
}

}  // namespace

HttpSinkConfig ParseHttpSinkConfig(TableReader& r) {
  HttpSinkConfig c;
  c.url = r.RequiredString("url", "where batches are POSTed (http:// or https://)");
  if (!c.url.starts_with("http://") && !c.url.starts_with("https://")) {
    r.Fail("url", "\"" + c.url + "\" must start with http:// or https://");
  }
  {
    const std::string authority = c.url.substr(c.url.find("://") + 3);
    if (authority.substr(0, authority.find_first_of("/?#")).find('@') != std::string::npos) {
      r.Fail("url", "credentials do not belong in the URL: use token_file, or user and password_file");
    }
  }
  const std::string format =
      r.Enum("format", "ndjson", {"ndjson", "json_array", "elasticsearch", "splunk_hec"},
             "ndjson: JSON Lines (application/x-ndjson); json_array: one JSON array; elasticsearch: the _bulk API "
             "(also OpenSearch); splunk_hec: Splunk's HTTP Event Collector");
  c.format = format == "json_array"      ? HttpFormat::kJsonArray
             : format == "elasticsearch" ? HttpFormat::kElasticsearch
             : format == "splunk_hec"    ? HttpFormat::kSplunkHec
                                         : HttpFormat::kNdjson;
  c.encoding = ParseRecordEncoding(r);
  if (c.encoding == RecordEncoding::kRaw &&
      (c.format == HttpFormat::kJsonArray || c.format == HttpFormat::kElasticsearch)) {
    r.Fail("encoding",
           "\"raw\" records are bytes, which " + format +
               " cannot carry unaltered: use format = \"ndjson\" or \"splunk_hec\", or encoding = \"json\"");
  }
  const std::string compression =
      r.Enum("compression", "none", {"none", "gzip", "zstd"}, "request body Content-Encoding");
  c.compression = compression == "gzip"   ? ObjectCompression::kGzip
                  : compression == "zstd" ? ObjectCompression::kZstd
                                          : ObjectCompression::kNone;
  {
    TableReader h = r.Table("headers");
    for (const std::string& name : h.Keys()) {
      CheckHeaderName(h, name);
      c.headers.emplace_back(name, h.String(name, "", "a header sent with every request"));
    }
    h.Finish();
  }
  c.token_file = r.OptionalString(
      "token_file",
      "file whose first line is the token: Authorization: Bearer <token> (Splunk <token> for splunk_hec)");
  c.user = r.OptionalString("user", "user name for HTTP Basic authentication (with password_file)");
  c.password_file = r.OptionalString("password_file", "file whose first line is the Basic authentication password");
  if (r.Has("token") || r.Has("password")) {
    r.Fail(r.Has("token") ? "token" : "password",
           "a secret is never written in the configuration: use token_file, or user and password_file");
  }
  if (c.user.has_value() != c.password_file.has_value()) {
    r.Fail(c.user ? "password_file" : "user", "Basic authentication needs both user and password_file");
  }
  if (c.token_file && c.user) r.Fail("token_file", "set token_file or user and password_file, not both");
  if (c.format == HttpFormat::kSplunkHec && !c.token_file) {
    r.Fail("token_file", "splunk_hec needs the HEC token: token_file");
  }
  c.max_request_bytes = r.Size("max_request_size", "1MiB", 1024, 1ULL << 30,
                               "largest request body before compression; a single larger record is sent alone");
  c.max_records = r.Int("max_records", 10000, 1, 10'000'000, "records per request");
  c.timeout = r.Duration("timeout", "30s", "a request's whole time; an unanswered request is sent again",
                         std::chrono::milliseconds(100));
  c.ca_file = r.String("ca_file", "", "CA certificates (PEM) to verify the server (empty: the system's)");
  c.dead_letter = r.String("dead_letter", "",
                           "directory for records the server refused (4xx) (empty: <data_dir>/dead-letter/<sink>)");
  if (c.format == HttpFormat::kElasticsearch) {
    c.index = r.String("index", "", "_index of each bulk action (empty: the one in the url, /<index>/_bulk)");
    c.bulk_action = r.Enum("bulk_action", "create", {"create", "index"},
                           "create (data streams; with document_ids a resent document is a 409, not a copy) or index");
    c.document_ids = r.Bool("document_ids", true,
                            "_id = <batch id>-<record index>, so a resent record replaces or conflicts, never copies");
  } else if (c.format == HttpFormat::kSplunkHec) {
    c.index = r.String("index", "", "the events' Splunk index (empty: the token's default)");
    c.sourcetype = r.String("sourcetype", "", "the events' sourcetype (empty: the token's default)");
  }
  return c;
}

}  // namespace sluice
