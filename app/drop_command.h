// `sluice transfer drop --config FILE [--once | --status | --check]`: SFTP
// drop ingestion (transfer/drop/). Exit status: 0 ok; 1 a poll failed under
// --once, or the data directory is locked by another ingester; 2 bad usage or
// configuration.
#pragma once

#include <CLI/CLI.hpp>
#include <string>

namespace sluice::app {

class DropCommand {
 public:
  explicit DropCommand(CLI::App* transfer);
  bool selected() const;
  int Execute();

 private:
  CLI::App* drop_ = nullptr;
  std::string config_path_;
  bool once_ = false;
  bool status_ = false;
  bool check_ = false;
  int recent_ = 20;
};

}  // namespace sluice::app
