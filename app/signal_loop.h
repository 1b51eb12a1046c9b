// Runs a long job (the agent, the drop ingester) on its own thread while the
// calling thread takes SIGINT and SIGTERM synchronously and reports each one,
// numbered, to the caller: the first usually asks the job to stop, the second
// to stop at once. Blocks both signals first, so every thread the job starts
// inherits the mask and no signal interrupts the job's system calls.
#pragma once

#include <functional>
#include <string_view>

#include "core/status.h"

namespace sluice::app {

// Returns the job's Status once it has returned. `on_signal` runs on the
// calling thread with the count so far (1, 2, ...) and "SIGINT" or "SIGTERM".
Status RunUntilDone(const std::function<Status()>& job,
                    const std::function<void(int count, std::string_view name)>& on_signal);

}  // namespace sluice::app
