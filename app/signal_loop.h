// Runs a long job (the agent, the drop ingester) on its own thread while the
// calling thread takes SIGINT and SIGTERM synchronously and reports each one,
// numbered, to the caller: the first usually asks the job to stop, the second
// to stop at once. With an `on_reload`, SIGHUP is taken the same way and
// reported to it (without one SIGHUP keeps its default action). Blocks the
// signals first, so every thread the job starts inherits the mask and no
// signal interrupts the job's system calls.
#pragma once

#include <functional>
#include <string_view>

#include "core/status.h"

namespace sluice::app {

// Returns the job's Status once it has returned. `on_signal` runs on the
// calling thread with the count so far (1, 2, ...) and "SIGINT" or "SIGTERM";
// `on_reload` too, and does not count.
Status RunUntilDone(const std::function<Status()>& job,
                    const std::function<void(int count, std::string_view name)>& on_signal,
                    const std::function<void()>& on_reload = {});

}  // namespace sluice::app
