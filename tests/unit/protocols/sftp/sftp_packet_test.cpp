#include "protocols/sftp/sftp_packet.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "protocols/sftp/sftp_client.h"

namespace sluice::sftp {
namespace {

std::string Bytes(std::initializer_list<int> b) {
  std::string s;
  for (int c : b) s.push_back(static_cast<char>(c));
  return s;
}

// A reply as the pump stores it: the packet body (type, id, payload).
Reply MakeReply(PacketWriter&& w) { return Reply(std::move(w).Finish().substr(4)); }

}  // namespace

TEST_CASE("sftp packet: INIT is encoded byte for byte", "[unit][sftp]") {
  CHECK(PacketWriter(kFxpInit).U32(3).Finish() == Bytes({0, 0, 0, 5, 1, 0, 0, 0, 3}));
}

TEST_CASE("sftp packet: fields round-trip through writer and reader", "[unit][sftp]") {
  Attrs a;
  a.size = 0x1'2345'6789ULL;
  a.permissions = 0100644;
  a.atime = 1;
  a.mtime = 0xFFFFFFFFu;
  const std::string wire = PacketWriter(kFxpOpen)
                               .U32(0xA1B2C3D4)
                               .String(std::string("line\nbreak\0nul", 14))
                               .U64(0x0102030405060708ULL)
                               .Attributes(a)
                               .U8(7)
                               .Finish();
  REQUIRE(wire.size() >= 4);
  PacketReader r(std::string_view(wire).substr(4));
  CHECK(r.U8().value() == kFxpOpen);
  CHECK(r.U32().value() == 0xA1B2C3D4);
  CHECK(r.String().value() == std::string_view("line\nbreak\0nul", 14));
  CHECK(r.U64().value() == 0x0102030405060708ULL);
  const Result<Attrs> back = r.Attributes();
  REQUIRE(back.ok());
  CHECK(back->size == a.size);
  CHECK(back->permissions == a.permissions);
  CHECK(back->atime == 1u);
  CHECK(back->mtime == 0xFFFFFFFFu);
  CHECK_FALSE(back->uid.has_value());
  CHECK(r.U8().value() == 7);
  CHECK(r.remaining() == 0);
}

TEST_CASE("sftp packet: attributes with uid/gid and extensions are parsed and skipped", "[unit][sftp]") {
  PacketWriter w(kFxpAttrs);
  w.U32(kAttrUidGid | kAttrPermissions | kAttrExtended).U32(1000).U32(100).U32(040755);
  w.U32(1).String("ext@example.com").String("data");
  w.U32(42);
  const std::string wire = std::move(w).Finish();
  PacketReader r(std::string_view(wire).substr(5));
  const Result<Attrs> a = r.Attributes();
  REQUIRE(a.ok());
  CHECK(a->uid == 1000u);
  CHECK(a->gid == 100u);
  CHECK(a->permissions == 040755u);
  CHECK(r.U32().value() == 42u);
}

TEST_CASE("sftp packet: a short or truncated packet is kCorrupt, never a crash", "[unit][sftp]") {
  PacketReader empty("");
  CHECK(empty.U8().status().code() == ErrorCode::kCorrupt);
  // The reader views its bytes: they must outlive it.
  const std::string three_bytes = Bytes({0, 0, 1}), long_bytes = Bytes({0, 0, 0, 9, 'a', 'b'});
  const std::string attr_bytes = Bytes({0, 0, 0, 1, 0, 0});  // SIZE flag, 2 of 8 bytes
  PacketReader three(three_bytes);
  CHECK(three.U32().status().code() == ErrorCode::kCorrupt);
  PacketReader long_string(long_bytes);
  CHECK(long_string.String().status().code() == ErrorCode::kCorrupt);
  PacketReader attrs(attr_bytes);
  CHECK(attrs.Attributes().status().code() == ErrorCode::kCorrupt);
}

TEST_CASE("sftp packet: a string can grow in place (WRITE payloads)", "[unit][sftp]") {
  PacketWriter w(kFxpWrite);
  w.U32(5).String("h").U64(10);
  const size_t at = w.BeginString();
  w.AppendToString(at, "abc");
  w.AppendToString(at, "defg");
  const std::string wire = std::move(w).Finish();
  PacketReader r(std::string_view(wire).substr(4));
  CHECK(r.U8().value() == kFxpWrite);
  CHECK(r.U32().value() == 5u);
  CHECK(r.String().value() == "h");
  CHECK(r.U64().value() == 10u);
  CHECK(r.String().value() == "abcdefg");
  CHECK(r.remaining() == 0);
}

TEST_CASE("sftp packet: the framer cuts a stream at any split into whole packets", "[unit][sftp]") {
  const std::string a = PacketWriter(kFxpStatus).U32(1).U32(0).String("").String("").Finish();
  const std::string b = PacketWriter(kFxpData).U32(2).String(std::string(70'000, 'x')).Finish();
  const std::string stream = a + b + a;
  for (size_t piece : {size_t{1}, size_t{3}, size_t{4096}, stream.size()}) {
    INFO(piece);
    PacketFramer f;
    std::vector<std::string> out;
    for (size_t i = 0; i < stream.size(); i += piece) {
      f.Append(std::string_view(stream).substr(i, piece));
      for (;;) {
        Result<std::optional<std::string>> p = f.Next();
        REQUIRE(p.ok());
        if (!p->has_value()) break;
        out.push_back(**p);
      }
    }
    REQUIRE(out.size() == 3);
    CHECK(out[0] == a.substr(4));
    CHECK(out[1] == b.substr(4));
    CHECK(out[2] == a.substr(4));
    CHECK(f.buffered() == 0);
  }
}

TEST_CASE("sftp packet: the framer refuses impossible lengths", "[unit][sftp]") {
  PacketFramer zero;
  zero.Append(Bytes({0, 0, 0, 0}));
  CHECK(zero.Next().status().code() == ErrorCode::kCorrupt);
  PacketFramer huge;
  huge.Append(Bytes({0x7f, 0, 0, 0, 1}));
  CHECK(huge.Next().status().code() == ErrorCode::kCorrupt);
}

TEST_CASE("sftp status: codes map to error codes, naming what failed", "[unit][sftp]") {
  CHECK(StatusFromSftp(kFxOk, "", "x").ok());
  const Status nf = StatusFromSftp(kFxNoSuchFile, "No such file", "sftp://h/a/b");
  CHECK(nf.code() == ErrorCode::kNotFound);
  CHECK_THAT(nf.message(), Catch::Contains("sftp://h/a/b") && Catch::Contains("No such file"));
  CHECK(StatusFromSftp(kFxPermissionDenied, "", "x").code() == ErrorCode::kPermissionDenied);
  CHECK(StatusFromSftp(kFxFailure, "Failure", "x").code() == ErrorCode::kIo);
  CHECK(StatusFromSftp(kFxBadMessage, "", "x").code() == ErrorCode::kInvalidArgument);
  CHECK(StatusFromSftp(kFxNoConnection, "", "x").code() == ErrorCode::kUnavailable);
  CHECK(StatusFromSftp(kFxConnectionLost, "", "x").code() == ErrorCode::kUnavailable);
  CHECK(StatusFromSftp(kFxOpUnsupported, "", "x").code() == ErrorCode::kUnsupported);
  CHECK(StatusFromSftp(99, "", "x").code() == ErrorCode::kIo);
}

TEST_CASE("sftp replies: data, end of file, names and errors are told apart", "[unit][sftp]") {
  const Reply data = MakeReply(std::move(PacketWriter(kFxpData).U32(9).String("payload")));
  Result<std::optional<std::string_view>> d = ExpectData(data, "f");
  REQUIRE(d.ok());
  REQUIRE(d->has_value());
  CHECK(**d == "payload");

  const Reply eof = MakeReply(std::move(PacketWriter(kFxpStatus).U32(9).U32(kFxEof).String("EOF").String("")));
  d = ExpectData(eof, "f");
  REQUIRE(d.ok());
  CHECK_FALSE(d->has_value());
  Result<std::vector<NameEntry>> names = ExpectNames(eof, "d");
  REQUIRE(names.ok());
  CHECK(names->empty());

  const Reply denied =
      MakeReply(std::move(PacketWriter(kFxpStatus).U32(9).U32(kFxPermissionDenied).String("Permission denied")));
  CHECK(ExpectData(denied, "f").status().code() == ErrorCode::kPermissionDenied);
  CHECK(ExpectHandle(denied, "f").status().code() == ErrorCode::kPermissionDenied);
  CHECK(ExpectStatus(denied, "f").code() == ErrorCode::kPermissionDenied);
  // A v3 server may omit the message and language tag.
  const Reply bare = MakeReply(std::move(PacketWriter(kFxpStatus).U32(9).U32(kFxOk)));
  CHECK(ExpectStatus(bare, "f").ok());

  PacketWriter n(kFxpName);
  n.U32(9).U32(2);
  Attrs link;
  link.permissions = 0120777;
  n.String("a link").String("lrwxrwxrwx ...").Attributes(link);
  n.String("file").String("-rw-r--r-- ...").Attributes(Attrs{});
  names = ExpectNames(MakeReply(std::move(n)), "d");
  REQUIRE(names.ok());
  REQUIRE(names->size() == 2);
  CHECK((*names)[0].name == "a link");
  CHECK((*names)[0].attrs.permissions == 0120777u);
  CHECK((*names)[1].name == "file");

  const Reply handle = MakeReply(std::move(PacketWriter(kFxpHandle).U32(9).String("h1")));
  CHECK(ExpectHandle(handle, "f").value() == "h1");
  CHECK(ExpectStatus(handle, "f").code() == ErrorCode::kCorrupt);  // not a STATUS
}

}  // namespace sluice::sftp
