#include "agent/transforms/fused_json_line.h"

#include <array>

#include "core/util/utf8.h"

namespace sluice {

bool FusedJsonLine::Fits(const std::string& target, FieldTokens& tokens) {
  const std::vector<JsonPath>& fields = tokens.fields();
  if (fields.empty() || fields.size() > kMaxFields) return false;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (fields[i].size() != 2 || fields[i][0] != target) return false;
    for (size_t j = 0; j < i; ++j) {
      // A key twice: the second would tokenize the first's token.
      if (fields[j][1] == fields[i][1]) return false;
    }
  }
  return true;
}

FusedJsonLine::FusedJsonLine(const std::string& target, FieldTokens& tokens) : tokens_(tokens) {
  member_ = ",\"";
  AppendJsonEscaped(member_, target);
  member_ += "\":";
  for (const JsonPath& f : tokens.fields()) keys_.push_back(f[1]);
  made_.resize(keys_.size());
}

bool FusedJsonLine::Write(std::string_view ts_json, std::string_view envelope_rest, std::string_view line,
                          std::string& out) {
  // As the parse transform reads a msg: trimmed (JsonDoc::SetParsed). Line
  // breaks between tokens would become spaces where JsonDoc copies text.
  const std::string_view text = TrimJson(line);
  if (HasLineBreaks(text)) return false;
  // As JsonParsers::Reset does: a rare huge line's index does not keep its
  // memory for the rest of the run.
  if (nodes_.capacity() > kMaxKeptNodes) std::vector<JsonNode>().swap(nodes_);
  padded_.assign(text);
  padded_.append(JsonIndexer::kPadding, '\0');
  std::string_view error;
  if (!indexer_.Index(std::string_view(padded_.data(), text.size()), nodes_, error)) return false;
  const JsonNode* root = nodes_.data();
  if (root->type != JsonType::kObject) return false;

  // Each field's first member, as Find reads it.
  std::array<const JsonNode*, kMaxFields> first{};
  const JsonNode* c = root->first_child();
  for (uint32_t m = 0; m < root->count; ++m, c = c->next_sibling()) {
    for (size_t j = 0; j < keys_.size(); ++j) {
      if (first[j] == nullptr && c->key == keys_[j]) first[j] = c;
    }
  }
  uint64_t tokenized = 0;
  std::array<bool, kMaxFields> set{};
  for (size_t j = 0; j < keys_.size(); ++j) {
    const JsonNode* v = first[j];
    if (v == nullptr || v->type == JsonType::kNull) continue;
    // A container's text as Find renders it is JsonDoc's to make.
    if (v->type == JsonType::kObject || v->type == JsonType::kArray) return false;
    made_[j].clear();
    if (!tokens_.AppendToken(j, v->type == JsonType::kString ? v->str : v->text, made_[j])) return false;
    set[j] = true;
    ++tokenized;
  }

  out += "{\"ts\":";
  out += ts_json;
  out += envelope_rest;
  out += member_;
  if (tokenized == 0) {
    out += text;  // JsonDoc writes a parsed value no edit reached as it was written
  } else {
    // JsonDoc's object with edits below it: '{', the runs of members no edit
    // touches copied as written (separators and all), each edited member as
    // its key as written, ':' and the new value, joined by ','; '}'.
    out += '{';
    bool sep = false;
    const char* run_begin = nullptr;
    const char* run_end = nullptr;
    const auto flush_run = [&] {
      if (run_begin == nullptr) return;
      if (sep) out += ',';
      sep = true;
      out.append(run_begin, static_cast<size_t>(run_end - run_begin));
      run_begin = nullptr;
    };
    c = root->first_child();
    for (uint32_t m = 0; m < root->count; ++m, c = c->next_sibling()) {
      size_t j = 0;
      while (j < keys_.size() && !(set[j] && c->key == keys_[j])) ++j;
      if (j == keys_.size()) {
        if (run_begin == nullptr) run_begin = c->key_raw.data();
        run_end = c->text.data() + c->text.size();
        continue;
      }
      flush_run();
      if (sep) out += ',';
      sep = true;
      out += c->key_raw;
      out += ':';
      out += made_[j];
    }
    flush_run();
    out += '}';
  }
  out += '}';
  tokens_.Tokenized(tokenized);
  return true;
}

}  // namespace sluice
