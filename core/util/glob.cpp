#include "core/util/glob.h"

namespace sluice {

namespace {

// Splits on '/', dropping empty segments; `absolute` tells whether it began with '/'.
std::vector<std::string_view> SplitPath(std::string_view path, bool* absolute) {
  std::vector<std::string_view> out;
  if (absolute != nullptr) *absolute = !path.empty() && path.front() == '/';
  size_t i = 0;
  while (i < path.size()) {
    const size_t j = path.find('/', i);
    const size_t end = j == std::string_view::npos ? path.size() : j;
    // "." segments name the same directory; dropping them lets "./a.log" match "*.log".
    if (end > i && path.substr(i, end - i) != ".") out.push_back(path.substr(i, end - i));
    i = end + 1;
  }
  return out;
}

// Parses a [...] set starting at p[i] == '['. Returns the index after ']' or
// npos when unterminated; sets *matched for character c.
size_t ParseSet(std::string_view p, size_t i, unsigned char c, bool* matched) {
  size_t k = i + 1;
  bool negate = false;
  if (k < p.size() && (p[k] == '!' || p[k] == '^')) {
    negate = true;
    ++k;
  }
  bool hit = false;
  bool first = true;
  while (k < p.size() && (first || p[k] != ']')) {
    first = false;
    unsigned char lo = static_cast<unsigned char>(p[k]);
    if (lo == '\\') {
      if (++k >= p.size()) return std::string_view::npos;
      lo = static_cast<unsigned char>(p[k]);
    }
    ++k;
    unsigned char hi = lo;
    if (k + 1 < p.size() && p[k] == '-' && p[k + 1] != ']') {
      ++k;
      hi = static_cast<unsigned char>(p[k]);
      if (hi == '\\') {
        if (++k >= p.size()) return std::string_view::npos;
        hi = static_cast<unsigned char>(p[k]);
      }
      ++k;
    }
    if (lo <= c && c <= hi) hit = true;
  }
  if (k >= p.size()) return std::string_view::npos;
  *matched = hit != negate;
  return k + 1;
}

bool HasWildcard(std::string_view seg) {
  for (size_t i = 0; i < seg.size(); ++i) {
    const char c = seg[i];
    if (c == '\\') {
      ++i;
      continue;
    }
    if (c == '*' || c == '?' || c == '[') return true;
  }
  return false;
}

std::string Unescape(std::string_view seg) {
  std::string out;
  for (size_t i = 0; i < seg.size(); ++i) {
    if (seg[i] == '\\' && i + 1 < seg.size()) ++i;
    out += seg[i];
  }
  return out;
}

Status Validate(std::string_view seg) {
  for (size_t i = 0; i < seg.size(); ++i) {
    if (seg[i] == '\\') {
      if (i + 1 >= seg.size()) return Status::InvalidArgument("trailing '\\' in glob segment '" + std::string(seg) + "'");
      ++i;
    } else if (seg[i] == '[') {
      bool unused = false;
      const size_t next = ParseSet(seg, i, 0, &unused);
      if (next == std::string_view::npos)
        return Status::InvalidArgument("unterminated '[' in glob segment '" + std::string(seg) + "'");
      i = next - 1;
    }
  }
  return Status::Ok();
}

}  // namespace

bool GlobMatchSegment(std::string_view p, std::string_view s) {
  // Iterative matcher with one backtrack point (the last '*'), linear in
  // practice and never recursive, so a long name cannot blow the stack.
  size_t pi = 0;
  size_t si = 0;
  size_t star_p = std::string_view::npos;
  size_t star_s = 0;
  while (si < s.size()) {
    if (pi < p.size()) {
      const char c = p[pi];
      if (c == '*') {
        while (pi < p.size() && p[pi] == '*') ++pi;
        star_p = pi;
        star_s = si;
        continue;
      }
      if (c == '?') {
        ++pi;
        ++si;
        continue;
      }
      if (c == '[') {
        bool matched = false;
        const size_t next = ParseSet(p, pi, static_cast<unsigned char>(s[si]), &matched);
        if (next != std::string_view::npos && matched) {
          pi = next;
          ++si;
          continue;
        }
      } else {
        char lit = c;
        size_t next = pi + 1;
        if (c == '\\' && pi + 1 < p.size()) {
          lit = p[pi + 1];
          next = pi + 2;
        }
        if (lit == s[si]) {
          pi = next;
          ++si;
          continue;
        }
      }
    }
    if (star_p == std::string_view::npos) return false;
    pi = star_p;
    si = ++star_s;
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

Result<Glob> Glob::Compile(std::string_view pattern) {
  if (pattern.empty()) return Status::InvalidArgument("empty glob pattern");
  Glob g;
  g.pattern_ = std::string(pattern);
  g.has_slash_ = pattern.find('/') != std::string_view::npos;
  const std::vector<std::string_view> segs = SplitPath(pattern, &g.absolute_);
  if (segs.empty()) return Status::InvalidArgument("glob pattern '" + std::string(pattern) + "' names no file");
  bool literal_prefix = true;
  std::string base = g.absolute_ ? "/" : "";
  for (size_t i = 0; i < segs.size(); ++i) {
    const std::string_view seg = segs[i];
    if (Status st = Validate(seg); !st.ok())
      return Status::InvalidArgument("glob pattern '" + std::string(pattern) + "': " + st.message());
    Segment s;
    if (seg == "**") {
      s.kind = Kind::kGlobStar;
      g.recursive_ = true;
    } else if (HasWildcard(seg)) {
      s.kind = Kind::kWildcard;
      s.text = std::string(seg);
    } else {
      s.kind = Kind::kLiteral;
      s.text = Unescape(seg);
    }
    // The last segment names files, so it is never part of the base directory.
    if (literal_prefix && s.kind == Kind::kLiteral && i + 1 < segs.size()) {
      if (!base.empty() && base.back() != '/') base += '/';
      base += s.text;
    } else {
      literal_prefix = false;
    }
    // Consecutive "**" are one.
    if (s.kind == Kind::kGlobStar && !g.segments_.empty() && g.segments_.back().kind == Kind::kGlobStar) continue;
    g.segments_.push_back(std::move(s));
  }
  g.base_ = base.empty() ? "." : base;
  return g;
}

bool Glob::MatchFrom(size_t pi, const std::vector<std::string_view>& path, size_t si) const {
  while (pi < segments_.size()) {
    const Segment& seg = segments_[pi];
    if (seg.kind == Kind::kGlobStar) {
      for (size_t k = si; k <= path.size(); ++k) {
        if (MatchFrom(pi + 1, path, k)) return true;
      }
      return false;
    }
    if (si == path.size()) return false;
    const bool ok = seg.kind == Kind::kLiteral ? seg.text == path[si] : GlobMatchSegment(seg.text, path[si]);
    if (!ok) return false;
    ++pi;
    ++si;
  }
  return si == path.size();
}

bool Glob::PrefixFrom(size_t pi, const std::vector<std::string_view>& dir, size_t si) const {
  while (true) {
    if (pi == segments_.size()) return false;
    if (si == dir.size()) return true;
    const Segment& seg = segments_[pi];
    if (seg.kind == Kind::kGlobStar) return true;
    const bool ok = seg.kind == Kind::kLiteral ? seg.text == dir[si] : GlobMatchSegment(seg.text, dir[si]);
    if (!ok) return false;
    ++pi;
    ++si;
  }
}

bool Glob::Match(std::string_view path) const {
  bool absolute = false;
  const std::vector<std::string_view> segs = SplitPath(path, &absolute);
  // A relative pattern that starts with "**" ("**/debug/*.log") means "anywhere".
  const bool anywhere = !absolute_ && segments_.front().kind == Kind::kGlobStar;
  if (absolute != absolute_ && !anywhere) return false;
  return MatchFrom(0, segs, 0);
}

bool Glob::CouldMatchBelow(std::string_view dir) const {
  bool absolute = false;
  const std::vector<std::string_view> segs = SplitPath(dir, &absolute);
  if (absolute != absolute_) return false;
  return PrefixFrom(0, segs, 0);
}

bool Glob::MatchPathOrName(std::string_view path) const {
  if (has_slash_) return Match(path);
  const size_t slash = path.rfind('/');
  const std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  return MatchFrom(0, {name}, 0);
}

}  // namespace sluice
