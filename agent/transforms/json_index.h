// One JSON text indexed for the transforms: every value a node, in document
// order, with where it is in the text (a member's key and its value as
// written) and the unescaped bytes of keys and strings.
//
// Why: an edited record is written as its original text with the edited
// values spliced in, and simdjson's DOM keeps no source positions; finding
// the boundaries again at each write (stepping through the text in step with
// the DOM) was half of a write's cost. simdjson's On-Demand parser knows
// where each value is. It validates only what is read, so every value is
// read: a text is accepted exactly when the DOM parser accepts it (the unit
// tests compare the two, on malformed texts and on random mutations), with
// the DOM parser's depth limit. A document that is one scalar is read by the
// DOM parser: On-Demand does not check what follows a scalar at the root.
//
// Invariants:
//  - Nodes are in preorder: a node's subtree is itself and the `size - 1`
//    nodes after it; its first child is the next node, its next sibling the
//    node `size` after it.
//  - The views point into the text given to Index and into the indexer's
//    parser: valid until the indexer indexes another text (or dies), and as
//    long as the text.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

namespace sluice {

enum class JsonType : uint8_t { kNull, kBool, kNumber, kString, kArray, kObject };

struct JsonNode {
  std::string_view key_raw;  // a member's key as written, quotes included; empty for elements and the root
  std::string_view key;      // a member's key unescaped
  std::string_view text;     // the value as written, without the spaces around it
  std::string_view str;      // a string's unescaped UTF-8 bytes
  uint32_t size = 1;         // nodes in this subtree, itself included
  uint32_t count = 0;        // an object's members or an array's elements
  JsonType type = JsonType::kNull;
  // An array's elements have nodes here (they follow it). Else they were
  // only checked: a record's arrays (a sensor's readings) are seldom looked
  // into, and a node per number would cost several times the text. Index the
  // array's text with `elements` to reach them.
  bool elements_indexed = true;

  const JsonNode* first_child() const { return this + 1; }
  const JsonNode* next_sibling() const { return this + size; }
};

// Owns a simdjson parser, whose buffers are reused from text to text.
class JsonIndexer {
 public:
  JsonIndexer();
  ~JsonIndexer();
  JsonIndexer(const JsonIndexer&) = delete;
  JsonIndexer& operator=(const JsonIndexer&) = delete;

  // Indexes `text`, which must be followed in memory by kPadding readable
  // bytes (simdjson reads ahead), into `nodes` (cleared first; the root is
  // nodes[0]). On malformed JSON returns false and sets `error` to
  // simdjson's reason. Arrays' elements get no nodes (elements_indexed),
  // except the root's when `elements`.
  bool Index(std::string_view text, std::vector<JsonNode>& nodes, std::string_view& error, bool elements = false);

  static const size_t kPadding;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sluice
