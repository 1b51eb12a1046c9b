#include "agent/transforms/schema/schema_transform.h"

#include <map>
#include <mutex>
#include <set>

#include "agent/transforms/transform_options.h"
#include "core/util/utf8.h"
#include "protocols/mqtt/mqtt_topic.h"

namespace sluice {
namespace {

const JsonPath kSchemaPayload{"payload"};
const JsonPath kSchemaFields{"fields"};

// A shape: field path -> type name.
using Shape = std::map<std::string, std::string>;

uint64_t Fnv1a(std::string_view s, uint64_t h = 14695981039346656037ULL) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

// Order-independent (a sum of each field's hash), so a publisher that writes
// the same keys in another order has the same shape.
uint64_t ShapeHash(const Shape& shape) {
  uint64_t sum = 0;
  for (const auto& [path, type] : shape) sum += Fnv1a(type, Fnv1a(path + '\0'));
  return sum;
}

std::string EncodeShape(const Shape& shape) {
  std::string out;
  for (const auto& [path, type] : shape) out += path + '\t' + type + '\n';
  return out;
}

Shape DecodeShape(std::string_view text) {
  Shape shape;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t nl = std::min(text.find('\n', pos), text.size());
    const std::string_view line = text.substr(pos, nl - pos);
    const size_t tab = line.find('\t');
    if (tab != std::string_view::npos) shape.emplace(line.substr(0, tab), line.substr(tab + 1));
    pos = nl + 1;
  }
  return shape;
}

struct KnownShape {
  bool seen = false;
  uint64_t hash = 0;
  Shape shape;
};

class SchemaState {
 public:
  SchemaState(std::string name, Counter* added, Counter* removed, Counter* changed)
      : name_(std::move(name)), added_(added), removed_(removed), changed_(changed) {}

  std::string CheckpointKey(const std::string& filter) const { return "schema/" + name_ + "/" + filter; }

  void Restore(std::string_view source, const std::map<std::string, std::string>& checkpoints) {
    const std::string prefix = "schema/" + name_ + "/";
    std::lock_guard lock(mu_);
    for (const auto& [key, value] : checkpoints) {
      if (key.rfind(prefix, 0) != 0) continue;
      KnownShape k;
      k.seen = true;
      k.shape = DecodeShape(value);
      k.hash = ShapeHash(k.shape);
      known_[std::string(source) + '\0' + key.substr(prefix.size())] = std::move(k);
    }
  }

  // Compares and records; returns the event's members when the shape changed.
  std::optional<std::string> Observe(const TransformRecord& r, const std::string& filter, const std::string& topic,
                                     Shape shape, uint64_t hash, TransformOutput& out) {
    std::lock_guard lock(mu_);
    KnownShape& known = known_[std::string(r.source) + '\0' + filter];
    const bool first = !known.seen;
    if (!first && known.hash == hash) return std::nullopt;
    std::optional<std::string> event;
    if (!first) {
      std::string added, removed, changed;
      uint64_t n_added = 0, n_removed = 0, n_changed = 0;
      for (const auto& [path, type] : shape) {
        auto it = known.shape.find(path);
        if (it == known.shape.end()) {
          added += std::string(added.empty() ? "" : ",") + R"({"field":)";
          AppendJsonText(added, path);
          added += R"(,"type":")" + type + "\"}";
          ++n_added;
        } else if (it->second != type) {
          changed += std::string(changed.empty() ? "" : ",") + R"({"field":)";
          AppendJsonText(changed, path);
          changed += R"(,"from":")" + it->second + R"(","to":")" + type + "\"}";
          ++n_changed;
        }
      }
      for (const auto& [path, type] : known.shape) {
        if (shape.count(path) == 0) {
          removed += std::string(removed.empty() ? "" : ",") + R"({"field":)";
          AppendJsonText(removed, path);
          removed += R"(,"type":")" + type + "\"}";
          ++n_removed;
        }
      }
      if (added_ != nullptr) added_->Inc(n_added);
      if (removed_ != nullptr) removed_->Inc(n_removed);
      if (changed_ != nullptr) changed_->Inc(n_changed);
      std::string e = R"("event":"schema_change","transform":)";
      AppendJsonText(e, name_);
      e += R"(,"source":)";
      AppendJsonText(e, r.source);
      if (!topic.empty()) {
        e += R"(,"origin":)";
        AppendJsonText(e, topic);
      }
      if (!filter.empty()) {
        e += R"(,"filter":)";
        AppendJsonText(e, filter);
      }
      e += R"(,"added":[)" + added + R"(],"removed":[)" + removed + R"(],"changed":[)" + changed + "]";
      event = std::move(e);
    }
    known.seen = true;
    known.hash = hash;
    known.shape = std::move(shape);
    out.Checkpoint(CheckpointKey(filter), EncodeShape(known.shape));
    return event;
  }

 private:
  const std::string name_;
  Counter* added_;
  Counter* removed_;
  Counter* changed_;
  std::mutex mu_;
  std::map<std::string, KnownShape> known_;  // source \0 filter -> last shape
};

class SchemaTransform final : public Transform {
 public:
  SchemaTransform(const SchemaConfig& config, SchemaState& state) : config_(config), state_(state) {}

  bool Apply(TransformRecord& r, TransformOutput& out) override {
    const JsonPath* field = config_.field ? &*config_.field : &kSchemaPayload;
    std::optional<JsonType> type = r.doc.TypeAt(*field);
    if (!config_.field && !type) {
      field = &kSchemaFields;
      type = r.doc.TypeAt(*field);
    }
    if (type != JsonType::kObject) return true;  // no structured data to watch
    std::string origin = RecordOrigin(r);
    std::string filter;
    for (const std::string& f : config_.topics) {
      if (TopicMatchesFilter(f, origin)) {
        filter = f;
        break;
      }
    }
    Shape shape;
    const size_t strip = JsonPathString(*field).size() + 1;
    r.doc.ForEachField(*field, [&](const JsonPath& path, JsonType t) {
      shape.emplace(JsonPathString(path).substr(strip), std::string(JsonTypeName(t)));
    });
    const uint64_t hash = ShapeHash(shape);
    if (std::optional<std::string> event = state_.Observe(r, filter, origin, std::move(shape), hash, out)) {
      out.Event(r.ts_ms, *event);
    }
    return true;
  }

 private:
  const SchemaConfig config_;
  SchemaState& state_;
};

class SchemaFactory final : public TransformFactory {
 public:
  SchemaFactory(SchemaConfig config, const TransformContext& ctx)
      : config_(std::move(config)),
        state_(ctx.name, Change(ctx, "added"), Change(ctx, "removed"), Change(ctx, "type")) {}
  std::unique_ptr<Transform> NewInstance() override { return std::make_unique<SchemaTransform>(config_, state_); }
  bool ordered() const override { return true; }
  void Restore(std::string_view source, const std::map<std::string, std::string>& checkpoints) override {
    state_.Restore(source, checkpoints);
  }

 private:
  static Counter* Change(const TransformContext& ctx, const std::string& change) {
    if (ctx.metrics == nullptr) return nullptr;
    return &ctx.metrics->GetCounter("sluice_transform_schema_changes_total",
                                    "Fields that appeared, vanished or changed type",
                                    {{"transform", ctx.name}, {"change", change}});
  }
  SchemaConfig config_;
  SchemaState state_;
};

}  // namespace

SchemaConfig ParseSchemaConfig(TableReader& r) {
  SchemaConfig c;
  c.field = OptionalFieldPath(r, "field", "the JSON watched (default: payload, else fields)");
  c.topics = TopicFilters(r, "MQTT topic filters, each with a shape of its own (default: one per source)");
  return c;
}

TransformBuilder MakeSchemaTransform(SchemaConfig config) { return FactoryBuilder<SchemaFactory>(std::move(config)); }

}  // namespace sluice
