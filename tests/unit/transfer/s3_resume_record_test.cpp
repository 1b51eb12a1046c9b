// The S3 resumable-upload record (transfer/s3/s3_resume.h) and the part
// layout a resumed upload must match (aws::S3Upload::PartSizes).
#include <catch2/catch.hpp>

#include "protocols/aws/s3_upload.h"
#include "transfer/s3/s3_resume.h"

namespace sluice::transfer {

TEST_CASE("s3 upload record: round trip, and anything else is not a record", "[unit][transfer]") {
  const S3UploadRecord r{.upload_id = "abc123", .part_bytes = 5u << 20, .size = 123456789, .mtime_ns = -5};
  const std::string text = FormatS3UploadRecord(r);
  const std::optional<S3UploadRecord> back = ParseS3UploadRecord(text);
  REQUIRE(back.has_value());
  CHECK(back->upload_id == "abc123");
  CHECK(back->part_bytes == r.part_bytes);
  CHECK(back->size == r.size);
  CHECK(back->mtime_ns == -5);

  CHECK_FALSE(ParseS3UploadRecord("").has_value());
  CHECK_FALSE(ParseS3UploadRecord(text.substr(0, text.size() - 1)).has_value());  // cut off
  CHECK_FALSE(ParseS3UploadRecord("sluice-s3-upload 2\n" + text.substr(text.find('\n') + 1)).has_value());
  CHECK_FALSE(ParseS3UploadRecord(text + "extra 1\n").has_value());
  CHECK_FALSE(ParseS3UploadRecord(text + "size 1\n").has_value());  // a field twice
  std::string bad_number = text;
  bad_number.replace(bad_number.find("size 123456789"), 14, "size 12x");
  CHECK_FALSE(ParseS3UploadRecord(bad_number).has_value());
  std::string no_id = text;
  no_id.replace(no_id.find("upload-id abc123"), 16, "upload-id ");
  CHECK_FALSE(ParseS3UploadRecord(no_id).has_value());
}

TEST_CASE("s3 upload part sizes: as Append cuts an object", "[unit][transfer]") {
  const uint64_t p = 5u << 20;
  CHECK(aws::S3Upload::PartSizes(0, p).empty());
  CHECK(aws::S3Upload::PartSizes(p, p) == std::vector<uint64_t>{p});
  CHECK(aws::S3Upload::PartSizes(2 * p, p) == std::vector<uint64_t>{p, p});
  CHECK(aws::S3Upload::PartSizes(2 * p + 1, p) == std::vector<uint64_t>{p, p, 1});
  CHECK(aws::S3Upload::PartSizes(3, 1) == std::vector<uint64_t>{3});  // at least 5 MiB a part
  // The part size doubles every 1,000 parts.
  const std::vector<uint64_t> many = aws::S3Upload::PartSizes(1000 * p + 3 * p, p);
  REQUIRE(many.size() == 1002);
  CHECK(many[999] == p);
  CHECK(many[1000] == 2 * p);
  CHECK(many[1001] == p);
}

}  // namespace sluice::transfer
