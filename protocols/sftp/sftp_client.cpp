#include "protocols/sftp/sftp_client.h"

#include <fmt/format.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace sluice::sftp {
namespace {

using Clock = std::chrono::steady_clock;

Status UnexpectedType(const Reply& r, std::string_view what) {
  return Status::Corrupt(fmt::format("{}: unexpected SFTP reply type {}", what, r.type()));
}

// A STATUS reply as a Status (Ok for kFxOk).
Status FromStatusReply(const Reply& r, std::string_view what) {
  PacketReader p = r.payload();
  Result<StatusReply> s = ParseStatusReply(p);
  if (!s.ok()) return s.status();
  return StatusFromSftp(s->code, s->message, what);
}

// For replies where STATUS kFxEof means "the end" rather than an error.
Result<bool> IsEof(const Reply& r) {
  if (r.type() != kFxpStatus) return false;
  PacketReader p = r.payload();
  Result<StatusReply> s = ParseStatusReply(p);
  if (!s.ok()) return s.status();
  return s->code == kFxEof;
}

}  // namespace

Status ExpectStatus(const Reply& r, std::string_view what) {
  if (r.type() != kFxpStatus) return UnexpectedType(r, what);
  return FromStatusReply(r, what);
}

Result<std::string> ExpectHandle(const Reply& r, std::string_view what) {
  if (r.type() == kFxpStatus) {
    Status s = FromStatusReply(r, what);
    return s.ok() ? UnexpectedType(r, what) : s;
  }
  if (r.type() != kFxpHandle) return UnexpectedType(r, what);
  PacketReader p = r.payload();
  Result<std::string_view> h = p.String();
  if (!h.ok()) return h.status();
  return std::string(*h);
}

Result<Attrs> ExpectAttrs(const Reply& r, std::string_view what) {
  if (r.type() == kFxpStatus) {
    Status s = FromStatusReply(r, what);
    return s.ok() ? UnexpectedType(r, what) : s;
  }
  if (r.type() != kFxpAttrs) return UnexpectedType(r, what);
  PacketReader p = r.payload();
  return p.Attributes();
}

Result<std::vector<NameEntry>> ExpectNames(const Reply& r, std::string_view what) {
  std::vector<NameEntry> out;
  if (r.type() == kFxpStatus) {
    Result<bool> eof = IsEof(r);
    if (!eof.ok()) return eof.status();
    if (*eof) return out;
    Status s = FromStatusReply(r, what);
    return s.ok() ? UnexpectedType(r, what) : s;
  }
  if (r.type() != kFxpName) return UnexpectedType(r, what);
  PacketReader p = r.payload();
  Result<uint32_t> count = p.U32();
  if (!count.ok()) return count.status();
  out.reserve(std::min<uint32_t>(*count, 4096));
  for (uint32_t i = 0; i < *count; ++i) {
    Result<std::string_view> name = p.String();
    if (!name.ok()) return name.status();
    Result<std::string_view> longname = p.String();
    if (!longname.ok()) return longname.status();
    Result<Attrs> attrs = p.Attributes();
    if (!attrs.ok()) return attrs.status();
    out.push_back({std::string(*name), *attrs});
  }
  return out;
}

Result<std::optional<std::string_view>> ExpectData(const Reply& r, std::string_view what) {
  if (r.type() == kFxpStatus) {
    Result<bool> eof = IsEof(r);
    if (!eof.ok()) return eof.status();
    if (*eof) return std::optional<std::string_view>();
    Status s = FromStatusReply(r, what);
    return s.ok() ? UnexpectedType(r, what) : s;
  }
  if (r.type() != kFxpData) return UnexpectedType(r, what);
  PacketReader p = r.payload();
  Result<std::string_view> data = p.String();
  if (!data.ok()) return data.status();
  return std::optional<std::string_view>(*data);
}

SftpClient::SftpClient(std::unique_ptr<SshConnection> conn, std::chrono::milliseconds io_timeout)
    : conn_(std::move(conn)), peer_(conn_->peer()), io_timeout_(io_timeout), read_buf_(256 * 1024) {
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  last_progress_ = Clock::now();
}

SftpClient::~SftpClient() {
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

Result<std::shared_ptr<SftpClient>> SftpClient::Connect(const SshOptions& options) {
  Result<std::unique_ptr<SshConnection>> conn = SshConnection::Connect(options);
  if (!conn.ok()) return conn.status();
  // The constructor is private: make_shared cannot reach it.
  std::shared_ptr<SftpClient> client(new SftpClient(std::move(conn).value(), options.io_timeout));
  if (client->wake_fd_ < 0) return Status::FromErrno(errno, "eventfd");
  if (Status s = client->Handshake(); !s.ok()) return s;
  return client;
}

Status SftpClient::Handshake() {
  // INIT and VERSION carry no request id: exchanged here, before any other
  // thread can see this client, directly on the connection.
  std::string init = PacketWriter(kFxpInit).U32(kSftpVersion).Finish();
  std::string_view rest = init;
  const Clock::time_point deadline = Clock::now() + io_timeout_;
  const auto timed_out = [&] {
    return Status::Unavailable(fmt::format("{}: no SFTP VERSION reply in {} ms", peer_, io_timeout_.count()));
  };
  while (!rest.empty()) {
    Result<size_t> n = conn_->WriteSome(rest);
    if (!n.ok()) return n.status();
    rest.remove_prefix(*n);
    if (*n == 0) {
      if (Clock::now() > deadline) return timed_out();
      conn_->WaitReadable(-1, std::chrono::milliseconds(100));
    }
  }
  std::optional<std::string> version;
  while (!version) {
    Result<size_t> n = conn_->ReadSome(read_buf_.data(), read_buf_.size());
    if (!n.ok()) return n.status();
    if (*n == 0) {
      if (Clock::now() > deadline) return timed_out();
      conn_->WaitReadable(-1, std::chrono::milliseconds(100));
      continue;
    }
    framer_.Append(std::string_view(read_buf_.data(), *n));
    Result<std::optional<std::string>> p = framer_.Next();
    if (!p.ok()) return p.status();
    version = std::move(p).value();
  }
  PacketReader r(*version);
  Result<uint8_t> type = r.U8();
  Result<uint32_t> v = r.U32();
  if (!type.ok() || !v.ok() || *type != kFxpVersion) {
    return Status::Corrupt(fmt::format("{}: the SFTP server did not answer INIT with VERSION", peer_));
  }
  if (*v < kSftpVersion) return Status::Unsupported(fmt::format("{}: SFTP version {} is too old", peer_, *v));
  while (r.remaining() > 0) {
    Result<std::string_view> name = r.String();
    Result<std::string_view> data = r.String();
    if (!name.ok() || !data.ok()) break;
    extensions_.emplace(*name);
  }
  if (HasExtension("limits@openssh.com")) {
    const uint32_t id = NextId();
    Result<Reply> reply = Call(id, PacketWriter(kFxpExtended).U32(id).String("limits@openssh.com").Finish());
    if (!reply.ok()) return reply.status();
    if (reply->type() == kFxpExtendedReply) {
      PacketReader p = reply->payload();
      Result<uint64_t> max_packet = p.U64();
      Result<uint64_t> max_read = p.U64();
      Result<uint64_t> max_write = p.U64();
      // Reads and writes stay under 1 MiB whatever the server allows: the
      // channel window (libssh: ~1.2 MB) is the real pipe, and bigger
      // requests only add latency to the first byte.
      if (max_read.ok() && *max_read > 0) limits_.max_read = std::min<uint64_t>(*max_read, 1u << 20);
      if (max_write.ok() && *max_write > 0) limits_.max_write = std::min<uint64_t>(*max_write, 1u << 20);
      (void)max_packet;
    }
  }
  return Status::Ok();
}

bool SftpClient::broken() const {
  std::lock_guard lk(mu_);
  return !broken_.ok();
}

size_t SftpClient::load() const {
  std::lock_guard lk(mu_);
  return pending_.size() + 8 * streams_.load();
}

void SftpClient::Wake() {
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t n = ::write(wake_fd_, &one, sizeof one);
}

void SftpClient::MarkBroken(Status why) {
  if (!broken_.ok()) return;
  broken_ = Status::Unavailable(why.message());
  outbox_.clear();
  for (auto it = pending_.begin(); it != pending_.end();) {
    it = it->second.discard ? pending_.erase(it) : std::next(it);
  }
  cv_.notify_all();
}

Status SftpClient::Send(uint32_t id, std::string packet) {
  std::unique_lock lk(mu_);
  if (!broken_.ok()) return broken_;
  if (pending_.empty()) last_progress_ = Clock::now();  // the io_timeout clock starts with the first request
  pending_.emplace(id, Slot{});
  outbox_.push_back(std::move(packet));
  if (pumping_) {
    Wake();
  } else {
    PumpIfFree(lk, false);
  }
  return Status::Ok();
}

void SftpClient::PumpIfFree(std::unique_lock<std::mutex>& lk, bool may_block) {
  if (pumping_ || !broken_.ok()) return;
  pumping_ = true;
  lk.unlock();
  PumpOnce(may_block);
  lk.lock();
  pumping_ = false;
  cv_.notify_all();
}

void SftpClient::PumpOnce(bool may_block) {
  {
    std::lock_guard lk(mu_);
    for (std::string& p : outbox_) sending_.push_back(std::move(p));
    outbox_.clear();
  }
  Status error;
  bool moved = false;
  const auto write_phase = [&] {
    while (error.ok() && !sending_.empty()) {
      const std::string& front = sending_.front();
      Result<size_t> n = conn_->WriteSome(std::string_view(front).substr(sending_pos_));
      if (!n.ok()) {
        error = n.status();
        break;
      }
      if (*n == 0) break;  // the window is closed until the peer adjusts it
      moved = true;
      sending_pos_ += *n;
      if (sending_pos_ == front.size()) {
        sending_.pop_front();
        sending_pos_ = 0;
      }
    }
  };
  write_phase();
  std::vector<std::string> packets;
  bool received = false;
  size_t read_total = 0;
  // Bounded, so replies are dispatched while a fast stream keeps arriving.
  while (error.ok() && read_total < (size_t{2} << 20)) {
    Result<size_t> n = conn_->ReadSome(read_buf_.data(), read_buf_.size());
    if (!n.ok()) {
      error = n.status();
      break;
    }
    if (*n == 0) break;
    received = true;
    read_total += *n;
    framer_.Append(std::string_view(read_buf_.data(), *n));
    for (;;) {
      Result<std::optional<std::string>> p = framer_.Next();
      if (!p.ok()) {
        error = p.status();
        break;
      }
      if (!p->has_value()) break;
      packets.push_back(std::move(**p));
    }
  }
  // Reading may have processed a window adjust: send what it lets through
  // now, rather than sleeping in poll() on a socket that has nothing more.
  write_phase();
  {
    std::lock_guard lk(mu_);
    if (received) last_progress_ = Clock::now();
    for (std::string& body : packets) {
      PacketReader r(body);
      Result<uint8_t> type = r.U8();
      Result<uint32_t> id = r.U32();
      auto it = id.ok() ? pending_.find(*id) : pending_.end();
      if (!type.ok() || it == pending_.end()) {
        error = Status::Corrupt(fmt::format("{}: SFTP reply for an unknown request", peer_));
        break;
      }
      if (it->second.discard) {
        pending_.erase(it);
      } else {
        it->second.done = true;
        it->second.reply = Reply(std::move(body));
      }
    }
    if (!error.ok()) MarkBroken(error);
    if (!packets.empty()) cv_.notify_all();
  }
  if (!error.ok() || moved || received || !may_block) return;
  conn_->WaitReadable(wake_fd_, std::min<std::chrono::milliseconds>(io_timeout_, std::chrono::milliseconds(1000)));
  uint64_t drained = 0;
  [[maybe_unused]] const ssize_t n = ::read(wake_fd_, &drained, sizeof drained);
}

Result<Reply> SftpClient::Wait(uint32_t id) {
  std::unique_lock lk(mu_);
  for (;;) {
    auto it = pending_.find(id);
    if (it == pending_.end()) return Status::Internal(fmt::format("{}: waiting for an unknown SFTP request", peer_));
    if (it->second.done) {
      Reply r = std::move(it->second.reply);
      pending_.erase(it);
      return r;
    }
    if (!broken_.ok()) {
      pending_.erase(it);
      return broken_;
    }
    if (Clock::now() - last_progress_ > io_timeout_) {
      MarkBroken(Status::Unavailable(
          fmt::format("{}: no reply from the SFTP server in {} ms (connection lost?)", peer_, io_timeout_.count())));
      continue;
    }
    if (!pumping_) {
      PumpIfFree(lk, true);
    } else {
      cv_.wait_for(lk, std::chrono::milliseconds(500));
    }
  }
}

Result<std::optional<Reply>> SftpClient::TryTake(uint32_t id) {
  std::unique_lock lk(mu_);
  PumpIfFree(lk, false);
  auto it = pending_.find(id);
  if (it == pending_.end()) return Status::Internal(fmt::format("{}: polling an unknown SFTP request", peer_));
  if (it->second.done) {
    Reply r = std::move(it->second.reply);
    pending_.erase(it);
    return std::optional<Reply>(std::move(r));
  }
  if (!broken_.ok()) {
    pending_.erase(it);
    return broken_;
  }
  return std::optional<Reply>();
}

void SftpClient::Forget(uint32_t id) {
  std::lock_guard lk(mu_);
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  if (it->second.done || !broken_.ok()) {
    pending_.erase(it);
  } else {
    it->second.discard = true;
  }
}

Result<Reply> SftpClient::Call(uint32_t id, std::string packet) {
  if (Status s = Send(id, std::move(packet)); !s.ok()) return s;
  return Wait(id);
}

Result<Reply> SftpClient::Simple(uint8_t type, std::string_view path) {
  const uint32_t id = NextId();
  return Call(id, PacketWriter(type, path.size() + 8).U32(id).String(path).Finish());
}

Result<std::string> SftpClient::Open(std::string_view path, uint32_t pflags, const Attrs& attrs,
                                     std::string_view what) {
  const uint32_t id = NextId();
  Result<Reply> r = Call(id, PacketWriter(kFxpOpen).U32(id).String(path).U32(pflags).Attributes(attrs).Finish());
  if (!r.ok()) return r.status();
  return ExpectHandle(*r, what);
}

Status SftpClient::Close(std::string_view handle, std::string_view what) {
  const uint32_t id = NextId();
  Result<Reply> r = Call(id, EncodeClose(id, handle));
  return r.ok() ? ExpectStatus(*r, what) : r.status();
}

Result<Attrs> SftpClient::Lstat(std::string_view path, std::string_view what) {
  Result<Reply> r = Simple(kFxpLstat, path);
  if (!r.ok()) return r.status();
  return ExpectAttrs(*r, what);
}

Result<Attrs> SftpClient::Stat(std::string_view path, std::string_view what) {
  Result<Reply> r = Simple(kFxpStat, path);
  if (!r.ok()) return r.status();
  return ExpectAttrs(*r, what);
}

Result<Attrs> SftpClient::Fstat(std::string_view handle, std::string_view what) {
  Result<Reply> r = Simple(kFxpFstat, handle);
  if (!r.ok()) return r.status();
  return ExpectAttrs(*r, what);
}

Status SftpClient::Setstat(std::string_view path, const Attrs& attrs, std::string_view what) {
  const uint32_t id = NextId();
  Result<Reply> r = Call(id, PacketWriter(kFxpSetstat).U32(id).String(path).Attributes(attrs).Finish());
  return r.ok() ? ExpectStatus(*r, what) : r.status();
}

Status SftpClient::Lsetstat(std::string_view path, const Attrs& attrs, std::string_view what) {
  if (!HasExtension("lsetstat@openssh.com")) return Setstat(path, attrs, what);
  const uint32_t id = NextId();
  Result<Reply> r = Call(
      id, PacketWriter(kFxpExtended).U32(id).String("lsetstat@openssh.com").String(path).Attributes(attrs).Finish());
  return r.ok() ? ExpectStatus(*r, what) : r.status();
}

Status SftpClient::Fsetstat(std::string_view handle, const Attrs& attrs, std::string_view what) {
  const uint32_t id = NextId();
  Result<Reply> r = Call(id, PacketWriter(kFxpFsetstat).U32(id).String(handle).Attributes(attrs).Finish());
  return r.ok() ? ExpectStatus(*r, what) : r.status();
}

Result<std::string> SftpClient::Opendir(std::string_view path, std::string_view what) {
  Result<Reply> r = Simple(kFxpOpendir, path);
  if (!r.ok()) return r.status();
  return ExpectHandle(*r, what);
}

Result<std::vector<NameEntry>> SftpClient::Readdir(std::string_view handle, std::string_view what) {
  Result<Reply> r = Simple(kFxpReaddir, handle);
  if (!r.ok()) return r.status();
  return ExpectNames(*r, what);
}

Status SftpClient::Remove(std::string_view path, std::string_view what) {
  Result<Reply> r = Simple(kFxpRemove, path);
  return r.ok() ? ExpectStatus(*r, what) : r.status();
}

Status SftpClient::Mkdir(std::string_view path, const Attrs& attrs, std::string_view what) {
  const uint32_t id = NextId();
  Result<Reply> r = Call(id, PacketWriter(kFxpMkdir).U32(id).String(path).Attributes(attrs).Finish());
  return r.ok() ? ExpectStatus(*r, what) : r.status();
}

Status SftpClient::Rmdir(std::string_view path, std::string_view what) {
  Result<Reply> r = Simple(kFxpRmdir, path);
  return r.ok() ? ExpectStatus(*r, what) : r.status();
}

Result<std::string> SftpClient::Realpath(std::string_view path, std::string_view what) {
  Result<Reply> r = Simple(kFxpRealpath, path);
  if (!r.ok()) return r.status();
  Result<std::vector<NameEntry>> names = ExpectNames(*r, what);
  if (!names.ok()) return names.status();
  if (names->size() != 1) return Status::Corrupt(fmt::format("{}: REALPATH returned {} names", what, names->size()));
  return std::move(names->front().name);
}

Result<std::string> SftpClient::Readlink(std::string_view path, std::string_view what) {
  Result<Reply> r = Simple(kFxpReadlink, path);
  if (!r.ok()) return r.status();
  Result<std::vector<NameEntry>> names = ExpectNames(*r, what);
  if (!names.ok()) return names.status();
  if (names->size() != 1) return Status::Corrupt(fmt::format("{}: READLINK returned {} names", what, names->size()));
  return std::move(names->front().name);
}

Status SftpClient::Symlink(std::string_view target, std::string_view linkpath, std::string_view what) {
  const uint32_t id = NextId();
  // OpenSSH (and most servers copying it) take targetpath first, then linkpath.
  Result<Reply> r = Call(id, PacketWriter(kFxpSymlink).U32(id).String(target).String(linkpath).Finish());
  return r.ok() ? ExpectStatus(*r, what) : r.status();
}

Status SftpClient::Rename(std::string_view from, std::string_view to, std::string_view what) {
  const uint32_t id = NextId();
  std::string packet =
      HasExtension("posix-rename@openssh.com")
          ? PacketWriter(kFxpExtended).U32(id).String("posix-rename@openssh.com").String(from).String(to).Finish()
          : PacketWriter(kFxpRename).U32(id).String(from).String(to).Finish();
  Result<Reply> r = Call(id, std::move(packet));
  return r.ok() ? ExpectStatus(*r, what) : r.status();
}

Status SftpClient::Fsync(std::string_view handle, std::string_view what) {
  if (!HasExtension("fsync@openssh.com")) return Status::Ok();
  const uint32_t id = NextId();
  Result<Reply> r = Call(id, EncodeFsync(id, handle));
  return r.ok() ? ExpectStatus(*r, what) : r.status();
}

std::string SftpClient::EncodeRead(uint32_t id, std::string_view handle, uint64_t offset, uint32_t len) {
  return PacketWriter(kFxpRead, handle.size() + 24).U32(id).String(handle).U64(offset).U32(len).Finish();
}

std::string SftpClient::EncodeFsync(uint32_t id, std::string_view handle) {
  return PacketWriter(kFxpExtended).U32(id).String("fsync@openssh.com").String(handle).Finish();
}

std::string SftpClient::EncodeClose(uint32_t id, std::string_view handle) {
  return PacketWriter(kFxpClose).U32(id).String(handle).Finish();
}

}  // namespace sluice::sftp
