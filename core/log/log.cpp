#include "core/log/log.h"

#include <array>
#include <cstdint>
#include <ctime>

#include <spdlog/sinks/stdout_sinks.h>

#include "core/util/utf8.h"

namespace sluice {
namespace {

// Our own level names: "warn" rather than spdlog's "warning", so that what is
// printed is what `log_level` accepts.
constexpr std::array<std::string_view, 7> kLevelNames{"trace", "debug", "info", "warn", "error", "critical", "off"};

std::string_view LevelName(spdlog::level::level_enum level) {
  const auto i = static_cast<size_t>(level);
  return i < kLevelNames.size() ? kLevelNames[i] : "unknown";
}

void Append(spdlog::memory_buf_t& dest, std::string_view s) { dest.append(s.data(), s.data() + s.size()); }

// Log messages may quote bytes from the outside world (a file name, a peer's
// error); a JSON log line must stay valid JSON, so invalid UTF-8 is shown as
// U+FFFD here. (Records, unlike logs, are never altered: see json_record.h.)
void AppendJsonStringLossy(std::string& out, std::string_view s) {
  while (!s.empty()) {
    const size_t valid = ValidUtf8Prefix(s);
    AppendJsonEscaped(out, s.substr(0, valid));
    if (valid == s.size()) break;
    out += "\\ufffd";
    s.remove_prefix(valid + 1);
  }
}

// Renders both formats. spdlog gives each sink its own clone, and calls it
// under the sink's lock, so the per-second timestamp cache needs no locking.
class SluiceFormatter final : public spdlog::formatter {
 public:
  explicit SluiceFormatter(LogFormat format) : format_(format) {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    const std::string_view name(msg.logger_name.data(), msg.logger_name.size());
    const std::string_view payload(msg.payload.data(), msg.payload.size());
    const std::string_view ts = Timestamp(msg.time);
    if (format_ == LogFormat::kText) {
      Append(dest, ts);
      Append(dest, " ");
      Append(dest, LevelName(msg.level));
      Append(dest, " [");
      Append(dest, name);
      Append(dest, "] ");
      Append(dest, payload);
      Append(dest, "\n");
      return;
    }
    scratch_.clear();
    scratch_ += R"({"ts":")";
    scratch_ += ts;
    scratch_ += R"(","level":")";
    scratch_ += LevelName(msg.level);
    scratch_ += R"(","logger":")";
    AppendJsonStringLossy(scratch_, name);
    scratch_ += R"(","msg":")";
    AppendJsonStringLossy(scratch_, payload);
    scratch_ += "\"}\n";
    Append(dest, scratch_);
  }

  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<SluiceFormatter>(format_); }

 private:
  // "2026-11-21T10:00:00.123Z": the date and time are re-rendered once per second.
  std::string_view Timestamp(spdlog::log_clock::time_point tp) {
    using namespace std::chrono;
    const auto ms = duration_cast<milliseconds>(tp.time_since_epoch()).count();
    int64_t secs = ms / 1000;
    int64_t frac = ms % 1000;
    if (frac < 0) {
      frac += 1000;
      secs -= 1;
    }
    if (secs != cached_sec_) {
      const std::time_t t = static_cast<std::time_t>(secs);
      std::tm tm{};
      gmtime_r(&t, &tm);
      std::strftime(ts_.data(), ts_.size(), "%Y-%m-%dT%H:%M:%S.000Z", &tm);
      cached_sec_ = secs;
    }
    const size_t len = std::char_traits<char>::length(ts_.data());
    // The milliseconds sit just before the final 'Z'.
    ts_[len - 4] = static_cast<char>('0' + frac / 100);
    ts_[len - 3] = static_cast<char>('0' + frac / 10 % 10);
    ts_[len - 2] = static_cast<char>('0' + frac % 10);
    return {ts_.data(), len};
  }

  LogFormat format_;
  int64_t cached_sec_ = INT64_MIN;
  std::array<char, 64> ts_{};
  std::string scratch_;
};

}  // namespace

Logger MakeLoggerWithSink(std::string name, LogFormat format, spdlog::level::level_enum level,
                          spdlog::sink_ptr sink) {
  sink->set_formatter(std::make_unique<SluiceFormatter>(format));
  auto logger = std::make_shared<spdlog::logger>(std::move(name), std::move(sink));
  logger->set_level(level);
  logger->flush_on(spdlog::level::warn);
  return logger;
}

Logger MakeLogger(std::string name, LogFormat format, spdlog::level::level_enum level) {
  return MakeLoggerWithSink(std::move(name), format, level, std::make_shared<spdlog::sinks::stderr_sink_mt>());
}

Logger ChildLogger(const Logger& parent, std::string name) {
  auto child = std::make_shared<spdlog::logger>(std::move(name), parent->sinks().begin(), parent->sinks().end());
  child->set_level(parent->level());
  child->flush_on(parent->flush_level());
  return child;
}

Result<spdlog::level::level_enum> ParseLogLevel(std::string_view text) {
  for (size_t i = 0; i < kLevelNames.size(); ++i) {
    if (text == kLevelNames[i]) return static_cast<spdlog::level::level_enum>(i);
  }
  return Status::InvalidArgument("unknown log level \"" + std::string(text) +
                                 "\"; expected trace, debug, info, warn, error, critical or off");
}

}  // namespace sluice
