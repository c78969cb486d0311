#pragma once
// The scan's inventory of systems: every host found, how it was found, what it resolves to,
// what its home page and ports showed. Discovery sources fill it; classification reads it.
#include <boost/asio/ip/address.hpp>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "edusight/core/ownership.hpp"
#include "edusight/core/registry.hpp"
#include "probes/dns/dns.hpp"
#include "probes/ipv6/web_host.hpp"

namespace edusight::discovery {

enum class Source {
  registry,
  target,
  axfr,
  wordlist,
  link,
  ptr,
  certificate,
  port_scan,
  passive,
  cname,
  dns_infrastructure
};
std::string_view to_string(Source s);

struct Asset {
  std::string host;  // canonical
  std::set<Source> sources;
  std::vector<std::string> linked_from;     // own pages that link here (bounded)
  std::vector<std::string> ptr_of;          // addresses whose PTR names this host
  std::vector<std::string> certificate_at;  // own addresses whose certificate names this host
  std::optional<dns::AddressLookup> dns;
  std::optional<ipv6::HomePage> home;
  bool web_answered = false;
  // "name_server" or "mail_exchanger" of an own zone: infrastructure, not an information
  // system the registry is expected to list.
  std::string role;
  const RegisteredSystem* registered = nullptr;
  OwnershipVerdict ownership;

  std::vector<boost::asio::ip::address> addresses() const {
    std::vector<boost::asio::ip::address> out;
    if (!dns) return out;
    out = dns->ipv4;
    out.insert(out.end(), dns->ipv6.begin(), dns->ipv6.end());
    return out;
  }
};

class Inventory {
 public:
  static constexpr std::size_t kMaxAssets = 100000;  // a flood of names must not exhaust memory

  // Adds `host` (canonical) or marks one more source; nullptr when the inventory is full.
  Asset* touch(const std::string& host, Source source) {
    auto it = assets_.find(host);
    if (it == assets_.end()) {
      if (assets_.size() >= kMaxAssets) {
        ++dropped_;
        return nullptr;
      }
      it = assets_.emplace(host, Asset{}).first;
      it->second.host = host;
    }
    it->second.sources.insert(source);
    return &it->second;
  }
  Asset* find(const std::string& host) {
    auto it = assets_.find(host);
    return it == assets_.end() ? nullptr : &it->second;
  }
  std::map<std::string, Asset>& all() { return assets_; }
  const std::map<std::string, Asset>& all() const { return assets_; }
  std::size_t dropped() const { return dropped_; }

 private:
  std::map<std::string, Asset> assets_;
  std::size_t dropped_ = 0;
};

}  // namespace edusight::discovery
