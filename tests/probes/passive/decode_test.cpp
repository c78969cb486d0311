#include "probes/passive/decode.hpp"

#include <gtest/gtest.h>

#include <string>

#include "frames.hpp"
#include "probes/passive/monitor.hpp"

namespace edusight::passive {
namespace {

using namespace test;

struct Decoded {
  bool ok;
  Facts facts;
};

Decoded run(const Bytes& frame, LinkType link = LinkType::ethernet) {
  Decoded d;
  d.ok = decode(link, frame.data(), frame.size(), d.facts);
  return d;
}

TEST(PassiveDecode, DnsResponseOverIPv4WithCompressionPointers) {
  const auto d =
      run(frame(ethernet(0x0800),
                ipv4("192.0.2.53", "192.0.2.100", 17,
                     udp(53, 33333,
                         dns_response("WWW.Demo-Univ.edu.cn", {"192.0.2.10", "2001:db8:a::10"})))));
  ASSERT_TRUE(d.ok);
  const Facts& f = d.facts;
  EXPECT_EQ(f.outer_family, 4);
  EXPECT_EQ(to_string(f.src), "192.0.2.53");
  EXPECT_EQ(f.sport, 53);
  EXPECT_TRUE(f.dns_response);
  EXPECT_TRUE(f.dns_qname.valid);
  EXPECT_EQ(f.dns_qname.view(), "www.demo-univ.edu.cn");  // lower case
  ASSERT_EQ(f.answer_count, 2);
  EXPECT_EQ(to_string(f.answers[0]), "192.0.2.10");
  EXPECT_EQ(to_string(f.answers[1]), "2001:db8:a::10");
}

TEST(PassiveDecode, DnsQueryIsNotAResponse) {
  Bytes q = dns_response("www.demo-univ.edu.cn", {});
  q[2] = 0x01;  // QR = 0
  const auto d =
      run(frame(ethernet(0x0800), ipv4("192.0.2.100", "192.0.2.53", 17, udp(53, 53, q))));
  ASSERT_TRUE(d.ok);
  EXPECT_FALSE(d.facts.dns_response);
}

TEST(PassiveDecode, DnsCnameChainIsKept) {
  Bytes m;
  put16(m, 1);
  put16(m, 0x8180);
  put16(m, 1);
  put16(m, 2);
  put16(m, 0);
  put16(m, 0);
  append(m, dns_name("cloud.demo-univ.edu.cn"));
  put16(m, 1);
  put16(m, 1);
  // cloud CNAME demo.cdn.example.net (target written in full)
  put16(m, 0xc00c);
  put16(m, 5);
  put16(m, 1);
  put32(m, 60);
  const Bytes target = dns_name("demo.cdn.example.net");
  put16(m, static_cast<unsigned>(target.size()));
  const std::size_t target_at = m.size();
  append(m, target);
  // demo.cdn.example.net A 203.0.113.80 (owner compressed to the CNAME target)
  put16(m, 0xc000 | static_cast<unsigned>(target_at));
  put16(m, 1);
  put16(m, 1);
  put32(m, 60);
  put16(m, 4);
  append(m, addr("203.0.113.80"));
  const auto d = run(frame(ethernet(0x0800), ipv4("192.0.2.53", "192.0.2.100", 17, udp(53, 9, m))));
  ASSERT_TRUE(d.ok);
  ASSERT_EQ(d.facts.cname_count, 1);
  EXPECT_EQ(d.facts.cnames[0].view(), "demo.cdn.example.net");
  ASSERT_EQ(d.facts.answer_count, 1);
  EXPECT_EQ(to_string(d.facts.answers[0]), "203.0.113.80");
}

TEST(PassiveDecode, DnsPointerLoopIsMalformedNotAHang) {
  Bytes m;
  put16(m, 1);
  put16(m, 0x8180);
  put16(m, 1);
  put16(m, 0);
  put16(m, 0);
  put16(m, 0);
  put16(m, 0xc00c);  // points at itself
  put16(m, 1);
  put16(m, 1);
  const auto d = run(frame(ethernet(0x0800), ipv4("192.0.2.53", "192.0.2.100", 17, udp(53, 9, m))));
  EXPECT_FALSE(d.ok);
  EXPECT_EQ(d.facts.malformed, Malformed::dns_bad_pointer);
}

TEST(PassiveDecode, DnsNameWithOddBytesIsKeptButNotValid) {
  const auto d = run(frame(ethernet(0x0800),
                           ipv4("192.0.2.53", "192.0.2.100", 17,
                                udp(53, 9, dns_response("a b.demo-univ.edu.cn", {"192.0.2.1"})))));
  ASSERT_TRUE(d.ok);
  EXPECT_FALSE(d.facts.dns_qname.valid);
}

TEST(PassiveDecode, VlanAndQinQ) {
  const Bytes dns = udp(53, 9, dns_response("vpn.demo-univ.edu.cn", {"192.0.2.30"}));
  for (const auto& tags : {std::initializer_list<unsigned>{10}, {100, 20}}) {
    const auto d = run(frame(ethernet(0x0800, tags), ipv4("192.0.2.53", "192.0.2.100", 17, dns)));
    ASSERT_TRUE(d.ok);
    EXPECT_EQ(d.facts.dns_qname.view(), "vpn.demo-univ.edu.cn");
  }
  const auto deep =
      run(frame(ethernet(0x0800, {1, 2, 3, 4, 5}), ipv4("192.0.2.53", "192.0.2.100", 17, dns)));
  EXPECT_EQ(deep.facts.malformed, Malformed::vlan_too_deep);
}

TEST(PassiveDecode, IPv4OptionsAndEthernetPadding) {
  Bytes f =
      frame(ethernet(0x0800), ipv4("192.0.2.53", "192.0.2.100", 17,
                                   udp(53, 9, dns_response("opt.demo-univ.edu.cn", {"192.0.2.31"})),
                                   {0x94, 0x04, 0x00, 0x00}));
  f.resize(f.size() + 6, 0xee);  // trailer padding is not payload
  const auto d = run(f);
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(d.facts.answer_count, 1);
}

TEST(PassiveDecode, IPv4NonFirstFragmentIsCountedNotParsed) {
  const auto d = run(
      frame(ethernet(0x0800), ipv4("192.0.2.53", "192.0.2.100", 17, Bytes(40, 0xaa), {}, 0x0005)));
  ASSERT_TRUE(d.ok);
  EXPECT_TRUE(d.facts.fragment_non_first);
  EXPECT_EQ(d.facts.sport, 0);
}

TEST(PassiveDecode, IPv6ExtensionHeadersThenDns) {
  Bytes hbh = {60, 0, 1, 4, 0, 0, 0, 0};  // hop-by-hop -> destination options (PadN)
  Bytes dst = {17, 0, 1, 4, 0, 0, 0, 0};  // destination options -> UDP
  Bytes payload = hbh;
  append(payload, dst);
  append(payload, udp(53, 9, dns_response("ns.demo-univ.edu.cn", {"2001:db8:a::53"})));
  const auto d =
      run(frame(ethernet(0x86dd), ipv6("2001:db8:a::53", "2001:db8:a::100", 0, payload)));
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(d.facts.outer_family, 6);
  EXPECT_EQ(d.facts.l4, 17);
  EXPECT_EQ(d.facts.dns_qname.view(), "ns.demo-univ.edu.cn");
}

TEST(PassiveDecode, IPv6FragmentHeader) {
  Bytes first = {17, 0, 0x00, 0x01, 0, 0, 0, 9};  // offset 0, more fragments
  append(first, udp(53, 9, dns_response("big.demo-univ.edu.cn", {"192.0.2.40"})));
  const auto a = run(frame(ethernet(0x86dd), ipv6("2001:db8:a::53", "2001:db8:a::100", 44, first)));
  ASSERT_TRUE(a.ok);
  EXPECT_TRUE(a.facts.fragment);
  EXPECT_FALSE(a.facts.fragment_non_first);
  EXPECT_FALSE(a.facts.dns_response);             // not reassembled: the payload is not parsed
  Bytes later = {17, 0, 0x00, 0x98, 0, 0, 0, 9};  // offset 152
  append(later, Bytes(16, 0xaa));
  const auto b = run(frame(ethernet(0x86dd), ipv6("2001:db8:a::53", "2001:db8:a::100", 44, later)));
  ASSERT_TRUE(b.ok);
  EXPECT_TRUE(b.facts.fragment_non_first);
}

TEST(PassiveDecode, IPv6ExtensionRunningPastThePacket) {
  const Bytes hbh = {17, 5, 0, 0, 0, 0, 0, 0};  // claims 48 bytes
  const auto d = run(frame(ethernet(0x86dd), ipv6("2001:db8::1", "2001:db8::2", 0, hbh)));
  EXPECT_EQ(d.facts.malformed, Malformed::ipv6_bad_extension);
}

TEST(PassiveDecode, TlsClientHelloSni) {
  const auto d =
      run(frame(ethernet(0x0800), ipv4("192.0.2.100", "192.0.2.25", 6,
                                       tcp(40001, 443, client_hello("Mail.Demo-Univ.edu.cn")))));
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(d.facts.tls_sni, "Mail.Demo-Univ.edu.cn");  // as sent; the monitor canonicalises
  EXPECT_EQ(to_string(d.facts.dst), "192.0.2.25");
}

TEST(PassiveDecode, TlsClientHelloCutAcrossSegmentsIsNotMalformed) {
  Bytes hello = client_hello("mail.demo-univ.edu.cn");
  hello.resize(60);  // the rest is in the next segment
  const auto d =
      run(frame(ethernet(0x0800), ipv4("192.0.2.100", "192.0.2.25", 6, tcp(1, 443, hello))));
  EXPECT_TRUE(d.ok);
  EXPECT_TRUE(d.facts.tls_sni.empty());
}

TEST(PassiveDecode, HttpHostHeader) {
  const std::string req =
      "GET /index.html HTTP/1.1\r\nUser-Agent: x\r\nhOsT:  Lib.Demo-Univ.edu.cn:8080 \r\n\r\n";
  const auto d =
      run(frame(ethernet(0x86dd), ipv6("2001:db8:a::100", "2001:db8:a::80", 6,
                                       tcp(40003, 8080, Bytes(req.begin(), req.end())))));
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(d.facts.http_host, "Lib.Demo-Univ.edu.cn:8080");
}

TEST(PassiveDecode, RouterAdvertisementWithPrefixes) {
  const auto d = run(frame(
      ethernet(0x86dd), ipv6("fe80::bad", "ff02::1", 58,
                             router_advert({{"2001:db8:bad::", 64}, {"2001:db8:bad:1::", 64}}))));
  ASSERT_TRUE(d.ok);
  EXPECT_TRUE(d.facts.router_advert);
  EXPECT_EQ(d.facts.router_lifetime, 1800);
  ASSERT_EQ(d.facts.prefix_count, 2);
  EXPECT_EQ(to_string(d.facts.prefixes[1]), "2001:db8:bad:1::");
  EXPECT_EQ(d.facts.prefix_lengths[1], 64);
  EXPECT_TRUE(d.facts.has_mac);
}

TEST(PassiveDecode, Dhcpv6ReplyServerId) {
  const Bytes duid = {0, 3, 0, 1, 2, 0, 0, 0, 0xde, 0xad};
  const auto d = run(
      frame(ethernet(0x86dd), ipv6("fe80::dead", "fe80::100", 17, udp(547, 546, dhcpv6(7, duid)))));
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(d.facts.dhcpv6_type, 7);
  EXPECT_EQ(d.facts.dhcpv6_server_duid.size(), duid.size());
  // A Solicit (1) names no server.
  const auto s = run(
      frame(ethernet(0x86dd), ipv6("fe80::100", "ff02::1:2", 17, udp(546, 547, dhcpv6(1, duid)))));
  EXPECT_EQ(s.facts.dhcpv6_type, 0);
}

TEST(PassiveDecode, Tunnels) {
  const Bytes inner = ipv6("2001:db8:ff00::1", "2001:db8:ff01::1", 59, {});
  const auto six_in_four =
      run(frame(ethernet(0x0800), ipv4("192.0.2.100", "198.51.100.1", 41, inner)));
  ASSERT_TRUE(six_in_four.ok);
  EXPECT_EQ(six_in_four.facts.tunnel, TunnelKind::six_in_four);
  EXPECT_EQ(to_string(six_in_four.facts.tunnel_src), "192.0.2.100");
  EXPECT_EQ(to_string(six_in_four.facts.src), "2001:db8:ff00::1");  // innermost
  EXPECT_EQ(six_in_four.facts.outer_family, 4);

  const auto six_to_four =
      run(frame(ethernet(0x0800), ipv4("192.0.2.101", "198.51.100.99", 41,
                                       ipv6("2002:c000:265::1", "2001:db8::1", 59, {}))));
  EXPECT_EQ(six_to_four.facts.tunnel, TunnelKind::six_to_four);

  const auto teredo = run(
      frame(ethernet(0x0800), ipv4("192.0.2.102", "198.51.100.35", 17, udp(50000, 3544, inner))));
  ASSERT_TRUE(teredo.ok);
  EXPECT_EQ(teredo.facts.tunnel, TunnelKind::teredo);

  Bytes gre = {0x20, 0x00, 0x86, 0xdd, 0, 0, 0, 7};  // key present
  append(gre, inner);
  const auto g = run(frame(ethernet(0x0800), ipv4("192.0.2.103", "203.0.113.9", 47, gre)));
  ASSERT_TRUE(g.ok);
  EXPECT_EQ(g.facts.tunnel, TunnelKind::gre);

  Bytes gre4 = {0x00, 0x00, 0x08, 0x00};
  append(gre4, ipv4("198.51.100.7", "198.51.100.8", 17, udp(1, 2, {})));
  const auto g4 = run(frame(ethernet(0x0800), ipv4("192.0.2.104", "203.0.113.10", 47, gre4)));
  ASSERT_TRUE(g4.ok);
  EXPECT_EQ(g4.facts.tunnel, TunnelKind::none);  // IPv4 in GRE is not an IPv6 tunnel
}

TEST(PassiveDecode, LinkTypes) {
  const Bytes ip = ipv4("192.0.2.53", "192.0.2.100", 17,
                        udp(53, 9, dns_response("raw.demo-univ.edu.cn", {"192.0.2.62"})));
  EXPECT_TRUE(run(ip, LinkType::raw).facts.dns_response);
  Bytes sll = {0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, 0x08, 0x00};
  append(sll, ip);
  EXPECT_TRUE(run(sll, LinkType::linux_sll).facts.dns_response);
  Bytes sll2 = {0x08, 0x00, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0};
  append(sll2, ip);
  EXPECT_TRUE(run(sll2, LinkType::linux_sll2).facts.dns_response);
}

TEST(PassiveDecode, EveryTruncationOfAGoodFrameIsSafe) {
  // Each prefix of real frames decodes without reading past it (ASan/UBSan builds check the
  // reads; here the outcome must be a clean verdict).
  const std::vector<Bytes> frames = {
      frame(ethernet(0x0800, {7}),
            ipv4("192.0.2.53", "192.0.2.100", 17,
                 udp(53, 9, dns_response("www.demo-univ.edu.cn", {"192.0.2.10", "2001:db8::1"})))),
      frame(ethernet(0x0800), ipv4("192.0.2.100", "192.0.2.25", 6,
                                   tcp(1, 443, client_hello("mail.demo-univ.edu.cn")))),
      frame(ethernet(0x86dd),
            ipv6("fe80::bad", "ff02::1", 58, router_advert({{"2001:db8::", 64}}))),
  };
  for (const auto& full : frames) {
    for (std::size_t n = 0; n <= full.size(); ++n) {
      const Bytes cut(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(n));
      Facts f;
      const bool ok = decode(LinkType::ethernet, cut.data(), cut.size(), f);
      EXPECT_EQ(ok, f.malformed == Malformed::none) << n;
    }
  }
}

TEST(PassiveDecode, NotIpIsNotMalformed) {
  const auto d = run(frame(ethernet(0x0806), Bytes(28, 0)));
  EXPECT_TRUE(d.ok);
  EXPECT_EQ(d.facts.outer_family, 0);
}

}  // namespace
}  // namespace edusight::passive
