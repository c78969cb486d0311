#include "probes/web/similarity.hpp"

#include <algorithm>
#include <cstdint>
#include <vector>

#include "probes/web/utf8.hpp"

namespace edusight::web {
namespace {

constexpr std::uint64_t kFnvOffset = 0xcbf29ce484222325ULL;
constexpr std::uint64_t kFnvPrime = 0x100000001b3ULL;

// splitmix64 finaliser: spreads FNV's weak low bits before combining.
std::uint64_t mix(std::uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  x ^= x >> 31;
  return x;
}

bool ascii_alnum(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// Token hashes in order.
std::vector<std::uint64_t> tokens(std::string_view s) {
  std::vector<std::uint64_t> out;
  std::uint64_t h = kFnvOffset;
  bool in_word = false;
  auto flush = [&] {
    if (in_word) out.push_back(mix(h));
    in_word = false;
    h = kFnvOffset;
  };
  for (std::size_t i = 0; i < s.size();) {  // advances by >= 1 each time
    const auto d = utf8::decode(s, i);
    const char32_t c = d.cp;
    bool word_char = false;
    if (c < 0x80) {
      word_char = ascii_alnum(static_cast<unsigned char>(c));
    } else if (utf8::is_cjk(c)) {
      flush();
      std::uint64_t one = kFnvOffset;
      for (std::size_t k = 0; k < d.len; ++k) {
        one = (one ^ static_cast<unsigned char>(s[i + k])) * kFnvPrime;
      }
      out.push_back(mix(one));
      i += d.len;
      continue;
    } else {
      word_char = !utf8::is_space(c) && !utf8::is_punct(c) && !utf8::is_invisible(c);
    }
    if (word_char) {
      in_word = true;
      for (std::size_t k = 0; k < d.len; ++k) {
        auto b = static_cast<unsigned char>(s[i + k]);
        if (b >= 'A' && b <= 'Z') b = static_cast<unsigned char>(b - 'A' + 'a');
        h = (h ^ b) * kFnvPrime;
      }
    } else {
      flush();
    }
    i += d.len;
  }
  flush();
  return out;
}

// Sorted 64-bit hashes of k-token shingles (k = 3, or fewer for very short texts).
std::vector<std::uint64_t> shingles(std::string_view s) {
  const auto t = tokens(s);
  std::vector<std::uint64_t> out;
  if (t.empty()) return out;
  const std::size_t k = std::min<std::size_t>(3, t.size());
  out.reserve(t.size() - k + 1);
  for (std::size_t i = 0; i + k <= t.size(); ++i) {
    std::uint64_t h = 0x9e3779b97f4a7c15ULL * k;
    for (std::size_t j = 0; j < k; ++j) h = mix(h ^ (t[i + j] + 0x9e3779b97f4a7c15ULL * (j + 1)));
    out.push_back(h);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

double text_similarity(std::string_view a, std::string_view b) {
  const auto sa = shingles(a);
  const auto sb = shingles(b);
  if (sa.empty() && sb.empty()) return 1.0;
  if (sa.empty() || sb.empty()) return 0.0;
  // Merge the two sorted multisets: runs of equal hashes give the per-shingle counts.
  std::size_t i = 0, j = 0, inter = 0, uni = 0;
  while (i < sa.size() || j < sb.size()) {  // each step consumes at least one element
    std::uint64_t v;
    if (j == sb.size() || (i < sa.size() && sa[i] < sb[j])) {
      v = sa[i];
    } else {
      v = sb[j];
    }
    std::size_t ca = 0, cb = 0;
    while (i < sa.size() && sa[i] == v) ++i, ++ca;
    while (j < sb.size() && sb[j] == v) ++j, ++cb;
    inter += std::min(ca, cb);
    uni += std::max(ca, cb);
  }
  return uni == 0 ? 1.0 : static_cast<double>(inter) / static_cast<double>(uni);
}

}  // namespace edusight::web
