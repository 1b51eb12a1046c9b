#include "appliance/sealed_stream.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sodium.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "appliance/format.h"

namespace sluice::appliance {
namespace {

using SecretState = crypto_secretstream_xchacha20poly1305_state;
static_assert(sizeof(SecretState) <= 64, "ObjectWriter::state_ is too small");
constexpr size_t kHeaderBytes = crypto_secretstream_xchacha20poly1305_HEADERBYTES;
constexpr size_t kSealedChunk = kSealChunk + crypto_secretstream_xchacha20poly1305_ABYTES;
constexpr size_t kWriteBuffer = 1 << 20;
constexpr uint64_t kWritebackBytes = 8u << 20;

SecretState* AsState(unsigned char* p) { return reinterpret_cast<SecretState*>(p); }
const unsigned char* U(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

}  // namespace

// ---- writer ----

ObjectWriter::ObjectWriter(AtomicFile file, const SealOptions& options)
    : file_(std::move(file)), options_(options), sha_(transfer::Hasher::Create(transfer::HashAlgorithm::kSha256)) {}

ObjectWriter::~ObjectWriter() {
  if (zstd_ != nullptr) ZSTD_freeCCtx(zstd_);
  sodium_memzero(state_, sizeof state_);
}

Result<std::unique_ptr<ObjectWriter>> ObjectWriter::Create(const std::filesystem::path& path,
                                                           const SealOptions& options) {
  // Objects are written once and read back only by a later verify: past the
  // page cache (core/util/durable_file.h says why).
  Result<AtomicFile> file = AtomicFile::Create(path, true, AtomicFile::Caching::kDirect);
  if (!file.ok()) return file.status();
  auto w = std::make_unique<ObjectWriter>(std::move(file).value(), options);
  if (options.compress) {
    w->zstd_ = ZSTD_createCCtx();
    if (w->zstd_ == nullptr) return Status::Internal("zstd: cannot create a compression context");
    SetFrameParameters(w->zstd_, options);
    // Compression inline, on the writer's thread: the export reads and
    // hashes on four threads of its own, and a zstd worker as well (one per
    // object) was slower on 2 cores: 100,000 x 4 KiB in 2.20-2.52 s against
    // 2.03-2.41 s inline (4 runs each, warm source).
    w->zbuf_.resize(ZSTD_CStreamOutSize());
  }
  if (!options.key.empty()) {
    unsigned char header[kHeaderBytes];
    crypto_secretstream_xchacha20poly1305_init_push(AsState(w->state_), header, U(options.key));
    if (Status s = w->Emit(std::string_view(reinterpret_cast<char*>(header), sizeof header)); !s.ok()) return s;
  }
  return w;
}

void SetFrameParameters(ZSTD_CCtx* cctx, const SealOptions& options) {
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, options.zstd_level);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
}

Status ObjectWriter::AppendFrames(std::string_view frames) {
  if (frame_open_) return Status::Internal("ObjectWriter: whole frames appended inside an open frame");
  return Seal(frames, false);
}

Status ObjectWriter::Append(std::string_view plain) {
  if (zstd_ == nullptr) return Seal(plain, false);
  frame_open_ = frame_open_ || !plain.empty();
  ZSTD_inBuffer in{plain.data(), plain.size(), 0};
  while (in.pos < in.size) {
    ZSTD_outBuffer out{zbuf_.data(), zbuf_.size(), 0};
    const size_t rc = ZSTD_compressStream2(zstd_, &out, &in, ZSTD_e_continue);
    if (ZSTD_isError(rc)) return Status::Internal(fmt::format("zstd: {}", ZSTD_getErrorName(rc)));
    if (Status s = Seal(std::string_view(zbuf_.data(), out.pos), false); !s.ok()) return s;
  }
  return Status::Ok();
}

Status ObjectWriter::Seal(std::string_view bytes, bool final) {
  if (options_.key.empty()) return Emit(bytes);
  while (!bytes.empty()) {
    const size_t take = std::min(bytes.size(), kSealChunk - pending_.size());
    pending_.append(bytes.substr(0, take));
    bytes.remove_prefix(take);
    if (pending_.size() == kSealChunk && (!bytes.empty() || !final)) {
      // A full message is sealed only once more data follows or the end is
      // known, so the last message (TAG_FINAL) is never an extra empty one by accident.
      std::string sealed(pending_.size() + crypto_secretstream_xchacha20poly1305_ABYTES, '\0');
      crypto_secretstream_xchacha20poly1305_push(AsState(state_), reinterpret_cast<unsigned char*>(sealed.data()),
                                                 nullptr, U(pending_), pending_.size(), nullptr, 0,
                                                 crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
      pending_.clear();
      if (Status s = Emit(sealed); !s.ok()) return s;
    }
  }
  if (final) {
    std::string sealed(pending_.size() + crypto_secretstream_xchacha20poly1305_ABYTES, '\0');
    crypto_secretstream_xchacha20poly1305_push(AsState(state_), reinterpret_cast<unsigned char*>(sealed.data()),
                                               nullptr, U(pending_), pending_.size(), nullptr, 0,
                                               crypto_secretstream_xchacha20poly1305_TAG_FINAL);
    pending_.clear();
    return Emit(sealed);
  }
  return Status::Ok();
}

Status ObjectWriter::Emit(std::string_view bytes) {
  if (!hash_given_) sha_->Update(bytes);
  stored_ += bytes.size();
  if (out_.empty() && bytes.size() >= kWriteBuffer) {
    // A large piece goes to the file as it is, without a copy into out_.
    Status s = file_.Append(bytes);
    if (s.ok() && stored_ - written_back_ >= kWritebackBytes) {
      file_.StartWriteback();
      written_back_ = stored_;
    }
    return s;
  }
  out_.append(bytes);
  return out_.size() >= kWriteBuffer ? Flush() : Status::Ok();
}

void ObjectWriter::PlaintextHashGiven() {
  if (zstd_ == nullptr && options_.key.empty() && stored_ == 0) hash_given_ = true;
}

Result<StoredObject> ObjectWriter::Commit(const std::string& plaintext_sha256) {
  Result<StoredObject> r = Finish();
  if (r.ok() && hash_given_) r.value().sha256 = plaintext_sha256;
  return r;
}

Result<StoredObject> ObjectWriter::Commit() {
  if (hash_given_) return Status::Internal("ObjectWriter: the plaintext's SHA-256 is needed to commit");
  return Finish();
}

Status ObjectWriter::Flush() {
  Status s = file_.Append(out_);
  out_.clear();
  // Every 8 MiB the kernel starts writing back, so the device is written
  // while the export goes on and Commit's fsync waits for the last part only.
  if (s.ok() && stored_ - written_back_ >= kWritebackBytes) {
    file_.StartWriteback();
    written_back_ = stored_;
  }
  return s;
}

Result<StoredObject> ObjectWriter::Finish() {
  if (zstd_ != nullptr) {
    ZSTD_inBuffer in{nullptr, 0, 0};
    size_t left = 0;
    do {
      ZSTD_outBuffer out{zbuf_.data(), zbuf_.size(), 0};
      left = ZSTD_compressStream2(zstd_, &out, &in, ZSTD_e_end);
      if (ZSTD_isError(left)) return Status::Internal(fmt::format("zstd: {}", ZSTD_getErrorName(left)));
      if (Status s = Seal(std::string_view(zbuf_.data(), out.pos), false); !s.ok()) return s;
    } while (left != 0);
    frame_open_ = false;
  }
  if (!options_.key.empty()) {
    if (Status s = Seal({}, true); !s.ok()) return s;
  }
  if (Status s = Flush(); !s.ok()) return s;
  if (Status s = file_.Commit(); !s.ok()) return s;
  return StoredObject{stored_, sha_->HexDigest()};
}

// ---- reader ----

ObjectReader::ObjectReader(int fd, std::string path, const SealOptions& options)
    : fd_(fd),
      path_(std::move(path)),
      options_(options),
      sha_(transfer::Hasher::Create(transfer::HashAlgorithm::kSha256)) {}

ObjectReader::~ObjectReader() {
  if (zstd_ != nullptr) ZSTD_freeDCtx(zstd_);
  if (fd_ >= 0) ::close(fd_);
  sodium_memzero(state_, sizeof state_);
}

Result<std::unique_ptr<ObjectReader>> ObjectReader::Open(const std::filesystem::path& path,
                                                         const SealOptions& options) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return Status::FromErrno(errno, fmt::format("cannot open {}", path.string()));
  auto r = std::make_unique<ObjectReader>(fd, path.string(), options);
  if (options.compress) {
    r->zstd_ = ZSTD_createDCtx();
    if (r->zstd_ == nullptr) return Status::Internal("zstd: cannot create a decompression context");
  }
  return r;
}

Result<size_t> ObjectReader::ReadRaw(char* out, size_t n) {
  for (;;) {
    const ssize_t got = ::read(fd_, out, n);
    if (got < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, fmt::format("reading {}", path_));
    }
    sha_->Update(std::string_view(out, static_cast<size_t>(got)));
    stored_ += static_cast<uint64_t>(got);
    return static_cast<size_t>(got);
  }
}

Status ObjectReader::NextMessage() {
  if (!header_read_) {
    unsigned char header[kHeaderBytes];
    Result<size_t> got =
        ReadUpTo([this](char* p, size_t k) { return ReadRaw(p, k); }, reinterpret_cast<char*>(header), sizeof header);
    if (!got.ok()) return got.status();
    if (got.value() != sizeof header) {
      return Status::Corrupt(fmt::format("{}: truncated: shorter than the encryption header", path_));
    }
    if (crypto_secretstream_xchacha20poly1305_init_pull(AsState(state_), header, U(options_.key)) != 0) {
      return Status::Corrupt(fmt::format("{}: invalid encryption header", path_));
    }
    header_read_ = true;
  }
  std::string sealed(kSealedChunk, '\0');
  Result<size_t> got = ReadUpTo([this](char* p, size_t k) { return ReadRaw(p, k); }, sealed.data(), sealed.size());
  if (!got.ok()) return got.status();
  if (got.value() == 0) {
    return Status::Corrupt(fmt::format("{}: truncated: the encrypted stream ends without its final message", path_));
  }
  sealed.resize(got.value());
  msg_.resize(sealed.size());
  unsigned long long len = 0;
  unsigned char tag = 0;
  if (sealed.size() < crypto_secretstream_xchacha20poly1305_ABYTES ||
      crypto_secretstream_xchacha20poly1305_pull(AsState(state_), reinterpret_cast<unsigned char*>(msg_.data()), &len,
                                                 &tag, U(sealed), sealed.size(), nullptr, 0) != 0) {
    return Status::Corrupt(
        fmt::format("{}: decryption failed at message {} (byte {}): wrong encryption key, or the data was altered",
                    path_, message_index_, stored_ - sealed.size()));
  }
  ++message_index_;
  msg_.resize(len);
  msg_pos_ = 0;
  if (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL) {
    final_seen_ = true;
    char extra;
    Result<size_t> more = ReadRaw(&extra, 1);
    if (!more.ok()) return more.status();
    if (more.value() != 0) return Status::Corrupt(fmt::format("{}: data after the final encrypted message", path_));
  } else if (got.value() < kSealedChunk) {
    return Status::Corrupt(fmt::format("{}: truncated: the encrypted stream ends without its final message", path_));
  }
  return Status::Ok();
}

Result<size_t> ObjectReader::ReadUnsealed(char* out, size_t n) {
  if (options_.key.empty()) return ReadRaw(out, n);
  while (msg_pos_ == msg_.size()) {
    if (final_seen_) return size_t{0};
    if (Status s = NextMessage(); !s.ok()) return s;
  }
  const size_t take = std::min(n, msg_.size() - msg_pos_);
  std::memcpy(out, msg_.data() + msg_pos_, take);
  msg_pos_ += take;
  return take;
}

Result<size_t> ObjectReader::Read(char* out, size_t n) {
  if (zstd_ == nullptr) return ReadUnsealed(out, n);
  for (;;) {
    if (zin_pos_ == zin_.size()) {
      zin_.resize(ZSTD_DStreamInSize());
      Result<size_t> got = ReadUnsealed(zin_.data(), zin_.size());
      if (!got.ok()) return got;
      zin_.resize(got.value());
      zin_pos_ = 0;
      if (got.value() == 0) {
        if (!zstd_started_ || zstd_last_ != 0) {
          return Status::Corrupt(fmt::format("{}: truncated: the zstd stream ends inside a frame", path_));
        }
        return size_t{0};
      }
    }
    ZSTD_inBuffer in{zin_.data(), zin_.size(), zin_pos_};
    ZSTD_outBuffer o{out, n, 0};
    const size_t rc = ZSTD_decompressStream(zstd_, &o, &in);
    zin_pos_ = in.pos;
    if (ZSTD_isError(rc)) {
      return Status::Corrupt(fmt::format("{}: zstd: {} (the data was altered)", path_, ZSTD_getErrorName(rc)));
    }
    zstd_started_ = true;
    zstd_last_ = rc;
    if (o.pos > 0) return o.pos;
  }
}

Status ObjectReader::Drain() {
  std::string buf(1 << 16, '\0');
  for (;;) {
    Result<size_t> got = Read(buf.data(), buf.size());
    if (!got.ok()) return got.status();
    if (got.value() == 0) return Status::Ok();
  }
}

StoredObject ObjectReader::Stored() {
  if (sha_hex_.empty()) sha_hex_ = sha_->HexDigest();
  return StoredObject{stored_, sha_hex_};
}

}  // namespace sluice::appliance
