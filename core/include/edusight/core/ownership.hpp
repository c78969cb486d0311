#pragma once
// Is a host or an address the institution's own? The answer drives the 双非 categories of the
// catalog (asset.non_own_ip, asset.non_own_domain, asset.dual_non_own), so it runs once per
// discovered host and address and must stay cheap: lookups do not allocate.
#include <bitset>
#include <boost/asio/ip/address.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "edusight/core/config.hpp"
#include "edusight/core/prefix.hpp"

namespace edusight {

// Longest-prefix match over IPv4 and IPv6 prefixes: one path-compressed binary trie per family.
// IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are matched as their IPv4 address.
class PrefixSet {
 public:
  PrefixSet();

  // Adding the same prefix twice keeps one.
  void add(const Prefix& p);
  std::optional<Prefix> match(const boost::asio::ip::address& a) const;
  bool contains(const boost::asio::ip::address& a) const { return find(a) != npos; }
  std::size_t size() const { return prefixes_.size(); }

  // Allocation-free form of match(): the index of the longest matching prefix, or npos.
  static constexpr std::size_t npos = static_cast<std::size_t>(-1);
  std::size_t find(const boost::asio::ip::address& a) const;
  const Prefix& prefix(std::size_t i) const { return prefixes_[i]; }
  // Prefix::to_string() of prefix(i), computed once at add().
  const std::string& text(std::size_t i) const { return texts_[i]; }

 private:
  // A key is the address left-aligned in 128 bits (IPv4 uses the top 32).
  struct Key {
    std::uint64_t hi = 0;
    std::uint64_t lo = 0;
  };
  struct Node {
    Key key;                           // masked to len bits
    int len = 0;                       // bits this node stands for
    std::int32_t item = -1;            // index into prefixes_ when a prefix ends here
    std::int32_t child[2] = {-1, -1};  // by the bit at position len
  };
  struct Trie {
    std::vector<Node> nodes;  // nodes[0] is the root (length 0)
    int max_len = 0;
  };

  static bool key_of(const boost::asio::ip::address& a, Key& key);  // true for IPv6
  static std::size_t lookup(const Trie& t, const Key& key);
  static bool insert(Trie& t, const Key& key, int len, std::int32_t item);  // false: duplicate

  Trie v4_;
  Trie v6_;
  std::vector<Prefix> prefixes_;
  std::vector<std::string> texts_;
};

// DNS zones matched label by label: "a.b.demo.edu.cn" is within "demo.edu.cn",
// "evil-demo.edu.cn" is not. A hash set of the zones, probed with each suffix of the name that
// starts at a label boundary, longest first, so nested zones answer with the most specific.
class ZoneSet {
 public:
  void add(std::string zone /* canonical */);
  std::optional<std::string> match(std::string_view name /* canonical */) const;
  bool contains(std::string_view name) const { return find(name) != nullptr; }
  std::size_t size() const { return zones_.size(); }

  // Allocation-free form of match(): the stored zone, or nullptr.
  const std::string* find(std::string_view name) const;

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_set<std::string, Hash, std::equal_to<>> zones_;
  // Lengths that some zone has: most suffixes of a name are skipped without hashing.
  std::bitset<256> lengths_;
};

// The registrable domain (public suffix plus one label) by the public suffix list of libpsl
// (the newer of its built-in list and Debian's publicsuffix package):
// "www.demo-univ.edu.cn" -> "demo-univ.edu.cn". Empty when the name is itself a public suffix
// ("cn", "edu.cn") or is not a host name.
std::string registrable_domain(std::string_view name);

struct OwnershipVerdict {
  bool own_domain = false;
  bool own_address = false;
  std::string zone;    // the own zone the host lies in, when own_domain
  std::string prefix;  // the own prefix of the first own address, when own_address
};

class OwnershipClassifier {
 public:
  explicit OwnershipClassifier(const InstitutionProfile& p);

  // Hosts are expected canonical; upper case and a trailing dot are tolerated.
  bool own_domain(std::string_view host) const;
  std::optional<std::string> own_zone(std::string_view host) const;
  bool own_address(const boost::asio::ip::address& a) const;
  std::optional<Prefix> own_prefix(const boost::asio::ip::address& a) const;

  // host is canonical; addresses are what it resolves to. own_address is true when ANY address
  // is own: a host with one campus and one cloud address is on campus for category 2 purposes
  // (it is not a 双非 system), and the cloud address is category 1's business, not this flag's.
  OwnershipVerdict classify(std::string_view host,
                            const std::vector<boost::asio::ip::address>& addresses) const;

  const ZoneSet& zones() const { return zones_; }
  const PrefixSet& prefixes() const { return prefixes_; }

 private:
  const std::string* find_zone(std::string_view host) const;

  ZoneSet zones_;
  PrefixSet prefixes_;
};

}  // namespace edusight
