// `sluice transfer drop` against a real OpenSSH sshd on 127.0.0.1, through
// the real binary: partners uploading concurrently and slowly (never taken
// early), kill -9 at random moments during 1,000 files (each lands once, every
// post-action done), sidecar mismatch and corrupt .gz to quarantine, a move
// on the source refused by permissions (reported, retried, never landed
// twice), the server gone for a while (backoff, then catch-up), re-uploads
// (new content -> a new version; same content -> recognised), and the
// data-directory lock.
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <csignal>
#include <filesystem>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "protocols/sftp/sftp_url.h"
#include "tests/support/compress.h"
#include "tests/support/sshd.h"
#include "tests/support/temp_dir.h"
#include "tests/support/test_seed.h"
#include "tests/support/transfer_cli.h"
#include "tests/support/wait.h"
#include "transfer/sftp/sftp_endpoint.h"

namespace sluice::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// An inbox on a real sshd, a lake and a state directory, and the config.
class DropRig {
 public:
  explicit DropRig(SshdOptions options = {}, bool password_user = false)
      : sshd_(tmp_ / "sshd", std::move(options)), password_user_(password_user) {
    fs::create_directories(inbox());
    if (password_user_) {
      // The password user must own the inbox to move files out of it.
      REQUIRE(::chown(inbox().c_str(), OwnerUid(), static_cast<gid_t>(-1)) == 0);
    }
  }

  fs::path root() const { return sshd_.data_dir() / "acme"; }
  fs::path inbox() const { return root() / "outbox"; }
  fs::path processed() const { return root() / "processed"; }
  fs::path failed() const { return root() / "failed"; }
  fs::path lake() const { return tmp_ / "lake"; }
  fs::path state() const { return tmp_ / "state"; }
  fs::path config() const { return tmp_ / "drop.toml"; }
  fs::path landed_dir() const {
    for (const auto& e : fs::directory_iterator(lake() / "raw" / "acme")) return e.path();
    return {};
  }
  Sshd& sshd() { return sshd_; }
  const TempDir& tmp() const { return tmp_; }

  void WriteConfig(const std::string& extra, const std::string& stable_for = "0s") const {
    const std::string auth = password_user_ ? fmt::format("password_file = \"{}\"\n", sshd_.password_file().string())
                                            : fmt::format("ssh_key = \"{}\"\n", sshd_.client_key().string());
    WriteFile(config(),
              fmt::format(R"([drop]
data_dir = "{}"

[drops.acme]
source = "{}"
known_hosts = "{}"
{}destination = "{}"
poll = "100ms"
stable_for = "{}"
{}
)",
                          state().string(), sshd_.Url(inbox(), password_user_ ? sshd_.password_user() : std::string()),
                          sshd_.known_hosts().string(), auth, lake().string(), stable_for, extra));
  }

  RunResult RunOnce(std::chrono::milliseconds timeout = 5min) const {
    return RunSluiceTransfer({"drop", "--config", config().string(), "--once"}, tmp_.path(), timeout);
  }
  Process Start() const { return StartSluiceTransfer({"drop", "--config", config().string()}, tmp_.path()); }
  std::string Status() const {
    return RunSluiceTransfer({"drop", "--config", config().string(), "--status", "--recent", "100"}, tmp_.path()).out;
  }
  // The files under the lake's raw/ tree, by name, with their SHA-256.
  // Final files only: a dot-prefixed name is a copy in progress (readers of the
  // lake skip them), and may be renamed away while this reads it.
  std::map<std::string, std::string> Landed() const {
    std::map<std::string, std::string> out;
    if (!fs::exists(lake() / "raw")) return out;
    for (const auto& e : fs::recursive_directory_iterator(lake() / "raw")) {
      const std::string name = e.path().filename().string();
      if (e.is_regular_file() && !name.starts_with('.')) out[name] = Sha256File(e.path());
    }
    return out;
  }
  std::vector<nlohmann::json> LandedLog() const {
    std::vector<nlohmann::json> out;
    std::istringstream in(ReadFileIfExists(state() / "landed.jsonl"));
    for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
    return out;
  }
  uid_t OwnerUid() const { return fs::exists(sshd_.data_dir()) ? Owner(sshd_.data_dir()) : 0; }
  static uid_t Owner(const fs::path& p) {
    struct stat st {};
    REQUIRE(::stat(p.c_str(), &st) == 0);
    return st.st_uid;
  }

 private:
  TempDir tmp_{"sluice-drop"};
  Sshd sshd_;
  bool password_user_;
};

std::vector<std::string> FilesIn(const fs::path& dir) {
  std::vector<std::string> out;
  if (!fs::exists(dir)) return out;
  for (const auto& e : fs::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::string Sha256Hex(const fs::path& p) { return Sha256File(p); }

TEST_CASE("drop: partners uploading slowly and concurrently are never taken early", "[drop][sftp]") {
  DropRig rig;
  // stable_for 600ms: each uploader pauses 250ms between pieces (2-3 polls).
  rig.WriteConfig("", "600ms");
  Process ingester = rig.Start();

  transfer::SftpOptions o;
  o.key_file = rig.sshd().client_key();
  o.known_hosts = rig.sshd().known_hosts();
  auto ep = transfer::OpenSftpEndpoint(sftp::ParseSftpUrl(rig.sshd().Url(rig.inbox())).value(), o);
  REQUIRE(ep.ok());

  constexpr int kUploaders = 6;
  constexpr int kPieces = 6;
  std::vector<std::string> contents(kUploaders);
  for (int i = 0; i < kUploaders; ++i) {
    for (int p = 0; p < kPieces; ++p) contents[i] += std::string(10000 + 1000 * i, static_cast<char>('a' + p));
  }
  // Catch's assertions are not thread-safe: the uploaders collect failures.
  std::mutex mu;
  std::vector<std::string> failures;
  auto expect = [&](const Status& st, const std::string& what) {
    if (st.ok()) return true;
    std::lock_guard l(mu);
    failures.push_back(what + ": " + st.ToString());
    return false;
  };
  std::vector<std::jthread> uploaders;
  for (int i = 0; i < kUploaders; ++i) {
    uploaders.emplace_back([&, i] {
      // Half upload under the final name, half under a .filepart name renamed
      // at the end (as WinSCP does), pausing longer than stable_for before the rename.
      const bool filepart = i % 2 == 1;
      const std::string name = fmt::format("upload-{}.csv", i);
      const std::string writing = filepart ? name + ".filepart" : name;
      const size_t piece = contents[i].size() / kPieces;
      for (int p = 0; p < kPieces; ++p) {
        auto w = ep.value()->OpenWrite(writing, piece * p);
        if (!expect(w.status(), writing + " open")) return;
        if (!expect(w.value()->Write(std::string_view(contents[i]).substr(piece * p, piece)), writing)) return;
        if (!expect(w.value()->Close(), writing + " close")) return;
        std::this_thread::sleep_for(250ms);
      }
      if (filepart) {
        std::this_thread::sleep_for(900ms);
        expect(ep.value()->Rename(writing, name), writing + " rename");
      }
    });
  }
  uploaders.clear();  // joined
  REQUIRE(failures.empty());
  INFO(ingester.ReadStderr());
  REQUIRE(WaitUntil(60s, [&] { return FilesIn(rig.processed()).size() == kUploaders || !ingester.Running(); }));
  REQUIRE(FilesIn(rig.processed()).size() == kUploaders);
  REQUIRE(ingester.Stop(SIGTERM, 30s).has_value());
  CHECK(ingester.status()->Exited(0));

  const auto landed = rig.Landed();
  REQUIRE(landed.size() == kUploaders);
  for (int i = 0; i < kUploaders; ++i) {
    const std::string name = fmt::format("upload-{}.csv", i);
    REQUIRE(landed.count(name) == 1);
    const fs::path want = rig.tmp() / ("want-" + name);
    WriteFile(want, contents[i]);
    CHECK(landed.at(name) == Sha256Hex(want));  // the whole upload, not a prefix
  }
  CHECK(FilesIn(rig.inbox()).empty());
  CHECK(rig.LandedLog().size() == kUploaders);
}

TEST_CASE("drop: kill -9 at random moments during 1,000 files lands each exactly once", "[drop][sftp][kill]") {
  DropRig rig;
  rig.WriteConfig("batch = 50\ntransfers = 4\ndecompress = true\n");
  const uint64_t seed = TestSeed("drop kill -9");
  std::mt19937_64 rng(seed);
  constexpr int kFiles = 1000;
  std::map<std::string, std::string> want;  // landed name -> sha256
  const fs::path pristine = rig.tmp() / "pristine";
  fs::create_directories(pristine);
  for (int i = 0; i < kFiles; ++i) {
    const std::string name = fmt::format("f{:04}.dat", i);
    WriteRandomFile(pristine / name, 1 + rng() % 20000, rng());
    want[name] = Sha256File(pristine / name);
    if (i % 10 == 0) {  // some arrive compressed and land decompressed
      WriteFile(rig.inbox() / (name + ".gz"), GzipBytes(ReadFile(pristine / name)));
    } else {
      fs::copy_file(pristine / name, rig.inbox() / name);
    }
  }

  int kills = 0;
  while (kills < 20) {
    Process p = rig.Start();
    std::this_thread::sleep_for(std::chrono::milliseconds(60 + rng() % 500));
    p.Kill9();
    ++kills;
    if (FilesIn(rig.inbox()).empty()) break;  // all done before 20 kills: still check
  }
  INFO("kills: " << kills << ", seed " << seed);
  RunResult last = rig.RunOnce();
  INFO(last.err);
  REQUIRE(last.status.Exited(0));

  const auto landed = rig.Landed();
  CHECK(landed == want);  // every file once, whole; nothing else (no partial names)
  CHECK(FilesIn(rig.inbox()).empty());
  CHECK(FilesIn(rig.processed()).size() == kFiles);
  // Nothing half-written left anywhere in the lake.
  for (const auto& e : fs::recursive_directory_iterator(rig.lake())) {
    CHECK(e.path().filename().string().find(".sluice-") == std::string::npos);
  }
  // The log has a line for each file (at least once; a repeat has the same id).
  std::set<int64_t> ids;
  std::set<std::string> logged;
  for (const auto& j : rig.LandedLog()) {
    CHECK(j["event"] == "landed");
    ids.insert(j["id"].get<int64_t>());
    logged.insert(j["path"].get<std::string>());
  }
  CHECK(ids.size() == kFiles);
  CHECK(logged.size() == kFiles);
  const std::string status = rig.Status();
  CHECK(status.find(fmt::format("landed {} ", kFiles)) != std::string::npos);
  CHECK(status.find("duplicates 0, quarantined 0, in progress 0, post-action pending 0") != std::string::npos);
}

TEST_CASE("drop: sidecar mismatch and corrupt .gz are quarantined, the rest lands", "[drop][sftp]") {
  DropRig rig;
  rig.WriteConfig("decompress = true\nfailed_to = \"../failed\"\n");
  WriteFile(rig.inbox() / "good.csv", "id,v\n1,2\n");
  WriteFile(rig.inbox() / "good.csv.sha256", Sha256File(rig.inbox() / "good.csv") + "  good.csv\n");
  WriteFile(rig.inbox() / "bad.csv", "id,v\n1,3\n");
  WriteFile(rig.inbox() / "bad.csv.sha256", Sha256File(rig.inbox() / "good.csv") + "  bad.csv\n");
  WriteFile(rig.inbox() / "md5.csv", "x\n");
  WriteFile(rig.inbox() / "md5.csv.md5", "401b30e3b8b5d629635a5c613cdb7919  md5.csv\n");  // md5 of "x\n"
  WriteFile(rig.inbox() / "ok.log.gz", GzipBytes("line 1\nline 2\n"));
  std::string truncated = GzipBytes(std::string(100000, 'z'));
  truncated.resize(truncated.size() / 2);
  WriteFile(rig.inbox() / "corrupt.log.gz", truncated);
  WriteFile(rig.inbox() / "still.uploading.part", "x");

  RunResult r = rig.RunOnce();
  INFO(r.err);
  REQUIRE(r.status.Exited(0));
  const auto landed = rig.Landed();
  CHECK(landed.size() == 3);
  CHECK(landed.count("good.csv") == 1);
  CHECK(landed.count("md5.csv") == 1);
  REQUIRE(landed.count("ok.log") == 1);  // decompressed
  CHECK(ReadFile(rig.landed_dir() / "ok.log") == "line 1\nline 2\n");

  const fs::path q = rig.lake() / "quarantine" / "acme";
  const auto quarantined = FilesIn(q);
  REQUIRE(quarantined.size() == 4);  // two copies, two .reason files
  std::string reasons;
  for (const auto& f : quarantined) {
    if (f.ends_with(".reason")) reasons += ReadFile(q / f);
  }
  CHECK(reasons.find("checksum mismatch: sidecar bad.csv.sha256") != std::string::npos);
  CHECK(reasons.find("truncated") != std::string::npos);
  CHECK(FilesIn(rig.failed()) == std::vector<std::string>{"bad.csv", "bad.csv.sha256", "corrupt.log.gz"});
  CHECK(FilesIn(rig.processed()) ==
        std::vector<std::string>{"good.csv", "good.csv.sha256", "md5.csv", "md5.csv.md5", "ok.log.gz"});
  CHECK(FilesIn(rig.inbox()) == std::vector<std::string>{"still.uploading.part"});

  // Not retried: a second run changes nothing.
  REQUIRE(rig.RunOnce().status.Exited(0));
  CHECK(rig.Landed() == landed);
  CHECK(FilesIn(q).size() == 4);
  CHECK(rig.LandedLog().size() == 5);
}

TEST_CASE("drop: a move refused by permissions is reported and retried, never landed twice", "[drop][sftp]") {
  // The fixture creates the password user (root, as in CI; it throws otherwise).
  SshdOptions options;
  options.password = true;
  DropRig rig(options, /*password_user=*/true);
  // processed/ belongs to root: the partner account cannot move files into it.
  fs::create_directories(rig.processed());
  fs::permissions(rig.processed(), fs::perms(0755));
  rig.WriteConfig("");
  WriteFile(rig.inbox() / "a.csv", "a\n");

  RunResult first = rig.RunOnce();
  CHECK(first.status.Exited(1));  // --once: a post-action failed
  CHECK(first.err.find("post-action on the source failed") != std::string::npos);
  CHECK(rig.Landed().size() == 1);
  CHECK(rig.Status().find("post-action pending 1") != std::string::npos);
  RunResult again = rig.RunOnce();
  CHECK(again.status.Exited(1));
  CHECK(rig.Landed().size() == 1);  // retried, not landed again

  REQUIRE(::chown(rig.processed().c_str(), rig.OwnerUid(), static_cast<gid_t>(-1)) == 0);
  RunResult fixed = rig.RunOnce();
  INFO(fixed.err);
  CHECK(fixed.status.Exited(0));
  CHECK(FilesIn(rig.processed()) == std::vector<std::string>{"a.csv"});
  CHECK(rig.Landed().size() == 1);
  CHECK(rig.LandedLog().size() == 1);
  CHECK(rig.Status().find("landed 1 ") != std::string::npos);
}

TEST_CASE("drop: the server away for a while: backoff, then it catches up", "[drop][sftp]") {
  DropRig rig;
  rig.WriteConfig("");
  WriteFile(rig.inbox() / "before.csv", "1\n");
  Process ingester = rig.Start();
  REQUIRE(WaitUntil(30s, [&] { return rig.Landed().size() == 1; }));
  rig.sshd().Stop();
  for (int i = 0; i < 20; ++i) WriteFile(rig.inbox() / fmt::format("during-{}.csv", i), std::to_string(i));
  REQUIRE(WaitUntil(30s, [&] { return ingester.ReadStderr().find("poll failed") != std::string::npos; }));
  std::this_thread::sleep_for(2s);
  CHECK(rig.Landed().size() == 1);
  rig.sshd().Start();
  REQUIRE(WaitUntil(90s, [&] { return rig.Landed().size() == 21; }));
  REQUIRE(WaitUntil(30s, [&] { return FilesIn(rig.processed()).size() == 21; }));
  REQUIRE(ingester.Stop(SIGTERM, 30s).has_value());
  CHECK(ingester.status()->Exited(0));
  CHECK(ingester.ReadStderr().find("reachable again") != std::string::npos);
  CHECK(rig.LandedLog().size() == 21);
}

TEST_CASE("drop: re-uploads, new content is a new version, same content is recognised", "[drop]") {
  // A local inbox: any endpoint works as a source.
  TempDir tmp("sluice-drop-local");
  const fs::path inbox = tmp / "in";
  fs::create_directories(inbox);
  WriteFile(tmp / "drop.toml", fmt::format(R"([drop]
data_dir = "{0}/state"
[drops.local]
source = "{0}/in"
destination = "{0}/lake"
poll = "50ms"
stable_for = "0s"
after = "delete"
land_as = "{{drop}}/{{name}}"
)",
                                           tmp.path().string()));
  auto once = [&] {
    return RunSluiceTransfer({"drop", "--config", (tmp / "drop.toml").string(), "--once"}, tmp.path());
  };
  WriteFile(inbox / "a.csv", "first\n");
  REQUIRE(once().status.Exited(0));
  WriteFile(inbox / "a.csv", "second\n");
  REQUIRE(once().status.Exited(0));
  WriteFile(inbox / "a.csv", "first\n");  // the first content again
  REQUIRE(once().status.Exited(0));
  CHECK(FilesIn(tmp / "lake" / "local") == std::vector<std::string>{"a.csv", "a.v2.csv"});
  CHECK(ReadFile(tmp / "lake" / "local" / "a.v2.csv") == "second\n");
  CHECK(FilesIn(inbox).empty());
  const std::string log = ReadFile(tmp / "state" / "landed.jsonl");
  CHECK(log.find("\"event\":\"duplicate\"") != std::string::npos);
  const std::string status =
      RunSluiceTransfer({"drop", "--config", (tmp / "drop.toml").string(), "--status"}, tmp.path()).out;
  CHECK(status.find("landed 2 ") != std::string::npos);
  CHECK(status.find("duplicates 1") != std::string::npos);

  // One ingester per data_dir.
  Process running = StartSluiceTransfer({"drop", "--config", (tmp / "drop.toml").string()}, tmp.path());
  REQUIRE(WaitUntil(10s, [&] {
    return fs::exists(tmp / "state" / "drop.lock") && running.ReadStderr().find("watching") != std::string::npos;
  }));
  RunResult second = once();
  CHECK(second.status.Exited(1));
  CHECK(second.err.find("another `sluice transfer drop` is running") != std::string::npos);
  REQUIRE(running.Stop(SIGTERM, 30s).has_value());

  // Bad configuration: exit 2, naming the file, line and key.
  WriteFile(tmp / "bad.toml", "[drops.x]\nsource = \"/in\"\ndestination = \"/lake\"\nafter = \"archive\"\n");
  RunResult bad = RunSluiceTransfer({"drop", "--config", (tmp / "bad.toml").string(), "--once"}, tmp.path());
  CHECK(bad.status.Exited(2));
  CHECK(bad.err.find("bad.toml:4") != std::string::npos);
  CHECK(bad.err.find("drops.x.after") != std::string::npos);
}

TEST_CASE("drop: every example configuration in conf/drop passes --check", "[drop]") {
  TempDir tmp("sluice-drop-conf");
  int checked = 0;
  for (const auto& e : fs::directory_iterator(fs::path(SLUICE_SOURCE_DIR) / "conf" / "drop")) {
    INFO(e.path());
    RunResult r = RunSluiceTransfer({"drop", "--config", e.path().string(), "--check"}, tmp.path());
    INFO(r.err);
    CHECK(r.status.Exited(0));
    CHECK(r.out.find("[drops.") != std::string::npos);
    ++checked;
  }
  CHECK(checked >= 1);
}

}  // namespace
}  // namespace sluice::test
