// Relative paths inside an endpoint's root ("dir/sub/file", '/'-separated,
// no leading slash): the pieces the planner, the copier, the local endpoint
// and the drop lander all take apart the same way.
#pragma once

#include <string>
#include <string_view>

namespace sluice::transfer {

// "a/b/c" -> "a/b"; "c" -> "".
std::string ParentOf(std::string_view path);
// "a/b/c" -> "c"; "c" -> "c".
std::string NameOf(std::string_view path);
// The same as views into `path` (valid while it is).
std::string_view ParentView(std::string_view path);
std::string_view NameView(std::string_view path);

}  // namespace sluice::transfer
