#include "protocols/mqtt/mqtt_connection_config.h"

#include <algorithm>

namespace sluice {
namespace {

// mqtt://host[:port] or mqtts://host[:port]; no path, no credentials (those
// come from username/password_file so they are never part of a logged URL).
void ParseUrl(TableReader& r, const std::string& url, MqttConnectionConfig& c) {
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

void ReadMqttUrl(TableReader& r, MqttConnectionConfig& c, std::string_view doc) {
  c.url = r.RequiredString("url", doc);
  ParseUrl(r, c.url, c);
}

void ReadMqttProtocol(TableReader& r, MqttConnectionConfig& c) {
  const std::string protocol = r.Enum("protocol", "3.1.1", {"3.1.1", "5"}, "MQTT protocol version");
  c.protocol = protocol == "5" ? 5 : 4;
}

void ReadMqttLogin(TableReader& r, MqttConnectionConfig& c) {
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

  TableReader tls = r.Table("tls");
  c.tls.ca = tls.OptionalString("ca", "CA certificates (PEM) to verify the broker; default: the system's");
  c.tls.cert = tls.OptionalString("cert", "client certificate (PEM) for mutual TLS");
  c.tls.key = tls.OptionalString("key", "the client certificate's private key (PEM)");
  c.tls.key_password_file = tls.OptionalString("key_password_file", "file holding the private key's passphrase");
  c.tls.verify_hostname = tls.Bool("verify_hostname", true, "check that the broker's certificate names the URL's host");
  c.tls.alpn = tls.Strings("alpn", {}, "ALPN protocols to offer (AWS IoT Core on port 443: x-amzn-mqtt-ca)");
  if (c.tls.cert.has_value() != c.tls.key.has_value())
    tls.Fail(c.tls.cert ? "key" : "cert", "a client certificate needs both cert and key");
  const bool any_tls = c.tls.ca || c.tls.cert || c.tls.key_password_file || !c.tls.alpn.empty();
  if (any_tls && !c.tls.enabled) tls.Fail("", "TLS settings need an mqtts:// url");
  tls.Finish();
}

}  // namespace sluice
