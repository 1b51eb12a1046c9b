#include "transfer/sftp/sftp_streams.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace sluice::transfer {

using sftp::PacketWriter;
using sftp::Reply;
using sftp::SftpClient;

namespace {

// Closes a handle without waiting for the answer (the server processes
// requests in order, so earlier WRITEs land first).
void CloseDetached(SftpClient& client, const std::string& handle) {
  const uint32_t id = client.NextId();
  if (client.Send(id, SftpClient::EncodeClose(id, handle)).ok()) client.Forget(id);
}

}  // namespace

SftpReadStream::SftpReadStream(std::shared_ptr<SftpClient> client, std::string handle, std::string what,
                               uint64_t offset)
    : client_(std::move(client)),
      handle_(std::move(handle)),
      what_(std::move(what)),
      request_len_(static_cast<uint32_t>(client_->limits().max_read)),
      next_offset_(offset) {
  client_->AddStream();
}

SftpReadStream::~SftpReadStream() {
  for (const Request& r : in_flight_) client_->Forget(r.id);
  CloseDetached(*client_, handle_);
  client_->RemoveStream();
}

Status SftpReadStream::Issue(uint64_t offset, uint32_t len, bool front) {
  const uint32_t id = client_->NextId();
  if (Status s = client_->Send(id, SftpClient::EncodeRead(id, handle_, offset, len)); !s.ok()) return s;
  const Request r{id, offset, len};
  if (front) {
    in_flight_.push_front(r);
  } else {
    in_flight_.push_back(r);
  }
  return Status::Ok();
}

Status SftpReadStream::Fill() {
  while (in_flight_.size() < window_) {
    if (Status s = Issue(next_offset_, request_len_, false); !s.ok()) return s;
    next_offset_ += request_len_;
  }
  return Status::Ok();
}

Status SftpReadStream::NextReply() {
  if (Status s = Fill(); !s.ok()) return s;
  const Request r = in_flight_.front();
  in_flight_.pop_front();
  Result<Reply> reply = client_->Wait(r.id);
  if (!reply.ok()) return reply.status();
  current_ = std::move(reply).value();
  Result<std::optional<std::string_view>> data = sftp::ExpectData(current_, what_);
  if (!data.ok()) return data.status();
  if (!data->has_value() || (*data)->empty()) {
    // The end of the file: everything requested past it is moot.
    eof_ = true;
    for (const Request& later : in_flight_) client_->Forget(later.id);
    in_flight_.clear();
    return Status::Ok();
  }
  unread_ = **data;
  if (unread_.size() > r.len) return Status::Corrupt(what_ + ": the server returned more data than requested");
  if (unread_.size() < r.len) {
    // A short read (the end of the file, or a server with a smaller limit):
    // ask for the rest of this range before anything later.
    const uint32_t got = static_cast<uint32_t>(unread_.size());
    return Issue(r.offset + got, r.len - got, true);
  }
  window_ = std::min(window_ * 2, kMaxReadsInFlight);
  return Status::Ok();
}

Result<size_t> SftpReadStream::Read(std::span<char> buf) {
  if (!error_.ok()) return error_;
  while (unread_.empty()) {
    if (eof_ || buf.empty()) return size_t{0};
    if (Status s = NextReply(); !s.ok()) {
      error_ = s;
      return s;
    }
  }
  const size_t n = std::min(buf.size(), unread_.size());
  std::memcpy(buf.data(), unread_.data(), n);
  unread_.remove_prefix(n);
  return n;
}

SftpWriteStream::SftpWriteStream(std::shared_ptr<SftpClient> client, std::string handle, std::string what,
                                 uint64_t offset)
    : client_(std::move(client)),
      handle_(std::move(handle)),
      what_(std::move(what)),
      request_len_(static_cast<size_t>(client_->limits().max_write)),
      offset_(offset) {
  client_->AddStream();
}

SftpWriteStream::~SftpWriteStream() {
  if (!closed_) {
    // Leaves what was written (Write() returned Ok for it) on the server.
    if (building_ && building_len_ > 0 && error_.ok()) (void)Flush();
    for (const uint32_t id : in_flight_) client_->Forget(id);
    CloseDetached(*client_, handle_);
  }
  client_->RemoveStream();
}

void SftpWriteStream::Record(const Status& s) {
  if (error_.ok() && !s.ok()) error_ = s;
}

void SftpWriteStream::Begin() {
  building_id_ = client_->NextId();
  building_.emplace(sftp::kFxpWrite, request_len_ + handle_.size() + 32);
  building_->U32(building_id_).String(handle_).U64(offset_);
  building_at_ = building_->BeginString();
  building_len_ = 0;
}

Status SftpWriteStream::Flush() {
  if (!building_) return Status::Ok();
  std::string packet = building_->Finish();
  building_.reset();
  if (Status s = client_->Send(building_id_, std::move(packet)); !s.ok()) {
    Record(s);
    return s;
  }
  in_flight_.push_back(building_id_);
  return Collect(kMaxWritesInFlight - 1);
}

Status SftpWriteStream::Collect(size_t max_in_flight) {
  // Statuses already here are taken without waiting; then wait while too many
  // are outstanding.
  while (!in_flight_.empty()) {
    Result<std::optional<Reply>> ready = client_->TryTake(in_flight_.front());
    if (!ready.ok()) {
      in_flight_.pop_front();
      Record(ready.status());
      continue;
    }
    if (!ready->has_value()) break;
    in_flight_.pop_front();
    Record(sftp::ExpectStatus(**ready, "write " + what_));
  }
  while (in_flight_.size() > max_in_flight) {
    const uint32_t id = in_flight_.front();
    in_flight_.pop_front();
    Result<Reply> reply = client_->Wait(id);
    Record(reply.ok() ? sftp::ExpectStatus(*reply, "write " + what_) : reply.status());
  }
  return error_;
}

Status SftpWriteStream::Write(std::string_view data) {
  if (closed_) return Status::Internal(what_ + ": write after close");
  if (!error_.ok()) return error_;
  while (!data.empty()) {
    if (!building_) Begin();
    const size_t take = std::min(data.size(), request_len_ - building_len_);
    building_->AppendToString(building_at_, data.substr(0, take));
    building_len_ += take;
    offset_ += take;
    data.remove_prefix(take);
    if (building_len_ == request_len_) {
      if (Status s = Flush(); !s.ok()) return s;
    }
  }
  return Status::Ok();
}

Status SftpWriteStream::Close() {
  if (closed_) return Status::Internal(what_ + ": closed twice");
  closed_ = true;
  if (error_.ok() && building_ && building_len_ > 0) (void)Flush();
  building_.reset();
  // FSYNC and CLOSE follow the last WRITEs without waiting for their statuses
  // (the server handles one channel's requests in order): the whole close
  // costs one round trip. A failed write or fsync still closes the handle;
  // the first error is what Close() reports.
  std::optional<uint32_t> fsync_id;
  if (error_.ok() && client_->HasExtension("fsync@openssh.com")) {
    const uint32_t id = client_->NextId();
    if (Status s = client_->Send(id, SftpClient::EncodeFsync(id, handle_)); s.ok()) {
      fsync_id = id;
    } else {
      Record(s);
    }
  }
  const uint32_t close_id = client_->NextId();
  const Status sent = client_->Send(close_id, SftpClient::EncodeClose(close_id, handle_));
  (void)Collect(0);
  if (fsync_id) {
    Result<Reply> r = client_->Wait(*fsync_id);
    Record(r.ok() ? sftp::ExpectStatus(*r, "fsync " + what_) : r.status());
  }
  if (sent.ok()) {
    Result<Reply> r = client_->Wait(close_id);
    Record(r.ok() ? sftp::ExpectStatus(*r, "close " + what_) : r.status());
  } else {
    Record(sent);
  }
  return error_;
}

}  // namespace sluice::transfer
