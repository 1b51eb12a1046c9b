// A pool of client sessions that can be used by one thread at a time
// (libsmbclient contexts, libnfs contexts): Get() lends an idle one, or makes
// a new one with the factory (in the calling thread, outside the pool lock)
// when none is idle, so there is never a wait and never a deadlock between a
// thread's streams and its metadata calls. A Lease gives its session back when
// destroyed; Discard() drops it instead (a lost connection), so the next Get()
// makes a fresh one.
//
// Invariants: a session is lent to at most one Lease at a time; at most
// `max_idle` sessions are kept idle (the rest are destroyed on return); the
// pool lock is never held while a session is made or destroyed; a session the
// `healthy` predicate rejects is destroyed on return, never lent again. A Lease may
// outlive the pool object (the shared state stays alive with it). Thread-safe.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "core/status.h"

namespace sluice {

template <class T>
class LeasePool {
  struct Shared {
    std::mutex mu;
    std::vector<std::unique_ptr<T>> idle;
    size_t max_idle = 1;
    std::function<bool(const T&)> healthy;
  };

 public:
  using Factory = std::function<Result<std::unique_ptr<T>>()>;

  class Lease {
   public:
    Lease() = default;
    Lease(std::shared_ptr<Shared> shared, std::unique_ptr<T> item)
        : shared_(std::move(shared)), item_(std::move(item)) {}
    Lease(Lease&&) noexcept = default;
    Lease& operator=(Lease&& other) noexcept {
      if (this != &other) {
        Return();
        shared_ = std::move(other.shared_);
        item_ = std::move(other.item_);
      }
      return *this;
    }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() { Return(); }

    T* get() const { return item_.get(); }
    T* operator->() const { return item_.get(); }
    T& operator*() const { return *item_; }
    explicit operator bool() const { return item_ != nullptr; }
    // The session is broken: destroy it rather than lend it again.
    void Discard() { item_.reset(); }
    // Gives the session back now (the Lease is empty afterwards).
    void Return() {
      if (!item_ || !shared_) return;
      std::unique_ptr<T> extra;
      if (shared_->healthy && !shared_->healthy(*item_)) {
        extra = std::move(item_);  // destroyed outside the lock
      } else {
        std::lock_guard lk(shared_->mu);
        if (shared_->idle.size() < shared_->max_idle) {
          shared_->idle.push_back(std::move(item_));
        } else {
          extra = std::move(item_);
        }
      }
      shared_.reset();
    }

   private:
    std::shared_ptr<Shared> shared_;
    std::unique_ptr<T> item_;
  };

  LeasePool(Factory factory, size_t max_idle, std::function<bool(const T&)> healthy = {})
      : factory_(std::move(factory)), shared_(std::make_shared<Shared>()) {
    shared_->max_idle = max_idle == 0 ? 1 : max_idle;
    shared_->healthy = std::move(healthy);
  }

  // Puts a session made elsewhere (the first one, made to check the
  // credentials) into the pool.
  void Add(std::unique_ptr<T> item) {
    std::lock_guard lk(shared_->mu);
    shared_->idle.push_back(std::move(item));
  }

  Result<Lease> Get() {
    {
      std::lock_guard lk(shared_->mu);
      if (!shared_->idle.empty()) {
        std::unique_ptr<T> item = std::move(shared_->idle.back());
        shared_->idle.pop_back();
        return Lease(shared_, std::move(item));
      }
    }
    Result<std::unique_ptr<T>> made = factory_();
    if (!made.ok()) return made.status();
    return Lease(shared_, std::move(made).value());
  }

 private:
  const Factory factory_;
  std::shared_ptr<Shared> shared_;
};

}  // namespace sluice
