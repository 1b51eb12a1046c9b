#include "transfer/drop/completeness.h"

#include <catch2/catch.hpp>

namespace sluice::transfer::drop {
namespace {

DropSpec Spec() {
  DropSpec s;
  s.name = "d";
  s.stable_for = std::chrono::milliseconds(1000);
  for (const char* g : {"*.part", "*.filepart", ".~*"}) s.ignore.push_back(Glob::Compile(g).value());
  s.sidecars = {"{name}.sha256", "{name}.md5"};
  return s;
}

// Applies an assessment's changes, as the runner does with the ledger.
void Apply(std::map<std::string, Observation>& obs, const InboxAssessment& a) {
  for (const Observation& o : a.put) obs[o.path] = o;
  for (const std::string& p : a.removed) obs.erase(p);
}

std::vector<std::string> ReadyPaths(const InboxAssessment& a) {
  std::vector<std::string> out;
  for (const ReadyFile& r : a.ready) out.push_back(r.path);
  return out;
}

TEST_CASE("completeness: a file is taken only after it stayed the same for stable_for", "[drop]") {
  const DropSpec spec = Spec();
  std::map<std::string, Observation> obs;
  InboxAssessment a = AssessInbox({{"a.csv", 10, 1}}, obs, 0, spec);
  CHECK(a.ready.empty());  // first sight
  CHECK(a.waiting == 1);
  CHECK(a.waiting_unchanged == 1);  // new: patience may make it ready
  Apply(obs, a);
  a = AssessInbox({{"a.csv", 20, 2}}, obs, 600, spec);  // grew
  CHECK(a.ready.empty());
  CHECK(a.waiting_unchanged == 0);  // still growing: --once leaves it
  Apply(obs, a);
  a = AssessInbox({{"a.csv", 20, 2}}, obs, 1500, spec);  // unchanged, but only 900 ms
  CHECK(a.ready.empty());
  Apply(obs, a);
  a = AssessInbox({{"a.csv", 20, 2}}, obs, 1600, spec);
  CHECK(ReadyPaths(a) == std::vector<std::string>{"a.csv"});
  CHECK(a.ready[0].first_seen_ms == 0);
  CHECK(a.waiting == 0);
  // A changed mtime alone restarts the wait.
  Apply(obs, a);
  a = AssessInbox({{"a.csv", 20, 3}}, obs, 5000, spec);
  CHECK(a.ready.empty());
  // Gone: the observation is removed.
  Apply(obs, a);
  a = AssessInbox({}, obs, 6000, spec);
  CHECK(a.removed == std::vector<std::string>{"a.csv"});
}

TEST_CASE("completeness: stable_for 0 still needs two listings", "[drop]") {
  DropSpec spec = Spec();
  spec.stable_for = std::chrono::milliseconds(0);
  std::map<std::string, Observation> obs;
  InboxAssessment a = AssessInbox({{"a", 1, 1}}, obs, 100, spec);
  CHECK(a.ready.empty());
  Apply(obs, a);
  CHECK(AssessInbox({{"a", 1, 1}}, obs, 100, spec).ready.size() == 1);
}

TEST_CASE("completeness: temporary names, filters and sidecars", "[drop]") {
  DropSpec spec = Spec();
  spec.include.push_back(Glob::Compile("*.csv").value());
  spec.exclude.push_back(Glob::Compile("secret*").value());
  std::map<std::string, Observation> obs;
  const std::vector<ListedFile> listing = {
      {"a.csv", 1, 1},          {"a.csv.sha256", 80, 1},   {"b.csv.filepart", 5, 1},
      {".~lock.c.csv", 1, 1},   {"secret.csv", 1, 1},      {"notes.txt", 1, 1},
      {".sluice-x.part", 1, 1}, {"orphan.csv.md5", 40, 1}, {"c.csv", 2, 2},
  };
  InboxAssessment a = AssessInbox(listing, obs, 0, spec);
  std::vector<std::string> observed;
  for (const Observation& o : a.put) observed.push_back(o.path);
  std::sort(observed.begin(), observed.end());
  CHECK(observed == std::vector<std::string>{"a.csv", "a.csv.sha256", "c.csv", "orphan.csv.md5"});
  Apply(obs, a);
  a = AssessInbox(listing, obs, 2000, spec);
  REQUIRE(ReadyPaths(a) == std::vector<std::string>{"a.csv", "c.csv"});  // never a sidecar, even an orphan
  CHECK(a.ready[0].sidecars == std::vector<std::string>{"a.csv.sha256"});
  CHECK(a.ready[1].sidecars.empty());

  // A sidecar still being written holds its data file back.
  std::vector<ListedFile> later = listing;
  later[1].size = 81;
  Apply(obs, a);
  a = AssessInbox(later, obs, 4000, spec);
  CHECK(ReadyPaths(a) == std::vector<std::string>{"c.csv"});

  // require_sidecar: c.csv waits until it has one.
  spec.require_sidecar = true;
  a = AssessInbox(listing, obs, 9000, spec);
  CHECK(ReadyPaths(a) == std::vector<std::string>{"a.csv"});
  CHECK(a.waiting == 1);
  CHECK(a.waiting_unchanged == 0);
}

TEST_CASE("completeness: a done marker decides, not the clock", "[drop]") {
  DropSpec spec = Spec();
  spec.done_marker = "{name}.done";
  std::map<std::string, Observation> obs;
  InboxAssessment a = AssessInbox({{"a.bin", 5, 1}, {"b.bin", 5, 1}, {"b.bin.done", 0, 1}}, obs, 0, spec);
  REQUIRE(ReadyPaths(a) == std::vector<std::string>{"b.bin"});
  CHECK(a.ready[0].marker == "b.bin.done");
  CHECK(a.waiting == 1);
  CHECK(a.waiting_unchanged == 0);  // waiting for a marker: --once does not wait for it
}

}  // namespace
}  // namespace sluice::transfer::drop
