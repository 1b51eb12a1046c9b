#include "protocols/aws/refreshing_credentials.h"

#include <fmt/format.h>

#include <condition_variable>
#include <ctime>
#include <mutex>
#include <optional>

namespace sluice::aws {
namespace {

std::string Utc(WallTime t) {
  const time_t secs = std::chrono::system_clock::to_time_t(std::chrono::floor<std::chrono::seconds>(t));
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

class Refreshing final : public CredentialsProvider {
 public:
  Refreshing(std::string source, CredentialsFetcher fetch, RefreshOptions options)
      : source_(std::move(source)), fetch_(std::move(fetch)), options_(std::move(options)) {}

  Result<SigV4Credentials> Get() override {
    std::unique_lock lock(mu_);
    while (true) {
      const WallTime now = Now();
      const bool valid = current_.has_value() && now < current_->expiration;
      if (valid && now < current_->expiration - options_.margin) return current_->credentials;
      // Inside the margin: someone refreshes, or the last refresh failed and
      // it is too early to try again. What we hold still works.
      if (valid && (fetching_ || now < not_before_)) return current_->credentials;
      if (!fetching_) break;
      // Nothing valid and a fetch in flight: share its outcome.
      const uint64_t seen = fetches_;
      done_.wait(lock, [&] { return fetches_ != seen; });
      if (current_.has_value() && Now() < current_->expiration) return current_->credentials;
      if (!last_error_.ok()) return Failure(last_error_);
    }

    fetching_ = true;
    lock.unlock();
    Result<TemporaryCredentials> fetched = fetch_();
    lock.lock();
    fetching_ = false;
    ++fetches_;
    const WallTime now = Now();
    not_before_ = now + options_.retry_after;
    if (fetched.ok()) {
      current_ = std::move(fetched).value();
      last_error_ = Status::Ok();
    } else {
      last_error_ = fetched.status();
    }
    done_.notify_all();
    if (current_.has_value() && now < current_->expiration) return current_->credentials;
    if (!last_error_.ok()) return Failure(last_error_);
    return Status::Unavailable(
        fmt::format("{}: the credentials it gave had expired already (at {})", source_, Utc(current_->expiration)));
  }

 private:
  WallTime Now() const { return options_.clock ? options_.clock() : std::chrono::system_clock::now(); }

  // Never fetched: the fetcher's own error. Expired: say so, and why the
  // refresh failed. Either way the code stays the fetcher's (transient or not).
  Status Failure(const Status& error) const {
    if (!current_.has_value()) return error;
    return Status(error.code(), fmt::format("{}: the credentials expired at {} and could not be refreshed: {}", source_,
                                            Utc(current_->expiration), error.message()));
  }

  const std::string source_;
  const CredentialsFetcher fetch_;
  const RefreshOptions options_;
  std::mutex mu_;
  std::condition_variable done_;
  std::optional<TemporaryCredentials> current_;
  bool fetching_ = false;
  uint64_t fetches_ = 0;  // completed fetches: tells waiters theirs is done
  Status last_error_;
  WallTime not_before_{};  // no refresh of valid credentials before this
};

int64_t ParseHttpDateSeconds(const std::string& s) {
  std::tm tm{};
  if (strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S", &tm) == nullptr) return -1;
  return static_cast<int64_t>(timegm(&tm));
}

}  // namespace

std::shared_ptr<CredentialsProvider> RefreshingCredentials(std::string source, CredentialsFetcher fetch,
                                                           RefreshOptions options) {
  return std::make_shared<Refreshing>(std::move(source), std::move(fetch), std::move(options));
}

std::optional<WallTime> ParseAwsTimestamp(std::string_view text) {
  // YYYY-MM-DDTHH:MM:SS, then optional .fraction, then Z or +00:00 / -HH:MM.
  const std::string s(text);
  std::tm tm{};
  const char* rest = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (rest == nullptr) return std::nullopt;
  std::chrono::nanoseconds fraction{0};
  if (*rest == '.') {
    ++rest;
    int64_t scale = 100'000'000;
    if (*rest < '0' || *rest > '9') return std::nullopt;
    for (; *rest >= '0' && *rest <= '9'; ++rest) {
      fraction += std::chrono::nanoseconds((*rest - '0') * scale);
      scale /= 10;
    }
  }
  int offset_s = 0;
  if (*rest == 'Z' || *rest == 'z') {
    ++rest;
  } else if ((*rest == '+' || *rest == '-') && rest[1] && rest[2] && rest[3] == ':' && rest[4] && rest[5]) {
    const int sign = *rest == '-' ? -1 : 1;
    const std::string hh(rest + 1, 2);
    const std::string mm(rest + 4, 2);
    if (hh.find_first_not_of("0123456789") != std::string::npos ||
        mm.find_first_not_of("0123456789") != std::string::npos) {
      return std::nullopt;
    }
    offset_s = sign * (std::stoi(hh) * 3600 + std::stoi(mm) * 60);
    rest += 6;
  } else {
    return std::nullopt;
  }
  if (*rest != '\0') return std::nullopt;
  const time_t t = timegm(&tm);
  return WallTime(std::chrono::seconds(t - offset_s)) + std::chrono::duration_cast<WallTime::duration>(fraction);
}

WallTime LocalExpiration(WallTime expiration, const std::string* date_header, WallTime now) {
  if (date_header == nullptr) return expiration;
  const int64_t server_now = ParseHttpDateSeconds(*date_header);
  if (server_now <= 0) return expiration;
  return now + (expiration - WallTime(std::chrono::seconds(server_now)));
}

}  // namespace sluice::aws
