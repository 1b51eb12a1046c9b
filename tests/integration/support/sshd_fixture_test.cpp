// The sshd fixture, checked with OpenSSH's own clients: sftp puts and gets a
// file with the client key against known_hosts (StrictHostKeyChecking=yes),
// and is refused with wrong_known_hosts or the unauthorized key; the
// passphrase-protected key and the password user's password log in through
// sshpass; Stop()/Start() keep the port and the host key; Stop() and Kill9()
// end open sessions too.
//
// Every client runs with `-F none`, IdentitiesOnly and no agent, so nothing
// of the machine's own ssh setup (~/.ssh keys, an agent, ssh_config) can make
// a refusal pass or a login fail.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/process.h"
#include "tests/support/sshd.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

namespace sluice::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// Client options shared by ssh and sftp: only what the test names counts.
std::vector<std::string> ClientOptions(const fs::path& known_hosts) {
  return {"-F", "none",
          "-o", "UserKnownHostsFile=" + known_hosts.string(),
          "-o", "GlobalKnownHostsFile=/dev/null",
          "-o", "StrictHostKeyChecking=yes",
          "-o", "IdentitiesOnly=yes",
          "-o", "IdentityAgent=none",
          "-o", "ConnectTimeout=10"};
}

struct SftpCall {
  fs::path batch;
  std::string user;
  fs::path known_hosts;
  std::vector<std::string> options;  // -i KEY, -o ...
  std::vector<std::string> wrapper;  // e.g. sshpass -f FILE, in front of sftp
};

// `sftp -b BATCH -P PORT ... USER@127.0.0.1`, bounded by ConnectTimeout and
// this generous limit.
RunResult Sftp(const Sshd& server, const SftpCall& call) {
  std::vector<std::string> argv = call.wrapper;
  argv.push_back("sftp");
  // Before -b: sftp adds "-oBatchMode yes" for -b where it sees it, and ssh
  // keeps the first value, so "-o BatchMode=no" must come first.
  argv = Concat(argv, call.options);
  argv = Concat(argv, {"-b", call.batch.string(), "-P", std::to_string(server.port())});
  argv = Concat(argv, ClientOptions(call.known_hosts));
  argv.push_back(call.user + "@127.0.0.1");
  ProcessOptions o;
  o.program = argv.front();
  o.args.assign(argv.begin() + 1, argv.end());
  return RunToCompletion(std::move(o), 30s);
}

// A batch that puts `local` to `remote` and gets it back as `back`.
fs::path PutGetBatch(const TempDir& dir, const std::string& name, const fs::path& local, const fs::path& remote,
                     const fs::path& back) {
  const fs::path batch = dir / (name + ".batch");
  WriteFile(batch,
            "put " + local.string() + " " + remote.string() + "\nget " + remote.string() + " " + back.string() + "\n");
  return batch;
}

// Counts the occurrences of `needle` in `text`.
size_t Count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// An idle `ssh -N` login with the client key: a session held open on the
// server until the server (or this test) ends it.
ProcessOptions IdleSession(const Sshd& server, const TempDir& dir, const std::string& name) {
  ProcessOptions o;
  o.program = "ssh";
  o.args = Concat(Concat({"-N", "-p", std::to_string(server.port())}, ClientOptions(server.known_hosts())),
                {"-o", "BatchMode=yes", "-i", server.client_key().string(), server.user() + "@127.0.0.1"});
  o.log_dir = dir.path();
  o.name = name;
  return o;
}

}  // namespace

TEST_CASE("sshd fixture: sftp with the client key, refused with a wrong host key or an unauthorized key",
          "[integration][sftp][support]") {
  TempDir dir("sluice-sshd");
  TempDir client("sluice-sshd-client");
  Sshd server(dir / "sshd");
  REQUIRE(server.port() != 0);
  REQUIRE(server.Running());
  CHECK(fs::is_directory(server.data_dir()));
  CHECK(fs::is_empty(server.data_dir()));

  const fs::path local = client / "upload.txt";
  WriteFile(local, "hello over sftp\n");
  const fs::path remote = server.data_dir() / "upload.txt";
  const fs::path back = client / "back.txt";
  const SftpCall ok{PutGetBatch(client, "ok", local, remote, back),
                    server.user(),
                    server.known_hosts(),
                    {"-i", server.client_key().string()},
                    {}};
  {
    const RunResult r = Sftp(server, ok);
    INFO(r.Describe() << "\nsshd log:\n" << server.log());
    REQUIRE(r.status.Exited(0));
    CHECK(ReadFile(remote) == "hello over sftp\n");
    CHECK(ReadFile(back) == "hello over sftp\n");
    CHECK(server.log().find("Accepted publickey for " + server.user()) != std::string::npos);
  }

  {  // a known_hosts entry with another key is a host key mismatch
    SftpCall wrong = ok;
    wrong.known_hosts = server.wrong_known_hosts();
    const RunResult w = Sftp(server, wrong);
    INFO(w.Describe());
    CHECK_FALSE(w.status.Exited(0));
    CHECK(w.err.find("REMOTE HOST IDENTIFICATION HAS CHANGED") != std::string::npos);
    CHECK(w.err.find("Host key verification failed") != std::string::npos);
  }

  {  // the unauthorized key is refused
    SftpCall intruder = ok;
    intruder.options = {"-i", server.unauthorized_key().string()};
    const RunResult u = Sftp(server, intruder);
    INFO(u.Describe());
    CHECK_FALSE(u.status.Exited(0));
    CHECK(u.err.find("Permission denied (publickey)") != std::string::npos);
  }

  {  // the passphrase-protected key logs in with its passphrase, not without
    SftpCall encrypted = ok;
    encrypted.batch = client / "ls.batch";
    WriteFile(encrypted.batch, "ls " + server.data_dir().string() + "\n");
    encrypted.options = {"-o", "BatchMode=no", "-i", server.encrypted_client_key().string()};
    encrypted.wrapper = {"sshpass", "-P", "passphrase", "-f", server.key_passphrase_file().string()};
    const RunResult e = Sftp(server, encrypted);
    INFO(e.Describe() << "\nsshd log:\n" << server.log());
    CHECK(e.status.Exited(0));
    CHECK(e.out.find("upload.txt") != std::string::npos);

    // In batch mode nobody can type the passphrase: the key is unusable.
    encrypted.options = {"-i", server.encrypted_client_key().string()};
    encrypted.wrapper.clear();
    const RunResult no = Sftp(server, encrypted);
    INFO(no.Describe());
    CHECK_FALSE(no.status.Exited(0));
  }

  {  // Url percent-encodes the path and the user
    const std::string base = "sftp://" + server.user() + "@127.0.0.1:" + std::to_string(server.port());
    CHECK(server.Url("/data/a b/c%d#e?f.txt") == base + "/data/a%20b/c%25d%23e%3Ff.txt");
    CHECK(server.Url(server.data_dir()) == base + server.data_dir().string());
    CHECK(server.Url("/x", "some user") == "sftp://some%20user@127.0.0.1:" + std::to_string(server.port()) + "/x");
    CHECK_THROWS_AS(server.Url("relative/path"), std::invalid_argument);
  }
}

TEST_CASE("sshd fixture: the password user logs in with its password and with the client key",
          "[integration][sftp][support]") {
  TempDir dir("sluice-sshd");
  TempDir client("sluice-sshd-client");
  SshdOptions so;
  so.password = true;
  Sshd server(dir.path(), so);
  REQUIRE(server.password_user() == "sluicetest");
  REQUIRE(ReadFile(server.password_file()) == "sluice-test-pw-1");

  const fs::path local = client / "by-password.txt";
  WriteFile(local, "password login\n");
  const fs::path remote = server.data_dir() / "by-password.txt";
  const fs::path back = client / "back.txt";
  const SftpCall by_password{PutGetBatch(client, "pw", local, remote, back),
                             server.password_user(),
                             server.known_hosts(),
                             {"-o", "BatchMode=no", "-o", "PubkeyAuthentication=no"},
                             {"sshpass", "-f", server.password_file().string()}};
  const RunResult r = Sftp(server, by_password);
  INFO(r.Describe() << "\nsshd log:\n" << server.log());
  REQUIRE(r.status.Exited(0));
  CHECK(ReadFile(back) == "password login\n");
  CHECK(server.log().find("Accepted password for sluicetest") != std::string::npos);
  // Written by the password user's session, in the directory it owns.
  struct stat st {};
  REQUIRE(::stat(remote.c_str(), &st) == 0);
  struct stat data {};
  REQUIRE(::stat(server.data_dir().c_str(), &data) == 0);
  CHECK(st.st_uid == data.st_uid);
  CHECK(st.st_uid != 0);

  // A wrong password is refused.
  SftpCall wrong = by_password;
  const fs::path wrong_file = client / "wrong-password";
  WriteFile(wrong_file, "not-the-password");
  wrong.wrapper = {"sshpass", "-f", wrong_file.string()};
  const RunResult w = Sftp(server, wrong);
  INFO(w.Describe());
  CHECK_FALSE(w.status.Exited(0));

  // The absolute AuthorizedKeysFile serves every user: the key works for the
  // password user too.
  SftpCall by_key{
      client / "ls.batch", server.password_user(), server.known_hosts(), {"-i", server.client_key().string()}, {}};
  WriteFile(by_key.batch, "ls " + server.data_dir().string() + "\n");
  const RunResult k = Sftp(server, by_key);
  INFO(k.Describe() << "\nsshd log:\n" << server.log());
  CHECK(k.status.Exited(0));
  CHECK(k.out.find("by-password.txt") != std::string::npos);
}

TEST_CASE("sshd fixture: Stop()/Start() and Kill9()/Start() keep port and host key and end open sessions",
          "[integration][sftp][support]") {
  TempDir dir("sluice-sshd");
  TempDir client("sluice-sshd-client");
  Sshd server(dir.path());
  const uint16_t port = server.port();
  const std::string known = ReadFile(server.known_hosts());
  const fs::path ls = client / "ls.batch";
  WriteFile(ls, "ls /\n");
  const SftpCall call{ls, server.user(), server.known_hosts(), {"-i", server.client_key().string()}, {}};
  const std::string accepted = "Accepted publickey for " + server.user();

  // Brings up an idle session, takes the server down with `down`, and checks
  // the session ended with it, then that the restarted server is the same.
  auto cycle = [&](const std::string& name, auto&& down) {
    const size_t logins = Count(server.log(), accepted);
    Process session(IdleSession(server, client, name));
    const bool logged_in = WaitUntil(
        10s, [&] { return Count(server.log(), accepted) > logins || !session.Running(); }, 10ms);
    INFO(name << " ssh stderr:\n" << session.ReadStderr() << "\nsshd log:\n" << server.log());
    REQUIRE(logged_in);
    REQUIRE(session.Running());

    const ExitStatus how = down();
    CHECK_FALSE(server.Running());
    // The client sees its connection close: ssh exits 255.
    const std::optional<ExitStatus> ended = session.WaitFor(5s);
    REQUIRE(ended.has_value());
    CHECK(ended->Exited(255));
    const RunResult refused = Sftp(server, call);
    INFO(refused.Describe());
    CHECK_FALSE(refused.status.Exited(0));
    CHECK(refused.err.find("Connection refused") != std::string::npos);

    server.Start();
    CHECK(server.Running());
    CHECK(server.port() == port);
    CHECK(ReadFile(server.known_hosts()) == known);
    const RunResult again = Sftp(server, call);  // StrictHostKeyChecking=yes with the old known_hosts
    INFO(again.Describe());
    CHECK(again.status.Exited(0));
    return how;
  };

  const ExitStatus stopped = cycle("stop", [&] { return server.Stop(); });
  CHECK(stopped.Exited(0));  // sshd exits 0 on SIGTERM
  const ExitStatus killed = cycle("kill9", [&] { return server.Kill9(); });
  CHECK(killed.signal == SIGKILL);
  CHECK_THROWS_AS(server.Start(), std::runtime_error);  // already running
}

}  // namespace sluice::test
