#include "protocols/mqtt/mqtt_topic.h"

namespace sluice {
namespace {

constexpr size_t kMaxTopicBytes = 65535;  // a UTF-8 string in MQTT has a 16-bit length

}  // namespace

std::string TopicFilterProblem(std::string_view filter) {
  if (filter.empty()) return "a topic filter cannot be empty";
  if (filter.size() > kMaxTopicBytes) return "a topic filter is at most 65535 bytes";
  if (filter.find('\0') != std::string_view::npos) return "a topic filter cannot contain NUL";
  size_t level_start = 0;
  for (size_t i = 0; i <= filter.size(); ++i) {
    if (i < filter.size() && filter[i] != '/') continue;
    const std::string_view level = filter.substr(level_start, i - level_start);
    if (level.find('#') != std::string_view::npos) {
      if (level != "#") return "'#' must be a whole level: \"a/#\", not \"a#\"";
      if (i != filter.size()) return "'#' must be the last level";
    }
    if (level.find('+') != std::string_view::npos && level != "+")
      return "'+' must be a whole level: \"a/+/b\", not \"a+\"";
    level_start = i + 1;
  }
  return {};
}

std::string TopicNameProblem(std::string_view name) {
  if (name.empty()) return "a topic name cannot be empty";
  if (name.size() > kMaxTopicBytes) return "a topic name is at most 65535 bytes";
  if (name.find('\0') != std::string_view::npos) return "a topic name cannot contain NUL";
  if (name.find_first_of("+#") != std::string_view::npos)
    return "a topic name cannot contain the wildcards '+' or '#' (they only belong in subscriptions)";
  return {};
}

}  // namespace sluice
