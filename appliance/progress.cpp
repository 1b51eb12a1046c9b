#include "appliance/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <memory>

namespace sluice::appliance {
namespace {

struct BarState {
  std::string verb;
  uint64_t bytes_total = 0;
  uint64_t objects_total = 0;
  uint64_t objects_done = 0;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point last{};
};

void DrawBar(BarState& s, const nlohmann::json& j) {
  const std::string event = j.value("event", "");
  if (event == "plan") {
    s.bytes_total = j.value("bytes", uint64_t{0});
    s.objects_total = j.value("objects", uint64_t{0});
    return;
  }
  if (event == "changed") {
    std::fprintf(stderr, "\r\033[K%s: %s changed: %s\n", s.verb.c_str(), j.value("path", "").c_str(),
                 j.value("what", "").c_str());
    return;
  }
  if (event != "object") return;
  ++s.objects_done;
  const auto now = std::chrono::steady_clock::now();
  if (now - s.last < std::chrono::milliseconds(200) && s.objects_done != s.objects_total) return;
  s.last = now;
  const double elapsed = std::chrono::duration<double>(now - s.start).count();
  const double done = static_cast<double>(j.value("bytes_done", uint64_t{0}));
  const double rate = elapsed > 0 ? done / elapsed : 0;
  const double left = static_cast<double>(s.bytes_total) - done;
  const std::string eta = rate > 0 && left > 0 ? fmt::format("{:.0f} s", left / rate) : "-";
  std::fprintf(stderr, "\r\033[K%s: %llu/%llu objects, %.1f/%.1f MiB, %.1f MiB/s, ETA %s", s.verb.c_str(),
               static_cast<unsigned long long>(s.objects_done), static_cast<unsigned long long>(s.objects_total),
               done / 1048576.0, static_cast<double>(s.bytes_total) / 1048576.0, rate / 1048576.0, eta.c_str());
  if (s.objects_done == s.objects_total) std::fputc('\n', stderr);
  std::fflush(stderr);
}

}  // namespace

ProgressFn MakeProgress(const std::string& mode, const std::string& verb) {
  if (mode == "json") {
    return [](const nlohmann::json& j) {
      // An event may quote a name or a message that is not UTF-8.
      const std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
      std::fwrite(line.data(), 1, line.size(), stdout);
      std::fflush(stdout);
    };
  }
  if (mode == "auto" && ::isatty(STDERR_FILENO) == 1) {
    auto state = std::make_shared<BarState>();
    state->verb = verb;
    return [state](const nlohmann::json& j) { DrawBar(*state, j); };
  }
  return {};
}

}  // namespace sluice::appliance
