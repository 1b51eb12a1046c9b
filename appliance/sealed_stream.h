// One object on the device (a bundle or a large file) as it is stored:
// plaintext -> zstd (optional; one or more frames, concatenated) ->
// secretstream XChaCha20-Poly1305 (optional) -> the file. The writer makes
// the object appear under its final name only when Commit() succeeds
// (core/util/durable_file.h); the reader undoes the layers and fails with
// kCorrupt on anything that does not authenticate, decompress or end where
// it should (a truncated object lacks the final secretstream message, or
// ends inside a zstd frame; one cut exactly between two frames is caught by
// the stored size and SHA-256 the manifest lists, and a bundle's tar stream
// then lacks its end).
// Both also hash the stored bytes (SHA-256), which the manifest lists per object.
// Not thread-safe; one per object.
#pragma once

#include <zstd.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "core/status.h"
#include "core/util/durable_file.h"
#include "transfer/hash.h"

namespace sluice::appliance {

struct StoredObject {
  uint64_t size = 0;   // bytes on the device
  std::string sha256;  // of those bytes
};

struct SealOptions {
  bool compress = true;
  // 1: on incompressible data (most of what is shipped on disks: media,
  // archives, already-compressed formats) level 3 costs ~1.7x the CPU of
  // level 1 for the same size, and bundles are CPU-bound on the writer's core.
  int zstd_level = 1;
  std::string key;  // 32 bytes, or empty: not encrypted
};

// Calls read(out + have, n - have) until n bytes arrived or it returns 0 (the
// end): the count read, or the first error.
template <class Read>
Result<size_t> ReadUpTo(Read&& read, char* out, size_t n) {
  size_t have = 0;
  while (have < n) {
    Result<size_t> got = read(out + have, n - have);
    if (!got.ok()) return got;
    if (got.value() == 0) break;
    have += got.value();
  }
  return have;
}

// Sets `cctx` up to make the frames an object holds: the level and zstd's
// content checksum, as ObjectWriter's own frame has them.
void SetFrameParameters(ZSTD_CCtx* cctx, const SealOptions& options);

class ObjectWriter {
 public:
  static Result<std::unique_ptr<ObjectWriter>> Create(const std::filesystem::path& path, const SealOptions& options);
  ObjectWriter(AtomicFile file, const SealOptions& options);  // use Create
  ~ObjectWriter();
  ObjectWriter(const ObjectWriter&) = delete;
  ObjectWriter& operator=(const ObjectWriter&) = delete;

  Status Append(std::string_view plain);
  // Bytes already in their stored plaintext form: whole zstd frames when the
  // object is compressed (made elsewhere with FrameOptions's parameters, so
  // the stream is a sequence of frames, as zstd's format allows), else the
  // plaintext itself. Not while a frame of Append's is open: Append's bytes
  // go into one frame that only Commit ends.
  Status AppendFrames(std::string_view frames);
  // Ends the zstd frame and the secretstream, fsyncs and renames into place.
  Result<StoredObject> Commit();
  // For an object stored as its plaintext (no compression, no key) whose
  // SHA-256 the caller computed anyway: the writer does not hash the bytes a
  // second time. Call before the first Append; Commit(sha256) must follow.
  void PlaintextHashGiven();
  Result<StoredObject> Commit(const std::string& plaintext_sha256);

 private:
  Result<StoredObject> Finish();
  Status Seal(std::string_view bytes, bool final);
  Status Emit(std::string_view bytes);
  Status Flush();

  AtomicFile file_;
  SealOptions options_;
  ZSTD_CCtx* zstd_ = nullptr;
  bool frame_open_ = false;  // Append gave zstd_ bytes that Commit's frame end has not closed
  std::string zbuf_;         // zstd output
  std::string pending_;      // plaintext of the secretstream message being filled
  std::string out_;          // stored bytes not yet written
  unsigned char state_[64];  // crypto_secretstream_xchacha20poly1305_state (52 bytes), sized without sodium.h
  std::unique_ptr<transfer::Hasher> sha_;
  uint64_t stored_ = 0;
  uint64_t written_back_ = 0;  // stored bytes handed to StartWriteback
  bool hash_given_ = false;    // PlaintextHashGiven: sha_ is not fed
};

class ObjectReader {
 public:
  static Result<std::unique_ptr<ObjectReader>> Open(const std::filesystem::path& path, const SealOptions& options);
  ObjectReader(int fd, std::string path, const SealOptions& options);  // use Open; owns fd
  ~ObjectReader();
  ObjectReader(const ObjectReader&) = delete;
  ObjectReader& operator=(const ObjectReader&) = delete;

  // Up to `n` plaintext bytes; 0 at the (verified) end of the object.
  Result<size_t> Read(char* out, size_t n);
  // Reads what is left, so the stored hash covers every byte.
  Status Drain();
  // The stored bytes so far: after Read returned 0, the whole object.
  StoredObject Stored();

 private:
  Result<size_t> ReadRaw(char* out, size_t n);
  Result<size_t> ReadUnsealed(char* out, size_t n);
  Status NextMessage();

  int fd_;
  std::string path_;
  SealOptions options_;
  ZSTD_DCtx* zstd_ = nullptr;
  std::string zin_;
  size_t zin_pos_ = 0;
  size_t zstd_last_ = 0;  // 0: at a frame boundary
  bool zstd_started_ = false;
  std::string msg_;  // decrypted message being served
  size_t msg_pos_ = 0;
  bool header_read_ = false;
  bool final_seen_ = false;
  unsigned char state_[64];
  std::unique_ptr<transfer::Hasher> sha_;
  std::string sha_hex_;
  uint64_t stored_ = 0;
  uint64_t message_index_ = 0;
};

}  // namespace sluice::appliance
