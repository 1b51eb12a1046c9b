#include "protocols/aws/s3_upload.h"

#include <algorithm>

#include "core/checksum/crc64nvme.h"

namespace sluice::aws {

S3Upload::S3Upload(std::shared_ptr<S3Client> client, std::string key, size_t part_bytes)
    : client_(std::move(client)), key_(std::move(key)), part_bytes_(std::max<size_t>(part_bytes, 5u << 20)) {}

S3Upload::~S3Upload() {
  // Best effort: an upload left behind costs storage until a lifecycle rule
  // removes it, but never shows under the key.
  if (!closed_ && !upload_id_.empty()) (void)client_->AbortMultipart(key_, upload_id_);
}

size_t S3Upload::PartTarget() const { return part_bytes_ << std::min<size_t>(parts_.size() / 1000, 16); }

Status S3Upload::Fail(Status s) {
  failed_ = s;
  if (!upload_id_.empty()) (void)client_->AbortMultipart(key_, upload_id_);
  upload_id_.clear();
  return s;
}

Status S3Upload::SendPart() {
  if (upload_id_.empty()) {
    Result<std::string> id = client_->CreateMultipart(key_);
    if (!id.ok()) return id.status();
    upload_id_ = std::move(id).value();
  }
  Result<S3CompletedPart> part = client_->UploadPart(key_, upload_id_, static_cast<int>(parts_.size()) + 1, buffer_);
  if (!part.ok()) return part.status();
  parts_.push_back(std::move(part).value());
  buffer_.clear();
  return Status::Ok();
}

Status S3Upload::Append(std::string_view data) {
  if (!failed_.ok()) return failed_;
  if (closed_) return Status::Internal("S3 upload of " + key_ + " appended to after Close");
  crc_ = Crc64Nvme(data, crc_);
  size_ += data.size();
  while (!data.empty()) {
    const size_t target = PartTarget();
    if (buffer_.capacity() < target) buffer_.reserve(target);
    const size_t n = std::min(data.size(), target - buffer_.size());
    buffer_.append(data.substr(0, n));
    data.remove_prefix(n);
    // A full part waits for one more byte: the last part must not be empty.
    if (buffer_.size() == target && !data.empty()) {
      if (Status s = SendPart(); !s.ok()) return Fail(s);
    }
  }
  return Status::Ok();
}

Status S3Upload::Close() {
  if (!failed_.ok()) return failed_;
  if (closed_) return Status::Ok();
  Status s;
  if (upload_id_.empty()) {
    s = client_->Put(key_, buffer_);
  } else {
    s = SendPart();
    if (s.ok()) s = client_->CompleteMultipart(key_, upload_id_, parts_, Crc64NvmeBase64(crc_));
  }
  if (!s.ok()) return Fail(s);
  closed_ = true;
  upload_id_.clear();
  buffer_ = std::string();
  return Status::Ok();
}

}  // namespace sluice::aws
