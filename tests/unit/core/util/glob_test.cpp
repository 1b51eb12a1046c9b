#include "core/util/glob.h"

#include <string>

#include <catch2/catch.hpp>

namespace sluice {
namespace {

Glob G(const std::string& pattern) {
  Result<Glob> g = Glob::Compile(pattern);
  INFO(pattern);
  REQUIRE(g.ok());
  return std::move(g).value();
}

TEST_CASE("glob: segment wildcards", "[unit]") {
  CHECK(GlobMatchSegment("*.log", "app.log"));
  CHECK(GlobMatchSegment("*.log", ".log"));
  CHECK_FALSE(GlobMatchSegment("*.log", "app.log.1"));
  CHECK(GlobMatchSegment("app.log*", "app.log"));
  CHECK(GlobMatchSegment("app.log*", "app.log.1"));
  CHECK(GlobMatchSegment("a*b*c", "axxbyyc"));
  CHECK_FALSE(GlobMatchSegment("a*b*c", "axxbyy"));
  CHECK(GlobMatchSegment("a?c", "abc"));
  CHECK_FALSE(GlobMatchSegment("a?c", "ac"));
  CHECK(GlobMatchSegment("[abc].log", "b.log"));
  CHECK_FALSE(GlobMatchSegment("[abc].log", "d.log"));
  CHECK(GlobMatchSegment("[a-c]x", "cx"));
  CHECK(GlobMatchSegment("[!a-c]x", "dx"));
  CHECK_FALSE(GlobMatchSegment("[!a-c]x", "ax"));
  CHECK(GlobMatchSegment("[^a-c]x", "zx"));
  CHECK(GlobMatchSegment("[]]", "]"));
  CHECK(GlobMatchSegment("[a-]", "-"));
  CHECK(GlobMatchSegment("\\*", "*"));
  CHECK_FALSE(GlobMatchSegment("\\*", "x"));
  CHECK(GlobMatchSegment("*", ""));
  CHECK(GlobMatchSegment("**", "anything"));
  // Pathological backtracking stays fast (no recursion, one backtrack point).
  CHECK_FALSE(GlobMatchSegment("a*a*a*a*a*a*a*a*b", std::string(5000, 'a')));
}

TEST_CASE("glob: whole paths", "[unit]") {
  const Glob g = G("/var/log/app/*.log");
  CHECK(g.Match("/var/log/app/x.log"));
  CHECK(g.Match("/var/log//app/x.log"));
  CHECK_FALSE(g.Match("/var/log/app/sub/x.log"));
  CHECK_FALSE(g.Match("var/log/app/x.log"));
  CHECK_FALSE(g.Match("/var/log/app/x.txt"));
  CHECK(g.base() == "/var/log/app");
  CHECK_FALSE(g.recursive());

  const Glob mid = G("/data/*/in/?.csv");
  CHECK(mid.Match("/data/a/in/1.csv"));
  CHECK_FALSE(mid.Match("/data/a/b/in/1.csv"));
  CHECK(mid.base() == "/data");
}

TEST_CASE("glob: ** matches zero or more directories", "[unit]") {
  const Glob g = G("/logs/**/*.log");
  CHECK(g.recursive());
  CHECK(g.base() == "/logs");
  CHECK(g.Match("/logs/a.log"));
  CHECK(g.Match("/logs/x/a.log"));
  CHECK(g.Match("/logs/x/y/z/a.log"));
  CHECK_FALSE(g.Match("/logs/x/y/z/a.txt"));
  CHECK_FALSE(g.Match("/other/a.log"));

  const Glob tail = G("/logs/**");
  CHECK(tail.Match("/logs/a"));
  CHECK(tail.Match("/logs/a/b/c"));

  const Glob two = G("/a/**/b/**/c.log");
  CHECK(two.Match("/a/b/c.log"));
  CHECK(two.Match("/a/x/b/y/z/c.log"));
  CHECK_FALSE(two.Match("/a/x/y/z/c.log"));

  // "**" inside a segment is just a '*'.
  const Glob inner = G("/logs/a**.log");
  CHECK(inner.Match("/logs/abc.log"));
  CHECK_FALSE(inner.Match("/logs/a/b.log"));
}

TEST_CASE("glob: directory pruning", "[unit]") {
  const Glob g = G("/var/log/*/app/*.log");
  CHECK(g.CouldMatchBelow("/"));
  CHECK(g.CouldMatchBelow("/var"));
  CHECK(g.CouldMatchBelow("/var/log"));
  CHECK(g.CouldMatchBelow("/var/log/x"));
  CHECK(g.CouldMatchBelow("/var/log/x/app"));
  CHECK_FALSE(g.CouldMatchBelow("/var/log/x/other"));
  CHECK_FALSE(g.CouldMatchBelow("/var/log/x/app/deeper"));
  CHECK_FALSE(g.CouldMatchBelow("/etc"));

  const Glob r = G("/logs/**/*.log");
  CHECK(r.CouldMatchBelow("/logs/a/b/c/d"));
  CHECK_FALSE(r.CouldMatchBelow("/other"));
}

TEST_CASE("glob: relative patterns", "[unit]") {
  const Glob g = G("*.log");
  CHECK(g.base() == ".");
  CHECK(g.Match("a.log"));
  CHECK(g.Match("./a.log"));
  CHECK_FALSE(g.Match("/a.log"));
  CHECK(G("logs/*.log").base() == "logs");
}

TEST_CASE("glob: excludes match the name unless they contain a slash", "[unit]") {
  const Glob name = G("*.gz");
  CHECK(name.MatchPathOrName("/var/log/app.log.1.gz"));
  CHECK_FALSE(name.MatchPathOrName("/var/log/app.log"));
  const Glob path = G("/var/log/old/*");
  CHECK(path.MatchPathOrName("/var/log/old/a.log"));
  CHECK_FALSE(path.MatchPathOrName("/var/log/a.log"));
  const Glob rec = G("**/debug/*.log");
  CHECK(rec.MatchPathOrName("debug/x.log"));
  CHECK(rec.MatchPathOrName("/abs/debug/x.log"));
  CHECK_FALSE(rec.MatchPathOrName("/abs/debug/x.txt"));
}

TEST_CASE("glob: invalid patterns are rejected", "[unit]") {
  CHECK_FALSE(Glob::Compile("").ok());
  CHECK_FALSE(Glob::Compile("/").ok());
  CHECK_FALSE(Glob::Compile("/a/[bc").ok());
  CHECK_FALSE(Glob::Compile("/a/b\\").ok());
  const Result<Glob> bad = Glob::Compile("/a/[bc");
  CHECK(bad.status().message().find("unterminated '['") != std::string::npos);
}

}  // namespace
}  // namespace sluice
