// Loggers: spdlog loggers writing to stderr as text or as JSON lines.
// A logger is passed to components explicitly; there is no global logger.
// Secrets must never be passed to a logger.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <spdlog/spdlog.h>

#include "core/status.h"

namespace sluice {

using Logger = std::shared_ptr<spdlog::logger>;

enum class LogFormat { kText, kJson };

// text: "2026-11-21T10:00:00.123Z info [tail app] message"
// json: {"ts":"2026-11-21T10:00:00.123Z","level":"info","logger":"tail app","msg":"message"}
Logger MakeLogger(std::string name, LogFormat format, spdlog::level::level_enum level);
// The same, writing to `sink` instead of stderr (tests capture output this way).
// The sink's formatter is replaced with Sluice's.
Logger MakeLoggerWithSink(std::string name, LogFormat format, spdlog::level::level_enum level,
                          spdlog::sink_ptr sink);
// A logger for a component, sharing the parent's sinks and level: name "tail app".
Logger ChildLogger(const Logger& parent, std::string name);

Result<spdlog::level::level_enum> ParseLogLevel(std::string_view text);

}  // namespace sluice
