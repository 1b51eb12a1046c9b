#include "core/util/working_set.h"

#include <sys/mman.h>

#include <cerrno>
#include <charconv>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace sluice {
namespace {

struct SmapsMapping {
  uintptr_t start = 0;
  uintptr_t end = 0;
  std::string_view perms;
  std::string_view path;
  size_t rss_kib = 0;
  size_t anonymous_kib = 0;
  size_t locked_kib = 0;

  bool Releasable() const {
    return perms.size() == 4 && perms[1] != 'w' && perms[3] == 'p' && !path.empty() && path.front() == '/' &&
           rss_kib > 0 && anonymous_kib == 0 && locked_kib == 0;
  }
};

// "7f12a000-7f12b000 r-xp 00000000 fe:01 1234  /usr/lib/libc.so.6" -> the
// mapping's range, permissions and path; false for a field line ("Rss: 4 kB").
bool ParseHeader(std::string_view line, SmapsMapping& m) {
  const size_t dash = line.find('-');
  const size_t space = line.find(' ');
  if (dash == std::string_view::npos || space == std::string_view::npos || dash > space) return false;
  if (std::from_chars(line.data(), line.data() + dash, m.start, 16).ptr != line.data() + dash) return false;
  if (std::from_chars(line.data() + dash + 1, line.data() + space, m.end, 16).ptr != line.data() + space) return false;
  m.perms = line.substr(space + 1, 4);
  // Fields: range perms offset dev inode [path]; the path may hold spaces.
  size_t pos = space;
  for (int field = 0; field < 4 && pos != std::string_view::npos; ++field) {
    pos = line.find_first_not_of(' ', pos);
    pos = pos == std::string_view::npos ? pos : line.find(' ', pos);
  }
  m.path = {};
  if (pos != std::string_view::npos) {
    pos = line.find_first_not_of(' ', pos);
    if (pos != std::string_view::npos) m.path = line.substr(pos);
  }
  return true;
}

// "Rss:                 12 kB" -> 12 when `line` is that field.
bool FieldKib(std::string_view line, std::string_view name, size_t& kib) {
  if (!line.starts_with(name) || line.size() <= name.size() || line[name.size()] != ':') return false;
  std::string_view rest = line.substr(name.size() + 1);
  const size_t digits = rest.find_first_not_of(' ');
  if (digits == std::string_view::npos) return false;
  rest.remove_prefix(digits);
  return std::from_chars(rest.data(), rest.data() + rest.size(), kib).ec == std::errc();
}

}  // namespace

Result<ReleasedPages> ReleaseCleanFileMappings() {
  // Read it whole first: releasing while reading would change what the
  // kernel prints next.
  std::ifstream in("/proc/self/smaps");
  if (!in) return Status::Io("cannot read /proc/self/smaps");
  std::stringstream text;
  text << in.rdbuf();
  const std::string smaps = std::move(text).str();

  std::vector<SmapsMapping> releasable;
  SmapsMapping current;
  bool have = false;
  std::string_view all(smaps);
  while (!all.empty()) {
    const size_t eol = all.find('\n');
    const std::string_view line = all.substr(0, eol);
    all.remove_prefix(eol == std::string_view::npos ? all.size() : eol + 1);
    SmapsMapping next;
    if (ParseHeader(line, next)) {
      if (have && current.Releasable()) releasable.push_back(current);
      current = next;
      have = true;
      continue;
    }
    if (!have) continue;
    if (FieldKib(line, "Rss", current.rss_kib) || FieldKib(line, "Anonymous", current.anonymous_kib) ||
        FieldKib(line, "Locked", current.locked_kib)) {
      continue;
    }
  }
  if (have && current.Releasable()) releasable.push_back(current);

  ReleasedPages released;
  for (const SmapsMapping& m : releasable) {
    // A mapping that cannot be released (a special one the kernel refuses)
    // is left as it is: this only trims.
    if (madvise(reinterpret_cast<void*>(m.start), m.end - m.start, MADV_DONTNEED) != 0) continue;
    ++released.mappings;
    released.resident_bytes += m.rss_kib * 1024;
  }
  return released;
}

}  // namespace sluice
