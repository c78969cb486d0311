#pragma once
// HTML parsing with gumbo (a real HTML5 parser) and text normalisation for comparisons.
#include <cstddef>
#include <string>
#include <string_view>

#include "probes/web/web.hpp"

namespace edusight::web {

struct ParseLimits {
  std::size_t max_links = 2000;
  std::size_t max_text = 512 * 1024;  // bytes of visible text kept before normalisation
  std::size_t max_depth = 256;        // nesting kept (gumbo is quadratic in depth)
};

// Title, visible text (normalised) and links resolved against `base_url` (or <base href>).
// Never throws; garbage in gives a best-effort Page.
Page parse_html(std::string_view body, std::string_view base_url, ParseLimits limits = {});

// Lower-cases ASCII, collapses Unicode whitespace to one space (trimmed) and strips tokens that
// change between two fetches of the same page: UUIDs, hex runs >= 16, base64-like runs >= 20
// (nonces, CSRF tokens, __VIEWSTATE), digit runs >= 6 (timestamps), times and dates.
std::string normalise_text(std::string_view text);

// `ref` resolved against `base`: an absolute http(s) URL without fragment, or "" when it is
// not one (javascript:, mailto:, unparsable). Tolerates spaces and non-ASCII in `ref`.
std::string resolve_link(std::string_view base, std::string_view ref);

}  // namespace edusight::web
