#include "transfer/planner.h"

#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <map>

#include "tests/support/endpoint_conformance.h"
#include "tests/support/temp_dir.h"
#include "tests/support/transfer_cli.h"
#include "tests/unit/transfer/faulty_endpoint.h"
#include "transfer/local/local_endpoint.h"

namespace sluice::transfer {
namespace {

namespace fs = std::filesystem;
using sluice::test::SetMtime;
using sluice::test::TempDir;
using sluice::test::WriteFile;
using test::Faults;
using test::FaultyEndpoint;

// path -> "kind:reason" for a compact comparison.
std::map<std::string, std::string> Summary(const Plan& plan) {
  std::map<std::string, std::string> out;
  for (const Action& a : plan.actions) out[a.path] = fmt::format("{}:{}", ActionName(a.kind), a.reason);
  return out;
}

Plan MakeOk(Endpoint& s, Endpoint& d, const PlanOptions& o = {}) {
  Result<Plan> p = MakePlan(s, d, o);
  REQUIRE(p.ok());
  return std::move(p).value();
}

Glob G(std::string_view pattern) { return Glob::Compile(pattern).value(); }

}  // namespace

TEST_CASE("planner: new, changed and up-to-date files, directories first", "[unit][transfer]") {
  TempDir src("plan-src"), dst("plan-dst");
  fs::create_directories(src / "d/e");
  WriteFile(src / "same", "1234");
  WriteFile(src / "bigger", "12345");
  WriteFile(src / "newer", "abcd");
  WriteFile(src / "d/e/new", "x");
  WriteFile(dst / "same", "9999");  // same size and mtime: up to date (content is not read without --checksum)
  WriteFile(dst / "bigger", "1234");
  WriteFile(dst / "newer", "abcd");
  SetMtime(src / "same", 1'700'000'000);
  SetMtime(dst / "same", 1'700'000'000);
  SetMtime(src / "newer", 1'700'000'100);
  SetMtime(dst / "newer", 1'700'000'000);

  auto s = test::OpenLocalOrFail(src.path()), d = test::OpenLocalOrFail(dst.path());
  const Plan plan = MakeOk(*s, *d);
  const auto sum = Summary(plan);
  CHECK(sum.at("same") == "up-to-date:same size and modification time");
  CHECK(sum.at("bigger") == "copy:size differs");
  CHECK(sum.at("newer") == "copy:modification time differs");
  CHECK(sum.at("d") == "mkdir:new");
  CHECK(sum.at("d/e") == "mkdir:new");
  CHECK(sum.at("d/e/new") == "copy:new");
  CHECK(plan.files_to_copy == 3);
  CHECK(plan.bytes_to_copy == 5 + 4 + 1);
  // Parents come before what they contain.
  std::map<std::string, size_t> at;
  for (size_t i = 0; i < plan.actions.size(); ++i) at[plan.actions[i].path] = i;
  CHECK(at["d"] < at["d/e"]);
  CHECK(at["d/e"] < at["d/e/new"]);

  PlanOptions checksum;
  checksum.checksum = true;
  const Plan by_content = MakeOk(*s, *d, checksum);
  for (const Action& a : by_content.actions) {
    if (a.path == "same") {
      CHECK(a.kind == ActionKind::kCopyFile);
      CHECK(a.compare_content);
    }
  }
}

TEST_CASE("planner: --include and --exclude, and --delete spares what the filters leave out", "[unit][transfer]") {
  TempDir src("plan-src"), dst("plan-dst");
  fs::create_directories(src / "logs/old");
  fs::create_directories(src / "tmp");
  WriteFile(src / "logs/a.log", "a");
  WriteFile(src / "logs/a.txt", "a");
  WriteFile(src / "logs/old/b.log", "b");
  WriteFile(src / "tmp/c.log", "c");
  fs::create_directories(dst / "gone-dir/inner");
  WriteFile(dst / "gone-dir/inner/f.log", "x");
  WriteFile(dst / "gone.log", "x");
  WriteFile(dst / "keep.txt", "not selected by --include, so not deleted");
  WriteFile(dst / "tmp-excluded.log", "x");

  auto s = test::OpenLocalOrFail(src.path()), d = test::OpenLocalOrFail(dst.path());
  PlanOptions o;
  o.include.push_back(G("*.log"));
  o.exclude.push_back(G("tmp"));
  o.exclude.push_back(G("tmp-excluded.log"));
  o.delete_extraneous = true;
  const auto sum = Summary(MakeOk(*s, *d, o));
  CHECK(sum.count("logs/a.log") == 1);
  CHECK(sum.count("logs/old/b.log") == 1);
  CHECK(sum.count("logs/a.txt") == 0);
  CHECK(sum.count("tmp") == 0);
  CHECK(sum.count("tmp/c.log") == 0);
  CHECK(sum.at("gone.log") == "delete:not in the source (--delete)");
  CHECK(sum.at("gone-dir/inner/f.log").starts_with("delete"));
  CHECK(sum.at("gone-dir").starts_with("delete"));
  CHECK(sum.count("keep.txt") == 0);
  CHECK(sum.count("tmp-excluded.log") == 0);
}

TEST_CASE("planner: pre-flight finds names that collide or are too long on the destination", "[unit][transfer]") {
  TempDir src("plan-src"), dst("plan-dst");
  WriteFile(src / "Report.csv", "1");
  WriteFile(src / "report.csv", "2");
  WriteFile(src / "caf\xC3\xA9", "nfc");   // é precomposed
  WriteFile(src / "cafe\xCC\x81", "nfd");  // e + combining acute
  WriteFile(src / std::string(40, 'n'), "long");

  Faults faults;
  faults.case_insensitive = true;
  faults.normalizes_unicode = true;
  faults.max_name_bytes = 32;
  auto s = test::OpenLocalOrFail(src.path());
  FaultyEndpoint d(test::OpenLocalOrFail(dst.path()), faults);
  const Plan plan = MakeOk(*s, d);
  const auto sum = Summary(plan);
  CHECK(sum.at("report.csv").starts_with("fail:collides with 'Report.csv'"));
  // Names are planned in byte order, so the NFC form ("caf\xC3\xA9") comes second.
  CHECK(sum.at("caf\xC3\xA9").starts_with("fail:collides with 'cafe\xCC\x81'"));
  CHECK(sum.at(std::string(40, 'n')) == "fail:name is 40 bytes; the destination allows 32");
  CHECK(plan.failures == 3);
  CHECK(plan.files_to_copy == 2);

  // A destination that keeps case and bytes as given has no collisions.
  auto plain = test::OpenLocalOrFail(dst.path());
  CHECK(MakeOk(*s, *plain).failures == 0);
}

TEST_CASE("planner: symlinks are copied, followed inside the source, or skipped", "[unit][transfer]") {
  TempDir src("plan-src"), dst("plan-dst");
  fs::create_directories(src / "real");
  WriteFile(src / "real/f", "data");
  fs::create_symlink("real/f", src / "to-file");
  fs::create_symlink("real", src / "to-dir");
  fs::create_symlink("/etc/passwd", src / "outside");
  fs::create_symlink("missing", src / "dangling");
  auto s = test::OpenLocalOrFail(src.path()), d = test::OpenLocalOrFail(dst.path());

  PlanOptions copy;
  const auto copied = Summary(MakeOk(*s, *d, copy));
  CHECK(copied.at("to-file") == "symlink:new");
  CHECK(copied.at("outside") == "symlink:new");

  PlanOptions follow;
  follow.links = LinkPolicy::kFollow;
  const Plan followed = MakeOk(*s, *d, follow);
  const auto f = Summary(followed);
  CHECK(f.at("to-file") == "copy:new");
  CHECK(f.at("to-dir") == "mkdir:new");
  CHECK(f.at("to-dir/f") == "copy:new");
  CHECK(f.at("outside").starts_with("skip:symlink to '/etc/passwd', outside the source"));
  CHECK(f.at("dangling").starts_with("skip:dangling symlink"));
  for (const Action& a : followed.actions) {
    if (a.path == "to-dir/f") CHECK(SourcePath(a) == "real/f");
    if (a.path == "to-file") CHECK(a.source.size == 4);
  }

  PlanOptions skip;
  skip.links = LinkPolicy::kSkip;
  CHECK(Summary(MakeOk(*s, *d, skip)).at("to-file") == "skip:symlink (--links=skip)");
}

TEST_CASE("planner: partial files are invisible, one named file is all a file SRC plans", "[unit][transfer]") {
  TempDir src("plan-src"), dst("plan-dst");
  WriteFile(src / "a", "a");
  WriteFile(src / "b", "b");
  WriteFile(src / ".sluice-x.part", "leftover in the source");
  WriteFile(dst / ".sluice-a.part", "a resume state");
  auto s = test::OpenLocalOrFail(src.path()), d = test::OpenLocalOrFail(dst.path());
  PlanOptions o;
  o.delete_extraneous = true;
  const auto sum = Summary(MakeOk(*s, *d, o));
  CHECK(sum.size() == 2);
  CHECK(sum.count(".sluice-a.part") == 0);
  for (const Action& a : MakeOk(*s, *d, o).actions) {
    INFO(a.path);
    CHECK(a.partial_seen == (a.path == "a"));  // the copier looks for a prefix to resume only there
  }

  PlanOptions only_b;
  only_b.only.assign(1, 'b');
  const auto one = Summary(MakeOk(*s, *d, only_b));
  CHECK(one.size() == 1);
  CHECK(one.count("b") == 1);

  CHECK(PartialName("f.txt", 255) == ".sluice-f.txt.part");
  const std::string long_name(250, 'x');
  CHECK(PartialName(long_name, 255).size() <= 255);
  CHECK(IsPartialName(PartialName(long_name, 255)));
  CHECK_FALSE(IsPartialName("f.part"));
}

}  // namespace sluice::transfer
