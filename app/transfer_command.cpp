#include "app/transfer_command.h"

#include <fmt/format.h>
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <thread>

#include "core/config/units.h"
#include "core/util/glob.h"
#include "transfer/engine.h"
#include "transfer/open_endpoint.h"

namespace sluice::app {
namespace {

using transfer::LinkPolicy;

int Usage(const std::string& message) {
  std::cerr << "sluice transfer: " << message << "\n";
  return 2;
}

}  // namespace

TransferCommand::TransferCommand(CLI::App& app) {
  transfer_ = app.add_subcommand("transfer",
                                 "Move bulk data between local disks, SFTP, SMB, NFS and S3, verified and resumable");
  transfer_->require_subcommand(1);
  copy_ = transfer_->add_subcommand("copy", "Copy new and changed files from SRC to DST (never deletes)");
  sync_ = transfer_->add_subcommand("sync", "Make DST like SRC: copy new and changed files; --delete removes extras");
  AddFlags(copy_, false);
  AddFlags(sync_, true);
}

bool TransferCommand::selected() const { return transfer_->parsed(); }

void TransferCommand::AddFlags(CLI::App* cmd, bool sync) {
  cmd->add_option(
         "SRC", f_.source,
         "Source: /local/path, sftp://user@host:port/path, smb://user@host/share/path, nfs://host/export/path or "
         "s3://bucket/prefix (a directory or one file)")
      ->required();
  cmd->add_option("DST", f_.dest,
                  "Destination directory: /local/path, sftp://user@host:port/path, smb://user@host/share/path, "
                  "nfs://host/export/path or s3://bucket/prefix")
      ->required();
  cmd->add_flag("--checksum", f_.checksum,
                "Compare contents (not size and mtime) to decide what to copy, and read every copy back to verify it");
  cmd->add_option("--hash", f_.hash, "Content hash: sha256 (default), xxh128 or crc64nvme")
      ->check(CLI::IsMember({"sha256", "xxh128", "crc64nvme"}));
  cmd->add_option("--verify", f_.verify,
                  "auto: the destination's hash where it has one, else the size; readback: read each copy back")
      ->check(CLI::IsMember({"auto", "readback"}));
  cmd->add_option("--transfers", f_.transfers, "Files copied in parallel (default 4)")->check(CLI::Range(1, 256));
  cmd->add_option("--include", f_.include, "Copy only paths matching GLOB (repeatable; '**' spans directories)");
  cmd->add_option("--exclude", f_.exclude, "Leave out paths matching GLOB (repeatable; wins over --include)");
  cmd->add_option("--bwlimit", f_.bwlimit, "Bandwidth limit for the whole job, bytes per second (e.g. 10M = 10 MiB/s)");
  cmd->add_flag("--dry-run,-n", f_.dry_run, "Plan and report what would be done; change nothing");
  cmd->add_option("--report", f_.report, "Write a JSON report of every entry and the totals to FILE");
  cmd->add_option("--progress", f_.progress, "auto (a bar on a terminal), json (events on stdout) or none")
      ->check(CLI::IsMember({"auto", "json", "none"}));
  if (sync) cmd->add_flag("--delete", f_.delete_extraneous, "Remove what DST has and SRC does not (after copying)");
  cmd->add_flag("--no-resume", f_.no_resume, "Ignore partial files from interrupted runs (resume is on by default)");
  cmd->add_flag(
      "--resume", [this](int64_t) { f_.no_resume = false; }, "Resume interrupted files (the default)");
  cmd->add_flag(
      "--owners", [this](int64_t) { f_.owners = true; },
      "Keep numeric uid/gid where both sides hold them (local, SFTP, NFS; default: on when running as root); "
      "a destination that refuses is a warning");
  cmd->add_flag(
      "--no-owners", [this](int64_t) { f_.owners = false; }, "Leave owners as the destination makes them");
  cmd->add_option("--retries", f_.retries, "Retries per file for transient errors (default 3)")
      ->check(CLI::Range(0, 100));
  cmd->add_option("--links", f_.links, "Symlinks: copy (recreate, default), follow (copy the target) or skip")
      ->check(CLI::IsMember({"skip", "follow", "copy"}));
  cmd->add_option("--known-hosts", f_.known_hosts, "SFTP: known_hosts file (default ~/.ssh/known_hosts)");
  cmd->add_flag("--accept-new-host-key", f_.accept_new_host_key,
                "SFTP: trust and record a host key seen for the first time (a changed key is still refused)");
  cmd->add_option("--ssh-key", f_.ssh_key, "SFTP: private key file");
  cmd->add_option("--ssh-key-passphrase-file", f_.ssh_key_passphrase_file, "SFTP: the key's passphrase, in a file");
  cmd->add_option("--ssh-password-file", f_.ssh_password_file,
                  "SFTP: password in a file (else SLUICE_SSH_PASSWORD from the environment)");
  cmd->add_option("--sftp-connections", f_.sftp_connections, "SFTP: SSH connections per endpoint (default: automatic)")
      ->check(CLI::Range(0, 64));
  cmd->add_option("--smb-password-file", f_.smb_password_file,
                  "SMB: password in a file (else SLUICE_SMB_PASSWORD from the environment)");
  cmd->add_option("--smb-domain", f_.smb_domain, "SMB: domain or workgroup (or smb://DOMAIN;user@host/...)");
  cmd->add_flag("--smb-encrypt", f_.smb_encrypt, "SMB: require SMB3 encryption (fail if the server cannot)");
  cmd->add_option("--s3-endpoint", f_.s3_endpoint,
                  "S3: endpoint URL of a VPC endpoint or S3-compatible store (default AWS, or AWS_ENDPOINT_URL_S3)");
  cmd->add_option("--s3-region", f_.s3_region, "S3: region (default AWS_REGION, else us-east-1)");
  cmd->add_flag("--s3-path-style", f_.s3_path_style, "S3: address buckets as https://host/bucket (emulators, MinIO)");
  cmd->add_option("--s3-profile", f_.s3_profile, "S3: profile in ~/.aws/credentials and ~/.aws/config");
  cmd->add_option("--s3-part-size", f_.s3_part_size, "S3: multipart upload part size (default 8M, at least 5M)");
}

int TransferCommand::Execute() {
  if (copy_->parsed()) return Run(false);
  return Run(true);
}

int TransferCommand::Run(bool sync) {
  transfer::TransferOptions o;
  o.command = sync ? "sync" : "copy";
  o.dry_run = f_.dry_run;
  o.transfers = f_.transfers;
  o.plan.checksum = f_.checksum;
  o.plan.delete_extraneous = f_.delete_extraneous;
  o.plan.links = f_.links == "skip"     ? LinkPolicy::kSkip
                 : f_.links == "follow" ? LinkPolicy::kFollow
                                        : LinkPolicy::kCopy;
  for (const std::string& g : f_.include) {
    Result<Glob> glob = Glob::Compile(g);
    if (!glob.ok()) return Usage(fmt::format("--include {}: {}", g, glob.status().message()));
    o.plan.include.push_back(std::move(glob).value());
  }
  for (const std::string& g : f_.exclude) {
    Result<Glob> glob = Glob::Compile(g);
    if (!glob.ok()) return Usage(fmt::format("--exclude {}: {}", g, glob.status().message()));
    o.plan.exclude.push_back(std::move(glob).value());
  }
  o.copy.hash = transfer::ParseHashAlgorithm(f_.hash).value();
  o.copy.verify =
      (f_.checksum || f_.verify == "readback") ? transfer::VerifyMode::kReadback : transfer::VerifyMode::kAuto;
  o.copy.resume = !f_.no_resume;
  o.copy.retries = f_.retries;
  o.copy.owners = f_.owners.value_or(::geteuid() == 0);
  std::unique_ptr<transfer::RateLimiter> limiter;
  if (!f_.bwlimit.empty()) {
    Result<uint64_t> rate = ParseSize(f_.bwlimit);
    if (!rate.ok()) return Usage(fmt::format("--bwlimit {}: {}", f_.bwlimit, rate.status().message()));
    if (rate.value() == 0) return Usage("--bwlimit must be more than 0");
    limiter = std::make_unique<transfer::RateLimiter>(rate.value());
    o.copy.limiter = limiter.get();
  }
  for (const std::string* url : {&f_.source, &f_.dest}) {
    if (std::string problem = transfer::UrlProblem(*url); !problem.empty()) return Usage(problem);
  }

  transfer::EndpointOptions eo;
  eo.sftp.known_hosts = f_.known_hosts;
  eo.sftp.accept_new_host_key = f_.accept_new_host_key;
  eo.sftp.key_file = f_.ssh_key;
  eo.sftp.key_passphrase_file = f_.ssh_key_passphrase_file;
  eo.sftp.password_file = f_.ssh_password_file;
  eo.sftp.connections = f_.sftp_connections > 0 ? f_.sftp_connections : 0;
  eo.smb.password_file = f_.smb_password_file;
  eo.smb.domain = f_.smb_domain;
  eo.smb.encrypt = f_.smb_encrypt;
  eo.s3.endpoint = f_.s3_endpoint;
  eo.s3.region = f_.s3_region;
  eo.s3.path_style = f_.s3_path_style;
  eo.s3.profile = f_.s3_profile;
  if (!f_.s3_part_size.empty()) {
    Result<uint64_t> part = ParseSize(f_.s3_part_size);
    if (!part.ok()) return Usage(fmt::format("--s3-part-size {}: {}", f_.s3_part_size, part.status().message()));
    if (part.value() < (5u << 20) || part.value() > (5ull << 30)) {
      return Usage(fmt::format("--s3-part-size {}: S3 parts are 5 MiB to 5 GiB", f_.s3_part_size));
    }
    eo.s3.part_bytes = part.value();
  }

  // Signals are taken by one thread, synchronously; the copier's workers
  // inherit the blocked mask. The first SIGINT/SIGTERM stops between chunks,
  // keeping partial files for --resume; a second one exits at once.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::atomic<bool> cancel{false};
  std::atomic<bool> done{false};
  std::thread signal_watch([&] {
    int received = 0;
    while (!done) {
      const timespec tick{0, 100'000'000};
      if (sigtimedwait(&signals, nullptr, &tick) <= 0) continue;
      if (++received == 1) {
        std::cerr
            << "\nsluice transfer: interrupted; finishing the current chunk (partial files are kept for resume)\n";
        cancel = true;
      } else {
        _exit(1);
      }
    }
  });
  struct Joiner {
    std::atomic<bool>& done;
    std::thread& t;
    ~Joiner() {
      done = true;
      t.join();
    }
  } joiner{done, signal_watch};

  Result<transfer::OpenedSource> src = transfer::OpenSource(f_.source, eo);
  if (!src.ok()) {
    std::cerr << "sluice transfer: source: " << src.status().message() << "\n";
    // A source that is not there is a mistake in the command line, not a failed job.
    const ErrorCode code = src.status().code();
    return code == ErrorCode::kInvalidArgument || code == ErrorCode::kNotFound ? 2 : 1;
  }
  o.plan.only = src.value().only;
  Result<std::unique_ptr<transfer::Endpoint>> dst = transfer::OpenDestination(f_.dest, eo);
  if (!dst.ok()) {
    std::cerr << "sluice transfer: destination: " << dst.status().message() << "\n";
    return dst.status().code() == ErrorCode::kInvalidArgument ? 2 : 1;
  }

  std::unique_ptr<transfer::ProgressObserver> progress;
  if (f_.progress == "json") {
    progress = std::make_unique<transfer::JsonProgress>(stdout);
  } else if (f_.progress == "auto" && isatty(STDERR_FILENO) == 1) {
    progress = std::make_unique<transfer::TerminalProgress>(stderr);
  }

  Result<transfer::TransferReport> report =
      transfer::RunTransfer(*src.value().endpoint, *dst.value(), o, progress.get(), &cancel);
  progress.reset();
  if (!report.ok()) {
    std::cerr << "sluice transfer: " << report.status().message() << "\n";
    return 1;
  }
  const transfer::TransferReport& r = report.value();
  if (!f_.report.empty()) {
    if (Status s = transfer::WriteReport(r, std::filesystem::absolute(f_.report).string()); !s.ok()) {
      std::cerr << "sluice transfer: cannot write the report " << f_.report << ": " << s.message() << "\n";
      return 1;
    }
  }
  if (f_.progress != "json") {
    // Without a terminal bar the failures, warnings and totals still get said once.
    if (f_.progress == "none" || isatty(STDERR_FILENO) != 1) {
      for (const transfer::ReportEntry& e : r.entries) {
        if (e.failed()) {
          std::cerr << "FAILED " << e.path << ": " << e.error << "\n";
        } else if (!e.warning.empty()) {
          std::cerr << "WARNING " << e.path << ": " << e.warning << "\n";
        }
      }
    }
    if (f_.dry_run) {
      for (const transfer::ReportEntry& e : r.entries) {
        if (e.outcome == "planned") std::cout << e.action << "\t" << e.path << "\t(" << e.reason << ")\n";
      }
    }
    const transfer::ReportTotals& t = r.totals;
    std::cerr << fmt::format("{}{}: {} copied ({} bytes), {} up to date, {} failed, {} deleted, {} skipped, {:.1f} s\n",
                             r.interrupted ? "interrupted " : "", f_.dry_run ? "dry run" : o.command, t.files_copied,
                             t.bytes_copied, t.files_up_to_date, t.files_failed, t.deleted, t.skipped,
                             static_cast<double>(t.duration_ms) / 1000.0);
  }
  return r.ok() ? 0 : 1;
}

}  // namespace sluice::app
