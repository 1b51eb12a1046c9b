#include "app/appliance_command.h"

#include <fmt/format.h>
#include <pthread.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <iostream>
#include <thread>

#include "appliance/custody_log.h"
#include "appliance/exporter.h"
#include "appliance/importer.h"
#include "appliance/keys.h"
#include "appliance/progress.h"
#include "appliance/verifier.h"
#include "core/config/units.h"
#include "transfer/s3/s3_url.h"

namespace sluice::app {
namespace {

int ApplianceUsage(const std::string& message) {
  std::cerr << "sluice appliance: " << message << "\n";
  return 2;
}

// A DEVICE that is not a directory is a wrong argument; one without a
// manifest is a device with a problem (its export did not finish).
std::string DeviceArgumentProblem(const std::string& device) {
  std::error_code ec;
  if (std::filesystem::is_directory(device, ec)) return "";
  return fmt::format("DEVICE {} is not a directory", device);
}

// A missing or malformed key file is a mistake on the command line.
int ApplianceFailure(const Status& s) {
  std::cerr << "sluice appliance: " << s.message() << "\n";
  const ErrorCode c = s.code();
  return c == ErrorCode::kInvalidArgument || c == ErrorCode::kNotFound ? 2 : 1;
}

void PrintProblems(const std::vector<appliance::Problem>& problems) {
  for (const appliance::Problem& p : problems) std::cerr << "PROBLEM " << p.where << ": " << p.what << "\n";
}

}  // namespace

ApplianceCommand::ApplianceCommand(CLI::App& app) {
  appliance_ = app.add_subcommand(
      "appliance", "Stage data onto a disk to ship (packed, checksummed, signed, encrypted), verify it, import it");
  appliance_->require_subcommand(1);

  keygen_ = appliance_->add_subcommand("keygen", "Write sign.key, sign.pub (Ed25519) and encrypt.key into DIR");
  keygen_->add_option("--out", f_.out, "Directory for the key files (created if needed)")->required();

  export_ = appliance_->add_subcommand(
      "export",
      "Export SRC onto the device directory DEVICE, or onto volumes DEVICE... with --volume-size (resumable)");
  export_->add_option("SRC", f_.source, "Source directory")->required();
  export_
      ->add_option("DEVICE", f_.devices,
                   "The mounted device's directory (empty, or an unfinished export); with --volume-size, one "
                   "directory per volume, in order")
      ->required();
  export_->add_option("--volume-size", f_.volume_size,
                      "Split the export into volumes of at most SIZE stored bytes each (format 2), continuing onto "
                      "the next DEVICE; the manifest copy on each volume comes on top");
  export_->add_option("--sign-key", f_.sign_key, "sign.key: sign the manifest (without it the manifest is unsigned)");
  export_->add_option("--encrypt-key", f_.encrypt_key,
                      "encrypt.key: encrypt every object; names on the device reveal nothing");
  export_->add_option("--pack-under", f_.pack_under,
                      "Files smaller than this are packed into tar bundles (default 1MiB)");
  export_->add_option("--bundle-size", f_.bundle_size, "Largest bundle, in bytes before compression (default 4GiB)");
  export_
      ->add_option("--bundle-files", f_.bundle_files, "Most files per bundle (default 10000, Snowball's batch limit)")
      ->check(CLI::Range(1, 10'000'000));
  export_->add_option("--compress", f_.compress, "Bundles: zstd (default) or none")
      ->check(CLI::IsMember({"zstd", "none"}));
  export_->add_option("--progress", f_.progress, "auto (a bar on a terminal), json (events on stdout) or none")
      ->check(CLI::IsMember({"auto", "json", "none"}));

  verify_ = appliance_->add_subcommand("verify", "Re-read the whole device against its signed manifest");
  verify_->add_option("DEVICE", f_.devices, "The device's directory (every volume's, in any order)")->required();
  import_ = appliance_->add_subcommand(
      "import", "Restore the exported tree from DEVICE (every volume's, in any order) into DST: a directory or s3://");
  import_->add_option("DEVICE... DST", f_.devices, "The device directories, then the destination")
      ->required()
      ->expected(2, 1 << 16);
  for (CLI::App* cmd : {verify_, import_}) {
    cmd->add_option("--public-key", f_.public_key, "sign.pub of the exporter: the manifest must carry its signature");
    cmd->add_option("--encrypt-key", f_.encrypt_key, "encrypt.key, for an encrypted device");
    cmd->add_flag("--insecure-unsigned", f_.insecure_unsigned,
                  "Accept a manifest without checking its signature (no --public-key)");
    cmd->add_option("--progress", f_.progress, "auto (a bar on a terminal), json (events on stdout) or none")
        ->check(CLI::IsMember({"auto", "json", "none"}));
  }
  import_->add_option("--transfers", f_.transfers, "s3://: files uploaded in parallel (default 4)")
      ->check(CLI::Range(1, 256));
  import_->add_flag("--skip-symlinks", f_.skip_symlinks,
                    "s3://: leave symlinks out (an object store cannot hold them; without this they are refused)");
  import_->add_option(
      "--s3-endpoint", f_.s3_endpoint,
      "S3: endpoint URL of a VPC endpoint or S3-compatible store (default AWS, or AWS_ENDPOINT_URL_S3)");
  import_->add_option("--s3-region", f_.s3_region, "S3: region (default AWS_REGION, else us-east-1)");
  import_->add_flag("--s3-path-style", f_.s3_path_style,
                    "S3: address buckets as https://host/bucket (emulators, MinIO)");
  import_->add_option("--s3-profile", f_.s3_profile, "S3: profile in ~/.aws/credentials and ~/.aws/config");
  import_->add_option("--s3-part-size", f_.s3_part_size, "S3: multipart upload part size (default 8M, at least 5M)");
  verify_->add_option("--report", f_.report, "Write the JSON report here (default DEVICE/verify-report.json)");

  log_ = appliance_->add_subcommand("log", "Print the device's custody log and check its hash chain");
  log_->add_option("DEVICE", f_.device, "The device's directory")->required();
}

bool ApplianceCommand::selected() const { return appliance_->parsed(); }

int ApplianceCommand::Execute() {
  if (keygen_->parsed()) return Keygen();
  if (export_->parsed()) return Export();
  if (verify_->parsed()) return Verify();
  if (import_->parsed()) return Import();
  return Log();
}

int ApplianceCommand::Keygen() {
  if (Status s = appliance::GenerateKeys(f_.out); !s.ok()) return ApplianceFailure(s);
  std::cerr << fmt::format("wrote {0}/sign.key, {0}/encrypt.key (secret, 0600) and {0}/sign.pub\n", f_.out);
  return 0;
}

int ApplianceCommand::Export() {
  appliance::ExportOptions o;
  o.source = f_.source;
  o.device = f_.devices.front();
  o.more_devices.assign(f_.devices.begin() + 1, f_.devices.end());
  if (!f_.volume_size.empty()) {
    Result<uint64_t> v = ParseSize(f_.volume_size);
    if (!v.ok()) return ApplianceUsage(fmt::format("--volume-size {}: {}", f_.volume_size, v.status().message()));
    if (v.value() < (1u << 20)) return ApplianceUsage(fmt::format("--volume-size {}: at least 1MiB", f_.volume_size));
    o.volume_size = v.value();
  } else if (f_.devices.size() > 1) {
    return ApplianceUsage("several DEVICE directories are volumes: give --volume-size");
  }
  o.sign_key_file = f_.sign_key;
  o.encrypt_key_file = f_.encrypt_key;
  o.compress = f_.compress == "zstd";
  o.bundle_files = f_.bundle_files;
  o.tool = std::string("sluice ") + SLUICE_VERSION;
  for (auto [flag, text, out] : {std::tuple{"--pack-under", &f_.pack_under, &o.pack_under},
                                 std::tuple{"--bundle-size", &f_.bundle_size, &o.bundle_size}}) {
    Result<uint64_t> v = ParseSize(*text);
    if (!v.ok()) return ApplianceUsage(fmt::format("{} {}: {}", flag, *text, v.status().message()));
    if (v.value() == 0) return ApplianceUsage(fmt::format("{} must be more than 0", flag));
    *out = v.value();
  }
  o.progress = appliance::MakeProgress(f_.progress, "export");

  // SIGINT/SIGTERM stop between files: what is committed stays for the rerun.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::atomic<bool> cancel{false}, done{false};
  std::thread watch([&] {
    while (!done) {
      const timespec tick{0, 100'000'000};
      if (sigtimedwait(&signals, nullptr, &tick) > 0) cancel = true;
    }
  });
  o.cancel = &cancel;
  Result<appliance::ExportReport> r = appliance::RunExport(o);
  done = true;
  // Wakes the watcher from its 100 ms wait at once (a signal aimed at that
  // thread; one still pending when it exits is discarded with it).
  pthread_kill(watch.native_handle(), SIGTERM);
  watch.join();
  if (!r.ok()) return ApplianceFailure(r.status());
  for (const std::string& s : r.value().skipped) std::cerr << "SKIPPED " << s << "\n";
  for (const std::string& n : r.value().notes) std::cerr << "note: " << n << "\n";
  for (const std::string& c : r.value().changed) std::cerr << "CHANGED " << c << "\n";
  const appliance::ExportReport& e = r.value();
  std::cerr << fmt::format(
      "export: {} files ({} bytes), {} directories, {} symlinks; {} objects written, {} kept from an earlier run; "
      "{}manifest SHA-256 {}{}\n",
      e.files, e.bytes, e.dirs, e.symlinks, e.objects_written, e.objects_kept,
      e.volumes > 0 ? fmt::format("{} volumes; ", e.volumes) : "", e.manifest_sha256,
      e.changed.empty()
          ? ""
          : fmt::format("; {} files changed while exported (rerun to export them again)", e.changed.size()));
  return e.ok() ? 0 : 1;
}

int ApplianceCommand::Verify() {
  if (f_.public_key.empty() && !f_.insecure_unsigned) {
    return ApplianceUsage("verify needs --public-key sign.pub (or --insecure-unsigned to skip the signature)");
  }
  for (const std::string& d : f_.devices) {
    if (std::string p = DeviceArgumentProblem(d); !p.empty()) return ApplianceUsage(p);
  }
  appliance::VerifyOptions o;
  FillReaderOptions(o, "verify");
  o.report_file = f_.report;
  Result<appliance::VerifyReport> r = appliance::RunVerify(o);
  if (!r.ok()) return ApplianceFailure(r.status());
  PrintProblems(r.value().problems);
  if (!r.value().custody_note.empty()) std::cerr << "note: " << r.value().custody_note << "\n";
  const appliance::ReadTotals& t = r.value().totals;
  std::cerr << fmt::format("verify: {}; signature {}; {} objects, {} files, {} bytes checked; {} problems\n",
                           r.value().ok() ? "OK" : "FAILED", r.value().signature, t.objects, t.files, t.bytes,
                           r.value().problems.size());
  return r.value().ok() ? 0 : 1;
}

int ApplianceCommand::Import() {
  if (f_.public_key.empty() && !f_.insecure_unsigned) {
    return ApplianceUsage("import needs --public-key sign.pub (or --insecure-unsigned to skip the signature)");
  }
  f_.dest = f_.devices.back();
  f_.devices.pop_back();
  for (const std::string& d : f_.devices) {
    if (std::string p = DeviceArgumentProblem(d); !p.empty()) return ApplianceUsage(p);
  }
  appliance::ImportOptions o;
  FillReaderOptions(o, "import");
  o.dest = f_.dest;
  o.transfers = f_.transfers;
  o.skip_symlinks = f_.skip_symlinks;
  if (transfer::IsS3Url(f_.dest)) {
    if (std::string problem = transfer::UrlProblem(f_.dest); !problem.empty()) return ApplianceUsage(problem);
    o.endpoint.s3.endpoint = f_.s3_endpoint;
    o.endpoint.s3.region = f_.s3_region;
    o.endpoint.s3.path_style = f_.s3_path_style;
    o.endpoint.s3.profile = f_.s3_profile;
    if (!f_.s3_part_size.empty()) {
      Result<uint64_t> part = ParseSize(f_.s3_part_size);
      if (!part.ok()) {
        return ApplianceUsage(fmt::format("--s3-part-size {}: {}", f_.s3_part_size, part.status().message()));
      }
      if (part.value() < (5u << 20) || part.value() > (5ull << 30)) {
        return ApplianceUsage(fmt::format("--s3-part-size {}: S3 parts are 5 MiB to 5 GiB", f_.s3_part_size));
      }
      o.endpoint.s3.part_bytes = part.value();
    }
  } else if (f_.skip_symlinks || !f_.s3_endpoint.empty() || f_.s3_path_style) {
    return ApplianceUsage("--skip-symlinks and the --s3-* options are for import to s3://");
  }
  Result<appliance::ImportReport> r = appliance::RunImport(o);
  if (!r.ok()) return ApplianceFailure(r.status());
  PrintProblems(r.value().problems);
  for (const std::string& n : r.value().notes) std::cerr << "note: " << n << "\n";
  const appliance::ImportReport& i = r.value();
  std::cerr << fmt::format(
      "import: {}; {} files written ({} bytes), {} already in place, {} directories, {} symlinks; {} problems\n",
      i.ok() ? "OK" : "FAILED", i.files_written, i.bytes, i.files_kept, i.dirs, i.symlinks, i.problems.size());
  return i.ok() ? 0 : 1;
}

int ApplianceCommand::Log() {
  if (std::string p = DeviceArgumentProblem(f_.device); !p.empty()) return ApplianceUsage(p);
  Result<std::vector<appliance::CustodyEvent>> log = appliance::ReadCustodyLog(f_.device);
  if (!log.ok()) {
    std::cerr << "sluice appliance log: " << log.status().message() << "\n";
    return log.status().code() == ErrorCode::kNotFound ? 2 : 1;
  }
  for (const appliance::CustodyEvent& e : log.value()) {
    const nlohmann::json& j = e.event;
    std::cout << fmt::format("{:>4} {} {:<16} {}@{} {}\n", e.line, j.value("time", "?"), j.value("event", "?"),
                             j.value("user", "?"), j.value("host", "?"),
                             j.contains("counts") ? j.at("counts").dump() : std::string());
  }
  std::cerr << fmt::format("custody log: {} events, hash chain intact\n", log.value().size());
  return 0;
}

}  // namespace sluice::app
