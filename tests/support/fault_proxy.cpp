#include "tests/support/fault_proxy.h"

#include <fmt/format.h>

#include <algorithm>
#include <csignal>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "tests/support/net.h"

namespace sluice::test {

std::string ProxyFaults::ToJson() const {
  const nlohmann::json j = {{"seed", seed},
                            {"throttle", throttle},
                            {"error500", error500},
                            {"error503", error503},
                            {"partial", partial},
                            {"partialEntries", partial_entries},
                            {"dropBefore", drop_before},
                            {"dropAfter", drop_after},
                            {"slow", slow},
                            {"slowMs", slow_ms},
                            {"outageStatus", outage_status}};
  return j.dump();
}

uint64_t ProxyRequest::RecordBytesTotal() const {
  uint64_t total = 0;
  for (uint64_t b : record_bytes) total += b;
  return total;
}

ProxyTally Tally(const std::vector<ProxyRequest>& requests) {
  ProxyTally t;
  for (const ProxyRequest& r : requests) {
    ++t.requests;
    ++t.by_fault[r.fault];
    ++t.by_status[r.status];
    t.max_body_bytes = std::max(t.max_body_bytes, r.bytes);
    if (!r.put_records) continue;
    ++t.put_records_requests;
    t.records_sent += r.records();
    t.records_refused += r.refused;
    if (r.FailedWhole()) t.records_in_failed += r.records();
    if (r.fault == "dropAfter") t.records_dropped_after += r.forwarded;
    t.max_records = std::max<uint64_t>(t.max_records, r.records());
    t.max_request_record_bytes = std::max(t.max_request_record_bytes, r.RecordBytesTotal());
    for (uint64_t b : r.record_bytes) t.max_record_bytes = std::max(t.max_record_bytes, b);
  }
  return t;
}

std::string ProxyTally::Summary() const {
  std::string out = fmt::format("{} requests; faults:", requests);
  for (const auto& [fault, n] : by_fault) out += fmt::format(" {} {}", fault, n);
  out += "; answered:";
  for (const auto& [status, n] : by_status) {
    out += status == 0 ? fmt::format(" dropped {}", n) : fmt::format(" {} {}", status, n);
  }
  if (put_records_requests > 0) {
    out += fmt::format(
        "; PutRecords {}: records sent {}, refused {}, in failed requests {} (stored, answer dropped: {}); "
        "largest request {} records, {} bytes of data and keys; largest record {} bytes",
        put_records_requests, records_sent, records_refused, records_in_failed, records_dropped_after, max_records,
        max_request_record_bytes, max_record_bytes);
  }
  return out + fmt::format("; largest body {} bytes", max_body_bytes);
}

FaultProxy::FaultProxy(std::filesystem::path dir, std::string upstream)
    : dir_(std::move(dir)), upstream_(std::move(upstream)) {
  std::filesystem::create_directories(dir_);
  ProcessOptions o;
  o.program = "node";
  o.args = {(std::filesystem::path(SLUICE_SOURCE_DIR) / "tests/servers/fault-proxy.js").string(), upstream_,
            log_path().string(), "0"};
  o.log_dir = dir_;
  o.name = "fault-proxy";
  port_ = StartServerReportingPort(process_, std::move(o), "fault-proxy listening on 127\\.0\\.0\\.1:([0-9]+)");
}

FaultProxy::~FaultProxy() { (void)Stop(); }

std::string FaultProxy::endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

void FaultProxy::SetFaults(const ProxyFaults& faults) {
  const std::string body = faults.ToJson();
  const std::string request =
      "PUT /__fault-proxy/faults HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
      "Content-Length: " +
      std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
  const std::optional<HttpResponse> r = HttpExchange(port_, request, std::chrono::seconds(10));
  if (!r || r->status != 200) {
    throw std::runtime_error("fault-proxy did not take the faults " + body +
                             (r ? ": HTTP " + std::to_string(r->status) : ""));
  }
}

std::vector<ProxyRequest> FaultProxy::Requests() const {
  std::vector<ProxyRequest> out;
  std::ifstream in(log_path(), std::ios::binary);
  for (std::string line; std::getline(in, line);) {
    if (in.eof()) break;  // a line still being written
    const nlohmann::json j = nlohmann::json::parse(line);
    ProxyRequest r;
    r.n = j.at("n");
    r.t_ms = j.at("t");
    r.ms = j.at("ms");
    r.method = j.at("method");
    r.path = j.at("path");
    r.target = j.at("target");
    r.bytes = j.at("bytes");
    r.fault = j.at("fault");
    r.status = j.at("status").is_number() ? j.at("status").get<int>() : 0;
    r.upstream = j.at("upstream").is_number() ? j.at("upstream").get<int>() : 0;
    if (j.contains("recordBytes")) {
      r.put_records = true;
      r.stream = j.value("stream", "");
      r.record_bytes = j.at("recordBytes").get<std::vector<uint64_t>>();
      r.forwarded = j.at("forwarded");
      r.refused = j.at("refused");
    }
    out.push_back(std::move(r));
  }
  return out;
}

ExitStatus FaultProxy::Stop(std::chrono::milliseconds timeout) {
  if (!process_) return last_status_;
  const std::optional<ExitStatus> s = process_->Stop(SIGTERM, timeout);
  last_status_ = s ? *s : process_->Kill9();
  process_.reset();
  return last_status_;
}

uint64_t RetryRequestCeiling(std::chrono::milliseconds window, std::chrono::milliseconds initial,
                             std::chrono::milliseconds max, uint64_t requests_per_attempt) {
  uint64_t attempts = 1;  // the first one goes at once
  double elapsed = 0;
  double ceiling = static_cast<double>(initial.count());
  for (;;) {
    const double mean = ceiling / 2;
    if (mean <= 0 || elapsed + mean > static_cast<double>(window.count())) break;
    elapsed += mean;
    ++attempts;
    ceiling = std::min(ceiling * 2, static_cast<double>(max.count()));
  }
  return (3 * attempts + 5) * requests_per_attempt;
}

}  // namespace sluice::test
