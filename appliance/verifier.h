// `sluice appliance verify`: re-reads the whole device against its signed
// manifest (device_reader.h) and the custody log, and writes a JSON report:
// {"ok", "signature", "totals", "problems": [{"where","what"}]}. Appends a
// "verified" custody event with the outcome when the device is writable.
#pragma once

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "appliance/device_reader.h"
#include "core/status.h"

namespace sluice::appliance {

struct VerifyOptions {
  std::filesystem::path device;
  std::vector<std::filesystem::path> more_devices;  // the other volumes of a multi-volume export, any order
  std::string public_key_file;                      // required unless insecure_unsigned
  std::string encrypt_key_file;
  bool insecure_unsigned = false;
  std::filesystem::path report_file;  // empty: verify-report.json on volume 1
  std::function<void(const nlohmann::json&)> progress;
};

struct VerifyReport {
  std::string signature;
  ReadTotals totals;
  std::vector<Problem> problems;
  std::string custody_note;  // why no custody event was appended, if none was
  bool ok() const { return problems.empty(); }
  nlohmann::json ToJson() const;
};

// Fails (a Status) only when verifying cannot start: a key file unreadable.
// Everything found wrong on the device is a problem in the report.
Result<VerifyReport> RunVerify(const VerifyOptions& options);

}  // namespace sluice::appliance
