// SFTP v3 wire format (draft-ietf-secsh-filexfer-02 plus the OpenSSH
// extensions we use): message numbers, status codes, open flags, attribute
// flags; PacketWriter builds one length-prefixed packet, PacketReader parses
// one with bounds checks (a short or malformed packet is a kCorrupt Status,
// never a crash); PacketFramer cuts a byte stream into packets; SftpStatus
// maps a server STATUS to our ErrorCode.
// Invariants: all integers are big-endian; a packet on the wire is
// uint32 length + that many bytes (type byte first); the framer refuses
// packets longer than kMaxIncomingPacket so a corrupt length cannot make us
// allocate gigabytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"

namespace sluice::sftp {

// Message numbers.
inline constexpr uint8_t kFxpInit = 1;
inline constexpr uint8_t kFxpVersion = 2;
inline constexpr uint8_t kFxpOpen = 3;
inline constexpr uint8_t kFxpClose = 4;
inline constexpr uint8_t kFxpRead = 5;
inline constexpr uint8_t kFxpWrite = 6;
inline constexpr uint8_t kFxpLstat = 7;
inline constexpr uint8_t kFxpFstat = 8;
inline constexpr uint8_t kFxpSetstat = 9;
inline constexpr uint8_t kFxpFsetstat = 10;
inline constexpr uint8_t kFxpOpendir = 11;
inline constexpr uint8_t kFxpReaddir = 12;
inline constexpr uint8_t kFxpRemove = 13;
inline constexpr uint8_t kFxpMkdir = 14;
inline constexpr uint8_t kFxpRmdir = 15;
inline constexpr uint8_t kFxpRealpath = 16;
inline constexpr uint8_t kFxpStat = 17;
inline constexpr uint8_t kFxpRename = 18;
inline constexpr uint8_t kFxpReadlink = 19;
inline constexpr uint8_t kFxpSymlink = 20;
inline constexpr uint8_t kFxpStatus = 101;
inline constexpr uint8_t kFxpHandle = 102;
inline constexpr uint8_t kFxpData = 103;
inline constexpr uint8_t kFxpName = 104;
inline constexpr uint8_t kFxpAttrs = 105;
inline constexpr uint8_t kFxpExtended = 200;
inline constexpr uint8_t kFxpExtendedReply = 201;

// Status codes.
inline constexpr uint32_t kFxOk = 0;
inline constexpr uint32_t kFxEof = 1;
inline constexpr uint32_t kFxNoSuchFile = 2;
inline constexpr uint32_t kFxPermissionDenied = 3;
inline constexpr uint32_t kFxFailure = 4;
inline constexpr uint32_t kFxBadMessage = 5;
inline constexpr uint32_t kFxNoConnection = 6;
inline constexpr uint32_t kFxConnectionLost = 7;
inline constexpr uint32_t kFxOpUnsupported = 8;

// OPEN pflags.
inline constexpr uint32_t kFxfRead = 0x01;
inline constexpr uint32_t kFxfWrite = 0x02;
inline constexpr uint32_t kFxfAppend = 0x04;
inline constexpr uint32_t kFxfCreat = 0x08;
inline constexpr uint32_t kFxfTrunc = 0x10;
inline constexpr uint32_t kFxfExcl = 0x20;

// ATTRS flags.
inline constexpr uint32_t kAttrSize = 0x01;
inline constexpr uint32_t kAttrUidGid = 0x02;
inline constexpr uint32_t kAttrPermissions = 0x04;
inline constexpr uint32_t kAttrAcModTime = 0x08;
inline constexpr uint32_t kAttrExtended = 0x80000000;

inline constexpr uint32_t kSftpVersion = 3;
// OpenSSH's sftp-server accepts packets up to 256 KiB; replies are never
// larger than what we asked for plus headers. 4 MiB leaves room for servers
// with bigger limits while still catching garbage lengths.
inline constexpr uint32_t kMaxIncomingPacket = 4u << 20;

// File attributes; a field is present when its optional is set.
struct Attrs {
  std::optional<uint64_t> size;
  std::optional<uint32_t> uid, gid;
  std::optional<uint32_t> permissions;  // includes the S_IFMT type bits when the server sends them
  std::optional<uint32_t> atime, mtime;
};

// Builds one packet: Begin(type) then fields; Finish() fills in the length
// and returns the bytes ready for the wire.
class PacketWriter {
 public:
  explicit PacketWriter(uint8_t type, size_t reserve = 64);
  PacketWriter& U8(uint8_t v);
  PacketWriter& U32(uint32_t v);
  PacketWriter& U64(uint64_t v);
  PacketWriter& String(std::string_view s);
  PacketWriter& Attributes(const Attrs& a);
  // Appends raw bytes to the last String() field started with BeginString();
  // lets WRITE requests grow in place without an extra copy.
  size_t BeginString();
  void AppendToString(size_t at, std::string_view bytes);
  size_t size() const { return buf_.size(); }
  // The packet; the writer is spent afterwards.
  std::string Finish();

 private:
  std::string buf_;
};

// Reads fields from one packet body (the bytes after the length).
class PacketReader {
 public:
  explicit PacketReader(std::string_view body) : data_(body) {}
  Result<uint8_t> U8();
  Result<uint32_t> U32();
  Result<uint64_t> U64();
  // A view into the packet: valid as long as the packet's storage is.
  Result<std::string_view> String();
  Result<Attrs> Attributes();
  size_t remaining() const { return data_.size() - pos_; }

 private:
  Status Short(const char* what) const;
  std::string_view data_;
  size_t pos_ = 0;
};

// Cuts a byte stream into packet bodies (without their length prefix).
class PacketFramer {
 public:
  void Append(std::string_view bytes) { buf_.append(bytes); }
  // The next complete packet body, nullopt when more bytes are needed, or
  // kCorrupt when a length is impossible (empty or above kMaxIncomingPacket).
  Result<std::optional<std::string>> Next();
  size_t buffered() const { return buf_.size() - pos_; }

 private:
  std::string buf_;
  size_t pos_ = 0;
};

// The Status for an SFTP STATUS code (kFxOk -> Ok) with `what` (the URL and
// path, or the operation) and the server's message in the text.
Status StatusFromSftp(uint32_t code, std::string_view server_message, std::string_view what);

// Parses a STATUS reply body after the type and id: code, message.
struct StatusReply {
  uint32_t code = 0;
  std::string message;
};
Result<StatusReply> ParseStatusReply(PacketReader& r);

}  // namespace sluice::sftp
