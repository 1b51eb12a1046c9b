#include "transfer/drop/sidecar.h"

#include <openssl/evp.h>

#include <cctype>
#include <optional>
#include <vector>

namespace sluice::transfer::drop {
namespace {

bool IsHex(std::string_view s) {
  for (char c : s) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
  }
  return !s.empty();
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

struct Entry {
  std::string digest;
  std::string name;  // "" for a bare digest
};

// One line in any of the accepted forms, or nullopt.
std::optional<Entry> ParseLine(std::string_view line, size_t hex_len) {
  line = Trim(line);
  if (line.empty()) return std::nullopt;
  // BSD: "SHA256 (name) = hex"
  const size_t open = line.find(" (");
  const size_t eq = line.rfind(") = ");
  if (open != std::string_view::npos && eq != std::string_view::npos && eq > open) {
    const std::string_view hex = Trim(line.substr(eq + 4));
    if (hex.size() == hex_len && IsHex(hex))
      return Entry{Lower(hex), std::string(line.substr(open + 2, eq - open - 2))};
  }
  // GNU: "hex  name" / "hex *name" / "hex"
  const size_t space = line.find_first_of(" \t");
  const std::string_view hex = line.substr(0, space);
  if (hex.size() != hex_len || !IsHex(hex)) return std::nullopt;
  std::string_view name = space == std::string_view::npos ? std::string_view() : Trim(line.substr(space));
  if (name.starts_with('*')) name.remove_prefix(1);
  return Entry{Lower(hex), std::string(name)};
}

class Md5Hasher final : public Hasher {
 public:
  Md5Hasher() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_md5(), nullptr); }
  ~Md5Hasher() override { EVP_MD_CTX_free(ctx_); }
  void Update(std::string_view data) override { EVP_DigestUpdate(ctx_, data.data(), data.size()); }
  std::string HexDigest() override {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_, md, &len);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    for (unsigned int i = 0; i < len; ++i) {
      out += kHex[md[i] >> 4];
      out += kHex[md[i] & 15];
    }
    return out;
  }

 private:
  EVP_MD_CTX* ctx_;
};

}  // namespace

SidecarKind SidecarKindOf(std::string_view sidecar_path) {
  return sidecar_path.ends_with(".md5") ? SidecarKind::kMd5 : SidecarKind::kSha256;
}

std::string_view SidecarKindName(SidecarKind kind) { return kind == SidecarKind::kMd5 ? "md5" : "sha256"; }

Result<std::string> ParseSidecarDigest(std::string_view content, SidecarKind kind, std::string_view data_name) {
  const size_t hex_len = kind == SidecarKind::kMd5 ? 32 : 64;
  std::vector<Entry> entries;
  size_t start = 0;
  while (start < content.size()) {
    size_t nl = content.find('\n', start);
    if (nl == std::string_view::npos) nl = content.size();
    if (std::optional<Entry> e = ParseLine(content.substr(start, nl - start), hex_len)) entries.push_back(*e);
    start = nl + 1;
  }
  if (entries.empty()) {
    return Status::InvalidArgument("no " + std::string(SidecarKindName(kind)) + " digest (" + std::to_string(hex_len) +
                                   " hex digits) found in it");
  }
  if (entries.size() == 1) return entries.front().digest;
  for (const Entry& e : entries) {
    if (e.name == data_name) return e.digest;
  }
  return Status::InvalidArgument("it lists " + std::to_string(entries.size()) + " digests and none for \"" +
                                 std::string(data_name) + "\"");
}

std::unique_ptr<Hasher> MakeMd5Hasher() { return std::make_unique<Md5Hasher>(); }

}  // namespace sluice::transfer::drop
