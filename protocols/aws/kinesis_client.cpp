#include "protocols/aws/kinesis_client.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "core/util/utf8.h"
#include "protocols/aws/sigv4.h"

namespace sluice::aws {
namespace {

Status MapError(std::string_view stream, long status, const std::string& body) {
  std::string type;
  std::string message;
  try {
    const nlohmann::json j = nlohmann::json::parse(body);
    type = j.value("__type", "");
    message = j.value("message", j.value("Message", ""));
  } catch (const nlohmann::json::exception&) {
    message = body.substr(0, 200);
  }
  if (const size_t hash = type.rfind('#'); hash != std::string::npos) type = type.substr(hash + 1);
  const std::string text =
      fmt::format("Kinesis PutRecords to stream '{}': HTTP {} {}: {}", stream, status, type, message);
  if (status >= 500 || type == "ProvisionedThroughputExceededException" || type == "LimitExceededException" ||
      type == "ThrottlingException" || type == "KMSThrottlingException" || type == "ServiceUnavailable") {
    return Status::Unavailable(text);
  }
  if (type == "ResourceNotFoundException") return Status::NotFound(text);
  if (status == 403 || type == "AccessDeniedException" || type == "UnrecognizedClientException" ||
      type == "InvalidSignatureException" || type == "MissingAuthenticationTokenException" ||
      type == "IncompleteSignatureException" || type.starts_with("KMS")) {
    return Status::PermissionDenied(text);
  }
  return Status::InvalidArgument(text);
}

}  // namespace

KinesisClient::KinesisClient(KinesisConfig config, std::shared_ptr<CredentialsProvider> credentials)
    : config_(std::move(config)), credentials_(std::move(credentials)), pool_(config_.http) {
  std::string endpoint = config_.endpoint;
  if (endpoint.empty()) endpoint = fmt::format("https://kinesis.{}.amazonaws.com", config_.region);
  const size_t scheme_end = endpoint.find("://");
  scheme_ = scheme_end == std::string::npos ? "https" : endpoint.substr(0, scheme_end);
  host_ = http::HostOf(scheme_end == std::string::npos ? "https://" + endpoint : endpoint);
}

Result<http::Response> KinesisClient::Call(std::string_view target, const std::string& body) {
  Result<SigV4Credentials> creds = credentials_->Get();
  if (!creds.ok()) return creds.status();
  SigV4Request req;
  req.method = "POST";
  req.host = host_;
  req.path = "/";
  req.headers = {{"Content-Type", "application/x-amz-json-1.1"},
                 {"X-Amz-Target", "Kinesis_20131202." + std::string(target)}};
  req.payload_sha256 = Sha256Hex(body);
  const auto now = config_.clock ? config_.clock() : std::chrono::system_clock::now();
  const SigV4Signed sig = SignV4(req, creds.value(), config_.region, "kinesis", now);
  http::Request h;
  h.method = "POST";
  h.url = scheme_ + "://" + host_ + "/";
  h.headers = req.headers;
  h.headers.insert(h.headers.end(), sig.headers.begin(), sig.headers.end());
  h.body = body;
  return pool_.Perform(h);
}

Result<PutRecordsResult> KinesisClient::PutRecords(std::string_view stream, std::span<const KinesisRecord> records) {
  // Written by hand rather than through a JSON library: the body is mostly
  // base64 (up to 10 MiB), which needs no escaping and no second copy.
  std::string body = "{\"StreamName\":\"";
  AppendJsonEscaped(body, stream);
  body += "\",\"Records\":[";
  for (size_t i = 0; i < records.size(); ++i) {
    const KinesisRecord& r = records[i];
    body += i == 0 ? "{\"Data\":\"" : ",{\"Data\":\"";
    AppendBase64(body, r.data);
    body += "\",\"PartitionKey\":\"";
    AppendJsonEscaped(body, r.partition_key);
    body += '"';
    if (!r.explicit_hash_key.empty()) {
      body += ",\"ExplicitHashKey\":\"";
      AppendJsonEscaped(body, r.explicit_hash_key);
      body += '"';
    }
    body += '}';
  }
  body += "]}";

  Result<http::Response> resp = Call("PutRecords", body);
  if (!resp.ok()) {
    return Status(resp.status().code(),
                  fmt::format("Kinesis PutRecords to stream '{}': {}", stream, resp.status().message()));
  }
  if (resp.value().status != 200) return MapError(stream, resp.value().status, resp.value().body);

  PutRecordsResult out;
  try {
    const nlohmann::json j = nlohmann::json::parse(resp.value().body);
    out.failed = j.value("FailedRecordCount", 0);
    for (const nlohmann::json& e : j.at("Records")) {
      KinesisEntryResult r;
      // kinesis-mock answers "ErrorCode": null for stored records.
      if (e.contains("ErrorCode") && e["ErrorCode"].is_string()) r.error_code = e["ErrorCode"].get<std::string>();
      if (e.contains("ErrorMessage") && e["ErrorMessage"].is_string()) {
        r.error_message = e["ErrorMessage"].get<std::string>();
      }
      if (e.contains("ShardId") && e["ShardId"].is_string()) r.shard_id = e["ShardId"].get<std::string>();
      if (e.contains("SequenceNumber") && e["SequenceNumber"].is_string()) {
        r.sequence_number = e["SequenceNumber"].get<std::string>();
      }
      out.entries.push_back(std::move(r));
    }
  } catch (const nlohmann::json::exception& e) {
    return Status::Io(fmt::format("Kinesis PutRecords to stream '{}': unreadable answer: {}", stream, e.what()));
  }
  if (out.entries.size() != records.size()) {
    return Status::Io(fmt::format("Kinesis PutRecords to stream '{}': {} results for {} records", stream,
                                  out.entries.size(), records.size()));
  }
  return out;
}

}  // namespace sluice::aws
