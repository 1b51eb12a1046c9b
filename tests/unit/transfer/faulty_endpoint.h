// A decorator over a real endpoint that injects the faults the copier must
// survive: writes that fail with a transient error, bytes corrupted on the
// way to storage (a flipped bit after the hash was taken), a server-side hash
// of our choosing, and capabilities that claim case-insensitive or
// Unicode-normalizing names. Counts what was called. For unit tests only.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "transfer/endpoint.h"

namespace sluice::transfer::test {

struct Faults {
  std::atomic<int> fail_writes{0};      // the next N Write calls return kUnavailable
  std::atomic<int> corrupt_writes{0};   // the next N write streams store their first byte flipped
  std::atomic<int> opens_for_write{0};  // counted
  std::atomic<int> renames{0};          // counted
  bool case_insensitive = false;
  bool normalizes_unicode = false;
  size_t max_name_bytes = 255;
  std::string server_hash;  // non-empty: ServerHash returns it
};

class FaultyEndpoint final : public Endpoint {
 public:
  FaultyEndpoint(std::unique_ptr<Endpoint> base, Faults& faults) : base_(std::move(base)), f_(faults) {}

  const std::string& url() const override { return base_->url(); }
  EndpointCapabilities capabilities() const override {
    EndpointCapabilities c = base_->capabilities();
    c.case_insensitive = f_.case_insensitive;
    c.normalizes_unicode = f_.normalizes_unicode;
    c.max_name_bytes = f_.max_name_bytes;
    return c;
  }
  Result<EntryInfo> Stat(std::string_view p) override { return base_->Stat(p); }
  Status List(std::string_view d, const std::function<Status(const EntryInfo&)>& each) override {
    return base_->List(d, each);
  }
  Result<std::unique_ptr<ReadStream>> OpenRead(std::string_view p, uint64_t offset) override {
    return base_->OpenRead(p, offset);
  }
  Result<std::unique_ptr<WriteStream>> OpenWrite(std::string_view p, uint64_t offset) override {
    ++f_.opens_for_write;
    Result<std::unique_ptr<WriteStream>> w = base_->OpenWrite(p, offset);
    if (!w.ok()) return w;
    return std::unique_ptr<WriteStream>(std::make_unique<Writer>(std::move(w).value(), f_));
  }
  Status Rename(std::string_view a, std::string_view b) override {
    ++f_.renames;
    return base_->Rename(a, b);
  }
  Status Remove(std::string_view p) override { return base_->Remove(p); }
  Status MakeDirectory(std::string_view p) override { return base_->MakeDirectory(p); }
  Status SetTimes(std::string_view p, int64_t t) override { return base_->SetTimes(p, t); }
  Status SetMode(std::string_view p, uint32_t m) override { return base_->SetMode(p, m); }
  Status SetOwner(std::string_view p, uint32_t u, uint32_t g) override { return base_->SetOwner(p, u, g); }
  Status Symlink(std::string_view t, std::string_view p) override { return base_->Symlink(t, p); }
  Status Flush() override { return base_->Flush(); }
  Result<std::string> ServerHash(std::string_view p, std::string_view a) override {
    if (!f_.server_hash.empty()) return f_.server_hash;
    return base_->ServerHash(p, a);
  }

 private:
  class Writer final : public WriteStream {
   public:
    Writer(std::unique_ptr<WriteStream> base, Faults& f) : base_(std::move(base)), f_(f) {}
    Status Write(std::string_view data) override {
      if (f_.fail_writes.load() > 0) {
        --f_.fail_writes;
        return Status::Unavailable("injected: connection lost");
      }
      const bool first = first_;
      first_ = false;
      if (first && f_.corrupt_writes.load() > 0 && !data.empty()) {
        --f_.corrupt_writes;
        std::string bad(data);
        bad[0] = static_cast<char>(bad[0] ^ 0x01);
        return base_->Write(bad);
      }
      return base_->Write(data);
    }
    Status Close() override { return base_->Close(); }

   private:
    std::unique_ptr<WriteStream> base_;
    Faults& f_;
    bool first_ = true;
  };

  std::unique_ptr<Endpoint> base_;
  Faults& f_;
};

}  // namespace sluice::transfer::test
