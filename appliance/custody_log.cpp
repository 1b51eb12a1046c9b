#include "appliance/custody_log.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <fstream>
#include <sstream>

#include "appliance/digest.h"
#include "appliance/format.h"
#include "core/util/host_name.h"
#include "core/util/wall_clock.h"
#include "transfer/hash.h"

namespace sluice::appliance {
namespace {

std::string UserName() {
  if (const passwd* pw = ::getpwuid(::geteuid()); pw != nullptr) return pw->pw_name;
  return std::to_string(::geteuid());
}

std::string IsoTime(int64_t ms) {
  const time_t s = static_cast<time_t>(ms / 1000);
  tm utc{};
  gmtime_r(&s, &utc);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &utc);
  return fmt::format("{}.{:03}Z", buf, ms % 1000);
}

const std::string kZeroHash(64, '0');

}  // namespace

Result<std::vector<CustodyEvent>> ReadCustodyLog(const std::filesystem::path& device) {
  const std::filesystem::path path = device / kCustodyName;
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(fmt::format("{}: no custody log", path.string()));
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  std::vector<CustodyEvent> events;
  std::string prev = kZeroHash;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t nl = text.find('\n', pos);
    const std::string at = fmt::format("{} line {}", path.string(), events.size() + 1);
    if (nl == std::string::npos) return Status::Corrupt(fmt::format("{}: no newline at the end (truncated?)", at));
    CustodyEvent ev;
    ev.line = events.size() + 1;
    const std::string_view line(text.data() + pos, nl - pos);
    try {
      ev.event = nlohmann::json::parse(line);
      const std::string got_prev = ev.event.at("prev").get<std::string>();
      const uint64_t seq = ev.event.at("seq").get<uint64_t>();
      if (got_prev != prev) {
        return Status::Corrupt(fmt::format(
            "{}: the chain is broken: 'prev' does not match the previous line's hash (an event was removed, edited "
            "or reordered)",
            at));
      }
      if (seq != ev.line) {
        return Status::Corrupt(
            fmt::format("{}: seq {} where {} was expected (events removed or reordered)", at, seq, ev.line));
      }
      ev.event.at("event").get<std::string>();
    } catch (const std::exception& e) {
      return Status::Corrupt(fmt::format("{}: {}", at, e.what()));
    }
    ev.hash = Sha256Hex(line);
    prev = ev.hash;
    events.push_back(std::move(ev));
    pos = nl + 1;
  }
  return events;
}

Result<std::string> AppendCustodyEvent(const std::filesystem::path& device, nlohmann::json event) {
  std::string prev = kZeroHash;
  size_t seq = 1;
  if (std::filesystem::exists(device / kCustodyName)) {
    Result<std::vector<CustodyEvent>> log = ReadCustodyLog(device);
    if (!log.ok()) return log.status();
    if (!log.value().empty()) {
      prev = log.value().back().hash;
      seq = log.value().size() + 1;
    }
  }
  const int64_t now = WallClockMs();
  event["seq"] = seq;
  event["time"] = IsoTime(now);
  event["time_ms"] = now;
  event["host"] = MachineHostName();
  event["user"] = UserName();
  event["prev"] = prev;
  const std::string line = event.dump();
  const std::string path = (device / kCustodyName).string();
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Status::FromErrno(errno, fmt::format("cannot open the custody log {}", path));
  const std::string bytes = line + "\n";
  const bool ok = ::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size()) && ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!ok) return Status::FromErrno(err, fmt::format("cannot append to the custody log {}", path));
  return Sha256Hex(line);
}

}  // namespace sluice::appliance
