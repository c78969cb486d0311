#include "probes/passive/decode.hpp"

#include <algorithm>
#include <cstring>

namespace edusight::passive {

std::string_view to_string(Malformed m) {
  switch (m) {
    case Malformed::none:
      return "none";
    case Malformed::link_truncated:
      return "link_truncated";
    case Malformed::vlan_too_deep:
      return "vlan_too_deep";
    case Malformed::ipv4_truncated:
      return "ipv4_truncated";
    case Malformed::ipv4_bad_header:
      return "ipv4_bad_header";
    case Malformed::ipv6_truncated:
      return "ipv6_truncated";
    case Malformed::ipv6_bad_header:
      return "ipv6_bad_header";
    case Malformed::ipv6_bad_extension:
      return "ipv6_bad_extension";
    case Malformed::udp_truncated:
      return "udp_truncated";
    case Malformed::tcp_truncated:
      return "tcp_truncated";
    case Malformed::icmpv6_malformed:
      return "icmpv6_malformed";
    case Malformed::dns_malformed:
      return "dns_malformed";
    case Malformed::dns_bad_pointer:
      return "dns_bad_pointer";
    case Malformed::tls_malformed:
      return "tls_malformed";
    case Malformed::dhcpv6_malformed:
      return "dhcpv6_malformed";
    case Malformed::gre_malformed:
      return "gre_malformed";
    case Malformed::tunnel_too_deep:
      return "tunnel_too_deep";
    case Malformed::count_:
      break;
  }
  return "unknown";
}

std::string_view to_string(TunnelKind k) {
  switch (k) {
    case TunnelKind::none:
      return "none";
    case TunnelKind::six_in_four:
      return "6in4";
    case TunnelKind::six_to_four:
      return "6to4";
    case TunnelKind::teredo:
      return "teredo";
    case TunnelKind::gre:
      return "gre";
  }
  return "none";
}

void Facts::clear() {
  malformed = Malformed::none;
  outer_family = 0;
  outer_src = outer_dst = Addr{};
  has_mac = false;
  src = dst = Addr{};
  l4 = 0;
  sport = dport = 0;
  fragment = fragment_non_first = false;
  tunnel = TunnelKind::none;
  tunnel_src = tunnel_dst = Addr{};
  dns_response = false;
  dns_rcode = 0;
  dns_qname.length = 0;
  dns_qname.valid = false;
  cname_count = 0;
  answer_count = 0;
  tls_sni = {};
  http_host = {};
  router_advert = false;
  router_lifetime = 0;
  prefix_count = 0;
  dhcpv6_type = 0;
  dhcpv6_server_duid = {};
}

namespace {

// Limits that no legitimate packet reaches; they bound every loop of the decoder.
constexpr int kMaxVlanTags = 4;
constexpr int kMaxExtensionHeaders = 8;
constexpr int kMaxTunnelDepth = 3;
constexpr int kMaxDnsQuestions = 4;
constexpr int kMaxDnsAnswers = 64;
constexpr int kMaxNameLabels = 128;
constexpr int kMaxOptions = 256;  // TLS extensions, RA and DHCPv6 options

constexpr std::uint16_t kEtherIPv4 = 0x0800;
constexpr std::uint16_t kEtherIPv6 = 0x86DD;
constexpr std::uint16_t kEtherVlan = 0x8100;
constexpr std::uint16_t kEtherQinQ = 0x88A8;
constexpr std::uint16_t kEtherQinQOld = 0x9100;

constexpr std::uint16_t kPortDns = 53;
constexpr std::uint16_t kPortDhcpv6Client = 546;
constexpr std::uint16_t kPortDhcpv6Server = 547;
constexpr std::uint16_t kPortTeredo = 3544;

inline std::uint16_t be16(const std::uint8_t* p) {
  return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
inline std::uint32_t be24(const std::uint8_t* p) {
  return (static_cast<std::uint32_t>(p[0]) << 16) | (static_cast<std::uint32_t>(p[1]) << 8) | p[2];
}

inline Addr v4_at(const std::uint8_t* p) {
  Addr a;
  std::memcpy(a.bytes.data(), p, 4);
  a.family = 4;
  return a;
}
inline Addr v6_at(const std::uint8_t* p) {
  Addr a;
  std::memcpy(a.bytes.data(), p, 16);
  a.family = 6;
  return a;
}

inline char lower(std::uint8_t c) {
  return static_cast<char>(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
}
inline bool host_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

class Decoder {
 public:
  explicit Decoder(Facts& f) : f_(f) {}

  bool link(LinkType type, const std::uint8_t* p, std::size_t n) {
    switch (type) {
      case LinkType::ethernet:
        return ethernet(p, n);
      case LinkType::linux_sll:
        // 16 bytes: packet type, ARPHRD type, address length, 8 address bytes, protocol.
        if (n < 16) return fail(Malformed::link_truncated);
        return network(be16(p + 14), p + 16, n - 16, 0);
      case LinkType::linux_sll2:
        // 20 bytes: protocol first, then reserved, interface index, ARPHRD type, addresses.
        if (n < 20) return fail(Malformed::link_truncated);
        return network(be16(p), p + 20, n - 20, 0);
      case LinkType::raw:
        if (n < 1) return fail(Malformed::link_truncated);
        if ((p[0] >> 4) == 6) return ipv6(p, n, 0);
        return ipv4(p, n, 0);
    }
    return true;
  }

 private:
  bool fail(Malformed m) {
    if (f_.malformed == Malformed::none) f_.malformed = m;
    return false;
  }

  bool ethernet(const std::uint8_t* p, std::size_t n) {
    if (n < 14) return fail(Malformed::link_truncated);
    std::memcpy(f_.src_mac.data(), p + 6, 6);
    f_.has_mac = true;
    std::size_t off = 12;
    std::uint16_t type = be16(p + off);
    off += 2;
    for (int tags = 0; type == kEtherVlan || type == kEtherQinQ || type == kEtherQinQOld; ++tags) {
      if (tags >= kMaxVlanTags) return fail(Malformed::vlan_too_deep);
      if (n < off + 4) return fail(Malformed::link_truncated);
      type = be16(p + off + 2);
      off += 4;
    }
    return network(type, p + off, n - off, 0);
  }

  bool network(std::uint16_t ethertype, const std::uint8_t* p, std::size_t n, int depth) {
    if (ethertype == kEtherIPv4) return ipv4(p, n, depth);
    if (ethertype == kEtherIPv6) return ipv6(p, n, depth);
    return true;  // ARP, LLDP and the like: not IP, nothing to say
  }

  void set_addresses(const Addr& s, const Addr& d, int depth) {
    f_.src = s;
    f_.dst = d;
    f_.l4 = 0;
    f_.sport = f_.dport = 0;
    if (depth == 0) {
      f_.outer_family = s.family;
      f_.outer_src = s;
      f_.outer_dst = d;
    }
  }

  bool ipv4(const std::uint8_t* p, std::size_t n, int depth) {
    if (n < 20) return fail(Malformed::ipv4_truncated);
    if ((p[0] >> 4) != 4) return fail(Malformed::ipv4_bad_header);
    const std::size_t ihl = static_cast<std::size_t>(p[0] & 0x0f) * 4;
    const std::size_t total = be16(p + 2);
    if (ihl < 20 || total < ihl) return fail(Malformed::ipv4_bad_header);
    if (n < ihl) return fail(Malformed::ipv4_truncated);
    n = std::min(n, total);  // Ethernet pads short frames; the padding is not payload
    set_addresses(v4_at(p + 12), v4_at(p + 16), depth);
    const std::uint16_t frag = be16(p + 6);
    if ((frag & 0x1fff) != 0) {
      f_.fragment = f_.fragment_non_first = true;
      return true;
    }
    if ((frag & 0x2000) != 0) f_.fragment = true;
    return transport(p[9], p + ihl, n - ihl, depth, false);
  }

  bool ipv6(const std::uint8_t* p, std::size_t n, int depth) {
    if (n < 40) return fail(Malformed::ipv6_truncated);
    if ((p[0] >> 4) != 6) return fail(Malformed::ipv6_bad_header);
    const std::size_t payload = be16(p + 4);
    if (payload != 0) n = std::min(n, 40 + payload);  // 0: a jumbogram, take what is there
    set_addresses(v6_at(p + 8), v6_at(p + 24), depth);
    std::uint8_t next = p[6];
    std::size_t off = 40;
    for (int i = 0; i < kMaxExtensionHeaders; ++i) {
      switch (next) {
        case 0:     // hop-by-hop options
        case 43:    // routing
        case 60:    // destination options
        case 51: {  // authentication header counts 4-byte words, the others 8-byte ones
          if (n < off + 2) return fail(Malformed::ipv6_bad_extension);
          const std::size_t len = next == 51 ? (static_cast<std::size_t>(p[off + 1]) + 2) * 4
                                             : (static_cast<std::size_t>(p[off + 1]) + 1) * 8;
          if (n < off + len) return fail(Malformed::ipv6_bad_extension);
          next = p[off];
          off += len;
          break;
        }
        case 44: {  // fragment
          if (n < off + 8) return fail(Malformed::ipv6_bad_extension);
          const std::uint16_t offset = be16(p + off + 2) & 0xfff8;
          f_.fragment = true;
          next = p[off];
          off += 8;
          if (offset != 0) {
            f_.fragment_non_first = true;
            return true;
          }
          break;
        }
        case 59:  // no next header
          return true;
        default:
          return transport(next, p + off, n - off, depth, true);
      }
    }
    return fail(Malformed::ipv6_bad_extension);
  }

  bool transport(std::uint8_t proto, const std::uint8_t* p, std::size_t n, int depth, bool v6) {
    f_.l4 = proto;
    switch (proto) {
      case 17:
        return udp(p, n, depth);
      case 6:
        return tcp(p, n);
      case 58:
        return v6 ? icmpv6(p, n) : true;
      case 41: {  // IPv6 in IP
        if (depth >= kMaxTunnelDepth) return fail(Malformed::tunnel_too_deep);
        if (!v6) {
          // 6to4 is 6in4 whose inner addresses are in 2002::/16.
          const bool six_to_four =
              n >= 40 && ((p[8] == 0x20 && p[9] == 0x02) || (p[24] == 0x20 && p[25] == 0x02));
          open_tunnel(six_to_four ? TunnelKind::six_to_four : TunnelKind::six_in_four);
        }
        return ipv6(p, n, depth + 1);
      }
      case 4:  // IPv4 in IP: followed, not a tunnel for IPv6 policy
        if (depth >= kMaxTunnelDepth) return fail(Malformed::tunnel_too_deep);
        return ipv4(p, n, depth + 1);
      case 47:
        return gre(p, n, depth);
      default:
        return true;
    }
  }

  void open_tunnel(TunnelKind kind) {
    if (f_.tunnel != TunnelKind::none) return;  // the outermost one is what bypasses policy
    f_.tunnel = kind;
    f_.tunnel_src = f_.src;
    f_.tunnel_dst = f_.dst;
  }

  bool gre(const std::uint8_t* p, std::size_t n, int depth) {
    if (n < 4) return fail(Malformed::gre_malformed);
    const std::uint16_t flags = be16(p);
    // Version 1 is PPTP's enhanced GRE and routing (RFC 1701) is obsolete: not followed.
    if ((flags & 0x0007) != 0 || (flags & 0x4000) != 0) return true;
    std::size_t hlen = 4;
    if (flags & 0x8000) hlen += 4;  // checksum + reserved
    if (flags & 0x2000) hlen += 4;  // key
    if (flags & 0x1000) hlen += 4;  // sequence number
    if (n < hlen) return fail(Malformed::gre_malformed);
    const std::uint16_t proto = be16(p + 2);
    if (proto != kEtherIPv6 && proto != kEtherIPv4) return true;
    if (depth >= kMaxTunnelDepth) return fail(Malformed::tunnel_too_deep);
    if (proto == kEtherIPv6) open_tunnel(TunnelKind::gre);
    return network(proto, p + hlen, n - hlen, depth + 1);
  }

  bool udp(const std::uint8_t* p, std::size_t n, int depth) {
    if (n < 8) return fail(Malformed::udp_truncated);
    f_.sport = be16(p);
    f_.dport = be16(p + 2);
    const std::size_t len = be16(p + 4);
    if (len != 0 && len < 8) return fail(Malformed::udp_truncated);
    if (len >= 8) n = std::min(n, len);
    // A first fragment holds only the start of the payload, and nothing is reassembled.
    if (f_.fragment) return true;
    const std::uint8_t* payload = p + 8;
    const std::size_t size = n - 8;
    if (f_.sport == kPortTeredo || f_.dport == kPortTeredo) return teredo(payload, size, depth);
    if (f_.sport == kPortDns) return dns(payload, size);
    if (f_.sport == kPortDhcpv6Server || f_.dport == kPortDhcpv6Client)
      return dhcpv6(payload, size);
    return true;
  }

  bool teredo(const std::uint8_t* p, std::size_t n, int depth) {
    std::size_t off = 0;
    // Optional authentication indicator (0x0001), then optional origin indication (0x0000).
    if (n >= 4 && p[0] == 0x00 && p[1] == 0x01) {
      const std::size_t len = 4 + p[2] + p[3] + 8 + 1;  // ids, nonce, confirmation
      if (n < len) return true;                         // not Teredo after all
      off = len;
    }
    if (n >= off + 8 && p[off] == 0x00 && p[off + 1] == 0x00) off += 8;
    if (n < off + 40 || (p[off] >> 4) != 6) return true;  // a bubble or another protocol
    if (depth >= kMaxTunnelDepth) return fail(Malformed::tunnel_too_deep);
    open_tunnel(TunnelKind::teredo);
    return ipv6(p + off, n - off, depth + 1);
  }

  bool tcp(const std::uint8_t* p, std::size_t n) {
    if (n < 20) return fail(Malformed::tcp_truncated);
    f_.sport = be16(p);
    f_.dport = be16(p + 2);
    const std::size_t doff = static_cast<std::size_t>(p[12] >> 4) * 4;
    if (doff < 20 || doff > n) return fail(Malformed::tcp_truncated);
    const std::uint8_t* payload = p + doff;
    const std::size_t size = n - doff;
    if (size == 0 || f_.fragment) return true;
    if (f_.sport == kPortDns) {
      // DNS over TCP: only a whole message in one segment is parsed.
      if (size < 2) return true;
      const std::size_t len = be16(payload);
      return len <= size - 2 ? dns(payload + 2, len) : true;
    }
    if (size >= 6 && payload[0] == 0x16 && payload[1] == 0x03 && payload[5] == 0x01)
      return tls_client_hello(payload, size);
    return http_request(payload, size);
  }

  // ---- DNS ----------------------------------------------------------------------------

  // Reads the name at `off`, following compression pointers that must point backwards (so
  // the walk ends), into `out` when given. `next` is where the record continues.
  bool dns_name(const std::uint8_t* msg, std::size_t n, std::size_t off, DnsName* out,
                std::size_t& next) {
    std::size_t pos = off;
    bool jumped = false;
    std::size_t length = 0;
    bool valid = true;
    for (int labels = 0; labels <= kMaxNameLabels; ++labels) {
      if (pos >= n) return fail(Malformed::dns_malformed);
      const std::uint8_t b = msg[pos];
      if (b == 0) {
        if (!jumped) next = pos + 1;
        if (out) {
          out->length = static_cast<std::uint8_t>(length);
          out->valid = valid && length > 0;
        }
        return true;
      }
      if ((b & 0xC0) == 0xC0) {
        if (pos + 1 >= n) return fail(Malformed::dns_malformed);
        const std::size_t target = (static_cast<std::size_t>(b & 0x3f) << 8) | msg[pos + 1];
        if (target >= pos) return fail(Malformed::dns_bad_pointer);
        if (!jumped) next = pos + 2;
        jumped = true;
        pos = target;
        continue;
      }
      if ((b & 0xC0) != 0) return fail(Malformed::dns_malformed);  // extended label types
      const std::size_t len = b;
      if (pos + 1 + len > n) return fail(Malformed::dns_malformed);
      const std::size_t needed = length + (length > 0 ? 1 : 0) + len;
      if (needed > 253) return fail(Malformed::dns_malformed);
      if (out) {
        if (length > 0) out->text[length++] = '.';
        for (std::size_t i = 0; i < len; ++i) {
          const char c = lower(msg[pos + 1 + i]);
          valid = valid && host_char(c);
          out->text[length++] = c;
        }
      } else {
        length = needed;
      }
      pos += 1 + len;
    }
    return fail(Malformed::dns_malformed);
  }

  bool dns(const std::uint8_t* p, std::size_t n) {
    if (n < 12) return fail(Malformed::dns_malformed);
    const std::uint16_t flags = be16(p + 2);
    if ((flags & 0x8000) == 0 || ((flags >> 11) & 0x0f) != 0) return true;  // query or not QUERY
    f_.dns_response = true;
    f_.dns_rcode = static_cast<std::uint8_t>(flags & 0x0f);
    const int questions = be16(p + 4);
    const int answers = be16(p + 6);
    if (questions > kMaxDnsQuestions) return fail(Malformed::dns_malformed);
    std::size_t off = 12;
    for (int q = 0; q < questions; ++q) {
      std::size_t next = 0;
      if (!dns_name(p, n, off, q == 0 ? &f_.dns_qname : nullptr, next)) return false;
      if (n < next + 4) return fail(Malformed::dns_malformed);
      off = next + 4;
    }
    for (int a = 0; a < answers && a < kMaxDnsAnswers; ++a) {
      std::size_t next = 0;
      if (!dns_name(p, n, off, nullptr, next)) return false;
      if (n < next + 10) return fail(Malformed::dns_malformed);
      const std::uint16_t type = be16(p + next);
      const std::uint16_t klass = be16(p + next + 2);
      const std::size_t rdlen = be16(p + next + 8);
      const std::size_t rdata = next + 10;
      if (n < rdata + rdlen) return fail(Malformed::dns_malformed);
      if (klass == 1) {
        if (type == 1 && rdlen == 4 && f_.answer_count < Facts::kMaxAnswers) {
          f_.answers[f_.answer_count++] = v4_at(p + rdata);
        } else if (type == 28 && rdlen == 16 && f_.answer_count < Facts::kMaxAnswers) {
          f_.answers[f_.answer_count++] = v6_at(p + rdata);
        } else if (type == 5 && f_.cname_count < Facts::kMaxCnames) {
          std::size_t ignored = 0;
          // The target may be compressed against anything before it in the message.
          if (!dns_name(p, rdata + rdlen, rdata, &f_.cnames[f_.cname_count], ignored)) return false;
          ++f_.cname_count;
        }
      }
      off = rdata + rdlen;
    }
    return true;
  }

  // ---- TLS ClientHello ----------------------------------------------------------------

  bool tls_client_hello(const std::uint8_t* p, std::size_t n) {
    const std::size_t record = be16(p + 3);
    const std::uint8_t* h = p + 5;
    const std::size_t have = n - 5;
    const bool cut = record > have;  // the rest is in later segments: no SNI, not malformed
    const std::size_t end = std::min(record, have);
    // Fails as malformed only when the fault lies inside a complete record.
    auto short_read = [&] { return cut ? true : fail(Malformed::tls_malformed); };
    if (end < 4 || h[0] != 0x01) return short_read();
    std::size_t off = 4 + 2 + 32;  // handshake header, client version, random
    if (end < off + 1) return short_read();
    off += 1 + h[off];  // session id
    if (end < off + 2) return short_read();
    off += 2 + be16(h + off);  // cipher suites
    if (end < off + 1) return short_read();
    off += 1 + h[off];               // compression methods
    if (end < off + 2) return true;  // no extensions at all (SSLv3-style hello)
    const std::size_t ext_end = off + 2 + be16(h + off);
    off += 2;
    for (int i = 0; i < kMaxOptions && off + 4 <= std::min(ext_end, end); ++i) {
      const std::uint16_t type = be16(h + off);
      const std::size_t len = be16(h + off + 2);
      off += 4;
      if (off + len > end) return short_read();
      if (type == 0) return server_name(h + off, len);
      off += len;
    }
    if (ext_end > end && !cut) return fail(Malformed::tls_malformed);
    return true;
  }

  bool server_name(const std::uint8_t* p, std::size_t n) {
    if (n < 2) return fail(Malformed::tls_malformed);
    const std::size_t list = std::min<std::size_t>(be16(p), n - 2);
    std::size_t off = 2;
    for (int i = 0; i < kMaxOptions && off + 3 <= 2 + list; ++i) {
      const std::uint8_t type = p[off];
      const std::size_t len = be16(p + off + 1);
      off += 3;
      if (off + len > 2 + list) return fail(Malformed::tls_malformed);
      if (type == 0 && len > 0 && len <= 255) {
        f_.tls_sni = {reinterpret_cast<const char*>(p + off), len};
        return true;
      }
      off += len;
    }
    return true;
  }

  // ---- HTTP request ---------------------------------------------------------------------

  bool http_request(const std::uint8_t* p, std::size_t n) {
    static constexpr std::string_view kMethods[] = {"GET ",    "POST ",    "HEAD ",  "PUT ",
                                                    "DELETE ", "OPTIONS ", "PATCH ", "CONNECT "};
    const std::string_view text(reinterpret_cast<const char*>(p), n);
    bool request = false;
    for (const auto m : kMethods) request = request || text.starts_with(m);
    if (!request) return true;
    // Header lines after the request line, up to the blank line or the end of the segment.
    std::size_t line = text.find("\r\n");
    while (line != std::string_view::npos && line + 2 < n) {
      const std::size_t start = line + 2;
      const std::size_t eol = text.find("\r\n", start);
      const std::string_view header =
          text.substr(start, (eol == std::string_view::npos ? n : eol) - start);
      if (header.empty()) break;
      if (header.size() > 5 && lower(static_cast<std::uint8_t>(header[0])) == 'h' &&
          lower(static_cast<std::uint8_t>(header[1])) == 'o' &&
          lower(static_cast<std::uint8_t>(header[2])) == 's' &&
          lower(static_cast<std::uint8_t>(header[3])) == 't' && header[4] == ':') {
        std::string_view value = header.substr(5);
        while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
          value.remove_prefix(1);
        while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
          value.remove_suffix(1);
        if (!value.empty() && value.size() <= 261) f_.http_host = value;  // name plus :port
        return true;
      }
      line = eol;
    }
    return true;
  }

  // ---- ICMPv6 Router Advertisement ------------------------------------------------------

  bool icmpv6(const std::uint8_t* p, std::size_t n) {
    if (n < 4) return fail(Malformed::icmpv6_malformed);
    if (p[0] != 134) return true;
    if (n < 16) return fail(Malformed::icmpv6_malformed);
    f_.router_advert = true;
    f_.router_lifetime = be16(p + 6);
    std::size_t off = 16;
    for (int i = 0; i < kMaxOptions && off + 2 <= n; ++i) {
      const std::size_t len = static_cast<std::size_t>(p[off + 1]) * 8;
      if (len == 0 || off + len > n) return fail(Malformed::icmpv6_malformed);
      if (p[off] == 3 && len == 32 && f_.prefix_count < Facts::kMaxPrefixes) {
        // Prefix information: length at +2, the prefix at +16.
        f_.prefix_lengths[f_.prefix_count] = std::min<std::uint8_t>(p[off + 2], 128);
        f_.prefixes[f_.prefix_count++] = v6_at(p + off + 16);
      }
      off += len;
    }
    return true;
  }

  // ---- DHCPv6 ---------------------------------------------------------------------------

  bool dhcpv6(const std::uint8_t* p, std::size_t n) {
    if (n < 4) return fail(Malformed::dhcpv6_malformed);
    if (p[0] != 2 && p[0] != 7) return true;  // only Advertise and Reply name a server
    f_.dhcpv6_type = p[0];
    std::size_t off = 4;
    for (int i = 0; i < kMaxOptions && off + 4 <= n; ++i) {
      const std::uint16_t code = be16(p + off);
      const std::size_t len = be16(p + off + 2);
      off += 4;
      if (off + len > n) return fail(Malformed::dhcpv6_malformed);
      if (code == 2) {  // Server Identifier
        if (len == 0 || len > Facts::kMaxDuid) return fail(Malformed::dhcpv6_malformed);
        f_.dhcpv6_server_duid = {reinterpret_cast<const char*>(p + off), len};
        return true;
      }
      off += len;
    }
    return true;
  }

  Facts& f_;
};

}  // namespace

bool decode(LinkType link, const std::uint8_t* data, std::size_t caplen, Facts& facts) {
  facts.clear();
  Decoder d(facts);
  const bool ok = d.link(link, data, caplen);
  return ok && facts.malformed == Malformed::none;
}

}  // namespace edusight::passive
