// `sluice appliance keygen|export|verify|import|log`: parses the flags and
// runs appliance/ (FORMAT.md there describes the device). Exit status: 0 all
// good, 1 a problem found (verify, import, a broken custody log, files that
// changed during export) or the job failed, 2 bad usage.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "appliance/progress.h"

namespace sluice::app {

class ApplianceCommand {
 public:
  explicit ApplianceCommand(CLI::App& app);
  bool selected() const;
  int Execute();

 private:
  int Keygen();
  int Export();
  int Verify();
  int Import();
  int Log();
  // What verify and import share: the device, the keys, the progress.
  template <class Options>
  void FillReaderOptions(Options& o, const char* verb) const {
    o.device = f_.devices.front();
    o.more_devices.assign(f_.devices.begin() + 1, f_.devices.end());
    o.public_key_file = f_.public_key;
    o.encrypt_key_file = f_.encrypt_key;
    o.insecure_unsigned = f_.insecure_unsigned;
    o.progress = appliance::MakeProgress(f_.progress, verb);
  }

  CLI::App* appliance_ = nullptr;
  CLI::App* keygen_ = nullptr;
  CLI::App* export_ = nullptr;
  CLI::App* verify_ = nullptr;
  CLI::App* import_ = nullptr;
  CLI::App* log_ = nullptr;
  struct Flags {
    std::string out, source, device, dest;
    std::vector<std::string> devices;  // export, verify, import: DEVICE... (import: then DST)
    std::string volume_size;
    std::string sign_key, public_key, encrypt_key;
    std::string pack_under = "1MiB", bundle_size = "4GiB", compress = "zstd";
    size_t bundle_files = 10'000;
    bool insecure_unsigned = false;
    size_t transfers = 4;
    bool skip_symlinks = false;
    std::string s3_endpoint, s3_region, s3_profile, s3_part_size;
    bool s3_path_style = false;
    std::string report;
    std::string progress = "auto";
  } f_;
};

}  // namespace sluice::app
