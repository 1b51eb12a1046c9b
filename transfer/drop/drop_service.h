// `sluice transfer drop`: the ingester process around the drop runners. It
// owns the data directory (created if missing, and locked so that two
// ingesters never work from one ledger), the landed log, the metrics server,
// and one thread per drop.
#pragma once

#include <iosfwd>

#include "core/log/log.h"
#include "core/status.h"
#include "transfer/drop/drop_config.h"
#include "transfer/drop/drop_runner.h"

namespace sluice::transfer::drop {

// Runs until `stop` (or, with `once`, until every drop has taken what is
// complete). Ok, or the first failure (a drop's poll failed under `once`, the
// data directory is locked or unusable).
Status RunDropService(const DropServiceConfig& config, bool once, const Logger& log, StopFlag& stop);

// `--status`: per drop, the ledger's counts, what waits in the inbox, and the
// most recent files, read from the ledger without taking the lock.
Status PrintDropStatus(const DropServiceConfig& config, std::ostream& out, int recent);

}  // namespace sluice::transfer::drop
