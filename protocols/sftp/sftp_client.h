// The SFTP v3 client over one SshConnection, multiplexing many concurrent
// requests from many threads: each request gets an id and a slot in the
// pending map; replies are matched to slots by id, in whatever order the
// server answers.
//
// Progress model ("whoever waits, pumps"): libssh must never be entered by two
// threads at once, and no thread owns the connection. Send() queues the
// encoded packet in the outbox; a thread that needs a reply takes the single
// pump role (a flag under mu_, not a lock held while sleeping on the cv),
// writes queued bytes as far as the channel window allows, reads every byte
// that has arrived, dispatches complete replies to their slots, notifies the
// condition variable, and gives the role back; other waiters sleep on the cv
// until their reply is dispatched or the role is free. A pumper with nothing to
// do sleeps in poll() on the socket and an eventfd that Send() signals, so new
// requests never wait for a poll timeout. Nobody ever blocks holding the
// session while waiting for the peer (writes never wait for window), so a
// thread holding a stream cannot deadlock the others.
//
// Invariants: conn_, framer_ and sending_ are touched only by the pump-role
// holder; everything else under mu_. Once broken (I/O error, EOF, protocol
// error, io_timeout without any reply) the client stays broken: every pending
// and later request fails with kUnavailable, and the owner replaces it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/status.h"
#include "protocols/sftp/sftp_packet.h"
#include "protocols/sftp/ssh_connection.h"

namespace sluice::sftp {

// One reply packet: body() is the type byte, the id, then the payload.
class Reply {
 public:
  Reply() = default;
  explicit Reply(std::string body) : body_(std::move(body)) {}
  uint8_t type() const { return static_cast<uint8_t>(body_[0]); }
  PacketReader payload() const { return PacketReader(std::string_view(body_).substr(5)); }

 private:
  std::string body_;
};

struct NameEntry {
  std::string name;
  Attrs attrs;
};

// Reply interpretation: the expected reply type, or the STATUS turned into a
// Status naming `what`. A reply of another type is kCorrupt.
Status ExpectStatus(const Reply& r, std::string_view what);
Result<std::string> ExpectHandle(const Reply& r, std::string_view what);
Result<Attrs> ExpectAttrs(const Reply& r, std::string_view what);
// READDIR/REALPATH/READLINK; an empty vector at the end of a directory (kFxEof).
Result<std::vector<NameEntry>> ExpectNames(const Reply& r, std::string_view what);
// READ: the data (a view into the reply); nullopt at the end of the file (kFxEof).
Result<std::optional<std::string_view>> ExpectData(const Reply& r, std::string_view what);

class SftpClient {
 public:
  struct Limits {
    uint64_t max_read = 32768;  // the draft's guaranteed minimum, when the server does not say
    uint64_t max_write = 32768;
  };

  // Connects (SshConnection::Connect), sends INIT, reads VERSION and the
  // server's extensions, asks limits@openssh.com when offered.
  static Result<std::shared_ptr<SftpClient>> Connect(const SshOptions& options);
  ~SftpClient();
  SftpClient(const SftpClient&) = delete;
  SftpClient& operator=(const SftpClient&) = delete;

  const Limits& limits() const { return limits_; }
  bool HasExtension(std::string_view name) const { return extensions_.count(std::string(name)) > 0; }
  const std::string& peer() const { return peer_; }
  bool broken() const;
  // Requests in flight plus streams pinned here (see AddStream): the pool's
  // measure for spreading work.
  size_t load() const;
  void AddStream() { streams_.fetch_add(1); }
  void RemoveStream() { streams_.fetch_sub(1); }

  // --- The multiplexed request layer -------------------------------------
  uint32_t NextId() { return next_id_.fetch_add(1); }
  // Queues `packet` (which carries `id`) and flushes what it can without
  // waiting. kUnavailable when broken.
  Status Send(uint32_t id, std::string packet);
  // Waits for the reply to `id` (pumping if no one else is), then forgets it.
  Result<Reply> Wait(uint32_t id);
  // The reply to `id` if it already arrived (after one non-blocking pump);
  // nullopt if not yet; the Status when broken.
  Result<std::optional<Reply>> TryTake(uint32_t id);
  // Drops interest in `id`: its reply is discarded when it arrives.
  void Forget(uint32_t id);
  // Send + Wait.
  Result<Reply> Call(uint32_t id, std::string packet);

  // --- Typed requests (synchronous); `what` names the target in errors -----
  Result<std::string> Open(std::string_view path, uint32_t pflags, const Attrs& attrs, std::string_view what);
  Status Close(std::string_view handle, std::string_view what);
  Result<Attrs> Lstat(std::string_view path, std::string_view what);
  Result<Attrs> Stat(std::string_view path, std::string_view what);
  Result<Attrs> Fstat(std::string_view handle, std::string_view what);
  Status Setstat(std::string_view path, const Attrs& attrs, std::string_view what);
  // lsetstat@openssh.com when offered (does not follow a symlink), else SETSTAT.
  Status Lsetstat(std::string_view path, const Attrs& attrs, std::string_view what);
  Status Fsetstat(std::string_view handle, const Attrs& attrs, std::string_view what);
  Result<std::string> Opendir(std::string_view path, std::string_view what);
  Result<std::vector<NameEntry>> Readdir(std::string_view handle, std::string_view what);
  Status Remove(std::string_view path, std::string_view what);
  Status Mkdir(std::string_view path, const Attrs& attrs, std::string_view what);
  Status Rmdir(std::string_view path, std::string_view what);
  Result<std::string> Realpath(std::string_view path, std::string_view what);
  Result<std::string> Readlink(std::string_view path, std::string_view what);
  // Creates `linkpath` pointing at `target`. OpenSSH reads SYMLINK's two
  // arguments in the opposite order from the draft; this sends them its way.
  Status Symlink(std::string_view target, std::string_view linkpath, std::string_view what);
  // posix-rename@openssh.com (replaces an existing target atomically) when
  // offered, else RENAME (which fails when the target exists).
  Status Rename(std::string_view from, std::string_view to, std::string_view what);
  // fsync@openssh.com; Ok without it (the server offers no way to sync).
  Status Fsync(std::string_view handle, std::string_view what);

  // Encoders for pipelined stream requests (the caller Sends them).
  static std::string EncodeRead(uint32_t id, std::string_view handle, uint64_t offset, uint32_t len);
  static std::string EncodeFsync(uint32_t id, std::string_view handle);
  static std::string EncodeClose(uint32_t id, std::string_view handle);

 private:
  struct Slot {
    bool done = false;
    bool discard = false;
    Reply reply;
  };
  SftpClient(std::unique_ptr<SshConnection> conn, std::chrono::milliseconds io_timeout);
  Status Handshake();
  // One round of I/O by the pump-role holder; sleeps in poll() when nothing
  // moved and `may_block`.
  void PumpOnce(bool may_block);
  // Takes the pump role if free (mu_ held via lk), pumps once, gives it back.
  void PumpIfFree(std::unique_lock<std::mutex>& lk, bool may_block);
  void MarkBroken(Status why);  // mu_ held
  void Wake();
  Result<Reply> Simple(uint8_t type, std::string_view path);

  std::unique_ptr<SshConnection> conn_;
  std::string peer_;
  const std::chrono::milliseconds io_timeout_;
  Limits limits_;
  std::set<std::string, std::less<>> extensions_;
  std::atomic<uint32_t> next_id_{1};
  std::atomic<size_t> streams_{0};
  int wake_fd_ = -1;

  // Pump-role state.
  PacketFramer framer_;
  std::deque<std::string> sending_;
  size_t sending_pos_ = 0;
  std::vector<char> read_buf_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool pumping_ = false;
  std::deque<std::string> outbox_;
  std::unordered_map<uint32_t, Slot> pending_;
  Status broken_;
  std::chrono::steady_clock::time_point last_progress_;
};

}  // namespace sluice::sftp
