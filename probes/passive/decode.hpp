#pragma once
// One captured frame to a small struct of facts: the addresses, the tunnel it travels in and
// what the application layer says (passive DNS answers, TLS SNI, HTTP Host, Router
// Advertisements, DHCPv6 server replies). Every read is bounds-checked against the captured
// bytes and nothing is allocated: the decoder runs once per packet on a busy campus link and
// on whatever an attacker puts on the wire. A frame that cannot be decoded is counted by
// reason, never thrown about.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace edusight::passive {

// Link-layer framing of a capture (pcap's DLT values are mapped onto these by capture.cpp).
enum class LinkType : std::uint8_t { ethernet, linux_sll, linux_sll2, raw };

// Why a frame or one of its layers could not be decoded. Counted, never fatal.
enum class Malformed : std::uint8_t {
  none = 0,
  link_truncated,      // shorter than its link header
  vlan_too_deep,       // more stacked 802.1Q/802.1ad tags than any real network uses
  ipv4_truncated,      // shorter than the IPv4 header
  ipv4_bad_header,     // version, IHL or total length that cannot be
  ipv6_truncated,      // shorter than the fixed IPv6 header
  ipv6_bad_header,     // not version 6
  ipv6_bad_extension,  // an extension header that runs past the packet, or too many of them
  udp_truncated,
  tcp_truncated,  // or a data offset below 5 words / past the segment
  icmpv6_malformed,
  dns_malformed,    // header, name or record past the message, bad label
  dns_bad_pointer,  // a compression pointer that does not point backwards
  tls_malformed,
  dhcpv6_malformed,
  gre_malformed,
  tunnel_too_deep,  // tunnels inside tunnels beyond the decoding depth
  count_
};
inline constexpr std::size_t kMalformedReasons = static_cast<std::size_t>(Malformed::count_);
std::string_view to_string(Malformed m);

// An IPv4 or IPv6 address in network byte order; IPv4 uses the first 4 bytes.
struct Addr {
  std::array<std::uint8_t, 16> bytes{};
  std::uint8_t family = 0;  // 0 none, 4 or 6
  bool operator==(const Addr&) const = default;
  bool is_v6() const { return family == 6; }
};

enum class TunnelKind : std::uint8_t { none, six_in_four, six_to_four, teredo, gre };
std::string_view to_string(TunnelKind k);

// A decoded DNS name: lower case, dot-separated, no trailing dot. `valid` is false when a
// label holds bytes a host name cannot (the name is kept for counting, never reported).
struct DnsName {
  std::array<char, 255> text{};
  std::uint8_t length = 0;
  bool valid = false;
  std::string_view view() const { return {text.data(), length}; }
};

struct Facts {
  static constexpr std::size_t kMaxAnswers = 8;
  static constexpr std::size_t kMaxCnames = 4;
  static constexpr std::size_t kMaxPrefixes = 4;
  static constexpr std::size_t kMaxDuid = 130;  // RFC 8415: a DUID is at most 130 bytes

  Malformed malformed = Malformed::none;

  // Outer network layer: what the link carried (4, 6 or 0 for not IP).
  std::uint8_t outer_family = 0;
  Addr outer_src, outer_dst;
  std::array<std::uint8_t, 6> src_mac{};
  bool has_mac = false;

  // Innermost network and transport layer (after any tunnel).
  Addr src, dst;
  std::uint8_t l4 = 0;  // IP protocol number of the transport (6, 17, 58...), 0 when none
  std::uint16_t sport = 0, dport = 0;
  bool fragment = false;            // part of a fragmented datagram
  bool fragment_non_first = false;  // carries no transport header: counted, not parsed

  // The outermost tunnel and the addresses of the layer that carries it.
  TunnelKind tunnel = TunnelKind::none;
  Addr tunnel_src, tunnel_dst;

  // Passive DNS: a response's question and the addresses and aliases it answers with.
  bool dns_response = false;
  std::uint8_t dns_rcode = 0;
  DnsName dns_qname;
  std::uint8_t cname_count = 0;
  std::array<DnsName, kMaxCnames> cnames;
  std::uint8_t answer_count = 0;
  std::array<Addr, kMaxAnswers> answers;

  // Names a client asked a server for: views into the frame, valid while it is.
  std::string_view tls_sni;
  std::string_view http_host;

  // ICMPv6 Router Advertisement (the router is `src`).
  bool router_advert = false;
  std::uint16_t router_lifetime = 0;
  std::uint8_t prefix_count = 0;
  std::array<Addr, kMaxPrefixes> prefixes;
  std::array<std::uint8_t, kMaxPrefixes> prefix_lengths{};

  // DHCPv6 Advertise (2) or Reply (7) (the server is `src`).
  std::uint8_t dhcpv6_type = 0;
  std::string_view dhcpv6_server_duid;

  // Resets what decode() fills, without touching the large buffers.
  void clear();
};

// Decodes one frame of `caplen` captured bytes. Returns false when it is malformed (the
// reason is in facts.malformed; what was decoded before the fault stays in facts).
bool decode(LinkType link, const std::uint8_t* data, std::size_t caplen, Facts& facts);

}  // namespace edusight::passive
