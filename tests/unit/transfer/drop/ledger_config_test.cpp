#include <catch2/catch.hpp>

#include "core/config/reader.h"
#include "tests/support/temp_dir.h"
#include "transfer/drop/drop_config.h"
#include "transfer/drop/ledger.h"

namespace sluice::transfer::drop {
namespace {

using sluice::test::TempDir;

FileRow NewRow(const std::string& path, uint64_t size) {
  FileRow r;
  r.drop = "d";
  r.path = path;
  r.size = size;
  r.mtime_ns = 7;
  r.claimed_ms = 1000;
  r.date = "2026-11-22";
  return r;
}

std::string Landing(const FileRow& r, int v) {
  return v == 1 ? "raw/" + r.path : "raw/" + r.path + ".v" + std::to_string(v);
}

TEST_CASE("ledger: claims reserve distinct landing paths, versions count what landed", "[drop]") {
  TempDir dir;
  auto ledger = Ledger::Open((dir / "ledger.db").string()).value();
  REQUIRE(ledger->Begin().ok());
  FileRow a = NewRow("a.csv", 10);
  REQUIRE(ledger->Claim(a, [&](int v) { return Landing(a, v); }).ok());
  CHECK(a.version == 1);
  CHECK(a.landed_path == "raw/a.csv");
  // The same name again while the first may still land: the next version.
  FileRow a2 = NewRow("a.csv", 11);
  REQUIRE(ledger->Claim(a2, [&](int v) { return Landing(a2, v); }).ok());
  CHECK(a2.landed_path == "raw/a.csv.v2");
  REQUIRE(ledger->Commit().ok());

  // A duplicate releases its path; the next upload takes version 2 again.
  a2.state = FileState::kDuplicate;
  a2.landed_path.clear();
  a2.finished = true;
  REQUIRE(ledger->Update(a2).ok());
  FileRow a3 = NewRow("a.csv", 12);
  REQUIRE(ledger->Claim(a3, [&](int v) { return Landing(a3, v); }).ok());
  CHECK(a3.landed_path == "raw/a.csv.v2");

  // A foreign file at the path: Rereserve moves on.
  REQUIRE(ledger->Rereserve(a3, [&](int v) { return Landing(a3, v); }).ok());
  CHECK(a3.landed_path == "raw/a.csv.v3");
  REQUIRE(ledger->Update(a3).ok());

  a.state = FileState::kLanded;
  a.sha256 = "abc";
  REQUIRE(ledger->Update(a).ok());
  CHECK(ledger->FindLandedContent("d", "abc", "a.csv", false, 0).value().has_value());
  CHECK_FALSE(ledger->FindLandedContent("d", "abc", "b.csv", false, 0).value().has_value());
  CHECK(ledger->FindLandedContent("d", "abc", "b.csv", true, 0).value().has_value());
  CHECK_FALSE(ledger->FindLandedContent("d", "abc", "a.csv", false, a.id).value().has_value());

  std::optional<FileRow> found = ledger->FindByIdentity("d", "a.csv", 12, 7).value();
  REQUIRE(found);
  CHECK(found->id == a3.id);
  CHECK(ledger->Unfinished("d").value().size() == 2);
  DropCounts c = ledger->Counts("d").value();
  CHECK(c.landed == 1);
  CHECK(c.duplicate == 1);
  CHECK(c.in_progress == 1);
  CHECK(c.waiting_post_action == 1);

  // Reopened: the rows are there.
  ledger.reset();
  ledger = Ledger::Open((dir / "ledger.db").string()).value();
  CHECK(ledger->Get(a.id).value().state == FileState::kLanded);
  CHECK(ledger->Recent("d", 10).value().size() == 3);
}

TEST_CASE("ledger: observations round-trip", "[drop]") {
  TempDir dir;
  auto ledger = Ledger::Open((dir / "l.db").string()).value();
  REQUIRE(ledger->PutObservation("d", {"x", 1, 2, 3, 4}).ok());
  REQUIRE(ledger->PutObservation("e", {"x", 9, 9, 9, 9}).ok());
  auto obs = ledger->Observations("d").value();
  REQUIRE(obs.size() == 1);
  CHECK(obs.at("x").unchanged_since_ms == 4);
  REQUIRE(ledger->RemoveObservation("d", "x").ok());
  CHECK(ledger->Observations("d").value().empty());
  CHECK(ledger->Drops().value() == std::vector<std::string>{"e"});
}

std::string ConfigError(const std::string& text) {
  try {
    ParseDropConfig(text, "drop.toml");
  } catch (const sluice::ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST_CASE("drop config: defaults, and errors that name the file, line and key", "[drop]") {
  DropServiceConfig c = ParseDropConfig(R"(
[drop]
data_dir = "/tmp/x"
[drops.acme]
source = "sftp://acme@127.0.0.1:2222/outbox"
destination = "/lake"
poll = "10s"
)",
                                        "drop.toml");
  REQUIRE(c.drops.size() == 1);
  const DropSpec& d = c.drops[0];
  CHECK(d.stable_for == std::chrono::milliseconds(20000));  // two polls
  CHECK(d.after == AfterAction::kMove);
  CHECK(d.move_to == "../processed");
  CHECK(d.land_as == "raw/{drop}/dt={date}/{name}");
  CHECK(d.dedupe == Dedupe::kSameName);
  CHECK(c.landed_log == "/tmp/x/landed.jsonl");
  CHECK(c.effective.ToToml().find("stable_for = \"20s\"") != std::string::npos);

  const std::string head = "[drops.a]\nsource = \"/in\"\ndestination = \"/lake\"\n";
  CHECK(ConfigError("[drop]\n").find("no [drops.NAME]") != std::string::npos);
  CHECK(ConfigError("[drops.a]\nsource = \"/in\"\n").find("missing required key 'destination'") != std::string::npos);
  CHECK(ConfigError(head + "land_as = \"x/{nope}\"\n").find("drop.toml:4") != std::string::npos);
  CHECK(ConfigError(head + "land_as = \"x/{nope}\"\n").find("unknown variable {nope}") != std::string::npos);
  CHECK(ConfigError(head + "after = \"archive\"\n").find("drops.a.after") != std::string::npos);
  CHECK(ConfigError(head + "sidecars = [\"{name}.crc\"]\n").find(".sha256 or .md5") != std::string::npos);
  CHECK(ConfigError(head + "done_marker = \"done\"\n").find("{name}") != std::string::npos);
  CHECK(ConfigError(head + "colour = 1\n").find("drops.a.colour") != std::string::npos);
  CHECK(ConfigError(head + "move_to = \"../../../../x\"\n").find("move_to") != std::string::npos);
  CHECK(ConfigError("[drops.a]\nsource = \"s3://b/in\"\ndestination = \"/l\"\n").find("s3:// inbox") !=
        std::string::npos);
  CHECK(ConfigError("[drops.a]\nsource = \"/in\"\ndestination = \"ftp://h/l\"\n").find("unsupported scheme") !=
        std::string::npos);
  CHECK(ConfigError("[drops.\"a b\"]\nsource = \"/in\"\ndestination = \"/l\"\n").find("drop name") !=
        std::string::npos);
  CHECK(ConfigError(head + "recursive = true\nmove_to = \"done\"\n").find("outside the inbox") != std::string::npos);
}

}  // namespace
}  // namespace sluice::transfer::drop
