#include "transfer/planner.h"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <unicase.h>
#include <uninorm.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>

#include "transfer/rel_path.h"

namespace sluice::transfer {
namespace {

constexpr std::string_view kPartialPrefix = ".sluice-";
constexpr std::string_view kPartialSuffix = ".part";
// A chain of symlinks longer than this is a loop (Linux's own limit is 40).
constexpr int kMaxLinkHops = 40;

// Resolves a relative link target against the link's directory, inside the
// root; nullopt when it is absolute or climbs out of the root.
std::optional<std::string> ResolveInsideRoot(std::string_view link_path, std::string_view target) {
  if (target.empty() || target.front() == '/') return std::nullopt;
  std::vector<std::string> parts;
  const std::string parent = ParentOf(link_path);
  auto push = [&](std::string_view path) {
    size_t start = 0;
    while (start <= path.size()) {
      const size_t end = std::min(path.find('/', start), path.size());
      const std::string_view seg = path.substr(start, end - start);
      if (seg == "..") {
        if (parts.empty()) return false;
        parts.pop_back();
      } else if (!seg.empty() && seg != ".") {
        parts.emplace_back(seg);
      }
      start = end + 1;
    }
    return true;
  };
  if (!push(parent) || !push(target)) return std::nullopt;
  std::string out;
  for (const std::string& p : parts) out = JoinPath(out, p);
  return out;
}

bool MtimesAgree(int64_t a, int64_t b, int64_t precision) {
  if (precision <= 1) return a == b;
  auto floor_div = [precision](int64_t v) { return v >= 0 ? v / precision : -((-v + precision - 1) / precision); };
  return floor_div(a) == floor_div(b);
}

class Walker {
 public:
  Walker(Endpoint& source, Endpoint& dest, const PlanOptions& options)
      : source_(source),
        dest_(dest),
        options_(options),
        src_caps_(source.capabilities()),
        dst_caps_(dest.capabilities()),
        precision_(std::max<int64_t>(src_caps_.mtime_precision_ns, dst_caps_.mtime_precision_ns)) {}

  Result<Plan> Run() {
    if (Status s = Walk("", "", true, 0); !s.ok()) return s;
    for (auto& d : deletes_) plan_.actions.push_back(std::move(d));
    for (const Action& a : plan_.actions) {
      if (a.kind == ActionKind::kCopyFile) {
        ++plan_.files_to_copy;
        plan_.bytes_to_copy += a.source.size;
      } else if (a.kind == ActionKind::kFail) {
        ++plan_.failures;
      }
    }
    return std::move(plan_);
  }

 private:
  bool Excluded(const std::string& path) const {
    return std::any_of(options_.exclude.begin(), options_.exclude.end(),
                       [&](const Glob& g) { return g.MatchPathOrName(path); });
  }
  bool Included(const std::string& path) const {
    return options_.include.empty() || std::any_of(options_.include.begin(), options_.include.end(),
                                                   [&](const Glob& g) { return g.MatchPathOrName(path); });
  }

  static Status ListInto(Endpoint& ep, const std::string& dir, std::vector<EntryInfo>& out,
                         std::set<std::string>* partials = nullptr) {
    return ep.List(dir, [&](const EntryInfo& e) {
      if (!IsPartialName(e.name)) {
        out.push_back(e);
      } else if (partials != nullptr) {
        partials->insert(e.name);
      }
      return Status::Ok();
    });
  }

  void Add(ActionKind kind, const std::string& path, const EntryInfo& src, const EntryInfo* dst, std::string reason) {
    Action a;
    a.kind = kind;
    a.path = path;
    a.source = src;
    if (dst != nullptr) {
      a.dest = *dst;
      a.dest_exists = true;
    }
    a.reason = std::move(reason);
    plan_.actions.push_back(std::move(a));
  }

  // `src_dir` is where the source lists (differs from `dst_dir` below a
  // followed directory link); `dst_dir_exists` false: every entry is new.
  Status Walk(const std::string& src_dir, const std::string& dst_dir, bool dst_dir_exists, int link_depth) {
    std::vector<EntryInfo> src_entries;
    if (Status s = ListInto(source_, src_dir, src_entries); !s.ok()) return s;
    std::map<std::string, EntryInfo> dst_entries;
    std::set<std::string> partials;
    if (dst_dir_exists) {
      std::vector<EntryInfo> listed;
      Status s = ListInto(dest_, dst_dir, listed, &partials);
      if (!s.ok() && s.code() != ErrorCode::kNotFound) return s;
      for (EntryInfo& e : listed) dst_entries.emplace(e.name, std::move(e));
    }
    std::sort(src_entries.begin(), src_entries.end(),
              [](const EntryInfo& a, const EntryInfo& b) { return a.name < b.name; });

    std::map<std::string, std::string> keys;  // collision key -> the first name with it
    std::set<std::string> src_names;
    for (EntryInfo& e : src_entries) {
      if (dst_dir.empty() && !options_.only.empty() && e.name != options_.only) continue;
      const std::string src_path = JoinPath(src_dir, e.name);
      const std::string path = JoinPath(dst_dir, e.name);
      src_names.insert(e.name);
      if (Excluded(path)) continue;
      if (e.name.size() > dst_caps_.max_name_bytes) {
        Add(ActionKind::kFail, path, e, nullptr,
            fmt::format("name is {} bytes; the destination allows {}", e.name.size(), dst_caps_.max_name_bytes));
        continue;
      }
      if (dst_caps_.case_insensitive || dst_caps_.normalizes_unicode) {
        const std::string key = CollisionKey(e.name, dst_caps_.case_insensitive, dst_caps_.normalizes_unicode);
        const auto [it, fresh] = keys.emplace(key, e.name);
        if (!fresh) {
          Add(ActionKind::kFail, path, e, nullptr,
              fmt::format("collides with '{}' on the destination, which {} names", it->second,
                          dst_caps_.case_insensitive ? "ignores the case of" : "normalizes the Unicode of"));
          continue;
        }
      }
      const auto dst_it = dst_entries.find(e.name);
      const EntryInfo* dst = dst_it == dst_entries.end() ? nullptr : &dst_it->second;
      const size_t first_new = plan_.actions.size();
      if (Status s = Entry(src_path, path, e, dst, link_depth); !s.ok()) return s;
      if (!partials.empty() && plan_.actions.size() > first_new &&
          plan_.actions[first_new].kind == ActionKind::kCopyFile) {
        plan_.actions[first_new].partial_seen = partials.count(PartialName(e.name, dst_caps_.max_name_bytes)) != 0;
      }
    }

    if (options_.delete_extraneous) {
      for (const auto& [name, d] : dst_entries) {
        if (src_names.count(name) != 0) continue;
        const std::string path = JoinPath(dst_dir, name);
        if (Excluded(path)) continue;
        if (d.type != EntryType::kDirectory && !Included(path)) continue;
        if (Status s = DeleteTree(path, d); !s.ok()) return s;
      }
    }
    return Status::Ok();
  }

  Status Entry(const std::string& src_path, const std::string& path, EntryInfo e, const EntryInfo* dst,
               int link_depth) {
    std::string read_path = src_path;
    if (e.type == EntryType::kSymlink) {
      switch (options_.links) {
        case LinkPolicy::kSkip:
          Add(ActionKind::kSkip, path, e, dst, "symlink (--links=skip)");
          return Status::Ok();
        case LinkPolicy::kCopy:
          if (!Included(path)) return Status::Ok();
          if (!dst_caps_.symlinks) {
            Add(ActionKind::kSkip, path, e, dst,
                "symlink, and the destination has none (--links=follow copies the target)");
          } else if (dst != nullptr && dst->type == EntryType::kSymlink && dst->link_target == e.link_target) {
            Add(ActionKind::kUpToDate, path, e, dst, "same symlink");
          } else if (dst != nullptr && dst->type == EntryType::kDirectory) {
            Add(ActionKind::kFail, path, e, dst, "the destination has a directory where the source has a symlink");
          } else {
            Add(ActionKind::kSymlink, path, e, dst, dst == nullptr ? "new" : "link differs");
          }
          return Status::Ok();
        case LinkPolicy::kFollow: {
          Result<EntryInfo> target = Follow(src_path, e);
          if (!target.ok()) {
            Add(ActionKind::kSkip, path, e, dst, target.status().message());
            return Status::Ok();
          }
          read_path = target.value().name;  // Follow returns the resolved path as the name
          if (++link_depth > kMaxLinkHops) {
            Add(ActionKind::kSkip, path, e, dst, "symlinked directories nest too deep (a loop?)");
            return Status::Ok();
          }
          const std::string name = e.name;
          e = target.value();
          e.name = name;
          break;
        }
      }
    }

    if (e.type == EntryType::kDirectory) {
      if (dst != nullptr && dst->type != EntryType::kDirectory) {
        Add(ActionKind::kFail, path, e, dst, "the destination has a file where the source has a directory");
        return Status::Ok();
      }
      const size_t before = plan_.actions.size();
      if (dst == nullptr) {
        Add(ActionKind::kMakeDirectory, path, e, nullptr, "new");
        if (read_path != path) plan_.actions.back().source_path = read_path;
      }
      if (Status s = Walk(read_path, path, dst != nullptr, link_depth); !s.ok()) return s;
      // With --include, a new directory is made only for what it will hold.
      if (!options_.include.empty() && dst == nullptr && plan_.actions.size() == before + 1 && !Included(path)) {
        plan_.actions.pop_back();
      }
      return Status::Ok();
    }
    if (e.type != EntryType::kFile) {
      if (Included(path)) Add(ActionKind::kSkip, path, e, dst, "not a regular file (device, socket or fifo)");
      return Status::Ok();
    }
    if (!Included(path)) return Status::Ok();
    const size_t index = plan_.actions.size();
    if (dst == nullptr) {
      Add(ActionKind::kCopyFile, path, e, nullptr, "new");
    } else if (dst->type == EntryType::kDirectory) {
      Add(ActionKind::kFail, path, e, dst, "the destination has a directory where the source has a file");
    } else if (dst->type != EntryType::kFile) {
      Add(ActionKind::kCopyFile, path, e, dst, "the destination has a symlink or special file there");
    } else if (dst->size != e.size) {
      Add(ActionKind::kCopyFile, path, e, dst, "size differs");
    } else if (options_.checksum) {
      Add(ActionKind::kCopyFile, path, e, dst, "content to compare (--checksum)");
      plan_.actions.back().compare_content = true;
    } else if (!dst_caps_.settable_times) {
      // The destination's time is when it stored the file (S3), in whole
      // seconds: a copy stored in a later second than the source's last
      // change is that version; the same second is too close to tell.
      if (e.mtime_ns >= dst->mtime_ns) {
        Add(ActionKind::kCopyFile, path, e, dst, "the source changed after the destination's copy was stored");
      } else {
        Add(ActionKind::kUpToDate, path, e, dst, "same size, stored after the source's last change");
      }
    } else if (!MtimesAgree(e.mtime_ns, dst->mtime_ns, precision_)) {
      Add(ActionKind::kCopyFile, path, e, dst, "modification time differs");
    } else {
      Add(ActionKind::kUpToDate, path, e, dst, "same size and modification time");
    }
    if (read_path != path) plan_.actions[index].source_path = read_path;
    return Status::Ok();
  }

  // The entry a symlink leads to, its resolved path in `name`.
  Result<EntryInfo> Follow(const std::string& link_path, const EntryInfo& link) {
    std::string at = link_path;
    EntryInfo cur = link;
    for (int hop = 0; hop < kMaxLinkHops; ++hop) {
      const std::optional<std::string> next = ResolveInsideRoot(at, cur.link_target);
      if (!next.has_value()) {
        return Status::NotFound(fmt::format("symlink to '{}', outside the source: not followed", link.link_target));
      }
      Result<EntryInfo> info = source_.Stat(*next);
      if (!info.ok()) {
        if (info.status().code() == ErrorCode::kNotFound) {
          return Status::NotFound(fmt::format("dangling symlink to '{}'", link.link_target));
        }
        return info.status();
      }
      at = *next;
      cur = info.value();
      if (cur.type != EntryType::kSymlink) {
        cur.name = at;
        return cur;
      }
    }
    return Status::NotFound("symlink loop");
  }

  // A destination entry the source lacks: its contents first, then itself.
  Status DeleteTree(const std::string& path, const EntryInfo& d) {
    if (d.type == EntryType::kDirectory) {
      std::vector<EntryInfo> inner;
      if (Status s = dest_.List(path,
                                [&](const EntryInfo& e) {
                                  inner.push_back(e);  // partial files too: the directory goes
                                  return Status::Ok();
                                });
          !s.ok()) {
        return s;
      }
      for (const EntryInfo& e : inner) {
        if (Status s = DeleteTree(JoinPath(path, e.name), e); !s.ok()) return s;
      }
    }
    Action a;
    a.kind = ActionKind::kDelete;
    a.path = path;
    a.dest = d;
    a.dest_exists = true;
    a.reason = "not in the source (--delete)";
    deletes_.push_back(std::move(a));
    return Status::Ok();
  }

  Endpoint& source_;
  Endpoint& dest_;
  const PlanOptions& options_;
  const EndpointCapabilities src_caps_;
  const EndpointCapabilities dst_caps_;
  const int64_t precision_;
  Plan plan_;
  std::vector<Action> deletes_;
};

}  // namespace

const char* ActionName(ActionKind kind) {
  switch (kind) {
    case ActionKind::kMakeDirectory:
      return "mkdir";
    case ActionKind::kCopyFile:
      return "copy";
    case ActionKind::kSymlink:
      return "symlink";
    case ActionKind::kDelete:
      return "delete";
    case ActionKind::kUpToDate:
      return "up-to-date";
    case ActionKind::kSkip:
      return "skip";
    case ActionKind::kFail:
      return "fail";
  }
  return "?";
}

Result<Plan> MakePlan(Endpoint& source, Endpoint& dest, const PlanOptions& options) {
  return Walker(source, dest, options).Run();
}

std::string PartialName(std::string_view name, size_t max_name_bytes) {
  std::string out = fmt::format("{}{}{}", kPartialPrefix, name, kPartialSuffix);
  if (out.size() <= max_name_bytes) return out;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(name.data(), name.size(), md, &len, EVP_sha256(), nullptr);
  std::string hex;
  for (unsigned i = 0; i < 16 && i < len; ++i) hex += fmt::format("{:02x}", md[i]);
  return fmt::format("{}{}{}", kPartialPrefix, hex, kPartialSuffix);
}

bool IsPartialName(std::string_view name) {
  return name.size() > kPartialPrefix.size() + kPartialSuffix.size() && name.starts_with(kPartialPrefix) &&
         name.ends_with(kPartialSuffix);
}

std::string CollisionKey(std::string_view name, bool case_insensitive, bool normalizes_unicode) {
  if (!case_insensitive && !normalizes_unicode) return std::string(name);
  const auto* in = reinterpret_cast<const uint8_t*>(name.data());
  size_t len = 0;
  // libunistring (not ICU: a tenth of the size, and already a dependency of
  // libcurl's libidn2). Case folding uses the NFC form of the result.
  std::unique_ptr<uint8_t, decltype(&free)> out(
      case_insensitive
          ? u8_casefold(in, name.size(), nullptr, normalizes_unicode ? UNINORM_NFC : nullptr, nullptr, &len)
          : u8_normalize(UNINORM_NFC, in, name.size(), nullptr, &len),
      &free);
  if (out == nullptr) {
    // Not UTF-8: compare bytes, ASCII case folded.
    std::string bytes(name);
    if (case_insensitive) {
      for (char& c : bytes) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
    }
    return bytes;
  }
  return std::string(reinterpret_cast<const char*>(out.get()), len);
}

}  // namespace sluice::transfer
