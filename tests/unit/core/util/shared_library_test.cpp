#include "core/util/shared_library.h"

#include <zlib.h>

#include <catch2/catch.hpp>

using namespace sluice;

TEST_CASE("shared library: a missing library names itself and its package", "[unit][util]") {
  Result<SharedLibrary> lib = SharedLibrary::Open("libsluice-no-such-library.so.7", "sluice-nothing");
  REQUIRE_FALSE(lib.ok());
  CHECK(lib.status().code() == ErrorCode::kUnsupported);
  CHECK_THAT(lib.status().message(), Catch::Contains("libsluice-no-such-library.so.7") &&
                                         Catch::Contains("install the sluice-nothing package"));
}

TEST_CASE("shared library: functions bind by name, typed by the header, and a missing one is an error",
          "[unit][util]") {
  Result<SharedLibrary> lib = SharedLibrary::Open("libz.so.1", "zlib1g");
  REQUIRE(lib.ok());
  decltype(&::zlibVersion) version = nullptr;
  REQUIRE(lib->Bind(version, "zlibVersion").ok());
  REQUIRE(version != nullptr);
  CHECK(std::string(version()) == ZLIB_VERSION);  // the very library the tests link

  decltype(&::zlibVersion) missing = nullptr;
  const Status s = lib->Bind(missing, "zlibVersionThatIsNot");
  CHECK(s.code() == ErrorCode::kUnsupported);
  CHECK_THAT(s.message(), Catch::Contains("libz.so.1") && Catch::Contains("zlibVersionThatIsNot"));
  CHECK(missing == nullptr);
}
