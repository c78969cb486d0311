#pragma once
// Discovery sources that ask DNS: zone transfer, a wordlist with wildcard detection, and
// PTR sweeps. Each records how it found a host in the inventory.
#include <boost/asio/awaitable.hpp>
#include <string>
#include <vector>

#include "edusight/core/clock.hpp"
#include "probes/discovery/inventory.hpp"
#include "probes/ipv6/scan_state.hpp"

namespace edusight::discovery {

// Tries AXFR of `zone` from each of its name servers (first IPv4 and first IPv6 address).
// Emits dns.axfr_allowed when any hands the zone over; adds the zone's host names.
boost::asio::awaitable<void> discover_by_axfr(ipv6::ScanState& state, std::string zone,
                                              Inventory& inventory);

// Common names of campus systems, used when no wordlist file is configured.
const std::vector<std::string>& builtin_wordlist();
// One name a line; '#' comments. Throws ConfigError with the line of a bad entry.
std::vector<std::string> load_wordlist(const std::string& path);

// Looks up word.zone for every word. A wildcard zone (random labels resolve) keeps only
// names whose answer differs from the wildcard's, so it cannot flood the inventory.
boost::asio::awaitable<void> discover_by_wordlist(ipv6::ScanState& state, std::string zone,
                                                  const std::vector<std::string>& words,
                                                  Random& random, Inventory& inventory);

// in-addr.arpa / ip6.arpa name of an address.
std::string reverse_name(const boost::asio::ip::address& a);

// PTR lookups of each address; names found join the inventory with source ptr.
boost::asio::awaitable<void> discover_by_ptr(ipv6::ScanState& state,
                                             std::vector<boost::asio::ip::address> addresses,
                                             Inventory& inventory);

// Every address of the prefix (IPv4 only; network and broadcast skipped below /31).
std::vector<boost::asio::ip::address> expand_ipv4(const Prefix& p, std::size_t limit);

}  // namespace edusight::discovery
