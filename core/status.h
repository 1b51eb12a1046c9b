// Status and Result<T>: errors a caller can handle, carried as values.
//
// A Status is either ok() or carries a code and a human message that already
// names what failed and where (a path, a key, a peer). Exceptions are used only
// at module boundaries (config loading, command entry points), never for
// conditions a caller is expected to handle such as a full disk.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace sluice {

enum class ErrorCode {
  kOk = 0,
  kInvalidArgument,
  kNotFound,
  kIo,
  kNoSpace,
  kCorrupt,
  kUnavailable,  // transient: the peer or resource may come back
  kCancelled,    // a stop was requested
  kInternal,
  kPermissionDenied,  // not transient: retrying will not help
  kUnsupported,       // the operation does not exist here (an endpoint without symlinks)
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(ErrorCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }
  static Status InvalidArgument(std::string m) { return {ErrorCode::kInvalidArgument, std::move(m)}; }
  static Status NotFound(std::string m) { return {ErrorCode::kNotFound, std::move(m)}; }
  static Status Io(std::string m) { return {ErrorCode::kIo, std::move(m)}; }
  static Status NoSpace(std::string m) { return {ErrorCode::kNoSpace, std::move(m)}; }
  static Status Corrupt(std::string m) { return {ErrorCode::kCorrupt, std::move(m)}; }
  static Status Unavailable(std::string m) { return {ErrorCode::kUnavailable, std::move(m)}; }
  static Status Cancelled(std::string m) { return {ErrorCode::kCancelled, std::move(m)}; }
  static Status Internal(std::string m) { return {ErrorCode::kInternal, std::move(m)}; }
  static Status PermissionDenied(std::string m) { return {ErrorCode::kPermissionDenied, std::move(m)}; }
  static Status Unsupported(std::string m) { return {ErrorCode::kUnsupported, std::move(m)}; }

  // An errno-based I/O error: "what: strerror(err)"; ENOSPC/EDQUOT map to kNoSpace.
  static Status FromErrno(int err, std::string_view what);

  bool ok() const { return code_ == ErrorCode::kOk; }
  ErrorCode code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string ToString() const;

 private:
  ErrorCode code_ = ErrorCode::kOk;
  std::string message_;
};

// A value or the Status explaining why there is none.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}          // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {}   // NOLINT: implicit by design

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace sluice
