#include "appliance/verifier.h"

#include <fmt/format.h>

#include "appliance/custody_log.h"
#include "appliance/format.h"
#include "appliance/keys.h"
#include "core/util/durable_file.h"

namespace sluice::appliance {

nlohmann::json VerifyReport::ToJson() const {
  nlohmann::json j = {{"ok", ok()},
                      {"signature", signature},
                      {"totals", {{"objects", totals.objects}, {"files", totals.files}, {"bytes", totals.bytes}}},
                      {"problems", nlohmann::json::array()}};
  for (const Problem& p : problems) j["problems"].push_back({{"where", p.where}, {"what", p.what}});
  return j;
}

Result<VerifyReport> RunVerify(const VerifyOptions& o) {
  Result<ReaderKeys> keys = LoadReaderKeys(o.public_key_file, o.encrypt_key_file);
  if (!keys.ok()) return keys.status();
  const std::string& public_key = keys.value().public_key;
  const std::string& encrypt_key = keys.value().encrypt_key;
  VerifyReport r;
  std::vector<std::filesystem::path> given = {o.device};
  given.insert(given.end(), o.more_devices.begin(), o.more_devices.end());
  Result<std::pair<TrustedManifest, DeviceSet>> opened =
      OpenDevices(given, public_key, encrypt_key, o.insecure_unsigned);
  // The custody log (and the report) live on volume 1.
  std::filesystem::path first = o.device;
  if (!opened.ok()) {
    r.signature = "not established (see the problems)";
    r.problems.push_back({std::string(kManifestName), opened.status().message()});
  } else {
    const TrustedManifest& t = opened.value().first;
    const DeviceSet& devices = opened.value().second;
    first = devices.first();
    r.signature = t.signature;
    CheckDeviceFiles(devices, t.manifest, r.problems);
    CheckCustody(first, t, r.problems);
    r.totals = ReadObjects(devices, t.manifest, encrypt_key, nullptr, r.problems, o.progress);
  }
  const std::filesystem::path report_file = o.report_file.empty() ? first / kVerifyReportName : o.report_file;
  {
    Result<AtomicFile> f = AtomicFile::Create(report_file, true);
    if (!f.ok()) return f.status();
    // Problems quote what a damaged device holds, which need not be UTF-8:
    // the report replaces such bytes rather than fail to be written.
    const std::string text = r.ToJson().dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
    if (Status s = f.value().Append(text + "\n"); !s.ok()) return s;
    if (Status s = f.value().Commit(); !s.ok()) return s;
  }
  // A log that does not check out is not extended: the event would hide where it broke.
  if (opened.ok() && ReadCustodyLog(first).ok()) {
    Result<std::string> ev = AppendCustodyEvent(first, {{"event", "verified"},
                                                        {"ok", r.ok()},
                                                        {"manifest_sha256", opened.value().first.sha256},
                                                        {"counts",
                                                         {{"objects", r.totals.objects},
                                                          {"files", r.totals.files},
                                                          {"bytes", r.totals.bytes},
                                                          {"problems", r.problems.size()}}}});
    if (!ev.ok()) r.custody_note = ev.status().message();
  } else {
    r.custody_note = "no custody event appended: the manifest or the log does not check out";
  }
  return r;
}

}  // namespace sluice::appliance
