#include "edusight/core/duration.hpp"

#include <charconv>

namespace edusight {

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text,
                                                        bool bare_number_is_seconds) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  std::size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  long long n = 0;
  const auto [p, ec] = std::from_chars(text.data(), text.data() + digits, n);
  if (digits == 0 || ec != std::errc{} || p != text.data() + digits) return std::nullopt;
  const std::string_view unit = text.substr(digits);
  long long factor = 0;
  if (unit == "ms") factor = 1;
  if (unit == "s" || (unit.empty() && bare_number_is_seconds)) factor = 1000;
  if (unit == "m") factor = 60'000;
  if (unit == "h") factor = 3'600'000;
  if (unit == "d") factor = 86'400'000;
  constexpr long long kMax = 10LL * 365 * 24 * 3600 * 1000;
  if (factor == 0 || n > kMax / factor) return std::nullopt;
  return std::chrono::milliseconds(n * factor);
}

}  // namespace edusight
