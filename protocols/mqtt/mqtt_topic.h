// MQTT 3.1.1 §4.7's rules for topic filters (what a subscriber asks for) and
// topic names (what a publisher sends to). Both return the problem as a
// sentence for a configuration error or a dead-letter reason, or an empty
// string when the text is valid.
#pragma once

#include <string>
#include <string_view>

namespace sluice {

// Non-empty, '#' only as the last level and alone in it, '+' alone in its
// level, no NUL, at most 65535 bytes.
std::string TopicFilterProblem(std::string_view filter);

// Non-empty, no wildcard ('+' or '#') anywhere, no NUL, at most 65535 bytes.
// (Names starting with '$' are allowed: AWS IoT's Basic Ingest topics are
// "$aws/rules/<rule>/...".)
std::string TopicNameProblem(std::string_view name);

// Whether topic name `topic` matches `filter` (§4.7.1): '+' is one level,
// '#' the rest (including the parent level itself, "a/#" matches "a"); a
// filter starting with a wildcard does not match names starting with '$'.
bool TopicMatchesFilter(std::string_view filter, std::string_view topic);

}  // namespace sluice
