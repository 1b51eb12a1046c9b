#include "protocols/mqtt/mqtt_topic.h"

#include <algorithm>

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

bool TopicMatchesFilter(std::string_view filter, std::string_view topic) {
  if (!topic.empty() && topic[0] == '$' && !filter.empty() && (filter[0] == '+' || filter[0] == '#')) return false;
  size_t f = 0, t = 0;
  for (;;) {
    const size_t f_end = std::min(filter.find('/', f), filter.size());
    const std::string_view level = filter.substr(f, f_end - f);
    if (level == "#") return true;
    const size_t t_end = std::min(topic.find('/', t), topic.size());
    if (level != "+" && level != topic.substr(t, t_end - t)) return false;
    const bool filter_last = f_end == filter.size();
    const bool topic_last = t_end == topic.size();
    if (filter_last || topic_last) {
      if (filter_last && topic_last) return true;
      // "a/#" matches "a": the filter's next and last level is '#'.
      return topic_last && filter.substr(f_end + 1) == "#";
    }
    f = f_end + 1;
    t = t_end + 1;
  }
}

}  // namespace sluice
