#include "transfer/drop/landing.h"

#include <catch2/catch.hpp>

#include "transfer/drop/source_layout.h"

namespace sluice::transfer::drop {
namespace {

constexpr const char* kDefault = "raw/{drop}/dt={date}/{name}";

TEST_CASE("landing template: default layout, versions and decompression", "[drop]") {
  LandingInput in{"acme", "orders.csv", "2026-11-22", 1, false};
  CHECK(ExpandLandingTemplate(kDefault, in) == "raw/acme/dt=2026-11-22/orders.csv");
  in.version = 3;
  CHECK(ExpandLandingTemplate(kDefault, in) == "raw/acme/dt=2026-11-22/orders.v3.csv");
  in.path = "orders.csv.gz";
  in.decompress = true;
  CHECK(ExpandLandingTemplate(kDefault, in) == "raw/acme/dt=2026-11-22/orders.v3.csv");
  in.version = 1;
  CHECK(ExpandLandingTemplate(kDefault, in) == "raw/acme/dt=2026-11-22/orders.csv");
  // A template that places the version keeps the name as it is.
  CHECK(ExpandLandingTemplate("{drop}/{stem}-{version}{ext}", {"acme", "a.tar.gz", "d", 2, false}) ==
        "acme/a-2.tar.gz");
  // Subfolders of the inbox: {path} keeps them, {name} does not.
  CHECK(ExpandLandingTemplate("in/{path}", {"x", "eu/day1/a.csv", "d", 2, false}) == "in/eu/day1/a.v2.csv");
  CHECK(ExpandLandingTemplate("in/{name}", {"x", "eu/day1/a.csv", "d", 1, false}) == "in/a.csv");
  // Dot files and names without an extension.
  CHECK(ExpandLandingTemplate("{name}", {"x", ".hidden", "d", 2, false}) == ".hidden.v2");
  CHECK(ExpandLandingTemplate("{name}", {"x", "README", "d", 2, false}) == "README.v2");
}

TEST_CASE("landing template: bad templates are refused with the reason", "[drop]") {
  CHECK(LandingTemplateProblem(kDefault).empty());
  CHECK(LandingTemplateProblem("").find("empty") != std::string::npos);
  CHECK(LandingTemplateProblem("/abs/{name}").find("relative") != std::string::npos);
  CHECK(LandingTemplateProblem("raw/{nme}").find("unknown variable {nme}") != std::string::npos);
  CHECK(LandingTemplateProblem("raw/{name").find("without") != std::string::npos);
  CHECK(LandingTemplateProblem("raw/{date}").find("must contain") != std::string::npos);
  CHECK(LandingTemplateProblem("raw/../{name}").find("plain relative path") != std::string::npos);
  CHECK(LandingTemplateProblem("raw//{name}").find("plain relative path") != std::string::npos);
  CHECK(LandingTemplateProblem("raw/{name}/").find("file name") != std::string::npos);
}

TEST_CASE("landing: compression suffixes, companions and dates", "[drop]") {
  CHECK(CompressionSuffix("a.csv.gz") == ".gz");
  CHECK(CompressionSuffix("A.CSV.GZ") == ".GZ");
  CHECK(CompressionSuffix("a.zst") == ".zst");
  CHECK(CompressionSuffix(".gz").empty());
  CHECK(CompressionSuffix("a.tgz").empty());
  CHECK(CompanionPath("{name}.sha256", "sub/a.csv") == "sub/a.csv.sha256");
  CHECK(CompanionPath("done-{name}", "a.csv") == "done-a.csv");
  CHECK(UtcDate(0) == "1970-01-01");
  CHECK(UtcDate(1795337696547) == "2026-11-22");
}

TEST_CASE("source layout: the endpoint root is the common ancestor of the folders", "[drop]") {
  Result<SourceLayout> l = ResolveSourceLayout("sftp://u@h:2222/srv/acme/outbox", "../processed", "");
  REQUIRE(l.ok());
  CHECK(l.value().root_url == "sftp://u@h:2222/srv/acme");
  CHECK(l.value().inbox == "outbox");
  CHECK(l.value().move_to == "processed");
  CHECK(l.value().failed_to.empty());

  l = ResolveSourceLayout("sftp://u@h/srv/acme/outbox", "done", "/archive/failed");
  REQUIRE(l.ok());
  CHECK(l.value().root_url == "sftp://u@h/");
  CHECK(l.value().inbox == "srv/acme/outbox");
  CHECK(l.value().move_to == "srv/acme/outbox/done");
  CHECK(l.value().failed_to == "archive/failed");

  l = ResolveSourceLayout("/data/in", "", "");
  REQUIRE(l.ok());
  CHECK(l.value().root_url == "/data/in");
  CHECK(l.value().inbox.empty());

  // Below the login directory: "../" may not climb out of it.
  CHECK_FALSE(ResolveSourceLayout("sftp://u@h/~", "../processed", "").ok());
  CHECK_FALSE(ResolveSourceLayout("sftp://u@h/~/in", "/abs", "").ok());
  CHECK(ResolveSourceLayout("sftp://u@h/~/in", "../processed", "").ok());
  CHECK_FALSE(ResolveSourceLayout("/data/in", ".", "").ok());  // the inbox itself
  CHECK(NormalizePath("/a/./b/../c").value() == "/a/c");
  CHECK_FALSE(NormalizePath("/..").ok());
}

}  // namespace
}  // namespace sluice::transfer::drop
