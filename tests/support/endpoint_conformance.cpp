#include "tests/support/endpoint_conformance.h"

#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "transfer/local/local_endpoint.h"

namespace sluice::transfer::test {
namespace {

void WriteAll(Endpoint& ep, const std::string& path, const std::string& data, uint64_t offset = 0) {
  Result<std::unique_ptr<WriteStream>> w = ep.OpenWrite(path, offset);
  INFO(path << ": " << (w.ok() ? "" : w.status().ToString()));
  REQUIRE(w.ok());
  // In uneven pieces, so a stream that mishandles partial writes shows it.
  for (size_t i = 0; i < data.size();) {
    const size_t n = std::min<size_t>(data.size() - i, 1 + (i * 7919) % 65536);
    REQUIRE((*w)->Write(std::string_view(data).substr(i, n)).ok());
    i += n;
  }
  REQUIRE((*w)->Close().ok());
}

std::string ReadAll(Endpoint& ep, const std::string& path, uint64_t offset = 0) {
  Result<std::unique_ptr<ReadStream>> r = ep.OpenRead(path, offset);
  INFO(path << ": " << (r.ok() ? "" : r.status().ToString()));
  REQUIRE(r.ok());
  std::string out;
  std::vector<char> buf(3001);  // odd size: reads that straddle boundaries
  for (;;) {
    Result<size_t> n = (*r)->Read(buf);
    REQUIRE(n.ok());
    if (n.value() == 0) return out;
    out.append(buf.data(), n.value());
  }
}

std::map<std::string, EntryInfo> ListAll(Endpoint& ep, const std::string& dir) {
  std::map<std::string, EntryInfo> out;
  const Status s = ep.List(dir, [&](const EntryInfo& e) {
    out.emplace(e.name, e);
    return Status::Ok();
  });
  INFO(s.ToString());
  REQUIRE(s.ok());
  return out;
}

}  // namespace

std::string Pattern(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  uint32_t x = seed * 2654435761u + 1;
  for (char& c : s) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    c = static_cast<char>(x);
  }
  return s;
}

void RunEndpointConformance(const EndpointFactory& fresh) {
  std::unique_ptr<Endpoint> ep = fresh();
  REQUIRE(ep != nullptr);
  const EndpointCapabilities caps = ep->capabilities();

  SECTION("write, stat and read back, from any offset") {
    const std::string data = Pattern(200'000, 1);
    WriteAll(*ep, "file.bin", data);
    Result<EntryInfo> st = ep->Stat("file.bin");
    REQUIRE(st.ok());
    CHECK(st->type == EntryType::kFile);
    CHECK(st->size == data.size());
    CHECK(ReadAll(*ep, "file.bin") == data);
    CHECK(ReadAll(*ep, "file.bin", 123'457) == data.substr(123'457));
    CHECK(ReadAll(*ep, "file.bin", data.size()).empty());
  }

  SECTION("an empty file and an empty directory") {
    WriteAll(*ep, "empty", "");
    REQUIRE(ep->MakeDirectory("void").ok());
    CHECK(ep->Stat("empty")->size == 0);
    CHECK(ReadAll(*ep, "empty").empty());
    CHECK(ep->Stat("void")->type == EntryType::kDirectory);
    CHECK(ListAll(*ep, "void").empty());
  }

  SECTION("OpenWrite at an offset keeps the prefix and cuts the rest (resume)") {
    const std::string data = Pattern(100'000, 2);
    WriteAll(*ep, "partial", data.substr(0, 70'000) + "garbage past the verified prefix");
    WriteAll(*ep, "partial", data.substr(60'000), 60'000);
    CHECK(ReadAll(*ep, "partial") == data);
    WriteAll(*ep, "partial", "new", 0);
    CHECK(ReadAll(*ep, "partial") == "new");
  }

  SECTION("MakeDirectory creates parents and accepts an existing directory") {
    REQUIRE(ep->MakeDirectory("a/b/c").ok());
    REQUIRE(ep->MakeDirectory("a/b").ok());
    WriteAll(*ep, "a/b/c/leaf", "x");
    const auto a = ListAll(*ep, "a");
    REQUIRE(a.size() == 1);
    CHECK(a.at("b").type == EntryType::kDirectory);
    WriteAll(*ep, "file", "x");
    CHECK_FALSE(ep->MakeDirectory("file").ok());
  }

  SECTION("List reports names, types, sizes and times; the root is \"\"") {
    REQUIRE(ep->MakeDirectory("dir").ok());
    WriteAll(*ep, "one", "1");
    WriteAll(*ep, "two", "22");
    WriteAll(*ep, "dir/three", "333");
    const auto root = ListAll(*ep, "");
    CHECK(root.size() == 3);
    CHECK(root.at("one").size == 1);
    CHECK(root.at("two").size == 2);
    CHECK(root.at("two").type == EntryType::kFile);
    CHECK(root.at("dir").type == EntryType::kDirectory);
    CHECK(root.at("one").mtime_ns > 0);
    CHECK(ListAll(*ep, "dir").at("three").size == 3);
  }

  SECTION("names with spaces, Unicode (NFC and NFD), newlines and long components") {
    const std::vector<std::string> names = {
        "with space",  "caf\xc3\xa9 (NFC)", "cafe\xcc\x81 (NFD)",
        "line\nbreak", "tab\there",         std::string(std::min<size_t>(caps.max_name_bytes, 255), 'L'),
    };
    for (const std::string& n : names) WriteAll(*ep, n, n);
    const auto root = ListAll(*ep, "");
    const size_t expected = caps.normalizes_unicode ? names.size() - 1 : names.size();
    CHECK(root.size() == expected);
    for (const std::string& n : names) {
      if (caps.normalizes_unicode && n.find("(NF") != std::string::npos) continue;
      INFO(n);
      CHECK(root.count(n) == 1);
      CHECK(ReadAll(*ep, n) == n);
    }
  }

  SECTION("Rename moves, and replaces an existing target") {
    WriteAll(*ep, ".tmp-1", "first");
    REQUIRE(ep->Rename(".tmp-1", "final").ok());
    CHECK(ep->Stat(".tmp-1").status().code() == ErrorCode::kNotFound);
    CHECK(ReadAll(*ep, "final") == "first");
    WriteAll(*ep, ".tmp-2", "second");
    REQUIRE(ep->Rename(".tmp-2", "final").ok());
    CHECK(ReadAll(*ep, "final") == "second");
    REQUIRE(ep->MakeDirectory("sub").ok());
    REQUIRE(ep->Rename("final", "sub/moved").ok());
    CHECK(ReadAll(*ep, "sub/moved") == "second");
  }

  SECTION("Remove takes files and empty directories, and refuses a full one") {
    REQUIRE(ep->MakeDirectory("d").ok());
    WriteAll(*ep, "d/f", "x");
    CHECK_FALSE(ep->Remove("d").ok());
    REQUIRE(ep->Remove("d/f").ok());
    REQUIRE(ep->Remove("d").ok());
    CHECK(ep->Stat("d").status().code() == ErrorCode::kNotFound);
  }

  SECTION("SetTimes keeps the modification time to the endpoint's precision") {
    WriteAll(*ep, "dated", "x");
    const int64_t t = 1'700'000'000'123'456'789;
    if (!caps.settable_times) {
      // The time is when the file was stored: not before this test began.
      CHECK(ep->SetTimes("dated", t).code() == ErrorCode::kUnsupported);
      const int64_t stored = ep->Stat("dated")->mtime_ns;
      CHECK(stored > t);
      CHECK(ListAll(*ep, "").at("dated").mtime_ns == stored);
      return;
    }
    REQUIRE(ep->SetTimes("dated", t).ok());
    const int64_t got = ep->Stat("dated")->mtime_ns;
    CHECK(got <= t);
    CHECK(t - got < caps.mtime_precision_ns);
    CHECK(ListAll(*ep, "").at("dated").mtime_ns == got);
  }

  SECTION("modes, where the endpoint has them") {
    WriteAll(*ep, "script", "#!/bin/sh\n");
    if (caps.modes) {
      REQUIRE(ep->SetMode("script", 0750).ok());
      CHECK(ep->Stat("script")->mode == 0750u);
    } else {
      CHECK(ep->SetMode("script", 0750).code() == ErrorCode::kUnsupported);
    }
  }

  SECTION("owners, where the endpoint keeps them") {
    WriteAll(*ep, "owned", "uid and gid");
    if (caps.owners) {
      Result<EntryInfo> st = ep->Stat("owned");
      REQUIRE(st.ok());
      REQUIRE(st->uid.has_value());
      REQUIRE(st->gid.has_value());
      CHECK(ListAll(*ep, "").at("owned").uid == st->uid);
      // Only root may give a file away; anyone may "change" it to what it is.
      const bool root = ::geteuid() == 0;
      const uint32_t uid = root ? 1234 : *st->uid;
      const uint32_t gid = root ? 2345 : *st->gid;
      Status set = ep->SetOwner("owned", uid, gid);
      INFO(set.ToString());
      REQUIRE(set.ok());
      st = ep->Stat("owned");
      CHECK(st->uid == uid);
      CHECK(st->gid == gid);
      // All at once, as the copier sets them: owner, mode and mtime.
      const int64_t t = 1'600'000'000LL * 1'000'000'000;
      const FileAttributes attrs{.mtime_ns = t, .mode = 0640, .uid = root ? 4321 : uid, .gid = root ? 5432 : gid};
      set = ep->SetAttributes("owned", attrs);
      INFO(set.ToString());
      REQUIRE(set.ok());
      st = ep->Stat("owned");
      CHECK(st->uid == attrs.uid);
      CHECK(st->gid == attrs.gid);
      if (caps.modes) CHECK(st->mode == 0640u);
      if (caps.settable_times) CHECK(st->mtime_ns == t);
      // A directory too (libnfs's own chown cannot: nfs_client.cpp).
      REQUIRE(ep->MakeDirectory("owned-dir").ok());
      set = ep->SetOwner("owned-dir", uid, gid);
      INFO(set.ToString());
      REQUIRE(set.ok());
      st = ep->Stat("owned-dir");
      CHECK(st->uid == uid);
      CHECK(st->gid == gid);
    } else {
      CHECK(ep->SetOwner("owned", 1234, 2345).code() == ErrorCode::kUnsupported);
    }
  }

  SECTION("symlinks are entries of their own, never followed by Stat or List") {
    WriteAll(*ep, "target", "pointed at");
    if (caps.symlinks) {
      REQUIRE(ep->Symlink("target", "link").ok());
      REQUIRE(ep->Symlink("does/not/exist", "dangling").ok());
      Result<EntryInfo> st = ep->Stat("link");
      REQUIRE(st.ok());
      CHECK(st->type == EntryType::kSymlink);
      CHECK(st->link_target == "target");
      const auto root = ListAll(*ep, "");
      CHECK(root.at("dangling").type == EntryType::kSymlink);
      CHECK(root.at("dangling").link_target == "does/not/exist");
      REQUIRE(ep->Remove("link").ok());
      CHECK(ReadAll(*ep, "target") == "pointed at");
    } else {
      CHECK(ep->Symlink("target", "link").code() == ErrorCode::kUnsupported);
    }
  }

  SECTION("errors: missing entries are kNotFound; paths that escape the root are refused") {
    CHECK(ep->Stat("missing").status().code() == ErrorCode::kNotFound);
    CHECK(ep->OpenRead("missing", 0).status().code() == ErrorCode::kNotFound);
    CHECK(ep->List("missing", [](const EntryInfo&) { return Status::Ok(); }).code() == ErrorCode::kNotFound);
    CHECK(ep->Remove("missing").code() == ErrorCode::kNotFound);
    for (const char* bad : {"../x", "/etc/passwd", "a/../../x", "a//b", "./x", "x/"}) {
      INFO(bad);
      CHECK(ep->Stat(bad).status().code() == ErrorCode::kInvalidArgument);
      CHECK(ep->OpenWrite(bad, 0).status().code() == ErrorCode::kInvalidArgument);
    }
  }
}

Status PutFile(Endpoint& ep, const std::string& path, std::string_view data) {
  Result<std::unique_ptr<WriteStream>> w = ep.OpenWrite(path, 0);
  if (!w.ok()) return w.status();
  if (Status s = (*w)->Write(data); !s.ok()) return s;
  return (*w)->Close();
}

Result<std::string> GetFile(Endpoint& ep, const std::string& path) {
  Result<std::unique_ptr<ReadStream>> r = ep.OpenRead(path, 0);
  if (!r.ok()) return r.status();
  std::string out;
  std::vector<char> buf(1 << 16);
  for (;;) {
    Result<size_t> n = (*r)->Read(buf);
    if (!n.ok()) return n.status();
    if (*n == 0) return out;
    out.append(buf.data(), *n);
  }
}

std::vector<std::string> SharedEndpointFailures(Endpoint& ep, int threads, int files) {
  std::vector<std::string> failures(static_cast<size_t>(threads));
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::string& failure = failures[static_cast<size_t>(t)];
      const auto fail = [&](const std::string& what, const Status& s) { failure = what + ": " + s.ToString(); };
      const std::string d = "t" + std::to_string(t) + "/sub";
      if (Status s = ep.MakeDirectory(d); !s.ok()) return fail("mkdir " + d, s);
      for (int i = 0; i < files; ++i) {
        const std::string data = Pattern(static_cast<size_t>(1000 + 37'000 * i), static_cast<uint32_t>(t * 100 + i));
        const std::string tmp = d + "/.part-" + std::to_string(i), fin = d + "/f" + std::to_string(i);
        if (Status s = PutFile(ep, tmp, data); !s.ok()) return fail("put " + tmp, s);
        if (Status s = ep.Rename(tmp, fin); !s.ok()) return fail("rename " + tmp, s);
        Result<std::string> back = GetFile(ep, fin);
        if (!back.ok()) return fail("get " + fin, back.status());
        if (*back != data) return fail(fin, Status::Corrupt("content differs"));
      }
    });
  }
  for (std::thread& w : workers) w.join();
  std::vector<std::string> out;
  for (int t = 0; t < threads; ++t) {
    if (!failures[static_cast<size_t>(t)].empty())
      out.push_back("thread " + std::to_string(t) + ": " + failures[static_cast<size_t>(t)]);
  }
  return out;
}

std::unique_ptr<Endpoint> OpenLocalOrFail(const std::filesystem::path& root) {
  Result<std::unique_ptr<Endpoint>> ep = OpenLocalEndpoint(root);
  REQUIRE(ep.ok());
  return std::move(ep).value();
}

}  // namespace sluice::transfer::test
