// Payment card numbers for the redact transform's "card" pattern: the Luhn
// check, and the choice of which digits of a run of digit groups are a card.
// See builtin_patterns.h for what counts as a card number and why.
#pragma once

#include <string_view>
#include <vector>

#include "core/util/pcre_regex.h"

namespace sluice {

// True when the digits of `text` (other bytes are skipped) pass the Luhn check.
bool LuhnValid(std::string_view text);

// `run` is a run of digit groups separated by single spaces or dashes that no
// digit group touches on either side. Appends the spans of its card numbers:
// windows of whole groups of at least 3 digits each, with 13-19 digits in
// all, passing the Luhn check; leftmost first, the longest at each start.
// Linear in the run's length.
void RefineCardNumbers(std::string_view text, PcreSpan run, std::vector<PcreSpan>& spans);

}  // namespace sluice
