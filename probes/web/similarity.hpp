#pragma once
// How alike two page texts are, for the IPv4-vs-IPv6 content comparison.
#include <string_view>

namespace edusight::web {

// Weighted Jaccard similarity of 3-token shingles, in [0, 1].
// Tokens: runs of ASCII letters/digits (and of other non-CJK letters); each CJK character is a
// token of its own (Chinese has no spaces). Shingles are hashed to 64 bits and counted as a
// multiset; the result is sum(min(count_a, count_b)) / sum(max(count_a, count_b)).
// Texts shorter than 3 tokens use shorter shingles. Two empty texts are identical (1.0).
// Callers pass normalised text (normalise_text / Page::text) so dynamic tokens do not count.
double text_similarity(std::string_view a, std::string_view b);

}  // namespace edusight::web
