#include "appliance/tar_format.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace sluice::appliance {
namespace {

constexpr std::array<char, 2 * kTarBlock> kZeros{};
constexpr uint64_t kMaxOctal11 = (uint64_t{1} << 33) - 1;  // 11 octal digits
constexpr size_t kMaxPaxHeader = 1 << 20;

void PutOctal(char* field, size_t width, uint64_t value) {
  // width includes the terminating NUL.
  const std::string digits = fmt::format("{:0{}o}", value, width - 1);
  std::memcpy(field, digits.data(), width - 1);
  field[width - 1] = '\0';
}

std::string UstarBlock(std::string_view name, uint64_t size, uint32_t mode, int64_t mtime, char type) {
  std::string b(kTarBlock, '\0');
  std::memcpy(b.data(), name.data(), std::min<size_t>(name.size(), 100));
  PutOctal(&b[100], 8, mode & 07777);
  PutOctal(&b[108], 8, 0);
  PutOctal(&b[116], 8, 0);
  PutOctal(&b[124], 12, std::min(size, kMaxOctal11));
  PutOctal(&b[136], 12, static_cast<uint64_t>(std::max<int64_t>(0, mtime)) & kMaxOctal11);
  b[156] = type;
  std::memcpy(&b[257], "ustar", 6);
  std::memcpy(&b[263], "00", 2);
  std::memset(&b[148], ' ', 8);
  unsigned sum = 0;
  for (unsigned char c : b) sum += c;
  const std::string chk = fmt::format("{:06o}", sum);
  std::memcpy(&b[148], chk.data(), 6);
  b[154] = '\0';
  b[155] = ' ';
  return b;
}

void AddPaxRecord(std::string& out, std::string_view key, std::string_view value) {
  // "LEN key=value\n", where LEN counts its own digits.
  const size_t body = key.size() + value.size() + 3;
  size_t len = body + 1;
  while (std::to_string(len).size() + body != len) ++len;
  out += std::to_string(len);
  out += ' ';
  out += key;
  out += '=';
  out += value;
  out += '\n';
}

// Bytes of a header as messages show them: printable ASCII as it is, any
// other byte as \xNN (a damaged header holds anything, and messages end up
// in JSON reports).
std::string Printable(std::string_view bytes) {
  std::string out;
  for (char c : bytes) {
    if (c > 0x1f && c < 0x7f) {
      out += c;
    } else {
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
    }
  }
  return out;
}

bool IsPlainAscii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c > 0x1f && c < 0x7f; });
}

uint64_t ParseOctal(const char* field, size_t width, bool& ok) {
  uint64_t v = 0;
  size_t i = 0;
  while (i < width && field[i] == ' ') ++i;
  bool any = false;
  for (; i < width && field[i] >= '0' && field[i] <= '7'; ++i) {
    v = v * 8 + static_cast<uint64_t>(field[i] - '0');
    any = true;
  }
  for (; i < width; ++i) {
    if (field[i] != '\0' && field[i] != ' ') ok = false;
  }
  if (!any) ok = false;
  return v;
}

}  // namespace

std::string TarHeader(const TarMember& m) {
  std::string out;
  const bool long_name = m.path.size() > 100 || !IsPlainAscii(m.path);
  const bool big = m.size > kMaxOctal11;
  if (long_name || big) {
    std::string pax;
    if (long_name) {
      // Raw bytes, as GNU tar writes a non-UTF-8 name itself (it warns
      // about, and does not need, "hdrcharset=BINARY").
      AddPaxRecord(pax, "path", m.path);
    }
    if (big) AddPaxRecord(pax, "size", std::to_string(m.size));
    out += UstarBlock("PaxHeader", pax.size(), 0644, m.mtime_s, 'x');
    out += pax;
    out += TarPadding(pax.size());
  }
  const std::string_view name = long_name ? std::string_view("sluice-pax-path") : std::string_view(m.path);
  out += UstarBlock(name, m.size, m.mode, m.mtime_s, '0');
  return out;
}

std::string_view TarPadding(uint64_t size) {
  const size_t rem = size % kTarBlock;
  return rem == 0 ? std::string_view() : std::string_view(kZeros.data(), kTarBlock - rem);
}

std::string_view TarEnd() { return std::string_view(kZeros.data(), kZeros.size()); }

Status TarReader::ReadExact(char* out, size_t n, const char* what) {
  size_t have = 0;
  while (have < n) {
    Result<size_t> got = read_(out + have, n - have);
    if (!got.ok()) return got.status();
    if (got.value() == 0) {
      return Status::Corrupt(
          fmt::format("{}: truncated: the tar stream ends inside {} at byte {}", where_, what, offset_ + have));
    }
    have += got.value();
  }
  offset_ += n;
  return Status::Ok();
}

Result<std::optional<TarMember>> TarReader::Next() {
  if (left_ != 0) return Status::Internal("TarReader::Next before the member's data was read");
  std::string pax_path;
  std::optional<uint64_t> pax_size;
  bool had_pax = false;
  for (;;) {
    const uint64_t at = offset_;
    char b[kTarBlock];
    if (Status s = ReadExact(b, kTarBlock, "a header"); !s.ok()) return s;
    if (std::all_of(b, b + kTarBlock, [](char c) { return c == '\0'; })) {
      if (had_pax) return Status::Corrupt(fmt::format("{}: a pax header with no member after it", where_));
      if (Status s = ReadExact(b, kTarBlock, "the end marker"); !s.ok()) return s;
      if (!std::all_of(b, b + kTarBlock, [](char c) { return c == '\0'; })) {
        return Status::Corrupt(fmt::format("{}: bad end-of-archive marker at byte {}", where_, at));
      }
      return std::optional<TarMember>();
    }
    unsigned sum = 0;
    for (size_t i = 0; i < kTarBlock; ++i) sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(b[i]);
    bool ok = std::memcmp(b + 257, "ustar", 6) == 0;
    const uint64_t stored_sum = ParseOctal(b + 148, 8, ok);
    const uint64_t size = ParseOctal(b + 124, 12, ok);
    const uint64_t mode = ParseOctal(b + 100, 8, ok);
    const uint64_t mtime = ParseOctal(b + 136, 12, ok);
    if (!ok || stored_sum != sum) {
      return Status::Corrupt(fmt::format("{}: bad tar header at byte {} (checksum or field)", where_, at));
    }
    const char type = b[156];
    if (type == 'x' && !had_pax) {
      if (size > kMaxPaxHeader) return Status::Corrupt(fmt::format("{}: oversized pax header at byte {}", where_, at));
      std::string pax(size, '\0');
      if (Status s = ReadExact(pax.data(), pax.size(), "a pax header"); !s.ok()) return s;
      char pad[kTarBlock];
      if (Status s = ReadExact(pad, TarPadding(size).size(), "padding"); !s.ok()) return s;
      std::string_view rest = pax;
      while (!rest.empty()) {
        const size_t sp = rest.find(' ');
        size_t len = 0;
        if (sp == std::string_view::npos || sp == 0 || sp > 10) {
          return Status::Corrupt(fmt::format("{}: bad pax record at byte {}", where_, at));
        }
        for (char c : rest.substr(0, sp)) len = len * 10 + static_cast<size_t>(c - '0');
        if (len > rest.size() || len <= sp + 2 || rest[len - 1] != '\n') {
          return Status::Corrupt(fmt::format("{}: bad pax record at byte {}", where_, at));
        }
        const std::string_view rec = rest.substr(sp + 1, len - sp - 2);
        const size_t eq = rec.find('=');
        if (eq == std::string_view::npos)
          return Status::Corrupt(fmt::format("{}: bad pax record at byte {}", where_, at));
        const std::string_view key = rec.substr(0, eq), value = rec.substr(eq + 1);
        if (key == "path") {
          pax_path = value;
        } else if (key == "size") {
          uint64_t v = 0;
          for (char c : value) {
            if (c < '0' || c > '9') return Status::Corrupt(fmt::format("{}: bad pax size at byte {}", where_, at));
            v = v * 10 + static_cast<uint64_t>(c - '0');
          }
          pax_size = v;
        } else if (key != "hdrcharset") {
          return Status::Corrupt(fmt::format("{}: unexpected pax key '{}' at byte {}", where_, Printable(key), at));
        }
        rest.remove_prefix(len);
      }
      had_pax = true;
      continue;
    }
    if (type != '0' && type != '\0') {
      return Status::Corrupt(
          fmt::format("{}: unexpected tar entry type '{}' at byte {} (bundles hold regular files only)", where_,
                      Printable(std::string_view(&type, 1)), at));
    }
    TarMember m;
    m.path = had_pax && !pax_path.empty() ? pax_path : std::string(b, strnlen(b, 100));
    m.size = pax_size.value_or(size);
    m.mode = static_cast<uint32_t>(mode);
    m.mtime_s = static_cast<int64_t>(mtime);
    left_ = size_ = m.size;
    return std::optional<TarMember>(std::move(m));
  }
}

Result<size_t> TarReader::ReadData(char* out, size_t n) {
  const size_t take = static_cast<size_t>(std::min<uint64_t>(n, left_));
  if (take == 0) return size_t{0};
  if (Status s = ReadExact(out, take, "a member's data"); !s.ok()) return s;
  left_ -= take;
  return take;
}

Status TarReader::EndMember() {
  if (left_ != 0) return Status::Internal("TarReader::EndMember before the data was read");
  char pad[kTarBlock];
  const size_t n = TarPadding(size_).size();
  if (Status s = ReadExact(pad, n, "padding"); !s.ok()) return s;
  if (!std::all_of(pad, pad + n, [](char c) { return c == '\0'; })) {
    return Status::Corrupt(fmt::format("{}: non-zero tar padding before byte {}", where_, offset_));
  }
  return Status::Ok();
}

}  // namespace sluice::appliance
