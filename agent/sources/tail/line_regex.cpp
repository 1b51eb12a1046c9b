#define PCRE2_CODE_UNIT_WIDTH 8
#include "agent/sources/tail/line_regex.h"

#include <pcre2.h>

namespace sluice {

namespace {

// Bounds the work of one match: a pathological pattern on a 1 MiB line fails
// the match instead of stalling the source.
constexpr uint32_t kMatchLimit = 10'000'000;

std::string Pcre2Error(int code) {
  PCRE2_UCHAR buf[256];
  if (pcre2_get_error_message(code, buf, sizeof buf) < 0) return "PCRE2 error " + std::to_string(code);
  return std::string(reinterpret_cast<const char*>(buf));
}

}  // namespace

struct LineRegex::Impl {
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
  std::unique_ptr<pcre2_code, CodeFree> code;
  std::unique_ptr<pcre2_match_data, DataFree> data;
  std::unique_ptr<pcre2_match_context, ContextFree> context;
  std::unique_ptr<pcre2_jit_stack, StackFree> jit_stack;
};

LineRegex::LineRegex(std::string pattern, std::unique_ptr<Impl> impl, bool jit)
    : pattern_(std::move(pattern)), impl_(std::move(impl)), jit_(jit) {}
LineRegex::LineRegex(LineRegex&&) noexcept = default;
LineRegex& LineRegex::operator=(LineRegex&&) noexcept = default;
LineRegex::~LineRegex() = default;

Result<LineRegex> LineRegex::Compile(std::string_view pattern) {
  int err = 0;
  PCRE2_SIZE err_offset = 0;
  auto impl = std::make_unique<Impl>();
  impl->code.reset(pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                 PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &err, &err_offset, nullptr));
  if (!impl->code) {
    return Status::InvalidArgument("invalid regular expression at offset " + std::to_string(err_offset) + ": " +
                                   Pcre2Error(err));
  }
  // JIT is an optimisation: without it (unsupported CPU, SELinux) the
  // interpreter gives the same answers.
  const bool jit = pcre2_jit_compile(impl->code.get(), PCRE2_JIT_COMPLETE) == 0;
  impl->data.reset(pcre2_match_data_create_from_pattern(impl->code.get(), nullptr));
  impl->context.reset(pcre2_match_context_create(nullptr));
  if (!impl->data || !impl->context) return Status::Internal("out of memory compiling a regular expression");
  pcre2_set_match_limit(impl->context.get(), kMatchLimit);
  if (jit) {
    // The default 32 KiB JIT stack fails on backtracking over long lines.
    impl->jit_stack.reset(pcre2_jit_stack_create(32 << 10, 1 << 20, nullptr));
    if (impl->jit_stack) pcre2_jit_stack_assign(impl->context.get(), nullptr, impl->jit_stack.get());
  }
  return LineRegex(std::string(pattern), std::move(impl), jit);
}

bool LineRegex::Search(std::string_view subject) {
  // PCRE2 rejects a null subject even when its length is 0.
  const auto* s = reinterpret_cast<PCRE2_SPTR>(subject.data() != nullptr ? subject.data() : "");
  const int rc = jit_ ? pcre2_jit_match(impl_->code.get(), s, subject.size(), 0, 0, impl_->data.get(),
                                        impl_->context.get())
                      : pcre2_match(impl_->code.get(), s, subject.size(), 0, 0, impl_->data.get(),
                                    impl_->context.get());
  return rc >= 0;
}

}  // namespace sluice
