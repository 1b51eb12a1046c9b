#define PCRE2_CODE_UNIT_WIDTH 8
#include "core/util/pcre_regex.h"

#include <pcre2.h>

#include <algorithm>

#include "core/util/utf8.h"

namespace sluice {

namespace {

// Bounds the work of one search: a pathological pattern on a 1 MiB line fails
// the match instead of stalling the pipeline.
constexpr uint32_t kPcreMatchLimit = 10'000'000;

constexpr uint32_t kPcreCompileOptions = PCRE2_UTF | PCRE2_NEVER_BACKSLASH_C;

std::string PcreErrorText(int code) {
  PCRE2_UCHAR buf[256];
  if (pcre2_get_error_message(code, buf, sizeof buf) < 0) return "PCRE2 error " + std::to_string(code);
  return std::string(reinterpret_cast<const char*>(buf));
}

bool IsUtf8Continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

}  // namespace

PcreSubject::PcreSubject(std::string_view text) : text_(text), valid_utf8_(IsValidUtf8(text)) {}

struct PcreRegex::Impl {
  struct CodeFree {
    void operator()(pcre2_code* c) const { pcre2_code_free(c); }
  };
  struct DataFree {
    void operator()(pcre2_match_data* d) const { pcre2_match_data_free(d); }
  };
  struct StackFree {
    void operator()(pcre2_jit_stack* s) const { pcre2_jit_stack_free(s); }
  };
  struct ContextFree {
    void operator()(pcre2_match_context* c) const { pcre2_match_context_free(c); }
  };
  std::unique_ptr<pcre2_code, CodeFree> code;          // for valid UTF-8, JIT-compiled when possible
  std::unique_ptr<pcre2_code, CodeFree> invalid_code;  // PCRE2_MATCH_INVALID_UTF, interpreted
  std::unique_ptr<pcre2_match_data, DataFree> data;
  std::unique_ptr<pcre2_match_context, ContextFree> context;
  std::unique_ptr<pcre2_jit_stack, StackFree> jit_stack;
};

PcreRegex::PcreRegex(std::string pattern, std::unique_ptr<Impl> impl, bool jit)
    : pattern_(std::move(pattern)), impl_(std::move(impl)), jit_(jit) {
  uint32_t captures = 0;
  pcre2_pattern_info(impl_->code.get(), PCRE2_INFO_CAPTURECOUNT, &captures);
  group_count_ = captures;

  // The name table is sorted by name; each entry is the group number (2
  // bytes, most significant first) and the name, NUL-padded to entry_size.
  uint32_t count = 0;
  uint32_t entry_size = 0;
  PCRE2_SPTR table = nullptr;
  pcre2_pattern_info(impl_->code.get(), PCRE2_INFO_NAMECOUNT, &count);
  pcre2_pattern_info(impl_->code.get(), PCRE2_INFO_NAMEENTRYSIZE, &entry_size);
  pcre2_pattern_info(impl_->code.get(), PCRE2_INFO_NAMETABLE, &table);
  for (uint32_t i = 0; i < count; ++i) {
    PCRE2_SPTR e = table + static_cast<size_t>(i) * entry_size;
    PcreNamedGroup g;
    g.index = (static_cast<size_t>(e[0]) << 8) | e[1];
    g.name = reinterpret_cast<const char*>(e + 2);
    named_groups_.push_back(std::move(g));
  }
  std::sort(named_groups_.begin(), named_groups_.end(),
            [](const PcreNamedGroup& a, const PcreNamedGroup& b) { return a.index < b.index; });
}
PcreRegex::PcreRegex(PcreRegex&&) noexcept = default;
PcreRegex& PcreRegex::operator=(PcreRegex&&) noexcept = default;
PcreRegex::~PcreRegex() = default;

Result<PcreRegex> PcreRegex::Compile(std::string_view pattern, Jit jit_mode) {
  int err = 0;
  PCRE2_SIZE err_offset = 0;
  auto impl = std::make_unique<Impl>();
  // PCRE2 rejects a null pattern even when its length is 0.
  const auto* p = reinterpret_cast<PCRE2_SPTR>(pattern.data() != nullptr ? pattern.data() : "");
  impl->code.reset(pcre2_compile(p, pattern.size(), kPcreCompileOptions, &err, &err_offset, nullptr));
  if (!impl->code) {
    return Status::InvalidArgument("invalid regular expression at offset " + std::to_string(err_offset) + ": " +
                                   PcreErrorText(err));
  }
  impl->invalid_code.reset(
      pcre2_compile(p, pattern.size(), kPcreCompileOptions | PCRE2_MATCH_INVALID_UTF, &err, &err_offset, nullptr));
  if (!impl->invalid_code) {
    return Status::InvalidArgument("invalid regular expression at offset " + std::to_string(err_offset) + ": " +
                                   PcreErrorText(err));
  }
  // JIT is an optimisation: without it (unsupported CPU, SELinux) the
  // interpreter gives the same answers.
  const bool jit = jit_mode == Jit::kIfAvailable && pcre2_jit_compile(impl->code.get(), PCRE2_JIT_COMPLETE) == 0;
  impl->data.reset(pcre2_match_data_create_from_pattern(impl->code.get(), nullptr));
  impl->context.reset(pcre2_match_context_create(nullptr));
  if (!impl->data || !impl->context) return Status::Internal("out of memory compiling a regular expression");
  pcre2_set_match_limit(impl->context.get(), kPcreMatchLimit);
  if (jit) {
    // The default 32 KiB JIT stack fails on backtracking over long lines.
    impl->jit_stack.reset(pcre2_jit_stack_create(32 << 10, 1 << 20, nullptr));
    if (impl->jit_stack) pcre2_jit_stack_assign(impl->context.get(), nullptr, impl->jit_stack.get());
  }
  return PcreRegex(std::string(pattern), std::move(impl), jit);
}

std::optional<PcreSpan> PcreRegex::Find(const PcreSubject& subject, size_t start, Empty empty) {
  const std::string_view text = subject.text();
  matched_groups_ = 0;
  limit_hit_ = false;
  subject_size_ = text.size();
  // Neither pcre2_jit_match nor a match without the UTF check checks the
  // offset, which must be in the subject and, for valid UTF-8, start a character.
  if (start > text.size()) return std::nullopt;
  // PCRE2 rejects a null subject even when its length is 0.
  const auto* s = reinterpret_cast<PCRE2_SPTR>(text.data() != nullptr ? text.data() : "");
  uint32_t options = empty == Empty::kSkip ? PCRE2_NOTEMPTY : 0;
  int rc;
  if (subject.valid_utf8()) {
    while (start < text.size() && IsUtf8Continuation(text[start])) ++start;
    options |= PCRE2_NO_UTF_CHECK;  // checked once by PcreSubject, not on every call
    rc = jit_ ? pcre2_jit_match(impl_->code.get(), s, text.size(), start, options, impl_->data.get(),
                                impl_->context.get())
              : pcre2_match(impl_->code.get(), s, text.size(), start, options, impl_->data.get(), impl_->context.get());
  } else {
    rc =
        pcre2_match(impl_->invalid_code.get(), s, text.size(), start, options, impl_->data.get(), impl_->context.get());
  }
  if (rc > 0) {
    matched_groups_ = static_cast<size_t>(rc);
  } else if (rc == 0) {
    // The ovector was too small; it never is, being sized from the pattern.
    matched_groups_ = pcre2_get_ovector_count(impl_->data.get());
  } else if (rc != PCRE2_ERROR_NOMATCH) {
    limit_hit_ = true;  // match, depth or heap limit, JIT stack: "no match", but known to be one
  }
  std::optional<PcreSpan> whole = Group(0);
  if (!whole) matched_groups_ = 0;
  return whole;
}

std::optional<PcreSpan> PcreRegex::Group(size_t i) const {
  if (i >= matched_groups_) return std::nullopt;
  const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(impl_->data.get());
  const PCRE2_SIZE b = ov[2 * i];
  const PCRE2_SIZE e = ov[2 * i + 1];
  // Unset groups are PCRE2_UNSET in both; \K in a lookahead could put a
  // start after the end, and PCRE2 refuses that pattern unless asked.
  if (b == PCRE2_UNSET || e == PCRE2_UNSET || b > e || e > subject_size_) return std::nullopt;
  return PcreSpan{b, e};
}

}  // namespace sluice
