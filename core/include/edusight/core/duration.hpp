#pragma once
// The one duration syntax of every configuration and flag: a whole number and a unit,
// "500ms", "30s", "5m", "2h", "1d".
#include <chrono>
#include <optional>
#include <string_view>

namespace edusight {

// nullopt when `text` (surrounding blanks ignored) is not such a duration or exceeds ten
// years (surely a typo). A bare number is seconds only when `bare_number_is_seconds`.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text,
                                                        bool bare_number_is_seconds = false);

}  // namespace edusight
