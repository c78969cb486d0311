#pragma once
// Hand-built frames for the decoder and monitor tests: each layer is written byte by byte so
// a test says exactly what is on the wire.
#include <boost/asio/ip/address.hpp>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace edusight::passive::test {

using Bytes = std::vector<std::uint8_t>;

inline void put16(Bytes& b, unsigned v) {
  b.push_back(static_cast<std::uint8_t>(v >> 8));
  b.push_back(static_cast<std::uint8_t>(v));
}
inline void put32(Bytes& b, unsigned v) {
  put16(b, v >> 16);
  put16(b, v & 0xffff);
}
inline void append(Bytes& b, const Bytes& more) {
  b.insert(b.end(), more.begin(), more.end());
}
inline void append(Bytes& b, std::string_view s) {
  b.insert(b.end(), s.begin(), s.end());
}

inline Bytes addr(const std::string& text) {
  const auto a = boost::asio::ip::make_address(text);
  if (a.is_v4()) {
    const auto x = a.to_v4().to_bytes();
    return Bytes(x.begin(), x.end());
  }
  const auto x = a.to_v6().to_bytes();
  return Bytes(x.begin(), x.end());
}

inline Bytes ethernet(unsigned type, std::initializer_list<unsigned> vlans = {}) {
  Bytes b = {0x02, 0, 0, 0, 0x01, 0x00, 0x02, 0, 0, 0, 0x0b, 0xad};
  for (const unsigned v : vlans) {
    put16(b, 0x8100);
    put16(b, v);
  }
  put16(b, type);
  return b;
}

inline Bytes ipv4(const std::string& src, const std::string& dst, unsigned proto,
                  const Bytes& payload, const Bytes& options = {}, unsigned frag = 0) {
  Bytes b;
  const unsigned ihl = 5 + static_cast<unsigned>(options.size()) / 4;
  b.push_back(static_cast<std::uint8_t>(0x40 | ihl));
  b.push_back(0);
  put16(b, ihl * 4 + static_cast<unsigned>(payload.size()));
  put16(b, 1);
  put16(b, frag);
  b.push_back(64);
  b.push_back(static_cast<std::uint8_t>(proto));
  put16(b, 0);
  append(b, addr(src));
  append(b, addr(dst));
  append(b, options);
  unsigned sum = 0;  // header checksum, so other tools see a sound packet
  for (std::size_t i = 0; i < ihl * 4; i += 2) sum += (b[i] << 8) | b[i + 1];
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  b[10] = static_cast<std::uint8_t>(~sum >> 8);
  b[11] = static_cast<std::uint8_t>(~sum);
  append(b, payload);
  return b;
}

inline Bytes ipv6(const std::string& src, const std::string& dst, unsigned next,
                  const Bytes& payload) {
  Bytes b = {0x60, 0, 0, 0};
  put16(b, static_cast<unsigned>(payload.size()));
  b.push_back(static_cast<std::uint8_t>(next));
  b.push_back(64);
  append(b, addr(src));
  append(b, addr(dst));
  append(b, payload);
  return b;
}

inline Bytes udp(unsigned sport, unsigned dport, const Bytes& payload) {
  Bytes b;
  put16(b, sport);
  put16(b, dport);
  put16(b, 8 + static_cast<unsigned>(payload.size()));
  put16(b, 0);
  append(b, payload);
  return b;
}

inline Bytes tcp(unsigned sport, unsigned dport, const Bytes& payload) {
  Bytes b;
  put16(b, sport);
  put16(b, dport);
  put32(b, 1);
  put32(b, 1);
  b.push_back(0x50);
  b.push_back(0x18);
  put16(b, 1024);
  put16(b, 0);
  put16(b, 0);
  append(b, payload);
  return b;
}

inline Bytes dns_name(std::string_view name) {
  Bytes b;
  while (!name.empty()) {
    const auto dot = name.find('.');
    const auto label = name.substr(0, dot);
    b.push_back(static_cast<std::uint8_t>(label.size()));
    append(b, label);
    name = dot == std::string_view::npos ? std::string_view{} : name.substr(dot + 1);
  }
  b.push_back(0);
  return b;
}

// A response to `qname` whose answers all use a compression pointer to the question name.
inline Bytes dns_response(const std::string& qname, const std::vector<std::string>& addresses,
                          unsigned rcode = 0) {
  Bytes b;
  put16(b, 0x1234);
  put16(b, 0x8180 | rcode);
  put16(b, 1);
  put16(b, static_cast<unsigned>(addresses.size()));
  put16(b, 0);
  put16(b, 0);
  append(b, dns_name(qname));
  put16(b, 1);
  put16(b, 1);
  for (const auto& a : addresses) {
    const Bytes rdata = addr(a);
    put16(b, 0xc00c);
    put16(b, rdata.size() == 4 ? 1 : 28);
    put16(b, 1);
    put32(b, 300);
    put16(b, static_cast<unsigned>(rdata.size()));
    append(b, rdata);
  }
  return b;
}

inline Bytes client_hello(std::string_view sni) {
  Bytes sni_ext;
  put16(sni_ext, static_cast<unsigned>(sni.size()) + 3);
  sni_ext.push_back(0);
  put16(sni_ext, static_cast<unsigned>(sni.size()));
  append(sni_ext, sni);
  Bytes exts;
  put16(exts, 0x000b);  // ec_point_formats first, so the SNI is not the first extension
  put16(exts, 2);
  exts.push_back(1);
  exts.push_back(0);
  put16(exts, 0);
  put16(exts, static_cast<unsigned>(sni_ext.size()));
  append(exts, sni_ext);
  Bytes body = {0x03, 0x03};
  body.resize(body.size() + 32, 0x11);  // random
  body.push_back(0);                    // session id
  put16(body, 4);
  put16(body, 0x1301);
  put16(body, 0xc02f);
  body.push_back(1);
  body.push_back(0);
  put16(body, static_cast<unsigned>(exts.size()));
  append(body, exts);
  Bytes hs = {0x01};
  hs.push_back(0);
  put16(hs, static_cast<unsigned>(body.size()));
  append(hs, body);
  Bytes rec = {0x16, 0x03, 0x01};
  put16(rec, static_cast<unsigned>(hs.size()));
  append(rec, hs);
  return rec;
}

inline Bytes router_advert(std::initializer_list<std::pair<std::string, unsigned>> prefixes) {
  Bytes b = {134, 0, 0, 0, 64, 0};
  put16(b, 1800);
  put32(b, 0);
  put32(b, 0);
  for (const auto& [prefix, len] : prefixes) {
    b.push_back(3);
    b.push_back(4);
    b.push_back(static_cast<std::uint8_t>(len));
    b.push_back(0xc0);
    put32(b, 86400);
    put32(b, 14400);
    put32(b, 0);
    append(b, addr(prefix));
  }
  return b;
}

inline Bytes dhcpv6(unsigned type, const Bytes& duid) {
  Bytes b = {static_cast<std::uint8_t>(type), 0, 0, 0x42};
  put16(b, 1);  // client id first
  put16(b, 4);
  put32(b, 0x00030001);
  put16(b, 2);  // server id
  put16(b, static_cast<unsigned>(duid.size()));
  append(b, duid);
  return b;
}

inline Bytes frame(Bytes link, const Bytes& network) {
  append(link, network);
  return link;
}

}  // namespace edusight::passive::test
