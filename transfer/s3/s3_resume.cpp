#include "transfer/s3/s3_resume.h"

#include <fmt/format.h>

#include <charconv>
#include <map>
#include <vector>

#include "protocols/aws/s3_upload.h"
#include "transfer/s3/s3_streams.h"

namespace sluice::transfer {
namespace {

constexpr std::string_view kRecordMagic = "sluice-s3-upload 1";
// A record is a few lines: anything longer is not one.
constexpr uint64_t kRecordMaxBytes = 4096;

template <typename T>
bool ParseNumber(std::string_view s, T& out) {
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && end == s.data() + s.size() && !s.empty();
}

// A multipart upload that records itself and can be resumed; the record goes
// once the upload completes.
class ResumableWriteStream final : public WriteStream {
 public:
  ResumableWriteStream(std::shared_ptr<aws::S3Client> client, std::string key, std::string record_key,
                       size_t part_bytes)
      : client_(client), record_key_(std::move(record_key)), upload_(std::move(client), std::move(key), part_bytes) {}

  aws::S3Upload& upload() { return upload_; }
  Status Write(std::string_view data) override { return upload_.Append(data); }
  Status Close() override {
    if (Status s = upload_.Close(); !s.ok()) return s;
    // Best effort: a record left behind names a completed upload, which the
    // next run finds gone (NoSuchUpload) and deletes.
    (void)client_->Delete(record_key_);
    return Status::Ok();
  }
  uint64_t reused_bytes() const override { return upload_.reused_bytes(); }

 private:
  std::shared_ptr<aws::S3Client> client_;
  const std::string record_key_;
  aws::S3Upload upload_;
};

// Every part the upload holds, through ListParts' pages.
Result<std::vector<aws::S3StoredPart>> AllParts(aws::S3Client& client, const std::string& key,
                                                const std::string& upload_id) {
  std::vector<aws::S3StoredPart> all;
  int marker = 0;
  do {
    Result<aws::S3PartsPage> page = client.ListParts(key, upload_id, marker);
    if (!page.ok()) return page.status();
    for (aws::S3StoredPart& p : page.value().parts) all.push_back(std::move(p));
    marker = page.value().next_marker;
  } while (marker != 0);
  return all;
}

// Whether every stored part has a number this file's layout has: a part past
// the last one belongs to another upload than this file's. (A part of the
// wrong size or content within the layout is just sent again: a part cut off
// by a crash may be stored short.)
bool LayoutFits(const std::vector<aws::S3StoredPart>& parts, size_t part_count) {
  for (const aws::S3StoredPart& p : parts) {
    if (p.number < 1 || static_cast<size_t>(p.number) > part_count) return false;
  }
  return true;
}

// The parts of the recorded upload worth resuming, or nullopt when there is
// none (no record, or one that did not hold up: cleaned away).
Result<std::optional<std::pair<S3UploadRecord, std::vector<aws::S3StoredPart>>>> FindEarlier(
    aws::S3Client& client, const std::string& key, const std::string& record_key, const S3UploadRecord& want) {
  using Found = std::optional<std::pair<S3UploadRecord, std::vector<aws::S3StoredPart>>>;
  Result<std::string> text = client.GetRange(record_key, 0, kRecordMaxBytes);
  if (!text.ok()) {
    if (text.status().code() == ErrorCode::kNotFound) return Found();
    // A record that cannot be read while the server answers (seen with
    // s3rver stopped in the middle of storing one: every GET of it then
    // fails with a 500) is as good as none: it goes, and the upload starts
    // over. If the server does not answer, the delete fails too and the
    // attempt is retried with the record in place.
    if (Status d = client.Delete(record_key); !d.ok() && d.code() != ErrorCode::kNotFound) return text.status();
    return Found();
  }
  const std::optional<S3UploadRecord> record = ParseS3UploadRecord(text.value());
  if (record.has_value()) {
    if (record->part_bytes == want.part_bytes && record->size == want.size && record->mtime_ns == want.mtime_ns) {
      Result<std::vector<aws::S3StoredPart>> parts = AllParts(client, key, record->upload_id);
      if (parts.ok() && LayoutFits(parts.value(), aws::S3Upload::PartSizes(want.size, want.part_bytes).size())) {
        return Found(std::make_pair(*record, std::move(parts).value()));
      }
      if (!parts.ok() && parts.status().code() != ErrorCode::kNotFound) return parts.status();
    }
    // Stale (another version of the file, another part size) or foreign parts.
    if (Status a = client.AbortMultipart(key, record->upload_id); !a.ok() && a.code() != ErrorCode::kNotFound) {
      return a;
    }
  }
  if (Status d = client.Delete(record_key); !d.ok() && d.code() != ErrorCode::kNotFound) return d;
  return Found();
}

}  // namespace

std::string FormatS3UploadRecord(const S3UploadRecord& r) {
  return fmt::format("{}\nupload-id {}\npart-bytes {}\nsize {}\nmtime-ns {}\n", kRecordMagic, r.upload_id, r.part_bytes,
                     r.size, r.mtime_ns);
}

std::optional<S3UploadRecord> ParseS3UploadRecord(std::string_view text) {
  std::map<std::string_view, std::string_view> fields;
  bool first = true;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    if (nl == std::string_view::npos) return std::nullopt;  // every line ends: a cut record is not one
    const std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    if (first) {
      if (line != kRecordMagic) return std::nullopt;
      first = false;
      continue;
    }
    const size_t sp = line.find(' ');
    if (sp == std::string_view::npos || !fields.emplace(line.substr(0, sp), line.substr(sp + 1)).second) {
      return std::nullopt;
    }
  }
  S3UploadRecord r;
  if (first || fields.size() != 4 || !fields.contains("upload-id") || fields["upload-id"].empty() ||
      !ParseNumber(fields["part-bytes"], r.part_bytes) || !ParseNumber(fields["size"], r.size) ||
      !ParseNumber(fields["mtime-ns"], r.mtime_ns)) {
    return std::nullopt;
  }
  r.upload_id = std::string(fields["upload-id"]);
  return r;
}

Result<std::unique_ptr<WriteStream>> OpenS3ResumableUpload(const std::shared_ptr<aws::S3Client>& client,
                                                           const std::string& key, const std::string& record_key,
                                                           size_t part_bytes, const EntryInfo& source, bool resume) {
  part_bytes = std::max<size_t>(part_bytes, 5u << 20);
  const S3UploadRecord want{
      .upload_id = "", .part_bytes = part_bytes, .size = source.size, .mtime_ns = source.mtime_ns};
  std::optional<std::pair<S3UploadRecord, std::vector<aws::S3StoredPart>>> earlier;
  if (resume) {
    auto found = FindEarlier(*client, key, record_key, want);
    if (!found.ok()) return found.status();
    earlier = std::move(found).value();
  }
  if (source.size <= part_bytes) {
    return std::unique_ptr<WriteStream>(std::make_unique<S3WriteStream>(client, key, part_bytes));
  }
  auto out = std::make_unique<ResumableWriteStream>(client, key, record_key, part_bytes);
  if (earlier.has_value()) {
    out->upload().Resume(earlier->first.upload_id, std::move(earlier->second));
  } else {
    out->upload().KeepOnFailure([client, record_key, want](const std::string& upload_id) {
      S3UploadRecord r = want;
      r.upload_id = upload_id;
      return client->Put(record_key, FormatS3UploadRecord(r));
    });
  }
  return std::unique_ptr<WriteStream>(std::move(out));
}

}  // namespace sluice::transfer
