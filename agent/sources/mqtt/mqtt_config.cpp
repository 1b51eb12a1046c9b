#include "agent/sources/mqtt/mqtt_config.h"

#include <algorithm>
#include <set>

namespace sluice {

std::string TopicFilterProblem(std::string_view filter) {
  if (filter.empty()) return "a topic filter cannot be empty";
  if (filter.size() > 65535) return "a topic filter is at most 65535 bytes";
  if (filter.find('\0') != std::string_view::npos) return "a topic filter cannot contain NUL";
  size_t level_start = 0;
  for (size_t i = 0; i <= filter.size(); ++i) {
    if (i < filter.size() && filter[i] != '/') continue;
    const std::string_view level = filter.substr(level_start, i - level_start);
    if (level.find('#') != std::string_view::npos) {
      if (level != "#") return "'#' must be a whole level: \"a/#\", not \"a#\"";
      if (i != filter.size()) return "'#' must be the last level";
    }
    if (level.find('+') != std::string_view::npos && level != "+")
      return "'+' must be a whole level: \"a/+/b\", not \"a+\"";
    level_start = i + 1;
  }
  return {};
}

namespace {

// mqtt://host[:port] or mqtts://host[:port]; no path, no credentials (those
// come from username/password_file so they are never part of a logged URL).
void ParseUrl(TableReader& r, const std::string& url, MqttConfig& c) {
  std::string rest;
  int default_port = 0;
  // tcp:// and ssl:// are Paho's spellings of the same; accepted so a URL
  // copied from a Paho-based tool works.
  if (url.rfind("mqtt://", 0) == 0 || url.rfind("tcp://", 0) == 0) {
    rest = url.substr(url.find("://") + 3);
    default_port = 1883;
  } else if (url.rfind("mqtts://", 0) == 0 || url.rfind("ssl://", 0) == 0) {
    rest = url.substr(url.find("://") + 3);
    default_port = 8883;
    c.tls.enabled = true;
  } else {
    r.Fail("url", "expected mqtt://host:port or mqtts://host:port, got \"" + url + "\"");
  }
  if (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.find('@') != std::string::npos)
    r.Fail("url", "credentials do not belong in the URL: use username and password_file or password_env");
  if (rest.find('/') != std::string::npos) r.Fail("url", "an MQTT URL has no path: \"" + url + "\"");
  std::string host = rest;
  int port = default_port;
  if (!rest.empty() && rest.front() == '[') {  // [ipv6]:port
    const size_t close = rest.find(']');
    if (close == std::string::npos) r.Fail("url", "unclosed '[' in \"" + url + "\"");
    host = rest.substr(1, close - 1);
    if (close + 1 < rest.size()) {
      if (rest[close + 1] != ':') r.Fail("url", "expected ':port' after ']' in \"" + url + "\"");
      rest = "x" + rest.substr(close + 1);  // reuse the port parsing below
    } else {
      rest.clear();
    }
  } else if (const size_t colon = rest.rfind(':'); colon != std::string::npos) {
    host = rest.substr(0, colon);
    rest = "x" + rest.substr(colon);
  } else {
    rest.clear();
  }
  if (const size_t colon = rest.find(':'); colon != std::string::npos) {
    const std::string digits = rest.substr(colon + 1);
    if (digits.empty() || digits.size() > 5 || !std::all_of(digits.begin(), digits.end(), ::isdigit) ||
        std::stoi(digits) < 1 || std::stoi(digits) > 65535)
      r.Fail("url", "bad port \"" + digits + "\" in \"" + url + "\"");
    port = std::stoi(digits);
  }
  if (host.empty()) r.Fail("url", "no host in \"" + url + "\"");
  c.host = host;
  const std::string bracketed = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  c.server_uri = std::string(c.tls.enabled ? "ssl://" : "tcp://") + bracketed + ":" + std::to_string(port);
}

}  // namespace

MqttConfig ParseMqttConfig(TableReader& r) {
  MqttConfig c;
  c.url = r.RequiredString("url", "broker: mqtt://host:port, or mqtts://host:port for TLS");
  ParseUrl(r, c.url, c);

  const std::vector<std::string> filters =
      r.RequiredStrings("topics", "topic filters to subscribe to; '+' matches one level, '#' the rest");
  if (filters.empty()) r.Fail("topics", "at least one topic filter is needed");
  const int qos = static_cast<int>(r.Int("qos", 1, 0, 2,
                                         "QoS of every subscription (0, 1 or 2); QoS 1 and 2 are acknowledged only "
                                         "after the message is committed to the buffer"));
  std::set<std::string> seen;
  for (const std::string& f : filters) {
    if (std::string problem = TopicFilterProblem(f); !problem.empty()) r.Fail("topics", problem + ": \"" + f + "\"");
    if (!seen.insert(f).second) r.Fail("topics", "topic filter \"" + f + "\" is listed twice");
    c.topics.push_back({f, qos, qos});
  }
  {
    TableReader per_topic = r.Table("topic_qos");
    for (const std::string& f : per_topic.Keys()) {
      auto it =
          std::find_if(c.topics.begin(), c.topics.end(), [&](const MqttSubscription& s) { return s.filter == f; });
      if (it == c.topics.end()) per_topic.Fail(f, "\"" + f + "\" is not one of the topics");
      it->requested_qos = static_cast<int>(per_topic.Int(f, qos, 0, 2, "QoS of this topic filter"));
    }
    per_topic.Finish();
  }
  // Paho sends PUBREC before the application sees a QoS 2 message (DESIGN.md
  // in this folder), so QoS 2 could not keep the ack-after-commit promise:
  // such topics are subscribed at QoS 1, which keeps it (at least once).
  for (MqttSubscription& s : c.topics) s.subscribed_qos = std::min(s.requested_qos, 1);

  const std::string protocol = r.Enum("protocol", "3.1.1", {"3.1.1", "5"}, "MQTT protocol version");
  c.protocol = protocol == "5" ? 5 : 4;
  c.client_id =
      r.String("client_id", "", "stable client id of the persistent session; empty: sluice-<host>-<source name>");
  if (c.client_id.size() > 65535) r.Fail("client_id", "at most 65535 bytes");
  c.clean_session = r.Bool(
      "clean_session", false,
      "start a new session on every connect; false keeps QoS 1 messages queued at the broker while the agent is down");
  c.session_expiry = std::chrono::duration_cast<std::chrono::seconds>(
      r.Duration("session_expiry", "7d", "MQTT 5: how long the broker keeps the session after a disconnect"));
  c.keepalive = std::chrono::duration_cast<std::chrono::seconds>(
      r.Duration("keepalive", "30s", "MQTT keep-alive interval", std::chrono::seconds(1)));
  c.connect_timeout = r.Duration("connect_timeout", "10s", "give up a connection attempt after this long",
                                 std::chrono::milliseconds(100));
  c.username = r.OptionalString("username", "user name for the broker (not secret)");
  c.password_file = r.OptionalString("password_file", "file holding the password (its first line)");
  c.password_env = r.OptionalString("password_env", "environment variable holding the password");
  if (c.password_file && c.password_env) r.Fail("password_env", "set password_file or password_env, not both");
  if (r.Has("password"))
    r.Fail("password", "a password is never written in the configuration: use password_file or password_env");

  {
    TableReader tls = r.Table("tls");
    c.tls.ca = tls.OptionalString("ca", "CA certificates (PEM) to verify the broker; default: the system's");
    c.tls.cert = tls.OptionalString("cert", "client certificate (PEM) for mutual TLS");
    c.tls.key = tls.OptionalString("key", "the client certificate's private key (PEM)");
    c.tls.key_password_file = tls.OptionalString("key_password_file", "file holding the private key's passphrase");
    c.tls.verify_hostname =
        tls.Bool("verify_hostname", true, "check that the broker's certificate names the URL's host");
    c.tls.alpn = tls.Strings("alpn", {}, "ALPN protocols to offer (AWS IoT Core on port 443: x-amzn-mqtt-ca)");
    if (c.tls.cert.has_value() != c.tls.key.has_value())
      tls.Fail(c.tls.cert ? "key" : "cert", "a client certificate needs both cert and key");
    const bool any_tls = c.tls.ca || c.tls.cert || c.tls.key_password_file || !c.tls.alpn.empty();
    if (any_tls && !c.tls.enabled) tls.Fail("", "TLS settings need an mqtts:// url");
    tls.Finish();
  }
  {
    TableReader rc = r.Table("reconnect");
    c.reconnect_initial = rc.Duration("initial", "1s", "first reconnect delay (exponential backoff, full jitter)",
                                      std::chrono::milliseconds(10));
    c.reconnect_max = rc.Duration("max", "60s", "longest reconnect delay", std::chrono::milliseconds(10));
    if (c.reconnect_max < c.reconnect_initial) rc.Fail("max", "must not be less than reconnect.initial");
    rc.Finish();
  }
  c.max_payload = r.Size("max_payload", "256KiB", 1, 256ULL << 20,
                         "messages with a larger payload are counted and handled as `oversize` says");
  const std::string oversize =
      r.Enum("oversize", "store", {"store", "drop", "split"},
             "an oversize message is stored whole, dropped (counted), or split into max_payload parts");
  c.oversize = oversize == "drop"    ? MqttConfig::Oversize::kDrop
               : oversize == "split" ? MqttConfig::Oversize::kSplit
                                     : MqttConfig::Oversize::kStore;
  c.batch_bytes = r.Size("batch_bytes", "1MiB", 1024, 256ULL << 20, "commit QoS 0 records once this many bytes wait");
  c.commit_interval = r.Duration("commit_interval", "1s", "commit QoS 0 records at most this long after the first",
                                 std::chrono::milliseconds(1));
  c.stop_grace = r.Duration("stop_grace", "5s",
                            "on stop, how long a message waits for buffer space before it is committed beyond "
                            "buffer_max (it is already received: see DESIGN.md)");
  return c;
}

}  // namespace sluice
