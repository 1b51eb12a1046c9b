#include "protocols/mqtt/mqtt_topic.h"

#include <catch2/catch.hpp>
#include <string>

namespace sluice {

TEST_CASE("mqtt topics: names a publisher may use", "[unit]") {
  for (const char* ok : {"a", "a/b", "/a", "a/", "a//b", "$aws/rules/r/x", "plant/3/temp", "Grüße/x"}) {
    INFO(ok);
    CHECK(TopicNameProblem(ok).empty());
  }
  CHECK_THAT(TopicNameProblem(""), Catch::Contains("empty"));
  CHECK_THAT(TopicNameProblem("a/+/b"), Catch::Contains("wildcards"));
  CHECK_THAT(TopicNameProblem("a/#"), Catch::Contains("wildcards"));
  CHECK_THAT(TopicNameProblem("a+b"), Catch::Contains("wildcards"));
  CHECK_THAT(TopicNameProblem(std::string("a\0b", 3)), Catch::Contains("NUL"));
  CHECK_THAT(TopicNameProblem(std::string(65536, 'x')), Catch::Contains("65535"));
  CHECK(TopicNameProblem(std::string(65535, 'x')).empty());
}

TEST_CASE("mqtt topics: filters a subscriber may use", "[unit]") {
  for (const char* ok : {"#", "+", "a/+/b", "a/#", "+/+/#", "$SYS/#"}) {
    INFO(ok);
    CHECK(TopicFilterProblem(ok).empty());
  }
  CHECK_THAT(TopicFilterProblem("a#"), Catch::Contains("whole level"));
  CHECK_THAT(TopicFilterProblem("a/#/b"), Catch::Contains("last level"));
  CHECK_THAT(TopicFilterProblem("a+/b"), Catch::Contains("whole level"));
}

}  // namespace sluice
