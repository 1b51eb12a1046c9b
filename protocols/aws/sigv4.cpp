#include "protocols/aws/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <ctime>
#include <map>
#include <stdexcept>

namespace sluice::aws {
namespace {

constexpr char kHex[] = "0123456789abcdef";
constexpr char kHexUpper[] = "0123456789ABCDEF";

std::string Hex(const unsigned char* p, size_t n) {
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kHex[p[i] >> 4];
    out[2 * i + 1] = kHex[p[i] & 0xF];
  }
  return out;
}

using Mac = std::array<unsigned char, 32>;

Mac HmacSha256(std::string_view key, std::string_view data) {
  Mac out{};
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
           data.size(), out.data(), &len) == nullptr ||
      len != out.size()) {
    throw std::runtime_error("HMAC-SHA256 failed");  // only on allocation failure inside OpenSSL
  }
  return out;
}

std::string_view View(const Mac& m) { return {reinterpret_cast<const char*>(m.data()), m.size()}; }

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Leading and trailing blanks removed, inner runs of blanks as one space.
std::string TrimCollapse(std::string_view v) {
  std::string out;
  bool blank = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      blank = !out.empty();
      continue;
    }
    if (blank) out += ' ';
    blank = false;
    out += c;
  }
  return out;
}

std::pair<std::string, std::string> Timestamps(std::chrono::system_clock::time_point now) {
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  const std::string amz_date(buf);
  return {amz_date, amz_date.substr(0, 8)};
}

}  // namespace

std::string UriEncode(std::string_view s, bool keep_slash) {
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~' || (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHexUpper[c >> 4];
      out += kHexUpper[c & 0xF];
    }
  }
  return out;
}

std::string CanonicalPath(std::string_view path) { return path.empty() ? "/" : UriEncode(path, true); }

std::string CanonicalQuery(const std::vector<std::pair<std::string, std::string>>& query) {
  std::vector<std::pair<std::string, std::string>> enc;
  enc.reserve(query.size());
  for (const auto& [k, v] : query) enc.emplace_back(UriEncode(k, false), UriEncode(v, false));
  std::sort(enc.begin(), enc.end());
  std::string out;
  for (const auto& [k, v] : enc) {
    if (!out.empty()) out += '&';
    out += k;
    out += '=';
    out += v;
  }
  return out;
}

std::string Sha256Hex(std::string_view data) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
  return Hex(md, sizeof md);
}

namespace {

std::string Signature(std::string_view secret, std::string_view date, std::string_view region, std::string_view service,
                      std::string_view string_to_sign) {
  const Mac k_date = HmacSha256("AWS4" + std::string(secret), date);
  const Mac k_region = HmacSha256(View(k_date), region);
  const Mac k_service = HmacSha256(View(k_region), service);
  const Mac k_signing = HmacSha256(View(k_service), "aws4_request");
  const Mac sig = HmacSha256(View(k_signing), string_to_sign);
  return Hex(sig.data(), sig.size());
}

}  // namespace

SigV4Signed SignV4(const SigV4Request& request, const SigV4Credentials& credentials, std::string_view region,
                   std::string_view service, std::chrono::system_clock::time_point now) {
  const auto [amz_date, date] = Timestamps(now);
  SigV4Signed out;
  out.headers.emplace_back("X-Amz-Date", amz_date);
  // S3 requires the payload hash as a header; other services take it only in
  // the canonical request.
  if (service == "s3") out.headers.emplace_back("X-Amz-Content-Sha256", request.payload_sha256);
  if (!credentials.session_token.empty()) out.headers.emplace_back("X-Amz-Security-Token", credentials.session_token);

  // Sorted by lower-case name (not by whole line: names that prefix one
  // another must keep name order); repeated names joined with ','.
  std::map<std::string, std::string> canon;
  auto add = [&](std::string_view name, std::string_view value) {
    std::string& v = canon[Lower(name)];
    if (!v.empty()) v += ',';
    v += TrimCollapse(value);
  };
  add("host", request.host);
  for (const auto& [k, v] : request.headers) add(k, v);
  for (const auto& [k, v] : out.headers) add(k, v);

  std::string canonical_headers;
  std::string signed_headers;
  for (const auto& [k, v] : canon) {
    canonical_headers += k + ':' + v + '\n';
    if (!signed_headers.empty()) signed_headers += ';';
    signed_headers += k;
  }
  out.canonical_request = request.method + '\n' + CanonicalPath(request.path) + '\n' + CanonicalQuery(request.query) +
                          '\n' + canonical_headers + '\n' + signed_headers + '\n' + request.payload_sha256;
  const std::string scope = date + '/' + std::string(region) + '/' + std::string(service) + "/aws4_request";
  out.string_to_sign = "AWS4-HMAC-SHA256\n" + amz_date + '\n' + scope + '\n' + Sha256Hex(out.canonical_request);

  out.signature = Signature(credentials.secret_access_key, date, region, service, out.string_to_sign);
  out.headers.emplace_back("Authorization", "AWS4-HMAC-SHA256 Credential=" + credentials.access_key_id + '/' + scope +
                                                ", SignedHeaders=" + signed_headers + ", Signature=" + out.signature);
  return out;
}

std::string PresignV4(SigV4Request request, const SigV4Credentials& credentials, std::string_view region,
                      std::string_view service, std::chrono::system_clock::time_point now,
                      std::chrono::seconds expires) {
  const auto [amz_date, date] = Timestamps(now);
  const std::string scope = date + '/' + std::string(region) + '/' + std::string(service) + "/aws4_request";
  request.query.emplace_back("X-Amz-Algorithm", "AWS4-HMAC-SHA256");
  request.query.emplace_back("X-Amz-Credential", credentials.access_key_id + '/' + scope);
  request.query.emplace_back("X-Amz-Date", amz_date);
  request.query.emplace_back("X-Amz-Expires", std::to_string(expires.count()));
  request.query.emplace_back("X-Amz-SignedHeaders", "host");
  if (!credentials.session_token.empty()) request.query.emplace_back("X-Amz-Security-Token", credentials.session_token);
  const std::string query = CanonicalQuery(request.query);
  const std::string canonical_request = request.method + '\n' + CanonicalPath(request.path) + '\n' + query +
                                        "\nhost:" + TrimCollapse(request.host) + "\n\nhost\n" + request.payload_sha256;
  const std::string string_to_sign =
      "AWS4-HMAC-SHA256\n" + amz_date + '\n' + scope + '\n' + Sha256Hex(canonical_request);
  return query + "&X-Amz-Signature=" + Signature(credentials.secret_access_key, date, region, service, string_to_sign);
}

}  // namespace sluice::aws
