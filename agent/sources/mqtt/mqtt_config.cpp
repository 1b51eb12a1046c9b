#include "agent/sources/mqtt/mqtt_config.h"

#include <algorithm>
#include <set>

namespace sluice {

MqttConfig ParseMqttConfig(TableReader& r) {
  MqttConfig c;
  ReadMqttUrl(r, c, "broker: mqtt://host:port, or mqtts://host:port for TLS");

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

  ReadMqttProtocol(r, c);
  c.client_id =
      r.String("client_id", "", "stable client id of the persistent session; empty: sluice-<host>-<source name>");
  if (c.client_id.size() > 65535) r.Fail("client_id", "at most 65535 bytes");
  c.clean_session = r.Bool(
      "clean_session", false,
      "start a new session on every connect; false keeps QoS 1 messages queued at the broker while the agent is down");
  c.session_expiry = std::chrono::duration_cast<std::chrono::seconds>(
      r.Duration("session_expiry", "7d", "MQTT 5: how long the broker keeps the session after a disconnect"));
  ReadMqttLogin(r, c);
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
