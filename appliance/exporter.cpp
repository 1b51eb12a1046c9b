#include "appliance/exporter.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <map>
#include <optional>
#include <set>
#include <thread>

#include "appliance/custody_log.h"
#include "appliance/digest.h"
#include "appliance/export_journal.h"
#include "appliance/format.h"
#include "appliance/keys.h"
#include "appliance/manifest.h"
#include "appliance/sealed_stream.h"
#include "appliance/source_scan.h"
#include "appliance/tar_format.h"
#include "core/checksum/crc64nvme.h"
#include "core/util/durable_file.h"
#include "core/util/host_name.h"
#include "core/util/stage_queue.h"
#include "core/util/utf8.h"
#include "core/util/wall_clock.h"
#include "transfer/hash.h"

namespace sluice::appliance {
namespace {

namespace fs = std::filesystem;

constexpr size_t kPieceBytes = 1 << 20;

struct PlannedObject {
  std::string name;
  bool bundle = true;
  std::vector<size_t> members;   // indices into the scan's entries
  bool keep = false;             // the journal has it, unchanged
  uint32_t volume = 0;           // 1.. with volumes; 0 without
  uint32_t part = 0, parts = 0;  // chunks of a file split across volumes
  uint64_t length = 0;           // a chunk's plaintext bytes (the last part takes the rest)
};

// The most a stored object of `plain` bytes can take on the device: zstd's
// bound (with its frame and checksum) and the secretstream's per-message
// overhead. Volumes are filled by these bounds, so the placement depends on
// the scan only and a rerun plans the same volumes.
uint64_t StoredBound(uint64_t plain, bool compressed, bool encrypted) {
  uint64_t n = compressed ? ZSTD_compressBound(plain) + 64 : plain;
  if (encrypted)
    n += crypto_secretstream_xchacha20poly1305_HEADERBYTES +
         crypto_secretstream_xchacha20poly1305_ABYTES * (n / kSealChunk + 1);
  return n;
}

// The most plaintext of an uncompressed object whose bound fits in `room`.
uint64_t PlainFitting(uint64_t room, bool encrypted) {
  uint64_t lo = 0, hi = room;
  while (lo < hi) {
    const uint64_t mid = lo + (hi - lo + 1) / 2;
    if (StoredBound(mid, false, encrypted) <= room) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return lo;
}

uint64_t RoundUpToBlock(uint64_t n) { return (n + kTarBlock - 1) / kTarBlock * kTarBlock; }

// Objects in source order: small files fill the open bundle until it reaches
// the file or byte limit; each large file is an object of its own. Only the
// scan decides this, so a rerun over the same tree plans the same names.
// With volumes, each object is also given its volume: a volume takes objects
// until the next one's bound would pass volume_size; a large file larger than
// the room left is split into chunks (unless the room is under a minimum,
// when it starts the next volume); a large file closes the open bundle.
Result<std::vector<PlannedObject>> Plan(const std::vector<Entry>& entries, const ExportOptions& o, bool encrypted) {
  std::vector<PlannedObject> plan;
  size_t open_bundle = SIZE_MAX;
  uint64_t open_bytes = 0;
  const std::string sealed = encrypted ? ".sealed" : "";
  auto next_name = [&](bool bundle) {
    const size_t n = plan.size() + 1;
    return bundle ? fmt::format("{}/{:06}.tar{}{}", kBundleDir, n, o.compress ? ".zst" : "", sealed)
                  : fmt::format("{}/{:06}{}", kFileDir, n, sealed);
  };
  const bool volumes = o.volume_size > 0;
  const uint64_t min_chunk_room = std::min<uint64_t>(1 << 20, o.volume_size / 4);
  uint32_t volume = volumes ? 1 : 0;
  uint64_t used = 0;      // bounds of the closed objects on `volume`
  uint64_t open_tar = 0;  // the open bundle's tar bytes, at most
  auto room = [&] { return o.volume_size - std::min(o.volume_size, used); };
  auto close_bundle = [&] {
    if (volumes && open_bundle != SIZE_MAX) used += StoredBound(open_tar + 2 * kTarBlock, o.compress, encrypted);
    open_bundle = SIZE_MAX;
  };
  auto next_volume = [&] {
    ++volume;
    used = 0;
  };
  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry& e = entries[i];
    if (e.type != EntryType::kFile) continue;
    if (e.size >= o.pack_under) {
      if (!volumes) {
        plan.push_back(PlannedObject{next_name(false), false, {i}});
        continue;
      }
      close_bundle();
      const uint64_t need = StoredBound(e.size, false, encrypted);
      if (need > room() && room() < min_chunk_room) next_volume();
      if (need <= room()) {
        plan.push_back(PlannedObject{next_name(false), false, {i}, false, volume});
        used += need;
        continue;
      }
      // Chunks share the file's number: "files/000007.p1", ".p2", ...
      const std::string base = fmt::format("{}/{:06}", kFileDir, plan.size() + 1);
      const size_t first = plan.size();
      for (uint64_t left = e.size; left > 0;) {
        if (room() < min_chunk_room) next_volume();
        const uint64_t take = std::min(left, PlainFitting(room(), encrypted));
        const uint32_t part = static_cast<uint32_t>(plan.size() - first + 1);
        plan.push_back(
            PlannedObject{fmt::format("{}.p{}{}", base, part, sealed), false, {i}, false, volume, part, 0, take});
        used += StoredBound(take, false, encrypted);
        left -= take;
      }
      for (size_t k = first; k < plan.size(); ++k) plan[k].parts = static_cast<uint32_t>(plan.size() - first);
      continue;
    }
    const uint64_t cost = kTarBlock * 2 + e.size;
    // A member's tar bytes at most: its header, a pax header with the path, its data.
    const uint64_t tar = 3 * kTarBlock + RoundUpToBlock(e.size + e.path.size());
    const bool full = volumes && open_bundle != SIZE_MAX &&
                      StoredBound(open_tar + tar + 2 * kTarBlock, o.compress, encrypted) > room();
    if (open_bundle == SIZE_MAX || plan[open_bundle].members.size() >= o.bundle_files || full ||
        (open_bytes + cost > o.bundle_size && !plan[open_bundle].members.empty())) {
      close_bundle();
      if (volumes) {
        const uint64_t need = StoredBound(tar + 2 * kTarBlock, o.compress, encrypted);
        if (need > room()) next_volume();
        if (need > room()) {
          return Status::InvalidArgument(
              fmt::format("--volume-size {} is too small: a bundle of the one file {} needs up to {} bytes",
                          o.volume_size, ShowPath(e.path), need));
        }
      }
      plan.push_back(PlannedObject{next_name(true), true, {}, false, volume});
      open_bundle = plan.size() - 1;
      open_bytes = 0;
      open_tar = 0;
    }
    plan[open_bundle].members.push_back(i);
    open_bytes += cost;
    open_tar += tar;
  }
  return plan;
}

bool Unchanged(const JournalRecord& r, const PlannedObject& p, const std::vector<Entry>& entries,
               const fs::path& device) {
  if (r.object.bundle != p.bundle || r.object.volume != p.volume || r.object.part != p.part) return false;
  // A chunk's record holds the file's entry only with its last part.
  const bool entries_here = p.part == p.parts;
  if (r.entries.size() != (entries_here ? p.members.size() : 0)) return false;
  for (size_t k = 0; k < r.entries.size(); ++k) {
    const Entry& want = entries[p.members[k]];
    const Entry& got = r.entries[k];
    if (got.path != want.path || got.size != want.size || got.mtime_ns != want.mtime_ns || got.mode != want.mode) {
      return false;
    }
  }
  struct stat st {};
  return ::lstat((device / p.name).c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
         static_cast<uint64_t>(st.st_size) == r.object.size;
}

// A file as the reading thread hands it over. A large file comes in pieces
// of its bytes; a file to pack comes as one piece without its bytes: the
// reading thread puts it into the tar members of its segment, and the
// segment's last piece carries them as stored (`packed`). The last piece of
// a file carries the hashes and what fstat said after reading.
struct Piece {
  size_t entry = 0;
  std::string data;
  std::string packed;  // a bundle segment's last piece: its members' tar bytes, as zstd frames when compressing
  bool last = true;
  bool vanished = false;
  bool segment_end = false;  // the last piece of the reading thread's segment
  std::string error;
  std::string sha256, crc64nvme;
  uint64_t read = 0;
  struct stat after {};
};

// How the reading threads pack a bundle's files.
struct PackOptions {
  uint64_t pack_under = 0;  // smaller files are packed
  SealOptions seal;         // compress and zstd_level: the frames' parameters
};

// The reading-and-hashing stage, on kLanes threads of its own: they read
// the files of the objects to write, in the order the writer takes them,
// while sealing and writing run on the writer's thread. The files are cut
// into segments (up to kBatchFiles small files or kBatchBytes of one object,
// or one large file); lane k reads segments k, k+kLanes, ..., and the writer
// takes the lanes' outputs in turn, so it sees the pieces in order.
// Several lanes because a small file costs more to open, read and hash than
// to pack (with one reader the writer waited), and because a source not in
// the page cache is read at the disk's latency per file: four reads in
// flight exported 100,000 cold 4 KiB files in 5.2-5.9 s against 7.6-8.4 s
// with two (bench/README.md, "Appliance").
// A lane also makes the tar members of a bundle's segment and compresses
// them into a zstd frame of their own: packing on the one writer thread made
// it the export's bottleneck (on 100,000 x 4 KiB files, zstd, the tar
// headers and the copies were half of its time while it was busy ~95% of
// the run), where the lanes spread the work over both cores and compress
// the bytes while they are still in the cache.
// Pieces go over in batches (a segment's pieces, cut at kBatchBytes), so
// the threads meet once per batch, not once per file; the writer hands the
// pieces it is done with back in the batch it takes the next from, and
// their large buffers (a large file's pieces, a segment's members) are kept
// for the next ones rather than allocated each time.
class Reader {
 public:
  // `order`: the files to read, in the writer's order; `object_starts`: the
  // positions in it where an object begins (segments do not cross them).
  Reader(const fs::path& root, const std::vector<Entry>& entries, std::vector<size_t> order,
         const std::vector<size_t>& object_starts, PackOptions pack)
      : root_(root), entries_(entries), order_(std::move(order)), pack_(std::move(pack)) {
    size_t begin = 0, files = 0;
    uint64_t bytes = 0;
    auto cut = [&](size_t end) {
      if (end > begin) segments_.push_back({begin, end});
      begin = end;
      files = bytes = 0;
    };
    size_t next_start = 0;
    for (size_t k = 0; k < order_.size(); ++k) {
      while (next_start < object_starts.size() && object_starts[next_start] < k) ++next_start;
      if (next_start < object_starts.size() && object_starts[next_start] == k) cut(k);
      const uint64_t size = entries_[order_[k]].size;
      if (size >= pack_.pack_under) {  // a large file: a segment of its own
        cut(k);
        cut(k + 1);
        continue;
      }
      ++files;
      bytes += size;
      if (files >= kBatchFiles || bytes >= kBatchBytes) cut(k + 1);
    }
    cut(order_.size());
    for (size_t l = 0; l < kLanes; ++l) lanes_[l].thread = std::thread([this, l] { Run(l); });
  }
  ~Reader() {
    stop_ = true;
    if (popped_) lanes_[popped_lane_].queue.Done(std::move(batch_));
    for (Lane& lane : lanes_) {
      std::vector<Piece> b;
      while (lane.queue.Pop(b)) lane.queue.Done(std::vector<Piece>{});
      lane.thread.join();
    }
  }
  // The next piece; `p`'s buffers go back to a reading thread.
  bool Next(Piece& p) {
    if (cursor_ == batch_.size()) {
      if (popped_) lanes_[popped_lane_].queue.Done(std::move(batch_));  // its pieces hold the buffers given back
      batch_.clear();
      cursor_ = 0;
      popped_lane_ = turn_;
      popped_ = lanes_[turn_].queue.Pop(batch_);
      // The lanes end together: the next segment would have been this lane's.
      if (!popped_) return false;
    }
    std::swap(p, batch_[cursor_++]);
    if (p.segment_end) turn_ = (turn_ + 1) % kLanes;
    return true;
  }

 private:
  static constexpr size_t kLanes = 4;         // 8 was slower, warm and cold, on 2 cores
  static constexpr size_t kBatchFiles = 128;  // 64 was ~7% slower on 100,000 x 4 KiB files, 256 no faster
  static constexpr size_t kBatchBytes = 1 << 20;
  // Up to 8 MiB read ahead per lane (32 MiB in all): the readers go on with
  // the next files while the writer waits for an object's fsync.
  static constexpr size_t kQueueBatches = 8;
  static constexpr size_t kKeptBuffers = 2;       // a batch given back brings one or two
  static constexpr size_t kKeepFrom = 64 * 1024;  // smaller buffers are not worth keeping

  // One reading thread's state.
  struct Lane {
    Lane() : queue(kQueueBatches) {}
    ~Lane() {
      if (zstd != nullptr) ZSTD_freeCCtx(zstd);
    }
    Lane(const Lane&) = delete;
    Lane& operator=(const Lane&) = delete;
    StageQueue<std::vector<Piece>> queue;
    std::vector<Piece> out;  // the batch being filled
    size_t out_bytes = 0;
    // Buffers of pieces the writer gave back (a large file's piece, a
    // segment's packed members), kept for the next ones: at most
    // kKeptBuffers, so they cannot pile up at the size of the largest
    // piece times every piece in circulation.
    std::vector<std::string> buffers;
    std::string dir;  // the open directory, relative, and its descriptor
    int dir_fd = -1;
    std::string file;  // a file to pack, as read
    std::string tar;   // the segment's tar members so far
    ZSTD_CCtx* zstd = nullptr;
    std::thread thread;
  };

  void Run(size_t l) {
    Lane& lane = lanes_[l];
    for (size_t seg = l; seg < segments_.size() && !stop_; seg += kLanes) {
      const auto [begin, end] = segments_[seg];
      const bool packed = entries_[order_[begin]].size < pack_.pack_under;
      for (size_t k = begin; k < end && !stop_; ++k) {
        if (packed) {
          ReadToPack(lane, order_[k], k + 1 == end);
        } else {
          ReadOne(lane, order_[k], k + 1 == end);
        }
      }
    }
    if (lane.dir_fd >= 0) ::close(lane.dir_fd);
    lane.dir_fd = -1;
    Flush(lane);
    lane.queue.Close();
  }

  // An emptied piece to fill, with the buffers of an earlier one where there is one.
  // A buffer of at least `bytes`, one given back where there is one.
  static std::string Buffer(Lane& lane, size_t bytes) {
    std::string b;
    if (!lane.buffers.empty()) {
      b = std::move(lane.buffers.back());
      lane.buffers.pop_back();
    }
    b.resize(bytes);
    return b;
  }

  static void KeepBuffer(Lane& lane, std::string&& b) {
    if (b.capacity() >= kKeepFrom && lane.buffers.size() < kKeptBuffers) lane.buffers.push_back(std::move(b));
  }

  static void Emit(Lane& lane, Piece&& p) {
    const bool end = p.segment_end;
    lane.out_bytes += p.data.size() + p.packed.size();
    lane.out.push_back(std::move(p));
    if (end || lane.out_bytes >= kBatchBytes) Flush(lane);
  }

  static void Flush(Lane& lane) {
    if (lane.out.empty()) return;
    std::vector<Piece> back = lane.queue.Push(std::move(lane.out));
    for (Piece& p : back) {
      KeepBuffer(lane, std::move(p.data));
      KeepBuffer(lane, std::move(p.packed));
    }
    lane.out.clear();
    lane.out_bytes = 0;
  }

  // Opens entry i for reading: the descriptor, or -1 with `p` saying why.
  int Open(Lane& lane, size_t i, Piece& p) {
    const Entry& e = entries_[i];
    const int fd = OpenInDir(lane, e.path);
    if (fd < 0) {
      if (errno == ENOENT) {
        p.vanished = true;
      } else {
        p.error = fmt::format("cannot open {}: {}", (root_ / e.path).string(), std::strerror(errno));
      }
    }
    return fd;
  }

  // Reads what `fd` holds into `buf` from `have` on: up to buf.size() bytes,
  // or, with `whole`, to the end, growing `buf`. The bytes read, or -1 with
  // `p.error` set.
  ssize_t ReadInto(int fd, std::string& buf, size_t have, bool whole, size_t i, Piece& p) {
    const size_t start = have;
    while (have < buf.size() || whole) {
      if (have == buf.size()) buf.resize(buf.size() * 2);
      const ssize_t n = ::read(fd, buf.data() + have, buf.size() - have);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        p.error = fmt::format("cannot read {}: {}", (root_ / entries_[i].path).string(), std::strerror(errno));
        return -1;
      }
      if (n == 0) break;
      have += static_cast<size_t>(n);
      // A short read of a regular file is its end: one read per small
      // file. Were it not (a file growing meanwhile), the fstat after
      // reading shows another size and the file is reported as changed.
      if (whole && have < buf.size()) break;
    }
    return static_cast<ssize_t>(have - start);
  }

  // Reads entry i, a file to pack, and adds its tar member to the lane's
  // segment; the segment's last file (`segment_end`) hands the members over.
  void ReadToPack(Lane& lane, size_t i, bool segment_end) {
    const Entry& e = entries_[i];
    Piece p;
    p.entry = i;
    if (const int fd = Open(lane, i, p); fd >= 0) {
      // Read whole (even if it grew since the scan): the tar header needs
      // the size of what was read.
      lane.file.resize(static_cast<size_t>(e.size) + 1);
      const ssize_t got = ReadInto(fd, lane.file, 0, true, i, p);
      ::fstat(fd, &p.after);
      ::close(fd);
      if (got >= 0) {
        const std::string_view bytes(lane.file.data(), static_cast<size_t>(got));
        p.read = bytes.size();
        p.sha256 = Sha256Hex(bytes);
        p.crc64nvme = fmt::format("{:016x}", Crc64Nvme(bytes, 0));
        lane.tar += TarHeader(TarMember{e.path, p.read, e.mode, MtimeNs(p.after) / 1'000'000'000});
        lane.tar += bytes;
        lane.tar += TarPadding(p.read);
      }
    }
    if (segment_end) {
      p.segment_end = true;
      if (Status s = Pack(lane, p.packed); !s.ok() && p.error.empty()) p.error = s.message();
      lane.tar.clear();
    }
    Emit(lane, std::move(p));
  }

  // The lane's tar members as stored: one zstd frame, or the tar bytes.
  Status Pack(Lane& lane, std::string& out) const {
    if (lane.tar.empty()) return Status::Ok();
    if (!pack_.seal.compress) {
      std::swap(out, lane.tar);
      return Status::Ok();
    }
    if (lane.zstd == nullptr) {
      lane.zstd = ZSTD_createCCtx();
      if (lane.zstd == nullptr) return Status::Internal("zstd: cannot create a compression context");
      SetFrameParameters(lane.zstd, pack_.seal);
    }
    out = Buffer(lane, ZSTD_compressBound(lane.tar.size()));
    const size_t n = ZSTD_compress2(lane.zstd, out.data(), out.size(), lane.tar.data(), lane.tar.size());
    if (ZSTD_isError(n)) return Status::Internal(fmt::format("zstd: {}", ZSTD_getErrorName(n)));
    out.resize(n);
    return Status::Ok();
  }

  // Reads entry i, a large file, in pieces; its last piece ends the segment when `segment_end`.
  void ReadOne(Lane& lane, size_t i, bool segment_end) {
    Piece p;
    p.entry = i;
    const int fd = Open(lane, i, p);
    if (fd < 0) {
      p.segment_end = segment_end;
      Emit(lane, std::move(p));
      return;
    }
    auto sha = transfer::Hasher::Create(transfer::HashAlgorithm::kSha256);
    uint64_t crc = 0;
    for (;;) {
      p.entry = i;
      p.data = Buffer(lane, kPieceBytes);
      const ssize_t got = ReadInto(fd, p.data, 0, false, i, p);
      const size_t have = got < 0 ? 0 : static_cast<size_t>(got);
      p.data.resize(have);
      sha->Update(p.data);
      crc = Crc64Nvme(p.data, crc);
      p.read += have;
      const bool end = have < kPieceBytes || !p.error.empty() || stop_;
      if (end) {
        ::fstat(fd, &p.after);
        p.sha256 = sha->HexDigest();
        p.crc64nvme = fmt::format("{:016x}", crc);
        p.last = true;
        p.segment_end = segment_end;
        Emit(lane, std::move(p));
        break;
      }
      p.last = false;
      const uint64_t read = p.read;
      Emit(lane, std::move(p));
      p = Piece{};
      p.read = read;
    }
    ::close(fd);
  }

  // Opens `rel` through a descriptor of its directory, kept while the files
  // come from the same one (source order): no walk of the whole path per file.
  int OpenInDir(Lane& lane, const std::string& rel) {
    const size_t slash = rel.rfind('/');
    const std::string_view parent =
        slash == std::string::npos ? std::string_view() : std::string_view(rel).substr(0, slash);
    if (lane.dir_fd < 0 || parent != lane.dir) {
      if (lane.dir_fd >= 0) ::close(lane.dir_fd);
      lane.dir.assign(parent);
      lane.dir_fd = ::open((parent.empty() ? root_ : root_ / lane.dir).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (lane.dir_fd < 0) return -1;
    }
    const char* name = rel.c_str() + (slash == std::string::npos ? 0 : slash + 1);
    return ::openat(lane.dir_fd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  }

  const fs::path& root_;
  const std::vector<Entry>& entries_;
  std::vector<size_t> order_;
  PackOptions pack_;
  std::vector<std::pair<size_t, size_t>> segments_;  // [begin, end) into order_
  std::atomic<bool> stop_{false};
  // The writer's: the batch being taken apart (popped_: taken from lane
  // popped_lane_'s queue, not yet Done), and the lane whose turn is next.
  std::vector<Piece> batch_;
  size_t cursor_ = 0;
  bool popped_ = false;
  size_t popped_lane_ = 0;
  size_t turn_ = 0;
  std::array<Lane, kLanes> lanes_;  // last: their threads start once everything they use exists
};

// "" when the file read is the file scanned, else what differs.
std::string Change(const Entry& planned, const Piece& p) {
  std::vector<std::string> what;
  if (p.read != planned.size) what.push_back(fmt::format("size {} when scanned, {} bytes read", planned.size, p.read));
  if (static_cast<uint64_t>(p.after.st_size) != p.read) {
    what.push_back(fmt::format("size {} after reading {} bytes", p.after.st_size, p.read));
  }
  if (MtimeNs(p.after) != planned.mtime_ns) what.push_back("mtime changed");
  std::string out;
  for (const std::string& w : what) out += (out.empty() ? "" : ", ") + w;
  return out;
}

// The device may hold only what an export writes: anything else would be
// reported as an extra file by verify, and is probably a wrong DEVICE argument.
Status CheckDeviceContents(const fs::path& device) {
  static const std::set<std::string> kOurs = {std::string(kManifestName),
                                              std::string(kSealedManifestName),
                                              "." + std::string(kSealedManifestName) + ".tmp",
                                              std::string(kSignatureName),
                                              std::string(kCustodyName),
                                              std::string(kVerifyReportName),
                                              "." + std::string(kVerifyReportName) + ".tmp",
                                              std::string(kJournalDir),
                                              std::string(kBundleDir),
                                              std::string(kFileDir),
                                              std::string(kVolumeName),
                                              "." + std::string(kVolumeName) + ".tmp",
                                              "." + std::string(kManifestName) + ".tmp",
                                              "." + std::string(kSignatureName) + ".tmp"};
  std::error_code ec;
  for (const fs::directory_entry& de : fs::directory_iterator(device, ec)) {
    if (kOurs.count(de.path().filename().string()) == 0) {
      return Status::InvalidArgument(fmt::format("device {} holds {}, which no export writes: use an empty directory",
                                                 device.string(), de.path().string()));
    }
  }
  if (ec) return Status::Io(fmt::format("cannot list the device {}: {}", device.string(), ec.message()));
  return Status::Ok();
}

Status RemoveDurably(const fs::path& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return Status::FromErrno(errno, "removing " + path.string());
  return FsyncDirectory(path.parent_path());
}

Status WriteWhole(const fs::path& path, std::string_view bytes) {
  Result<AtomicFile> f = AtomicFile::Create(path, true);
  if (!f.ok()) return f.status();
  if (Status s = f.value().Append(bytes); !s.ok()) return s;
  return f.value().Commit();
}

// Objects of earlier runs that the plan no longer has on this volume, and
// temporary files of an interrupted one.
Status RemoveStrays(const fs::path& device, uint32_t volume, const std::vector<PlannedObject>& plan) {
  std::set<std::string> want;
  for (const PlannedObject& p : plan) {
    if (p.volume == volume) want.insert(p.name);
  }
  for (std::string_view dir : {kBundleDir, kFileDir}) {
    std::error_code ec;
    bool removed = false;
    for (const fs::directory_entry& de : fs::directory_iterator(device / dir, ec)) {
      const std::string name = std::string(dir) + "/" + de.path().filename().string();
      if (want.count(name) == 0) {
        if (::unlink(de.path().c_str()) != 0) return Status::FromErrno(errno, "removing " + de.path().string());
        removed = true;
      }
    }
    if (removed) {
      if (Status s = FsyncDirectory(device / dir); !s.ok()) return s;
    }
  }
  return Status::Ok();
}

// The format written: 1 without volumes, so such a device stays readable by
// readers that know only version 1.
int FormatOf(const ExportOptions& o) { return o.volume_size > 0 ? kFormatVersion : kSingleVolumeFormat; }

std::string Fingerprint(const ExportOptions& o, const std::string& key) {
  std::string f = fmt::format("v{} source={} compress={} pack_under={} bundle_size={} bundle_files={} key={}",
                              FormatOf(o), Sha256Hex(o.source.string()), o.compress, o.pack_under, o.bundle_size,
                              o.bundle_files, key.empty() ? "none" : Sha256Hex(key));
  if (o.volume_size > 0) f += fmt::format(" volume_size={}", o.volume_size);
  return f;
}

// Writes the file `e` (read by `reader`) into the chunk objects
// plan[first .. first+parts-1], each on its volume: part k takes its planned
// length, the last part the rest. Returns the chunks' infos, empty when the
// file vanished; `piece` is left holding the last piece (hashes, fstat).
Result<std::vector<ObjectInfo>> WriteChunks(Reader& reader, const std::vector<PlannedObject>& plan, size_t first,
                                            const std::vector<fs::path>& devices, const SealOptions& seal, Piece& piece,
                                            uint64_t& bytes_done, const std::atomic<bool>* cancel) {
  std::vector<ObjectInfo> infos;
  if (!reader.Next(piece)) return Status::Internal("the reading thread stopped early");
  if (!piece.error.empty()) return Status::Io(piece.error);
  if (piece.vanished) return infos;
  std::string_view pending = piece.data;
  bool last_seen = piece.last;
  const uint32_t parts = plan[first].parts;
  for (uint32_t k = 0; k < parts; ++k) {
    const PlannedObject& q = plan[first + k];
    const fs::path& device = devices[q.volume - 1];
    Result<std::unique_ptr<ObjectWriter>> writer = ObjectWriter::Create(device / q.name, seal);
    if (!writer.ok()) return writer.status();
    const uint64_t want = k + 1 == parts ? UINT64_MAX : q.length;
    for (uint64_t wrote = 0; wrote < want;) {
      if (pending.empty()) {
        if (last_seen) break;
        if (cancel != nullptr && cancel->load()) return Status::Cancelled("export interrupted; rerun to resume");
        if (!reader.Next(piece)) return Status::Internal("the reading thread stopped early");
        if (!piece.error.empty()) return Status::Io(piece.error);
        pending = piece.data;
        last_seen = piece.last;
        continue;
      }
      const size_t take = static_cast<size_t>(std::min<uint64_t>(pending.size(), want - wrote));
      if (Status s = writer.value()->Append(pending.substr(0, take)); !s.ok()) return s;
      pending.remove_prefix(take);
      wrote += take;
      bytes_done += take;
    }
    Result<StoredObject> stored = writer.value()->Commit();
    if (!stored.ok()) return stored.status();
    infos.push_back(ObjectInfo{q.name, false, stored.value().size, stored.value().sha256, k == 0 ? 1u : 0u, q.volume,
                               k + 1, parts});
  }
  return infos;
}

}  // namespace

Result<ExportReport> RunExport(const ExportOptions& options) {
  // Absolute: durable directory creation fsyncs each new directory's parent.
  ExportOptions o = options;
  o.source = fs::absolute(o.source);
  o.device = fs::absolute(o.device);
  for (fs::path& d : o.more_devices) d = fs::absolute(d);
  if (!o.more_devices.empty() && o.volume_size == 0) {
    return Status::InvalidArgument("several device directories need --volume-size (the size of each volume)");
  }
  auto progress = [&](const nlohmann::json& j) {
    if (o.progress) o.progress(j);
  };
  std::optional<SignKey> sign_key;
  if (!o.sign_key_file.empty()) {
    Result<SignKey> k = LoadSignKey(o.sign_key_file);
    if (!k.ok()) return k.status();
    sign_key = std::move(k).value();
  }
  SealOptions bundle_seal;
  bundle_seal.compress = o.compress;
  if (!o.encrypt_key_file.empty()) {
    Result<std::string> k = LoadEncryptKey(o.encrypt_key_file);
    if (!k.ok()) return k.status();
    bundle_seal.key = std::move(k).value();
  }
  SealOptions file_seal = bundle_seal;
  file_seal.compress = false;

  Result<ScanResult> scanned = ScanSource(o.source);
  if (!scanned.ok()) return scanned.status();
  std::vector<Entry>& entries = scanned.value().entries;

  Result<std::vector<PlannedObject>> planned = Plan(entries, o, !bundle_seal.key.empty());
  if (!planned.ok()) return planned.status();
  std::vector<PlannedObject>& plan = planned.value();
  // The volumes the plan uses, volume 1 first; more directories given than
  // needed are left alone.
  std::vector<fs::path> devices = {o.device};
  ExportReport report;
  if (o.volume_size > 0) {
    uint32_t needed = 1;
    for (const PlannedObject& p : plan) needed = std::max(needed, p.volume);
    devices.insert(devices.end(), o.more_devices.begin(), o.more_devices.end());
    if (devices.size() < needed) {
      return Status::InvalidArgument(
          fmt::format("the export needs {} volumes of {} bytes and {} device directories were given: add {} more",
                      needed, o.volume_size, devices.size(), needed - devices.size()));
    }
    for (size_t k = needed; k < devices.size(); ++k) {
      report.notes.push_back(fmt::format("{} not needed: the export fits on {} volumes", devices[k].string(), needed));
    }
    devices.resize(needed);
    std::set<fs::path> distinct(devices.begin(), devices.end());
    if (distinct.size() != devices.size()) {
      return Status::InvalidArgument("a device directory is given twice: each volume needs its own");
    }
    report.volumes = needed;
  }

  for (const fs::path& device : devices) {
    if (Status s = CreateDirectoriesDurable(device, true); !s.ok()) return s;
    if (Status s = CheckDeviceContents(device); !s.ok()) return s;
    for (std::string_view dir : {kBundleDir, kFileDir}) {
      if (Status s = CreateDirectoriesDurable(device / dir, true); !s.ok()) return s;
    }
    // From here until the new manifest is written the device is an unfinished
    // export: an old manifest must not describe objects being replaced.
    for (std::string_view name : {kManifestName, kSealedManifestName, kSignatureName, kVolumeName}) {
      if (Status s = RemoveDurably(device / name); !s.ok()) return s;
    }
  }
  auto device_of = [&](const PlannedObject& p) -> const fs::path& { return devices[p.volume == 0 ? 0 : p.volume - 1]; };
  Result<ExportJournal> journal = ExportJournal::Open(o.device, Fingerprint(o, bundle_seal.key), bundle_seal.key);
  if (!journal.ok()) return journal.status();
  const auto& records = journal.value().records();

  std::vector<size_t> to_read;
  std::vector<size_t> object_starts;  // positions in to_read
  uint64_t bytes_total = 0, bytes_kept = 0;
  for (size_t g = 0; g < plan.size();) {
    // A file's chunks are kept or written together.
    const size_t n = plan[g].part == 1 ? plan[g].parts : 1;
    bool keep = true;
    for (size_t k = g; k < g + n; ++k) {
      auto it = records.find(plan[k].name);
      keep = keep && it != records.end() && Unchanged(it->second, plan[k], entries, device_of(plan[k]));
    }
    for (size_t k = g; k < g + n; ++k) plan[k].keep = keep;
    if (!keep) object_starts.push_back(to_read.size());
    for (size_t i : plan[g].members) {
      bytes_total += entries[i].size;
      if (keep) bytes_kept += entries[i].size;
      if (!keep) to_read.push_back(i);
    }
    g += n;
  }
  const bool resumed = !records.empty();
  Result<std::string> started = AppendCustodyEvent(o.device, {{"event", resumed ? "export_resumed" : "export_started"},
                                                              {"source", fs::absolute(o.source).string()}});
  if (!started.ok()) return started.status();
  progress({{"event", "plan"}, {"objects", plan.size()}, {"bytes", bytes_total}, {"bytes_kept", bytes_kept}});

  report.skipped = std::move(scanned.value().skipped);
  // By scan index: the file's entry with its hashes and location, once written
  // (or kept); a file that vanished has none.
  std::vector<std::optional<Entry>> done(entries.size());
  std::vector<ObjectInfo> objects;
  // Records the file read into `piece` as `e`, placed in `object`; false when it vanished.
  auto finish_entry = [&](Entry& e, Piece& piece) {
    if (piece.vanished) {
      report.changed.push_back(fmt::format("{}: vanished before it was read", ShowPath(e.path)));
      progress({{"event", "changed"}, {"path", ShowPath(e.path)}, {"what", "vanished"}});
      return false;
    }
    if (std::string change = Change(e, piece); !change.empty()) {
      report.changed.push_back(fmt::format("{}: changed while exported: {}", ShowPath(e.path), change));
      progress({{"event", "changed"}, {"path", ShowPath(e.path)}, {"what", change}});
    }
    e.size = piece.read;
    e.mtime_ns = MtimeNs(piece.after);
    e.mode = piece.after.st_mode & 07777;
    e.sha256 = std::move(piece.sha256);
    e.crc64nvme = std::move(piece.crc64nvme);
    return true;
  };
  {
    Reader reader(o.source, entries, std::move(to_read), object_starts, PackOptions{o.pack_under, bundle_seal});
    uint64_t bytes_done = bytes_kept;
    Piece piece;  // one, so its buffer circulates back to the reader
    for (size_t g = 0; g < plan.size();) {
      PlannedObject& p = plan[g];
      const size_t n = p.part == 1 ? p.parts : 1;
      if (o.cancel != nullptr && o.cancel->load()) return Status::Cancelled("export interrupted; rerun to resume");
      if (p.keep) {
        for (size_t k = g; k < g + n; ++k) {
          const JournalRecord& r = records.at(plan[k].name);
          for (size_t m = 0; m < r.entries.size(); ++m) done[plan[k].members[m]] = r.entries[m];
          objects.push_back(r.object);
          ++report.objects_kept;
          progress({{"event", "object"}, {"name", plan[k].name}, {"kept", true}, {"bytes_done", bytes_done}});
        }
        g += n;
        continue;
      }
      if (p.part == 1) {
        const uint64_t before = bytes_done;
        Result<std::vector<ObjectInfo>> chunks =
            WriteChunks(reader, plan, g, devices, file_seal, piece, bytes_done, o.cancel);
        if (!chunks.ok()) return chunks.status();
        report.bytes_read += bytes_done - before;
        Entry e = entries[p.members.front()];
        if (finish_entry(e, piece)) {
          e.object = chunks.value().front().name;
          e.member = -1;
          for (size_t k = 0; k < chunks.value().size(); ++k) {
            const bool last = k + 1 == chunks.value().size();
            if (Status s =
                    journal.value().Record(chunks.value()[k], last ? std::vector<Entry>{e} : std::vector<Entry>{});
                !s.ok()) {
              return s;
            }
            objects.push_back(chunks.value()[k]);
            ++report.objects_written;
            progress(
                {{"event", "object"}, {"name", chunks.value()[k].name}, {"kept", false}, {"bytes_done", bytes_done}});
          }
          done[p.members.front()] = std::move(e);
        }
        g += n;
        continue;
      }
      ++g;
      Result<std::unique_ptr<ObjectWriter>> writer =
          ObjectWriter::Create(device_of(p) / p.name, p.bundle ? bundle_seal : file_seal);
      if (!writer.ok()) return writer.status();
      // A large file stored as it is has the SHA-256 the reader computed.
      if (!p.bundle) writer.value()->PlaintextHashGiven();
      std::vector<Entry> written;
      std::vector<size_t> indices;
      bool any = false;
      for (size_t k = 0; k < p.members.size(); ++k) {
        Entry e = entries[p.members[k]];
        for (;;) {
          if (!reader.Next(piece)) return Status::Internal("the reading thread stopped early");
          if (!piece.error.empty()) return Status::Io(piece.error);
          if (p.bundle) {
            // One piece per file; the reading thread made the tar members,
            // which come with the segment's last file (a bundle's last file
            // ends a segment).
            if (!piece.packed.empty()) {
              if (Status s = writer.value()->AppendFrames(piece.packed); !s.ok()) return s;
            }
            if (k + 1 == p.members.size() && !piece.segment_end) {
              return Status::Internal("a bundle's last file does not end the reading thread's segment");
            }
            bytes_done += piece.read;
            report.bytes_read += piece.read;
            break;
          }
          if (piece.vanished) break;
          if (Status s = writer.value()->Append(piece.data); !s.ok()) return s;
          bytes_done += piece.data.size();
          report.bytes_read += piece.data.size();
          if (piece.last) break;
          if (o.cancel != nullptr && o.cancel->load()) return Status::Cancelled("export interrupted; rerun to resume");
        }
        if (!finish_entry(e, piece)) continue;
        e.object = p.name;
        e.member = p.bundle ? static_cast<int64_t>(written.size()) : -1;
        written.push_back(std::move(e));
        indices.push_back(p.members[k]);
        any = true;
      }
      if (!p.bundle && !any) continue;  // the large file vanished: no object
      if (p.bundle) {
        if (Status s = writer.value()->Append(TarEnd()); !s.ok()) return s;
      }
      Result<StoredObject> stored =
          p.bundle ? writer.value()->Commit() : writer.value()->Commit(written.front().sha256);
      if (!stored.ok()) return stored.status();
      ObjectInfo info{p.name, p.bundle, stored.value().size, stored.value().sha256, written.size(), p.volume};
      if (Status s = journal.value().Record(info, written); !s.ok()) return s;
      for (size_t k = 0; k < written.size(); ++k) done[indices[k]] = std::move(written[k]);
      objects.push_back(info);
      ++report.objects_written;
      progress({{"event", "object"}, {"name", p.name}, {"kept", false}, {"bytes_done", bytes_done}});
    }
  }
  // An object planned but left without files (all vanished) is not listed.
  std::set<std::string> listed;
  for (const ObjectInfo& i : objects) listed.insert(i.name);
  plan.erase(
      std::remove_if(plan.begin(), plan.end(), [&](const PlannedObject& p) { return listed.count(p.name) == 0; }),
      plan.end());
  for (size_t v = 0; v < devices.size(); ++v) {
    if (Status s = RemoveStrays(devices[v], o.volume_size > 0 ? static_cast<uint32_t>(v + 1) : 0, plan); !s.ok()) {
      return s;
    }
  }

  Manifest m;
  ManifestHeader& h = m.header;
  h.format = FormatOf(o);
  h.volumes = o.volume_size > 0 ? static_cast<uint32_t>(devices.size()) : 0;
  h.tool = o.tool;
  h.source = o.source.string();
  h.host = MachineHostName();
  h.created_ms = WallClockMs();
  h.encrypted = !bundle_seal.key.empty();
  h.compress = o.compress ? "zstd" : "none";
  h.signer = sign_key ? Base64(sign_key->public_key) : "";
  Result<std::vector<CustodyEvent>> log = ReadCustodyLog(o.device);
  if (!log.ok()) return log.status();
  h.custody_first = log.value().front().hash;
  m.objects = std::move(objects);
  m.entries.reserve(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    if (entries[i].type == EntryType::kFile) {
      if (!done[i]) continue;  // vanished
      ++h.files;
      h.bytes += done[i]->size;
      m.entries.push_back(std::move(*done[i]));
    } else {
      ++(entries[i].type == EntryType::kDir ? h.dirs : h.symlinks);
      m.entries.push_back(std::move(entries[i]));
    }
  }
  // Memory grows with the file count (~2 KB a file at the end before these
  // releases): what was moved into the manifest goes, and so does the
  // manifest once it is text.
  std::vector<Entry>().swap(entries);
  std::vector<std::optional<Entry>>().swap(done);
  h.objects = m.objects.size();
  std::string text = EncodeManifest(m);
  std::vector<Entry>().swap(m.entries);
  // The signature covers the manifest file's bytes as stored, so it can be
  // checked without the encryption key. Every volume carries the same bytes.
  std::string stored;
  const std::string_view manifest_name = bundle_seal.key.empty() ? kManifestName : kSealedManifestName;
  if (bundle_seal.key.empty()) {
    stored = std::move(text);
  } else {
    // Every source name is in the manifest: on an encrypted device it is sealed too.
    SealOptions manifest_seal = bundle_seal;
    manifest_seal.compress = true;
    Result<std::unique_ptr<ObjectWriter>> w = ObjectWriter::Create(o.device / kSealedManifestName, manifest_seal);
    if (!w.ok()) return w.status();
    if (Status s = w.value()->Append(text); !s.ok()) return s;
    if (Result<StoredObject> c = w.value()->Commit(); !c.ok()) return c.status();
    Result<std::string> back = ReadWholeFile(o.device / kSealedManifestName);
    if (!back.ok()) return back.status();
    stored = std::move(back).value();
  }
  // Ed25519 hashes the whole manifest twice with SHA-512 (tens of MB for
  // millions of files): it runs on the other core while the manifest is
  // written under its temporary name and hashed.
  std::string signature;
  std::jthread signer;
  if (sign_key) signer = std::jthread([&] { signature = Base64(Sign(*sign_key, stored)) + "\n"; });
  report.manifest_sha256 = Sha256Hex(stored);
  for (size_t v = 0; v < devices.size(); ++v) {
    if (o.volume_size > 0) {
      const nlohmann::json vj = {{"volume", v + 1}, {"volumes", devices.size()}};
      if (Status s = WriteWhole(devices[v] / kVolumeName, vj.dump() + "\n"); !s.ok()) return s;
    }
    std::optional<AtomicFile> manifest_file;
    if (v > 0 || bundle_seal.key.empty()) {
      Result<AtomicFile> f = AtomicFile::Create(devices[v] / manifest_name, true);
      if (!f.ok()) return f.status();
      manifest_file.emplace(std::move(f).value());
      if (Status s = manifest_file->Append(stored); !s.ok()) return s;
    }
    // The signature first: a manifest that appears is already signed.
    if (signer.joinable()) signer.join();
    if (sign_key) {
      if (Status s = WriteWhole(devices[v] / kSignatureName, signature); !s.ok()) return s;
    }
    if (manifest_file) {
      if (Status s = manifest_file->Commit(); !s.ok()) return s;
    }
  }
  report.files = h.files;
  report.dirs = h.dirs;
  report.symlinks = h.symlinks;
  report.bytes = h.bytes;
  Result<std::string> finished = AppendCustodyEvent(o.device, {{"event", "export_finished"},
                                                               {"manifest_sha256", report.manifest_sha256},
                                                               {"counts",
                                                                {{"files", h.files},
                                                                 {"dirs", h.dirs},
                                                                 {"symlinks", h.symlinks},
                                                                 {"bytes", h.bytes},
                                                                 {"objects", h.objects},
                                                                 {"volumes", h.volumes},
                                                                 {"objects_kept", report.objects_kept},
                                                                 {"changed", report.changed.size()}}}});
  if (!finished.ok()) return finished.status();
  progress({{"event", "done"}, {"files", h.files}, {"bytes", h.bytes}, {"changed", report.changed.size()}});
  return report;
}

}  // namespace sluice::appliance
