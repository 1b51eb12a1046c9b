#include "protocols/aws/s3_upload.h"

#include <openssl/evp.h>

#include <algorithm>
#include <array>

#include "core/checksum/crc32c.h"
#include "core/checksum/crc64nvme.h"
#include "core/util/utf8.h"

namespace sluice::aws {

S3Upload::S3Upload(std::shared_ptr<S3Client> client, std::string key, size_t part_bytes)
    : client_(std::move(client)), key_(std::move(key)), part_bytes_(std::max<size_t>(part_bytes, 5u << 20)) {}

namespace {

std::string Md5Hex(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md.data(), &len, EVP_md5(), nullptr) != 1) return "";
  static constexpr char kMd5Digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < len; ++i) {
    out += kMd5Digits[md[i] >> 4];
    out += kMd5Digits[md[i] & 15];
  }
  return out;
}

std::string Crc32cBase64(uint32_t crc) {
  const unsigned char be[4] = {static_cast<unsigned char>(crc >> 24), static_cast<unsigned char>(crc >> 16),
                               static_cast<unsigned char>(crc >> 8), static_cast<unsigned char>(crc)};
  return Base64(std::string_view(reinterpret_cast<const char*>(be), sizeof be));
}

}  // namespace

S3Upload::~S3Upload() {
  // Best effort: an upload left behind costs storage until a lifecycle rule
  // removes it, but never shows under the key. A kept one waits for a resume.
  if (!closed_ && !keep_ && !upload_id_.empty()) (void)client_->AbortMultipart(key_, upload_id_);
}

void S3Upload::KeepOnFailure(std::function<Status(const std::string&)> on_created) {
  keep_ = true;
  on_created_ = std::move(on_created);
}

void S3Upload::Resume(std::string upload_id, std::vector<S3StoredPart> stored) {
  keep_ = true;
  upload_id_ = std::move(upload_id);
  for (S3StoredPart& p : stored) stored_[p.number] = std::move(p);
}

size_t S3Upload::PartTargetFor(size_t part_bytes, size_t parts_before) {
  return part_bytes << std::min<size_t>(parts_before / 1000, 16);
}

size_t S3Upload::PartTarget() const { return PartTargetFor(part_bytes_, parts_.size()); }

std::vector<uint64_t> S3Upload::PartSizes(uint64_t size, size_t part_bytes) {
  part_bytes = std::max<size_t>(part_bytes, 5u << 20);
  std::vector<uint64_t> sizes;
  for (uint64_t left = size; left > 0;) {
    const uint64_t n = std::min<uint64_t>(left, PartTargetFor(part_bytes, sizes.size()));
    sizes.push_back(n);
    left -= n;
  }
  return sizes;
}

Status S3Upload::Fail(Status s) {
  failed_ = s;
  // A kept upload stays for the next attempt, unless what S3 refused was our
  // bytes (a checksum mismatch): its parts are then not worth resuming.
  if (keep_ && s.code() != ErrorCode::kCorrupt) return s;
  if (!upload_id_.empty()) (void)client_->AbortMultipart(key_, upload_id_);
  upload_id_.clear();
  return s;
}

bool S3Upload::StoredMatches(int number, uint64_t crc) const {
  auto it = stored_.find(number);
  if (it == stored_.end() || it->second.size != buffer_.size()) return false;
  const S3StoredPart& p = it->second;
  if (!p.crc64nvme.empty()) return p.crc64nvme == Crc64NvmeBase64(crc);
  if (!p.crc32c.empty()) return p.crc32c == Crc32cBase64(Crc32c(buffer_));
  // An unencrypted part's ETag is its MD5 (S3 documents it for SSE-S3 and
  // none); any other form cannot be checked, so the part is sent again.
  std::string etag = p.etag;
  std::erase(etag, '"');
  std::transform(etag.begin(), etag.end(), etag.begin(), [](unsigned char c) { return std::tolower(c); });
  return etag.size() == 32 && etag == Md5Hex(buffer_);
}

Status S3Upload::SendPart() {
  if (upload_id_.empty()) {
    Result<std::string> id = client_->CreateMultipart(key_);
    if (!id.ok()) return id.status();
    upload_id_ = std::move(id).value();
    if (on_created_) {
      if (Status s = on_created_(upload_id_); !s.ok()) {
        keep_ = false;  // nothing records it: nobody could resume it
        return s;
      }
    }
  }
  const int number = static_cast<int>(parts_.size()) + 1;
  if (!stored_.empty()) {
    const uint64_t crc = Crc64Nvme(buffer_);
    const bool same = StoredMatches(number, crc);
    if (same) {
      parts_.push_back(S3CompletedPart{number, stored_[number].etag, Crc64NvmeBase64(crc)});
      reused_bytes_ += buffer_.size();
      stored_.erase(number);
      buffer_.clear();
      return Status::Ok();
    }
    stored_.erase(number);  // missing or different: sent again, replacing it
  }
  Result<S3CompletedPart> part = client_->UploadPart(key_, upload_id_, number, buffer_);
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
