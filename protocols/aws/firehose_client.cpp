#include "protocols/aws/firehose_client.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "core/util/utf8.h"

namespace sluice::aws {

FirehoseClient::FirehoseClient(JsonServiceConfig config, std::shared_ptr<CredentialsProvider> credentials)
    : json_({.signing_name = "firehose", .endpoint_prefix = "firehose", .target_prefix = "Firehose_20150804"},
            std::move(config), std::move(credentials)) {}

Result<PutRecordBatchResult> FirehoseClient::PutRecordBatch(std::string_view delivery_stream,
                                                            std::span<const std::string_view> records) {
  const std::string what = fmt::format("Firehose PutRecordBatch to delivery stream '{}'", delivery_stream);
  // By hand for the same reason as Kinesis PutRecords: the body is base64.
  std::string body = "{\"DeliveryStreamName\":\"";
  AppendJsonEscaped(body, delivery_stream);
  body += "\",\"Records\":[";
  for (size_t i = 0; i < records.size(); ++i) {
    body += i == 0 ? "{\"Data\":\"" : ",{\"Data\":\"";
    AppendBase64(body, records[i]);
    body += "\"}";
  }
  body += "]}";

  Result<http::Response> resp = json_.Call("PutRecordBatch", body);
  if (!resp.ok()) return Status(resp.status().code(), fmt::format("{}: {}", what, resp.status().message()));
  if (resp.value().status != 200) return AwsJsonClient::ErrorStatus(what, resp.value().status, resp.value().body);

  PutRecordBatchResult out;
  try {
    const nlohmann::json j = nlohmann::json::parse(resp.value().body);
    out.failed = j.value("FailedPutCount", 0);
    for (const nlohmann::json& e : j.at("RequestResponses")) {
      FirehoseEntryResult r;
      if (e.contains("ErrorCode") && e["ErrorCode"].is_string()) r.error_code = e["ErrorCode"].get<std::string>();
      if (e.contains("ErrorMessage") && e["ErrorMessage"].is_string()) {
        r.error_message = e["ErrorMessage"].get<std::string>();
      }
      if (e.contains("RecordId") && e["RecordId"].is_string()) r.record_id = e["RecordId"].get<std::string>();
      // A stored record has a RecordId; an entry with neither is not a success.
      if (r.error_code.empty() && r.record_id.empty()) {
        r.error_code = "MissingRecordId";
        r.error_message = "the answer has neither a RecordId nor an ErrorCode for this record";
      }
      out.entries.push_back(std::move(r));
    }
  } catch (const nlohmann::json::exception& e) {
    return Status::Io(fmt::format("{}: unreadable answer: {}", what, e.what()));
  }
  if (out.entries.size() != records.size()) {
    return Status::Io(fmt::format("{}: {} results for {} records", what, out.entries.size(), records.size()));
  }
  // The entries say which to resend; FailedPutCount is only their count.
  out.failed = 0;
  for (const FirehoseEntryResult& e : out.entries) out.failed += e.ok() ? 0 : 1;
  return out;
}

}  // namespace sluice::aws
