#include "protocols/http/http_client.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "protocols/http/curl_api.h"

namespace sluice::http {

// Not in an anonymous namespace: Client::State, a class with linkage, holds one.
struct EasyDeleter {
  const CurlApi* curl = nullptr;
  void operator()(CURL* h) const { curl->curl_easy_cleanup(h); }
};

struct Client::State {
  const CurlApi* curl = nullptr;  // null when libcurl could not be loaded: see `unusable`
  Status unusable;
  std::unique_ptr<CURL, EasyDeleter> easy;

  // Per request; the callbacks reach them through the State pointer.
  const Request* request = nullptr;
  Response* response = nullptr;
  Status body_error;
  char error[CURL_ERROR_SIZE] = {};
};

namespace {

struct SlistDeleter {
  const CurlApi* curl = nullptr;
  void operator()(curl_slist* l) const { curl->curl_slist_free_all(l); }
};
using HeaderList = std::unique_ptr<curl_slist, SlistDeleter>;

// curl_slist_append returns the same head, or nullptr (and frees nothing) when
// out of memory: the list stays owned either way.
bool Append(HeaderList& list, const std::string& line) {
  curl_slist* head = list.get_deleter().curl->curl_slist_append(list.get(), line.c_str());
  if (head == nullptr) return false;
  if (head != list.get()) {
    (void)list.release();
    list.reset(head);
  }
  return true;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* st = static_cast<Client::State*>(user);
  const std::string_view line(data, size * count);
  if (line.starts_with("HTTP/")) {
    // A new response (after 100 Continue or a redirect): only the last counts.
    st->response->headers.clear();
  } else if (const size_t colon = line.find(':'); colon != std::string_view::npos) {
    st->response->headers.emplace_back(Lower(Trim(line.substr(0, colon))), std::string(Trim(line.substr(colon + 1))));
  }
  return size * count;
}

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* st = static_cast<Client::State*>(user);
  const std::string_view chunk(data, size * count);
  long code = 0;
  st->curl->curl_easy_getinfo(st->easy.get(), CURLINFO_RESPONSE_CODE, &code);
  if (st->request->on_body && code >= 200 && code < 300) {
    st->body_error = st->request->on_body(chunk);
    if (!st->body_error.ok()) return 0;  // aborts with CURLE_WRITE_ERROR
  } else {
    st->response->body.append(chunk);
  }
  return chunk.size();
}

}  // namespace

const std::string* Response::Header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (n == name) return &v;
  }
  return nullptr;
}

Client::Client(ClientOptions options) : options_(std::move(options)), state_(std::make_unique<State>()) {
  Result<const CurlApi*> curl = Curl();
  if (!curl.ok()) {
    state_->unusable = curl.status();
    return;
  }
  state_->curl = curl.value();
  state_->easy = std::unique_ptr<CURL, EasyDeleter>(state_->curl->curl_easy_init(), EasyDeleter{state_->curl});
}

Client::~Client() = default;

Result<Response> Client::Perform(const Request& request) {
  if (!state_->unusable.ok()) return state_->unusable;
  CURL* h = state_->easy.get();
  if (h == nullptr) return Status::Internal("libcurl could not create a handle");
  const CurlApi& curl = *state_->curl;
  // Reset drops the previous request's options but keeps the connection cache.
  curl.curl_easy_reset(h);
  Response response;
  state_->request = &request;
  state_->response = &response;
  state_->body_error = Status::Ok();
  state_->error[0] = '\0';

  HeaderList headers(nullptr, SlistDeleter{&curl});
  bool has_content_type = false;
  bool ok = true;
  for (const auto& [name, value] : request.headers) {
    if (Lower(name) == "content-type") has_content_type = true;
    // "Name;" is curl's way to send a header with an empty value.
    ok = ok && Append(headers, value.empty() ? name + ";" : name + ": " + value);
  }
  // Suppress what curl would add on its own: a 100-continue wait (one more
  // round trip per upload) and a form Content-Type on bodies.
  ok = ok && Append(headers, "Expect:");
  if (!has_content_type) ok = ok && Append(headers, "Content-Type:");
  if (!ok) return Status::Internal("out of memory building HTTP headers");

  curl.curl_easy_setopt(h, CURLOPT_URL, request.url.c_str());
  curl.curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl.curl_easy_setopt(h, CURLOPT_HTTP_VERSION, static_cast<long>(CURL_HTTP_VERSION_1_1));
  curl.curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);  // keys like "a/./b" are names, not paths to tidy
  curl.curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout.count()));
  curl.curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl.curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, static_cast<long>(options_.stall_timeout.count()));
  curl.curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
  curl.curl_easy_setopt(h, CURLOPT_ERRORBUFFER, state_->error);
  curl.curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  curl.curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &OnHeader);
  curl.curl_easy_setopt(h, CURLOPT_HEADERDATA, state_.get());
  curl.curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &OnBody);
  curl.curl_easy_setopt(h, CURLOPT_WRITEDATA, state_.get());
  if (!options_.ca_file.empty()) curl.curl_easy_setopt(h, CURLOPT_CAINFO, options_.ca_file.c_str());
  if (options_.total_timeout.count() > 0) {
    curl.curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.total_timeout.count()));
  }
  if (!options_.use_proxy) curl.curl_easy_setopt(h, CURLOPT_PROXY, "");
  if (!options_.client_cert.empty()) {
    curl.curl_easy_setopt(h, CURLOPT_SSLCERT, options_.client_cert.c_str());
    curl.curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
  }
  if (!options_.client_key.empty()) {
    curl.curl_easy_setopt(h, CURLOPT_SSLKEY, options_.client_key.c_str());
    curl.curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
  }

  if (request.method == "HEAD") {
    curl.curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  } else if (request.method == "GET" && request.body.empty()) {
    curl.curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
  } else {
    curl.curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    if (!request.body.empty() || request.method == "PUT" || request.method == "POST") {
      // POSTFIELDS sends the bytes as they are, with a Content-Length; the
      // custom method replaces the POST it implies.
      curl.curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
      curl.curl_easy_setopt(h, CURLOPT_POSTFIELDS, request.body.data());
    }
  }

  const CURLcode rc = curl.curl_easy_perform(h);
  state_->request = nullptr;
  state_->response = nullptr;
  if (rc == CURLE_WRITE_ERROR && !state_->body_error.ok()) return state_->body_error;
  if (rc != CURLE_OK) {
    const std::string detail = state_->error[0] != '\0' ? state_->error : curl.curl_easy_strerror(rc);
    return Status::Unavailable(fmt::format("{} {}: {}", request.method, request.url, detail));
  }
  curl.curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &response.status);
  return response;
}

std::string HostOf(std::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return "";
  std::string_view rest = url.substr(scheme + 3);
  rest = rest.substr(0, rest.find_first_of("/?#"));
  if (const size_t at = rest.rfind('@'); at != std::string_view::npos) rest.remove_prefix(at + 1);
  return std::string(rest);
}

}  // namespace sluice::http
