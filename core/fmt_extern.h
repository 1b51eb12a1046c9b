// Declares that fmt's formatting engine, detail::vformat_to<char>, is already
// compiled into libfmt, so no translation unit compiles its own copy.
//
// Why: fmt 9 does not declare it extern (fmt 10 does, upstream). spdlog calls it
// from every log statement, so each .cpp that logs instantiated the whole engine
// (float writers, Dragon4, the replacement-field parser) and optimized it again:
// about half of a typical file's compile time at -O2 (26.7 s -> 13.5 s for
// agent/buffer/sqlite_buffer.cpp). libfmt.so exports the symbol, so the linker
// resolves the declaration. Force-included into every C++ file by the top
// CMakeLists.txt; a no-op with any other fmt major version.
#pragma once

#include <fmt/format.h>

#if FMT_VERSION >= 90000 && FMT_VERSION < 100000 && !defined(FMT_HEADER_ONLY)
FMT_BEGIN_NAMESPACE
namespace detail {
extern template FMT_API void vformat_to<char>(buffer<char>&, basic_string_view<char>,
                                              basic_format_args<FMT_BUFFER_CONTEXT(type_identity_t<char>)>,
                                              locale_ref);
}  // namespace detail
FMT_END_NAMESPACE
#endif
