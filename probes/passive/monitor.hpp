#pragma once
// From decoded packets to catalog findings, one finding per fact per interval (never one per
// packet): asset.discovered (source "passive") for names under the own domains or on the own
// addresses seen in DNS answers, TLS SNI and HTTP Host; net.rogue_ra and net.rogue_dhcpv6 for
// routers and servers not on the allowed lists; net.tunnel per tunnel endpoint pair; and
// net.ipv6_share per interval. Every table is bounded: what does not fit is counted, so a
// flood of distinct names costs a counter, not memory.
#include <array>
#include <boost/asio/ip/address.hpp>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "edusight/core/clock.hpp"
#include "edusight/core/ownership.hpp"
#include "edusight/core/sink.hpp"
#include "probes/passive/decode.hpp"

namespace edusight::passive {

struct MonitorOptions {
  std::chrono::seconds interval{300};
  // Files: the packets' own timestamps drive the intervals. Live: the injected clock does.
  bool packet_time = true;
  std::size_t max_names = 50000;           // names kept per interval
  std::size_t max_entries = 10000;         // routers, DHCPv6 servers and tunnels, each
  std::size_t max_ipv6_addresses = 65536;  // distinct addresses counted per interval
  std::vector<boost::asio::ip::address> allowed_routers;
  std::vector<boost::asio::ip::address> allowed_dhcpv6_servers;
  std::string interface;  // subject of net.ipv6_share: the interface or capture file
  std::string agent;
  std::string scan;
};

struct MonitorStats {
  std::uint64_t packets = 0;
  std::uint64_t bytes = 0;      // on the wire
  std::uint64_t decoded = 0;    // decoded without fault
  std::uint64_t not_ip = 0;     // ARP, LLDP...
  std::uint64_t fragments = 0;  // non-first fragments: counted, transport not parsed
  std::uint64_t malformed = 0;  // total of by_reason
  std::array<std::uint64_t, kMalformedReasons> by_reason{};
  std::uint64_t names_dropped = 0;  // a new name found the name table full
  std::uint64_t routers_dropped = 0;
  std::uint64_t servers_dropped = 0;
  std::uint64_t tunnels_dropped = 0;
  std::uint64_t addresses_dropped = 0;  // IPv6 addresses past max_ipv6_addresses
  std::uint64_t intervals = 0;
  std::uint64_t findings = 0;
};

class Monitor {
 public:
  using time_point = std::chrono::system_clock::time_point;

  Monitor(MonitorOptions options, const OwnershipClassifier& ownership, FindingSink& sink,
          const Clock& clock);

  // One captured frame: its decoded facts, whether decoding succeeded, its length on the
  // wire and its capture timestamp (ignored when the clock drives the intervals).
  void packet(const Facts& facts, bool ok, std::uint32_t wire_length, time_point timestamp);
  // Live capture: closes the interval once the clock has passed its end, packets or not.
  void poll();
  // End of capture: reports the last, partial interval.
  void finish();

  const MonitorStats& stats() const { return stats_; }
  std::size_t names_held() const { return names_.size(); }

 private:
  struct AddrLess {
    bool operator()(const Addr& a, const Addr& b) const {
      return a.family != b.family ? a.family < b.family : a.bytes < b.bytes;
    }
  };
  struct AddrHash {
    std::size_t operator()(const Addr& a) const;
  };
  struct Seen {
    time_point first{};
    time_point last{};
    std::uint64_t packets = 0;
    void touch(time_point t);
  };
  static constexpr std::size_t kMaxAddressesPerFact = 8;
  struct NameEntry {
    Seen seen;
    std::vector<Addr> addresses;  // at most kMaxAddressesPerFact
    std::vector<std::string> cname_chain;
    bool via_dns = false, via_tls = false, via_http = false;
  };
  struct RouterEntry {
    Seen seen;
    std::uint16_t router_lifetime = 0;
    std::vector<std::pair<Addr, std::uint8_t>> prefixes;
    std::array<std::uint8_t, 6> mac{};
    bool has_mac = false;
  };
  struct ServerEntry {
    Seen seen;
    std::string duid;  // hex
    std::uint64_t advertise = 0, reply = 0;
    std::array<std::uint8_t, 6> mac{};
    bool has_mac = false;
  };
  struct TunnelKey {
    TunnelKind kind;
    Addr a, b;
    bool operator<(const TunnelKey& o) const;
  };
  struct TunnelEntry {
    Seen seen;
    std::uint64_t bytes = 0;
    std::vector<Addr> inner;  // inner IPv6 addresses, at most kMaxAddressesPerFact
  };
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  void advance(time_point t);
  void open_interval(time_point t);
  void flush();
  void note_name(std::string_view name, const Addr* addresses, std::size_t count,
                 const Facts& facts, int via, time_point t);
  bool relevant(std::string_view name, const Addr* addresses, std::size_t count) const;
  bool allowed(const std::vector<boost::asio::ip::address>& list, const Addr& a) const;
  Finding make(std::string kind, Severity severity, std::string subject,
               std::string_view discriminator, std::string title, std::string title_zh,
               boost::json::object evidence, time_point observed) const;
  void emit(Finding f);
  void interval_evidence(boost::json::object& ev) const;

  MonitorOptions options_;
  const OwnershipClassifier& ownership_;
  FindingSink& sink_;
  const Clock& clock_;
  MonitorStats stats_;

  bool open_ = false;
  time_point start_{}, end_{}, last_packet_{};
  // Per-interval counters of net.ipv6_share.
  std::uint64_t ip_packets_ = 0, ipv6_packets_ = 0, ipv4_packets_ = 0;
  std::uint64_t ip_bytes_ = 0, ipv6_bytes_ = 0, tunneled_ipv6_packets_ = 0;
  std::uint64_t interval_packets_ = 0;
  std::unordered_set<Addr, AddrHash> ipv6_addresses_;
  bool ipv6_addresses_capped_ = false;

  std::unordered_map<std::string, NameEntry, NameHash, std::equal_to<>> names_;
  std::map<Addr, RouterEntry, AddrLess> routers_;
  std::map<Addr, ServerEntry, AddrLess> servers_;
  std::map<TunnelKey, TunnelEntry> tunnels_;
};

// Canonical text of a decoded address (RFC 5952 for IPv6).
std::string to_string(const Addr& a);
boost::asio::ip::address to_address(const Addr& a);

}  // namespace edusight::passive
