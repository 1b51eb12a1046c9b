#include "agent/transforms/redact/text_redactor.h"

#include <algorithm>

#include "agent/transforms/redact/builtin_patterns.h"
#include "core/util/pcre_regex.h"
#include "core/util/utf8.h"

namespace sluice {

// One pattern's spans in one text, left to right.
struct TextRedactor::Matcher {
  Matcher(PcreRegex r, RedactRefine f, std::string m) : re(std::move(r)), refine(f), mask(std::move(m)) {}

  PcreRegex re;
  RedactRefine refine = nullptr;
  std::string mask;

  // The state of the current text.
  std::vector<PcreSpan> pending;  // spans found and not yet passed
  size_t next_pending = 0;
  size_t scanned = 0;  // the regex has been searched up to here
  bool done = false;   // no more candidates in this text
  std::optional<PcreSpan> next;

  void Start() {
    pending.clear();
    next_pending = 0;
    scanned = 0;
    done = false;
    next.reset();
  }

  // The first span that starts at or after `from` (which never decreases
  // within one text). A span found from an earlier point that starts at or
  // after `from` is the one a search from `from` would find: lookbehinds see
  // the whole text.
  std::optional<PcreSpan> Next(const PcreSubject& text, size_t from, uint64_t& limit_hits) {
    for (;;) {
      while (next_pending < pending.size() && pending[next_pending].begin < from) ++next_pending;
      if (next_pending < pending.size()) return pending[next_pending];
      if (done) return std::nullopt;
      pending.clear();
      next_pending = 0;
      const std::optional<PcreSpan> m = re.Find(text, std::max(from, scanned), PcreRegex::Empty::kSkip);
      if (!m) {
        if (re.limit_hit()) ++limit_hits;
        done = true;
        return std::nullopt;
      }
      scanned = m->end;  // > the search's start: the match is not empty
      if (refine != nullptr) {
        refine(text.text(), *m, pending);
      } else {
        pending.push_back(*m);
      }
    }
  }
};

TextRedactor::TextRedactor(std::vector<Matcher> matchers) : matchers_(std::move(matchers)) {}
TextRedactor::TextRedactor(TextRedactor&&) noexcept = default;
TextRedactor& TextRedactor::operator=(TextRedactor&&) noexcept = default;
TextRedactor::~TextRedactor() = default;

Result<TextRedactor> TextRedactor::Create(const std::vector<std::string>& patterns,
                                          const TextRedactorOptions& options) {
  if (patterns.empty()) return Status::InvalidArgument("patterns: at least one pattern is required");
  if (options.mask && !IsValidUtf8(*options.mask)) return Status::InvalidArgument("mask: not valid UTF-8");
  std::vector<Matcher> matchers;
  for (const std::string& p : patterns) {
    if (p.empty()) return Status::InvalidArgument("patterns: an empty pattern would match nothing");
    const BuiltinRedactPattern* builtin = FindBuiltinRedactPattern(p);
    Result<PcreRegex> re = PcreRegex::Compile(builtin != nullptr ? builtin->regex : std::string_view(p));
    if (!re.ok()) {
      // A built-in that does not compile is a bug that every test shows.
      std::string shown = "\"";
      if (IsValidUtf8(p)) {
        AppendJsonEscaped(shown, p);
      } else {
        shown += "(not UTF-8)";
      }
      shown += '"';
      return Status::InvalidArgument("pattern " + shown + ": " + re.status().message());
    }
    std::string mask =
        options.mask ? *options.mask : "[REDACTED:" + std::string(builtin != nullptr ? builtin->name : "regex") + "]";
    matchers.emplace_back(std::move(re).value(), builtin != nullptr ? builtin->refine : nullptr, std::move(mask));
  }
  return TextRedactor(std::move(matchers));
}

bool TextRedactor::Redact(std::string_view in, std::string& out) {
  const PcreSubject subject(in);
  for (Matcher& m : matchers_) {
    m.Start();
    m.next = m.Next(subject, 0, limit_hits_);
  }
  bool any = false;
  size_t pos = 0;  // `in` is copied or replaced up to here
  for (;;) {
    Matcher* best = nullptr;
    for (Matcher& m : matchers_) {
      if (m.next && m.next->begin < pos) m.next = m.Next(subject, pos, limit_hits_);
      if (!m.next) continue;
      if (best == nullptr || m.next->begin < best->next->begin ||
          (m.next->begin == best->next->begin && m.next->end > best->next->end)) {
        best = &m;
      }
    }
    if (best == nullptr) break;
    out.append(in.substr(pos, best->next->begin - pos));
    out += best->mask;
    pos = best->next->end;
    any = true;
  }
  if (!any) return false;
  out.append(in.substr(pos));
  return true;
}

}  // namespace sluice
