#include "protocols/aws/kinesis_client.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "core/util/utf8.h"

namespace sluice::aws {

KinesisClient::KinesisClient(KinesisConfig config, std::shared_ptr<CredentialsProvider> credentials)
    : json_({.signing_name = "kinesis", .endpoint_prefix = "kinesis", .target_prefix = "Kinesis_20131202"},
            std::move(config), std::move(credentials)) {}

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

  Result<http::Response> resp = json_.Call("PutRecords", body);
  if (!resp.ok()) {
    return Status(resp.status().code(),
                  fmt::format("Kinesis PutRecords to stream '{}': {}", stream, resp.status().message()));
  }
  if (resp.value().status != 200) {
    return AwsJsonClient::ErrorStatus(fmt::format("Kinesis PutRecords to stream '{}'", stream), resp.value().status,
                                      resp.value().body);
  }

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
