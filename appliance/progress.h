// Progress of export, verify and import for people and programs. The
// commands report {"event": "plan" | "object" | "changed" | "done", ...}
// objects (with "bytes" in the plan and "bytes_done" on each object); this
// prints them as JSON Lines (--progress=json, on stdout) or as one status line
// on a terminal with the rate and ETA, redrawn at most 5 times a second.
#pragma once

#include <cstdio>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

namespace sluice::appliance {

using ProgressFn = std::function<void(const nlohmann::json&)>;

// mode: "json", "auto" (the bar when stderr is a terminal), "none". Empty when nothing is to be printed.
ProgressFn MakeProgress(const std::string& mode, const std::string& verb);

}  // namespace sluice::appliance
