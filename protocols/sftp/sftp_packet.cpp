#include "protocols/sftp/sftp_packet.h"

#include <fmt/format.h>

namespace sluice::sftp {
namespace {

void PutU32(std::string& s, size_t at, uint32_t v) {
  s[at] = static_cast<char>(v >> 24);
  s[at + 1] = static_cast<char>(v >> 16);
  s[at + 2] = static_cast<char>(v >> 8);
  s[at + 3] = static_cast<char>(v);
}

uint32_t GetU32(std::string_view s, size_t at) {
  const auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(s[at + i])); };
  return (b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3);
}

}  // namespace

PacketWriter::PacketWriter(uint8_t type, size_t reserve) {
  buf_.reserve(reserve + 5);
  buf_.append(4, '\0');  // the length, filled in by Finish()
  buf_.push_back(static_cast<char>(type));
}

PacketWriter& PacketWriter::U8(uint8_t v) {
  buf_.push_back(static_cast<char>(v));
  return *this;
}

PacketWriter& PacketWriter::U32(uint32_t v) {
  const size_t at = buf_.size();
  buf_.append(4, '\0');
  PutU32(buf_, at, v);
  return *this;
}

PacketWriter& PacketWriter::U64(uint64_t v) {
  U32(static_cast<uint32_t>(v >> 32));
  return U32(static_cast<uint32_t>(v));
}

PacketWriter& PacketWriter::String(std::string_view s) {
  U32(static_cast<uint32_t>(s.size()));
  buf_.append(s);
  return *this;
}

PacketWriter& PacketWriter::Attributes(const Attrs& a) {
  uint32_t flags = 0;
  if (a.size) flags |= kAttrSize;
  if (a.uid && a.gid) flags |= kAttrUidGid;
  if (a.permissions) flags |= kAttrPermissions;
  if (a.atime && a.mtime) flags |= kAttrAcModTime;
  U32(flags);
  if (a.size) U64(*a.size);
  if (flags & kAttrUidGid) U32(*a.uid).U32(*a.gid);
  if (a.permissions) U32(*a.permissions);
  if (flags & kAttrAcModTime) U32(*a.atime).U32(*a.mtime);
  return *this;
}

size_t PacketWriter::BeginString() {
  const size_t at = buf_.size();
  U32(0);
  return at;
}

void PacketWriter::AppendToString(size_t at, std::string_view bytes) {
  buf_.append(bytes);
  PutU32(buf_, at, static_cast<uint32_t>(buf_.size() - at - 4));
}

std::string PacketWriter::Finish() {
  PutU32(buf_, 0, static_cast<uint32_t>(buf_.size() - 4));
  return std::move(buf_);
}

Status PacketReader::Short(const char* what) const {
  return Status::Corrupt(fmt::format("malformed SFTP packet: {} missing at byte {} of {}", what, pos_, data_.size()));
}

Result<uint8_t> PacketReader::U8() {
  if (remaining() < 1) return Short("a byte");
  return static_cast<uint8_t>(data_[pos_++]);
}

Result<uint32_t> PacketReader::U32() {
  if (remaining() < 4) return Short("a uint32");
  const uint32_t v = GetU32(data_, pos_);
  pos_ += 4;
  return v;
}

Result<uint64_t> PacketReader::U64() {
  if (remaining() < 8) return Short("a uint64");
  const uint64_t hi = GetU32(data_, pos_);
  const uint64_t lo = GetU32(data_, pos_ + 4);
  pos_ += 8;
  return (hi << 32) | lo;
}

Result<std::string_view> PacketReader::String() {
  Result<uint32_t> n = U32();
  if (!n.ok()) return n.status();
  if (remaining() < *n) return Short("string bytes");
  const std::string_view s = data_.substr(pos_, *n);
  pos_ += *n;
  return s;
}

Result<Attrs> PacketReader::Attributes() {
  Result<uint32_t> flags = U32();
  if (!flags.ok()) return flags.status();
  Attrs a;
  if (*flags & kAttrSize) {
    Result<uint64_t> v = U64();
    if (!v.ok()) return v.status();
    a.size = *v;
  }
  const auto u32 = [&](std::optional<uint32_t>& out) -> Status {
    Result<uint32_t> v = U32();
    if (!v.ok()) return v.status();
    out = *v;
    return Status::Ok();
  };
  if (*flags & kAttrUidGid) {
    if (Status s = u32(a.uid); !s.ok()) return s;
    if (Status s = u32(a.gid); !s.ok()) return s;
  }
  if (*flags & kAttrPermissions) {
    if (Status s = u32(a.permissions); !s.ok()) return s;
  }
  if (*flags & kAttrAcModTime) {
    if (Status s = u32(a.atime); !s.ok()) return s;
    if (Status s = u32(a.mtime); !s.ok()) return s;
  }
  if (*flags & kAttrExtended) {
    Result<uint32_t> count = U32();
    if (!count.ok()) return count.status();
    for (uint32_t i = 0; i < *count; ++i) {
      for (int j = 0; j < 2; ++j) {  // name, data
        Result<std::string_view> s = String();
        if (!s.ok()) return s.status();
      }
    }
  }
  return a;
}

Result<std::optional<std::string>> PacketFramer::Next() {
  if (buffered() < 4) return std::optional<std::string>();
  const uint32_t len = GetU32(buf_, pos_);
  if (len == 0 || len > kMaxIncomingPacket) {
    return Status::Corrupt(fmt::format("SFTP packet of impossible length {} (the stream is out of step)", len));
  }
  if (buffered() - 4 < len) return std::optional<std::string>();
  std::string body = buf_.substr(pos_ + 4, len);
  pos_ += 4 + len;
  // Compact once the consumed prefix dominates, so appends stay amortized O(1).
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  } else if (pos_ > (1u << 20) && pos_ > buf_.size() / 2) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  return std::optional<std::string>(std::move(body));
}

Status StatusFromSftp(uint32_t code, std::string_view server_message, std::string_view what) {
  const std::string detail = server_message.empty() ? fmt::format("SFTP status {}", code)
                                                    : fmt::format("{} (SFTP status {})", server_message, code);
  const std::string m = fmt::format("{}: {}", what, detail);
  switch (code) {
    case kFxOk:
      return Status::Ok();
    case kFxEof:
      return Status::Io(m + " (unexpected end of file)");
    case kFxNoSuchFile:
      return Status::NotFound(m);
    case kFxPermissionDenied:
      return Status::PermissionDenied(m);
    case kFxBadMessage:
      return Status::InvalidArgument(m);
    case kFxNoConnection:
    case kFxConnectionLost:
      return Status::Unavailable(m);
    case kFxOpUnsupported:
      return Status::Unsupported(m);
    case kFxFailure:
    default:
      return Status::Io(m);
  }
}

Result<StatusReply> ParseStatusReply(PacketReader& r) {
  StatusReply out;
  Result<uint32_t> code = r.U32();
  if (!code.ok()) return code.status();
  out.code = *code;
  // The message and language tag are optional in practice (v3 servers may omit them).
  if (r.remaining() >= 4) {
    Result<std::string_view> msg = r.String();
    if (msg.ok()) out.message = std::string(*msg);
  }
  return out;
}

}  // namespace sluice::sftp
