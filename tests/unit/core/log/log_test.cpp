#include "core/log/log.h"

#include <regex>
#include <sstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/ostream_sink.h>

namespace sluice {
namespace {

struct Captured {
  std::ostringstream out;
  Logger logger;
  Captured(std::string name, LogFormat format, spdlog::level::level_enum level = spdlog::level::info)
      : logger(MakeLoggerWithSink(std::move(name), format, level,
                                  std::make_shared<spdlog::sinks::ostream_sink_mt>(out))) {}
  std::vector<std::string> Lines() const {
    std::vector<std::string> lines;
    std::istringstream in(out.str());
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
  }
};

// 2026-11-21T10:00:00.123Z
spdlog::log_clock::time_point FixedTime() {
  return spdlog::log_clock::time_point(std::chrono::milliseconds(1795255200123));
}

}  // namespace

TEST_CASE("log: text lines carry UTC time, level, logger and message", "[unit]") {
  Captured c("tail app", LogFormat::kText);
  c.logger->log(FixedTime(), spdlog::source_loc{}, spdlog::level::info, "started");
  c.logger->log(FixedTime() + std::chrono::milliseconds(5), spdlog::source_loc{}, spdlog::level::warn, "slow");
  c.logger->info("with {} args", 2);
  const auto lines = c.Lines();
  REQUIRE(lines.size() == 3);
  CHECK(lines[0] == "2026-11-21T10:00:00.123Z info [tail app] started");
  CHECK(lines[1] == "2026-11-21T10:00:00.128Z warn [tail app] slow");
  CHECK(std::regex_match(lines[2], std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info \[tail app\] with 2 args)")));
}

TEST_CASE("log: JSON lines parse and carry the message exactly", "[unit]") {
  Captured c("tail app", LogFormat::kJson, spdlog::level::trace);
  const std::string tricky = "quote \" backslash \\ newline \n tab \t cr \r nul " + std::string(1, '\0') +
                             " bell \x07 del \x7f caf\xc3\xa9 \xf0\x9f\x98\x80";
  c.logger->log(FixedTime(), spdlog::source_loc{}, spdlog::level::err, tricky);
  c.logger->log(FixedTime(), spdlog::source_loc{}, spdlog::level::trace, "t");
  c.logger->log(FixedTime(), spdlog::source_loc{}, spdlog::level::critical, "c");
  const auto lines = c.Lines();
  REQUIRE(lines.size() == 3);  // the newline in the message is escaped, so it stays one line
  const auto j = nlohmann::json::parse(lines[0]);
  CHECK(j.size() == 4);
  CHECK(j["ts"] == "2026-11-21T10:00:00.123Z");
  CHECK(j["level"] == "error");
  CHECK(j["logger"] == "tail app");
  CHECK(j["msg"] == tricky);
  CHECK(nlohmann::json::parse(lines[1])["level"] == "trace");
  CHECK(nlohmann::json::parse(lines[2])["level"] == "critical");
  CHECK(lines[1] == R"({"ts":"2026-11-21T10:00:00.123Z","level":"trace","logger":"tail app","msg":"t"})");
}

TEST_CASE("log: JSON stays valid when a message is not UTF-8", "[unit]") {
  Captured c("app", LogFormat::kJson);
  c.logger->info("bad \xff file \xc3(name\xe2\x82");
  const auto lines = c.Lines();
  REQUIRE(lines.size() == 1);
  const auto j = nlohmann::json::parse(lines[0]);
  CHECK(j["msg"] == "bad \xef\xbf\xbd file \xef\xbf\xbd(name\xef\xbf\xbd\xef\xbf\xbd");
}

TEST_CASE("log: the level filters and a child shares sinks and level", "[unit]") {
  Captured c("agent", LogFormat::kText, spdlog::level::warn);
  c.logger->info("hidden");
  c.logger->warn("shown");
  Logger child = ChildLogger(c.logger, "tail app");
  CHECK(child->name() == "tail app");
  CHECK(child->level() == spdlog::level::warn);
  CHECK(child->sinks() == c.logger->sinks());
  child->debug("hidden too");
  child->error("from child");
  const auto lines = c.Lines();
  REQUIRE(lines.size() == 2);
  CHECK_THAT(lines[0], Catch::EndsWith(" warn [agent] shown"));
  CHECK_THAT(lines[1], Catch::EndsWith(" error [tail app] from child"));
}

TEST_CASE("log: no logger is registered globally", "[unit]") {
  Logger a = MakeLogger("sluice-test-unregistered", LogFormat::kText, spdlog::level::off);
  Logger b = MakeLogger("sluice-test-unregistered", LogFormat::kJson, spdlog::level::off);
  CHECK(spdlog::get("sluice-test-unregistered") == nullptr);
  CHECK(a != b);
  CHECK(a->level() == spdlog::level::off);
}

TEST_CASE("log: ParseLogLevel accepts the level names and nothing else", "[unit]") {
  CHECK(ParseLogLevel("trace").value() == spdlog::level::trace);
  CHECK(ParseLogLevel("debug").value() == spdlog::level::debug);
  CHECK(ParseLogLevel("info").value() == spdlog::level::info);
  CHECK(ParseLogLevel("warn").value() == spdlog::level::warn);
  CHECK(ParseLogLevel("error").value() == spdlog::level::err);
  CHECK(ParseLogLevel("critical").value() == spdlog::level::critical);
  CHECK(ParseLogLevel("off").value() == spdlog::level::off);
  for (const char* bad : {"", "INFO", "warning", "verbose", "info "}) {
    auto r = ParseLogLevel(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == ErrorCode::kInvalidArgument);
    CHECK(r.status().message() == "unknown log level \"" + std::string(bad) +
                                      "\"; expected trace, debug, info, warn, error, critical or off");
  }
}

}  // namespace sluice
