#include "edusight/core/ownership.hpp"

#include <libpsl.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <memory>

#include "edusight/core/names.hpp"

namespace edusight {
namespace {

std::uint64_t load_be64(const unsigned char* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// PrefixSet

PrefixSet::PrefixSet() {
  v4_.nodes.emplace_back();
  v4_.max_len = 32;
  v6_.nodes.emplace_back();
  v6_.max_len = 128;
}

namespace {

// Templates over the key only because PrefixSet::Key is private.
// The first `len` bits of k, the rest zero.
template <typename K>
K masked(K k, int len) {
  if (len <= 0) return K{};
  if (len < 64) {
    k.hi &= ~std::uint64_t{0} << (64 - len);
    k.lo = 0;
  } else if (len < 128) {
    k.lo &= len == 64 ? 0 : ~std::uint64_t{0} << (128 - len);
  }
  return k;
}

// How many leading bits a and b share (128 when equal).
template <typename K>
int common_bits(const K& a, const K& b) {
  if (const auto x = a.hi ^ b.hi; x != 0) return std::countl_zero(x);
  if (const auto y = a.lo ^ b.lo; y != 0) return 64 + std::countl_zero(y);
  return 128;
}

template <typename K>
int bit_at(const K& k, int i) {
  return i < 64 ? static_cast<int>((k.hi >> (63 - i)) & 1U)
                : static_cast<int>((k.lo >> (127 - i)) & 1U);
}

}  // namespace

bool PrefixSet::key_of(const boost::asio::ip::address& a, Key& key) {
  if (a.is_v4()) {
    key.hi = std::uint64_t{a.to_v4().to_uint()} << 32;
    key.lo = 0;
    return false;
  }
  const auto b = a.to_v6().to_bytes();
  // ::ffff:a.b.c.d is an IPv4 host reached over an IPv6 socket: it belongs to IPv4 prefixes.
  static constexpr unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(b.data(), mapped, sizeof mapped) == 0) {
    key.hi = ((std::uint64_t{b[12]} << 24) | (std::uint64_t{b[13]} << 16) |
              (std::uint64_t{b[14]} << 8) | std::uint64_t{b[15]})
             << 32;
    key.lo = 0;
    return false;
  }
  key.hi = load_be64(b.data());
  key.lo = load_be64(b.data() + 8);
  return true;
}

bool PrefixSet::insert(Trie& t, const Key& key, int len, std::int32_t item) {
  // Invariant: key agrees with nodes[idx].key on its first nodes[idx].len bits, and
  // len >= nodes[idx].len. Indices, not references: push_back may move the nodes.
  std::int32_t idx = 0;
  for (;;) {
    if (t.nodes[idx].len == len) {
      if (t.nodes[idx].item >= 0) return false;  // a duplicate: keep the first
      t.nodes[idx].item = item;
      return true;
    }
    const int b = bit_at(key, t.nodes[idx].len);
    const std::int32_t c = t.nodes[idx].child[b];
    if (c < 0) {
      Node leaf;
      leaf.key = masked(key, len);
      leaf.len = len;
      leaf.item = item;
      t.nodes[idx].child[b] = static_cast<std::int32_t>(t.nodes.size());
      t.nodes.push_back(leaf);
      return true;
    }
    const int child_len = t.nodes[c].len;
    const int shared = std::min({common_bits(key, t.nodes[c].key), len, child_len});
    if (shared == child_len) {
      idx = c;
      continue;
    }
    // The new prefix parts from the child's path inside the compressed edge: split it there.
    Node mid;
    mid.key = masked(key, shared);
    mid.len = shared;
    mid.child[bit_at(t.nodes[c].key, shared)] = c;
    const auto mid_idx = static_cast<std::int32_t>(t.nodes.size());
    if (shared == len) {
      mid.item = item;
      t.nodes.push_back(mid);
    } else {
      Node leaf;
      leaf.key = masked(key, len);
      leaf.len = len;
      leaf.item = item;
      mid.child[bit_at(key, shared)] = mid_idx + 1;
      t.nodes.push_back(mid);
      t.nodes.push_back(leaf);
    }
    t.nodes[idx].child[b] = mid_idx;
    return true;
  }
}

std::size_t PrefixSet::lookup(const Trie& t, const Key& key) {
  std::int32_t best = -1;
  std::int32_t idx = 0;
  const Node* nodes = t.nodes.data();
  while (idx >= 0) {
    const Node& n = nodes[idx];
    if (common_bits(key, n.key) < n.len) break;
    if (n.item >= 0) best = n.item;
    if (n.len >= t.max_len) break;
    idx = n.child[bit_at(key, n.len)];
  }
  return best < 0 ? npos : static_cast<std::size_t>(best);
}

void PrefixSet::add(const Prefix& p) {
  // Prefix keeps its bytes private; its text form is the stable way back to them.
  std::string text = p.to_string();
  const auto addr = parse_address(std::string_view(text).substr(0, text.find('/')));
  if (!addr) return;  // cannot happen for a parsed Prefix
  Key key;
  key_of(*addr, key);
  Trie& t = p.is_v6() ? v6_ : v4_;
  const auto item = static_cast<std::int32_t>(prefixes_.size());
  if (insert(t, key, p.length(), item)) {
    prefixes_.push_back(p);
    texts_.push_back(std::move(text));
  }
}

std::size_t PrefixSet::find(const boost::asio::ip::address& a) const {
  Key key;
  const bool v6 = key_of(a, key);
  return lookup(v6 ? v6_ : v4_, key);
}

std::optional<Prefix> PrefixSet::match(const boost::asio::ip::address& a) const {
  const std::size_t i = find(a);
  if (i == npos) return std::nullopt;
  return prefixes_[i];
}

// ---------------------------------------------------------------------------------------------
// ZoneSet

void ZoneSet::add(std::string zone) {
  if (zone.empty() || zone.size() >= lengths_.size()) return;
  lengths_.set(zone.size());
  zones_.insert(std::move(zone));
}

const std::string* ZoneSet::find(std::string_view name) const {
  // The name itself, then each suffix after a dot: only label boundaries, longest first.
  for (;;) {
    if (name.empty()) return nullptr;
    if (name.size() < lengths_.size() && lengths_.test(name.size())) {
      if (const auto it = zones_.find(name); it != zones_.end()) return &*it;
    }
    const auto dot = name.find('.');
    if (dot == std::string_view::npos) return nullptr;
    name.remove_prefix(dot + 1);
  }
}

std::optional<std::string> ZoneSet::match(std::string_view name) const {
  if (const std::string* z = find(name)) return *z;
  return std::nullopt;
}

// ---------------------------------------------------------------------------------------------
// Public suffix list

namespace {

const psl_ctx_t* psl_context() {
  // Loaded once; read-only queries on a context are thread-safe.
  static const std::unique_ptr<psl_ctx_t, void (*)(psl_ctx_t*)> ctx(psl_latest(nullptr), &psl_free);
  return ctx ? ctx.get() : psl_builtin();
}

}  // namespace

std::string registrable_domain(std::string_view name) {
  const auto host = canonical_host(name);
  if (!host) return {};
  const psl_ctx_t* psl = psl_context();
  if (psl == nullptr) return {};
  const char* r = psl_registrable_domain(psl, host->c_str());
  return r == nullptr ? std::string() : std::string(r);
}

// ---------------------------------------------------------------------------------------------
// OwnershipClassifier

OwnershipClassifier::OwnershipClassifier(const InstitutionProfile& p) {
  for (const auto& d : p.own_domains) {
    // The profile holds canonical zones already; normalising again costs nothing at start-up.
    if (auto c = canonical_host(d)) zones_.add(std::move(*c));
  }
  for (const auto& prefix : p.own_prefixes) prefixes_.add(prefix);
}

const std::string* OwnershipClassifier::find_zone(std::string_view host) const {
  if (!host.empty() && host.back() == '.') host.remove_suffix(1);
  const bool lower =
      std::none_of(host.begin(), host.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
  if (lower) return zones_.find(host);
  // Tolerate upper case without allocating: names longer than 253 octets are not hosts anyway.
  char buf[256];
  if (host.size() > 253) return nullptr;
  for (std::size_t i = 0; i < host.size(); ++i) {
    const char c = host[i];
    buf[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return zones_.find(std::string_view(buf, host.size()));
}

bool OwnershipClassifier::own_domain(std::string_view host) const {
  return find_zone(host) != nullptr;
}

std::optional<std::string> OwnershipClassifier::own_zone(std::string_view host) const {
  if (const std::string* z = find_zone(host)) return *z;
  return std::nullopt;
}

bool OwnershipClassifier::own_address(const boost::asio::ip::address& a) const {
  return prefixes_.contains(a);
}

std::optional<Prefix> OwnershipClassifier::own_prefix(const boost::asio::ip::address& a) const {
  return prefixes_.match(a);
}

OwnershipVerdict OwnershipClassifier::classify(
    std::string_view host, const std::vector<boost::asio::ip::address>& addresses) const {
  OwnershipVerdict v;
  if (const std::string* z = find_zone(host)) {
    v.own_domain = true;
    v.zone = *z;
  }
  // Any own address makes the host own-addressed (see the header); report the first.
  for (const auto& a : addresses) {
    if (const std::size_t i = prefixes_.find(a); i != PrefixSet::npos) {
      v.own_address = true;
      v.prefix = prefixes_.text(i);
      break;
    }
  }
  return v;
}

}  // namespace edusight
