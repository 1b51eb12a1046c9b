#include "protocols/aws/s3_client.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <pugixml.hpp>
#include <thread>

#include "core/backoff.h"
#include "core/checksum/crc64nvme.h"
#include "core/util/utf8.h"

namespace sluice::aws {

struct S3Client::Call {
  std::string method;
  std::string key;  // "" addresses the bucket itself
  std::vector<std::pair<std::string, std::string>> query;
  http::Headers headers;
  std::string_view body;
  bool unsigned_payload = false;  // the body carries an x-amz-checksum of its own

  Call(std::string m, std::string_view k, std::vector<std::pair<std::string, std::string>> q = {})
      : method(std::move(m)), key(k), query(std::move(q)) {}
};

namespace {

bool IsIpAddress(std::string_view host) {
  host =
      host.substr(0, host.rfind(':') == std::string_view::npos || host.front() == '[' ? host.size() : host.rfind(':'));
  if (!host.empty() && host.front() == '[') return true;
  return !host.empty() && std::all_of(host.begin(), host.end(), [](char c) { return std::isdigit(c) || c == '.'; });
}

// The child element named `name`, ignoring namespaces: s3rver and S3 declare
// different ones, and only the local names are stable.
pugi::xml_node Child(const pugi::xml_node& node, std::string_view name) {
  for (pugi::xml_node c : node.children()) {
    std::string_view n = c.name();
    if (const size_t colon = n.find(':'); colon != std::string_view::npos) n.remove_prefix(colon + 1);
    if (n == name) return c;
  }
  return {};
}

std::string Text(const pugi::xml_node& node, std::string_view name) { return Child(node, name).text().get(); }

std::string XmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// "2026-11-22T12:00:00.000Z" (List) -> ns since the epoch, whole seconds.
int64_t ParseIso8601(const std::string& s) {
  std::tm tm{};
  if (strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm) == nullptr) return 0;
  return static_cast<int64_t>(timegm(&tm)) * 1'000'000'000;
}

// "Sun, 22 Nov 2026 12:00:00 GMT" (HEAD's Last-Modified) -> ns since the epoch.
int64_t ParseHttpDate(const std::string& s) {
  std::tm tm{};
  if (strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S", &tm) == nullptr) return 0;
  return static_cast<int64_t>(timegm(&tm)) * 1'000'000'000;
}

struct S3Error {
  std::string code;
  std::string message;
};

// An <Error> document, which S3 also sends with a 200 to Complete and Copy
// that fail after they started answering.
std::optional<S3Error> ErrorIn(const std::string& body) {
  if (body.find("<Error") == std::string::npos) return std::nullopt;
  pugi::xml_document doc;
  if (!doc.load_buffer(body.data(), body.size())) return std::nullopt;
  pugi::xml_node e = Child(doc, "Error");
  if (!e) return std::nullopt;
  return S3Error{Text(e, "Code"), Text(e, "Message")};
}

bool Transient(long status, const std::string& code) {
  return status >= 500 || status == 429 || code == "SlowDown" || code == "RequestTimeout" || code == "InternalError";
}

Status MapError(const std::string& what, long status, const S3Error& e) {
  const std::string text = e.code.empty() ? fmt::format("{}: HTTP {}", what, status)
                                          : fmt::format("{}: HTTP {} {}: {}", what, status, e.code, e.message);
  if (Transient(status, e.code)) return Status::Unavailable(text);
  if (status == 404) return Status::NotFound(text);
  if (status == 403) return Status::PermissionDenied(text);
  if (e.code == "BadDigest" || e.code == "InvalidDigest" || e.code.starts_with("XAmzContentChecksum") ||
      e.code == "InvalidChecksum") {
    return Status::Corrupt(text);
  }
  if (status == 412) return Status::Unavailable(text + " (the object changed while it was read)");
  if (status == 400 || status == 416) return Status::InvalidArgument(text);
  return Status::Io(text);
}

}  // namespace

void ApplyEnvironmentDefaults(S3Config& config, const std::map<std::string, std::string>& environment) {
  auto first_set = [&](std::initializer_list<const char*> names) {
    for (const char* n : names) {
      auto it = environment.find(n);
      if (it != environment.end() && !it->second.empty()) return it->second;
    }
    return std::string();
  };
  if (config.region.empty()) config.region = first_set({"AWS_REGION", "AWS_DEFAULT_REGION"});
  if (config.region.empty()) config.region = "us-east-1";
  if (config.endpoint.empty()) config.endpoint = first_set({"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"});
  if (config.http.ca_file.empty()) config.http.ca_file = first_set({"AWS_CA_BUNDLE"});
}

std::string Crc64NvmeBase64(uint64_t crc) {
  std::string be(8, '\0');
  for (int i = 0; i < 8; ++i) be[i] = static_cast<char>(crc >> (56 - 8 * i));
  return Base64(be);
}

S3Client::S3Client(S3Config config, std::shared_ptr<CredentialsProvider> credentials)
    : config_(std::move(config)), credentials_(std::move(credentials)), pool_(config_.http) {
  std::string endpoint = config_.endpoint;
  if (endpoint.empty()) endpoint = fmt::format("https://s3.{}.amazonaws.com", config_.region);
  const size_t scheme_end = endpoint.find("://");
  scheme_ = scheme_end == std::string::npos ? "https" : endpoint.substr(0, scheme_end);
  host_ = http::HostOf(scheme_end == std::string::npos ? "https://" + endpoint : endpoint);
  // A bucket name with dots breaks TLS name checks in the virtual-hosted style.
  path_style_ = config_.path_style || IsIpAddress(host_) || config_.bucket.find('.') != std::string::npos;
}

S3Client::~S3Client() = default;

std::chrono::system_clock::time_point S3Client::Now() const {
  return config_.clock ? config_.clock() : std::chrono::system_clock::now();
}

Result<http::Response> S3Client::SendOnce(const Call& call) {
  Result<SigV4Credentials> creds = credentials_->Get();
  if (!creds.ok()) return creds.status();

  SigV4Request req;
  req.method = call.method;
  req.host = path_style_ ? host_ : config_.bucket + "." + host_;
  req.path = path_style_ ? "/" + config_.bucket + (call.key.empty() ? "" : "/" + call.key) : "/" + call.key;
  req.query = call.query;
  req.headers = call.headers;
  req.payload_sha256 = call.unsigned_payload ? "UNSIGNED-PAYLOAD" : Sha256Hex(call.body);
  const SigV4Signed signed_request =
      SignV4(req, creds.value(), config_.region, "s3",
             Now() + std::chrono::seconds(clock_skew_s_.load(std::memory_order_relaxed)));

  http::Request http_request;
  http_request.method = call.method;
  http_request.url = scheme_ + "://" + req.host + CanonicalPath(req.path);
  if (!call.query.empty()) http_request.url += "?" + CanonicalQuery(call.query);
  http_request.headers = call.headers;
  http_request.headers.insert(http_request.headers.end(), signed_request.headers.begin(), signed_request.headers.end());
  http_request.body = call.body;

  return pool_.Perform(http_request);
}

Result<http::Response> S3Client::Send(const Call& call) {
  const std::string what = fmt::format("S3 {} {}/{}{}", call.method, config_.bucket, call.key,
                                       call.query.empty() ? "" : "?" + call.query.front().first);
  Backoff backoff(config_.backoff_base, config_.backoff_cap);
  Status last;
  bool skew_corrected = false;
  for (int attempt = 1;; ++attempt) {
    Result<http::Response> r = SendOnce(call);
    if (r.ok()) {
      std::optional<S3Error> e = ErrorIn(r.value().body);
      const long status = r.value().status;
      if (status >= 200 && status < 300 && !e.has_value()) return r;
      last = MapError(what, status, e.value_or(S3Error{}));
      // A device whose clock is off signs requests S3 refuses (15 minutes of
      // tolerance). As the AWS SDKs do, sign by the server's clock from then
      // on, once per call.
      if (e.has_value() && e->code == "RequestTimeTooSkewed" && !skew_corrected) {
        if (const std::string* date = r.value().Header("date"); date != nullptr && ParseHttpDate(*date) > 0) {
          const auto now = Now().time_since_epoch();
          const int64_t skew =
              ParseHttpDate(*date) / 1'000'000'000 - std::chrono::duration_cast<std::chrono::seconds>(now).count();
          clock_skew_s_.store(skew, std::memory_order_relaxed);
          skew_corrected = true;
          continue;
        }
      }
    } else {
      last = r.status().code() == ErrorCode::kUnavailable ? Status::Unavailable(what + ": " + r.status().message())
                                                          : r.status();
    }
    if (last.code() != ErrorCode::kUnavailable || attempt >= config_.max_attempts) return last;
    std::this_thread::sleep_for(backoff.Next());
  }
}

Result<S3ObjectInfo> S3Client::Head(std::string_view key) {
  Call c("HEAD", key);
  c.headers = {{"x-amz-checksum-mode", "ENABLED"}};
  Result<http::Response> r = Send(c);
  if (!r.ok()) return r.status();
  const http::Response& resp = r.value();
  S3ObjectInfo info;
  info.key = std::string(key);
  if (const std::string* v = resp.Header("content-length")) info.size = std::stoull(*v);
  if (const std::string* v = resp.Header("last-modified")) info.mtime_ns = ParseHttpDate(*v);
  if (const std::string* v = resp.Header("etag")) info.etag = *v;
  const std::string* type = resp.Header("x-amz-checksum-type");
  if (const std::string* v = resp.Header("x-amz-checksum-crc64nvme"); v && (!type || *type == "FULL_OBJECT")) {
    info.crc64nvme = *v;
  }
  return info;
}

Result<std::string> S3Client::GetRange(std::string_view key, uint64_t offset, uint64_t length, std::string_view etag) {
  if (length == 0) return std::string();
  Result<S3Range> r = GetRangeWithInfo(key, offset, length, etag);
  if (!r.ok()) return r.status();
  return std::move(r.value().data);
}

Result<S3Range> S3Client::GetRangeWithInfo(std::string_view key, uint64_t offset, uint64_t length,
                                           std::string_view etag) {
  Call c("GET", std::string(key));
  c.headers.emplace_back("Range", fmt::format("bytes={}-{}", offset, offset + std::max<uint64_t>(length, 1) - 1));
  if (!etag.empty()) c.headers.emplace_back("If-Match", std::string(etag));
  Result<http::Response> r = Send(c);
  S3Range out;
  if (!r.ok()) {
    // A range that starts at the end of the object is "nothing left"; the
    // object's size is then unknown here (0).
    if (r.status().message().find("InvalidRange") != std::string::npos) return out;
    return r.status();
  }
  const http::Response& resp = r.value();
  if (const std::string* v = resp.Header("etag")) out.etag = *v;
  out.data = std::move(r.value().body);
  out.object_size = out.data.size();
  if (const std::string* range = resp.Header("content-range"); range != nullptr && resp.status == 206) {
    // "bytes 0-99/12345"
    if (const size_t slash = range->rfind('/'); slash != std::string::npos && (*range)[slash + 1] != '*') {
      out.object_size = std::strtoull(range->c_str() + slash + 1, nullptr, 10);
    }
  } else if (resp.status == 200) {
    // A server that ignored Range sent the whole object.
    out.object_size = out.data.size();
    out.data = offset < out.data.size() ? out.data.substr(offset, length) : std::string();
  }
  if (out.data.size() > length) out.data.resize(length);
  return out;
}

Result<S3ListPage> S3Client::List(std::string_view prefix, std::string_view delimiter, std::string_view token,
                                  int max_keys) {
  Call c("GET", "", {{"list-type", "2"}});
  c.query.emplace_back("max-keys", std::to_string(max_keys));
  if (!prefix.empty()) c.query.emplace_back("prefix", std::string(prefix));
  if (!delimiter.empty()) c.query.emplace_back("delimiter", std::string(delimiter));
  if (!token.empty()) c.query.emplace_back("continuation-token", std::string(token));
  Result<http::Response> r = Send(c);
  if (!r.ok()) return r.status();
  pugi::xml_document doc;
  const std::string& body = r.value().body;
  if (!doc.load_buffer(body.data(), body.size())) {
    return Status::Io(fmt::format("S3 list {}/{}: the answer is not XML", config_.bucket, prefix));
  }
  pugi::xml_node root = Child(doc, "ListBucketResult");
  S3ListPage page;
  for (pugi::xml_node n : root.children()) {
    const std::string_view name = n.name();
    if (name.ends_with("Contents")) {
      S3ObjectInfo o;
      o.key = Text(n, "Key");
      o.size = std::strtoull(Text(n, "Size").c_str(), nullptr, 10);
      o.mtime_ns = ParseIso8601(Text(n, "LastModified"));
      o.etag = Text(n, "ETag");
      page.objects.push_back(std::move(o));
    } else if (name.ends_with("CommonPrefixes")) {
      page.common_prefixes.push_back(Text(n, "Prefix"));
    }
  }
  if (Text(root, "IsTruncated") == "true") {
    page.next_token = Text(root, "NextContinuationToken");
    if (page.next_token.empty()) {
      return Status::Io(fmt::format("S3 list {}/{}: truncated without a continuation token", config_.bucket, prefix));
    }
  }
  return page;
}

Status S3Client::Put(std::string_view key, std::string_view body) {
  const std::string crc = Crc64NvmeBase64(Crc64Nvme(body));
  Call c("PUT", std::string(key));
  c.headers = {{"Content-Type", "application/octet-stream"}, {"x-amz-checksum-crc64nvme", crc}};
  c.body = body;
  c.unsigned_payload = true;
  Result<http::Response> r = Send(c);
  if (!r.ok()) return r.status();
  // S3 checked the CRC itself; an answer naming another one means a store
  // that computed it over different bytes.
  if (const std::string* echoed = r.value().Header("x-amz-checksum-crc64nvme"); echoed && *echoed != crc) {
    return Status::Corrupt(fmt::format("S3 PUT {}/{}: stored CRC-64/NVME {} differs from the one sent, {}",
                                       config_.bucket, key, *echoed, crc));
  }
  return Status::Ok();
}

Status S3Client::Delete(std::string_view key) {
  Result<http::Response> r = Send(Call("DELETE", std::string(key)));
  return r.ok() ? Status::Ok() : r.status();
}

Status S3Client::Copy(std::string_view from_key, std::string_view to_key) {
  Call c("PUT", std::string(to_key));
  c.headers.emplace_back("x-amz-copy-source", UriEncode("/" + config_.bucket + "/" + std::string(from_key), true));
  Result<http::Response> r = Send(c);
  return r.ok() ? Status::Ok() : r.status();
}

Result<std::string> S3Client::CreateMultipart(std::string_view key) {
  Call c("POST", std::string(key), {{"uploads", ""}});
  c.headers = {{"Content-Type", "application/octet-stream"},
               {"x-amz-checksum-algorithm", "CRC64NVME"},
               {"x-amz-checksum-type", "FULL_OBJECT"}};
  Result<http::Response> r = Send(c);
  if (!r.ok()) return r.status();
  pugi::xml_document doc;
  const std::string& body = r.value().body;
  std::string id;
  if (doc.load_buffer(body.data(), body.size())) id = Text(Child(doc, "InitiateMultipartUploadResult"), "UploadId");
  if (id.empty())
    return Status::Io(fmt::format("S3 multipart upload of {}/{}: no UploadId in the answer", config_.bucket, key));
  return id;
}

Result<S3CompletedPart> S3Client::UploadPart(std::string_view key, std::string_view upload_id, int number,
                                             std::string_view body) {
  S3CompletedPart part;
  part.number = number;
  part.crc64nvme = Crc64NvmeBase64(Crc64Nvme(body));
  Call c("PUT", std::string(key));
  c.query = {{"partNumber", std::to_string(number)}, {"uploadId", std::string(upload_id)}};
  c.headers = {{"x-amz-checksum-crc64nvme", part.crc64nvme}};
  c.body = body;
  c.unsigned_payload = true;
  Result<http::Response> r = Send(c);
  if (!r.ok()) return r.status();
  const std::string* etag = r.value().Header("etag");
  if (etag == nullptr) {
    return Status::Io(fmt::format("S3 upload part {} of {}/{}: no ETag in the answer", number, config_.bucket, key));
  }
  part.etag = *etag;
  return part;
}

Status S3Client::CompleteMultipart(std::string_view key, std::string_view upload_id,
                                   const std::vector<S3CompletedPart>& parts, std::string_view crc64nvme) {
  std::string xml = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
  for (const S3CompletedPart& p : parts) {
    xml +=
        fmt::format("<Part><PartNumber>{}</PartNumber><ETag>{}</ETag><ChecksumCRC64NVME>{}</ChecksumCRC64NVME></Part>",
                    p.number, XmlEscape(p.etag), p.crc64nvme);
  }
  xml += "</CompleteMultipartUpload>";
  Call c("POST", std::string(key), {{"uploadId", std::string(upload_id)}});
  c.headers = {{"Content-Type", "application/xml"},
               {"x-amz-checksum-crc64nvme", std::string(crc64nvme)},
               {"x-amz-checksum-type", "FULL_OBJECT"}};
  c.body = xml;
  Result<http::Response> r = Send(c);
  if (!r.ok()) return r.status();
  if (const std::string* echoed = r.value().Header("x-amz-checksum-crc64nvme"); echoed && *echoed != crc64nvme) {
    return Status::Corrupt(fmt::format("S3 multipart upload {}/{}: stored CRC-64/NVME {} differs from the file's, {}",
                                       config_.bucket, key, *echoed, crc64nvme));
  }
  return Status::Ok();
}

Status S3Client::AbortMultipart(std::string_view key, std::string_view upload_id) {
  Call c("DELETE", std::string(key), {{"uploadId", std::string(upload_id)}});
  Result<http::Response> r = Send(c);
  return r.ok() ? Status::Ok() : r.status();
}

Result<S3PartsPage> S3Client::ListParts(std::string_view key, std::string_view upload_id, int marker, int max_parts) {
  Call c("GET", std::string(key), {{"uploadId", std::string(upload_id)}, {"max-parts", std::to_string(max_parts)}});
  if (marker > 0) c.query.emplace_back("part-number-marker", std::to_string(marker));
  Result<http::Response> r = Send(c);
  if (!r.ok()) return r.status();
  pugi::xml_document doc;
  const std::string& body = r.value().body;
  if (!doc.load_buffer(body.data(), body.size())) {
    return Status::Io(fmt::format("S3 list parts of {}/{}: the answer is not XML", config_.bucket, key));
  }
  pugi::xml_node root = Child(doc, "ListPartsResult");
  if (!root) return Status::Io(fmt::format("S3 list parts of {}/{}: no ListPartsResult", config_.bucket, key));
  S3PartsPage page;
  for (pugi::xml_node n : root.children()) {
    std::string_view name = n.name();
    if (const size_t colon = name.find(':'); colon != std::string_view::npos) name.remove_prefix(colon + 1);
    if (name != "Part") continue;
    S3StoredPart p;
    p.number = std::atoi(Text(n, "PartNumber").c_str());
    p.size = std::strtoull(Text(n, "Size").c_str(), nullptr, 10);
    p.etag = Text(n, "ETag");
    p.crc64nvme = Text(n, "ChecksumCRC64NVME");
    p.crc32c = Text(n, "ChecksumCRC32C");
    if (p.number <= 0) {
      return Status::Io(fmt::format("S3 list parts of {}/{}: a part without a number", config_.bucket, key));
    }
    page.parts.push_back(std::move(p));
  }
  if (Text(root, "IsTruncated") == "true") {
    page.next_marker = std::atoi(Text(root, "NextPartNumberMarker").c_str());
    if (page.next_marker <= marker) {
      return Status::Io(fmt::format("S3 list parts of {}/{}: truncated without a next part-number-marker past {}",
                                    config_.bucket, key, marker));
    }
  }
  return page;
}

}  // namespace sluice::aws
