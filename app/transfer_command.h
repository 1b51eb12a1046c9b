// `sluice transfer copy|sync SRC DST [flags]`: parses the flags, opens the
// endpoints, runs the engine (transfer/engine.h), prints progress and the
// summary, writes --report. Exit status: 0 everything transferred and
// verified, 1 anything failed or was interrupted, 2 bad usage.
#pragma once

#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <vector>

namespace sluice::app {

class TransferCommand {
 public:
  explicit TransferCommand(CLI::App& app);
  bool selected() const;
  int Execute();
  // `sluice transfer`, for subcommands that live in their own files (drop).
  CLI::App* command() const { return transfer_; }

 private:
  struct Flags {
    std::string source, dest;
    bool checksum = false;
    std::string hash = "sha256";
    std::string verify = "auto";
    int transfers = 4;
    std::vector<std::string> include, exclude;
    std::string bwlimit;
    bool dry_run = false;
    std::string report;
    std::string progress = "auto";
    bool delete_extraneous = false;
    bool no_resume = false;
    std::optional<bool> owners;  // --owners / --no-owners; unset: on when running as root
    int retries = 3;
    std::string links = "copy";
    std::string known_hosts;
    bool accept_new_host_key = false;
    std::string ssh_key, ssh_key_passphrase_file, ssh_password_file;
    std::string smb_password_file, smb_domain;
    bool smb_encrypt = false;
    int sftp_connections = 0;
    std::string s3_endpoint;
    std::string s3_region;
    bool s3_path_style = false;
    std::string s3_profile;
    std::string s3_part_size;
  };
  void AddFlags(CLI::App* cmd, bool sync);
  int Run(bool sync);

  CLI::App* transfer_ = nullptr;
  CLI::App* copy_ = nullptr;
  CLI::App* sync_ = nullptr;
  Flags f_;
};

}  // namespace sluice::app
