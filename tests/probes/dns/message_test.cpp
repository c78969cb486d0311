// Message building and parsing from hand-crafted wire bytes: well-formed answers, CNAME
// chains, truncation, garbage and compression loops. Nothing here may crash.
#include "message.hpp"

#include <gtest/gtest.h>

#include <array>
#include <boost/asio/ip/address_v4.hpp>

#include <algorithm>
#include <random>
#include <string>

#include "test_util.hpp"

namespace edusight::dns {
namespace {

using testing::Wire;

constexpr std::uint16_t kA = 1, kNS = 2, kCNAME = 5, kSOA = 6, kPTR = 12, kMX = 15, kTXT = 16,
                        kAAAA = 28;
constexpr std::uint16_t kQname = 12;       // offset of "www.example.com" in the question
constexpr std::uint16_t kExampleCom = 16;  // offset of "example.com"

// Header + question "www.example.com" (mixed case on the wire) for `qtype`.
Wire start(std::uint16_t id, std::uint16_t qtype, std::uint16_t an, std::uint16_t ns = 0,
           int rcode = 0, bool tc = false) {
  Wire w;
  w.header(id, 1, an, ns, 0, rcode, tc).labels("WWW.Example.com").u16(qtype).u16(1);
  return w;
}

void a_record(Wire& w, std::uint16_t owner, std::initializer_list<std::uint8_t> addr) {
  w.ptr(owner).rr_fixed(kA).u16(static_cast<std::uint16_t>(addr.size())).bytes(addr);
}

std::span<const std::uint8_t> span(const Wire& w) {
  return {w.b.data(), w.b.size()};
}

TEST(Message, BuildQueryRoundTrip) {
  auto q = wire::build_query(0x1234, "www.example.com", RType::AAAA, true, 1232);
  ASSERT_TRUE(q);
  auto h = wire::scan(*q);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->id, 0x1234);
  EXPECT_FALSE(h->qr);
  EXPECT_EQ(h->qname, "www.example.com");
  EXPECT_EQ(h->qtype, 28);
  EXPECT_EQ(h->qclass, 1);
  EXPECT_EQ((*q)[2] & 0x01, 0x01);  // RD
  EXPECT_EQ((*q)[11], 1);           // one additional record: the OPT
}

TEST(Message, BuildQueryWithoutEdnsOrRecursion) {
  auto q = wire::build_query(7, "example.com", RType::NS, false, 0);
  ASSERT_TRUE(q);
  EXPECT_EQ((*q)[2] & 0x01, 0);
  EXPECT_EQ((*q)[11], 0);
}

TEST(Message, NormalizesQueryNames) {
  EXPECT_EQ(wire::normalize_query_name("WWW.Example.COM."), "www.example.com");
  EXPECT_EQ(wire::normalize_query_name("_dmarc.example.com"), "_dmarc.example.com");
  EXPECT_EQ(wire::normalize_query_name("测试.中国"), "xn--0zwm56d.xn--fiqs8s");
  EXPECT_FALSE(wire::normalize_query_name(""));
  EXPECT_FALSE(wire::normalize_query_name("a..b"));
  EXPECT_FALSE(wire::normalize_query_name("a b.com"));
  EXPECT_FALSE(wire::normalize_query_name(std::string(64, 'a') + ".com"));
  EXPECT_FALSE(wire::normalize_query_name(std::string(300, 'a')));
}

TEST(Message, CanonicalWireNameEscapesOddBytes) {
  const std::vector<std::uint8_t> name{3, 'A', '.', 'b', 3, 'C', 'o', 'M', 0};
  EXPECT_EQ(wire::canonical_wire_name(name), "a\\046b.com");
  EXPECT_EQ(wire::canonical_wire_name(std::vector<std::uint8_t>{0}), ".");
}

TEST(Message, ParsesEveryRecordType) {
  Wire w = start(0xBEEF, kA, 7, 1);
  a_record(w, kQname, {192, 0, 2, 1});
  // AAAA 2001:0db8:0000:0000:0000:0000:0000:0001 must come out in RFC 5952 form.
  w.ptr(kQname).rr_fixed(kAAAA).u16(16).bytes(
      {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1});
  {  // MX 10 MAIL.example.com (compressed)
    w.ptr(kExampleCom).rr_fixed(kMX);
    const auto len_at = w.size();
    w.u16(0).u16(10).labels("MAIL", false).ptr(kExampleCom);
    w.patch16(len_at, static_cast<std::uint16_t>(w.size() - len_at - 2));
  }
  {  // NS ns1.example.com
    w.ptr(kExampleCom).rr_fixed(kNS);
    const auto len_at = w.size();
    w.u16(0).labels("ns1", false).ptr(kExampleCom);
    w.patch16(len_at, static_cast<std::uint16_t>(w.size() - len_at - 2));
  }
  // TXT with two character strings, joined without separator.
  w.ptr(kQname)
      .rr_fixed(kTXT)
      .u16(10)
      .u8(4)
      .bytes({'v', '=', 's', 'p'})
      .u8(4)
      .bytes({'f', '1', ' ', 'a'});
  {  // PTR to www.example.com
    w.ptr(kQname).rr_fixed(kPTR).u16(2).ptr(kQname);
  }
  // AAAA ::ffff:192.0.2.1
  w.ptr(kQname).rr_fixed(kAAAA).u16(16).bytes(
      {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1});
  {  // authority: SOA ns1.example.com. hostmaster.example.com. ...
    w.ptr(kExampleCom).rr_fixed(kSOA);
    const auto len_at = w.size();
    w.u16(0).labels("NS1", false).ptr(kExampleCom).labels("hostmaster", false).ptr(kExampleCom);
    w.u32(1).u32(3600).u32(900).u32(604800).u32(300);
    w.patch16(len_at, static_cast<std::uint16_t>(w.size() - len_at - 2));
  }

  const Response r = wire::parse_response(span(w));
  ASSERT_EQ(r.status, Status::ok) << r.error;
  EXPECT_TRUE(r.authoritative);
  EXPECT_TRUE(r.recursion_available);
  ASSERT_EQ(r.answers.size(), 7u);
  EXPECT_EQ(r.answers[0].owner, "www.example.com");
  EXPECT_EQ(r.answers[0].type, RType::A);
  EXPECT_EQ(r.answers[0].data, "192.0.2.1");
  EXPECT_EQ(r.answers[0].ttl, 300u);
  EXPECT_EQ(r.answers[1].data, "2001:db8::1");
  EXPECT_EQ(r.answers[2].type, RType::MX);
  EXPECT_EQ(r.answers[2].owner, "example.com");
  EXPECT_EQ(r.answers[2].data, "mail.example.com");
  EXPECT_EQ(r.answers[2].preference, 10);
  EXPECT_EQ(r.answers[3].data, "ns1.example.com");
  EXPECT_EQ(r.answers[4].data, "v=spf1 a");
  EXPECT_EQ(r.answers[5].type, RType::PTR);
  EXPECT_EQ(r.answers[5].data, "www.example.com");
  EXPECT_EQ(r.answers[6].data, "::ffff:192.0.2.1");
  ASSERT_EQ(r.authority.size(), 1u);
  EXPECT_EQ(r.authority[0].type, RType::SOA);
  EXPECT_EQ(r.authority[0].data, "ns1.example.com");
}

// www -> a.example.com -> b.example.com -> A; also a useful base for corruption tests.
Wire cname_chain(std::uint16_t id = 0x4242) {
  Wire w = start(id, kA, 3);
  w.ptr(kQname).rr_fixed(kCNAME);
  auto len_at = w.size();
  const auto a_at = static_cast<std::uint16_t>(w.size() + 2);
  w.u16(0).labels("A", false).ptr(kExampleCom);
  w.patch16(len_at, static_cast<std::uint16_t>(w.size() - len_at - 2));
  w.ptr(a_at).rr_fixed(kCNAME);
  len_at = w.size();
  const auto b_at = static_cast<std::uint16_t>(w.size() + 2);
  w.u16(0).labels("b", false).ptr(kExampleCom);
  w.patch16(len_at, static_cast<std::uint16_t>(w.size() - len_at - 2));
  a_record(w, b_at, {198, 51, 100, 7});
  return w;
}

TEST(Message, ParsesCnameChain) {
  const Wire w = cname_chain();
  const Response r = wire::parse_response(span(w));
  ASSERT_EQ(r.status, Status::ok) << r.error;
  ASSERT_EQ(r.answers.size(), 3u);
  EXPECT_EQ(r.answers[0].type, RType::CNAME);
  EXPECT_EQ(r.answers[0].owner, "www.example.com");
  EXPECT_EQ(r.answers[0].data, "a.example.com");
  EXPECT_EQ(r.answers[1].owner, "a.example.com");
  EXPECT_EQ(r.answers[1].data, "b.example.com");
  EXPECT_EQ(r.answers[2].owner, "b.example.com");
  EXPECT_EQ(r.answers[2].data, "198.51.100.7");
}

TEST(Message, RcodesMapToStatus) {
  Wire nx = start(1, kA, 0, 0, 3);
  EXPECT_EQ(wire::parse_response(span(nx)).status, Status::nxdomain);
  Wire sf = start(1, kA, 0, 0, 2);
  EXPECT_EQ(wire::parse_response(span(sf)).status, Status::servfail);
  Wire rf = start(1, kA, 0, 0, 5);
  EXPECT_EQ(wire::parse_response(span(rf)).status, Status::refused);
  Wire na = start(1, kA, 0, 0, 9);
  const auto r = wire::parse_response(span(na));
  EXPECT_EQ(r.status, Status::other_rcode);
  EXPECT_EQ(r.rcode, 9);
}

TEST(Message, MatchesOnlyOurQuestion) {
  const Wire w = cname_chain(0x4242);
  auto h = wire::scan(span(w));
  ASSERT_TRUE(h);
  EXPECT_TRUE(wire::matches(*h, 0x4242, "www.example.com", RType::A));  // case-insensitive
  EXPECT_FALSE(wire::matches(*h, 0x4243, "www.example.com", RType::A));
  EXPECT_FALSE(wire::matches(*h, 0x4242, "www.example.org", RType::A));
  EXPECT_FALSE(wire::matches(*h, 0x4242, "www.example.com", RType::AAAA));
  auto q = wire::build_query(0x4242, "www.example.com", RType::A, true, 0);
  auto qh = wire::scan(*q);
  ASSERT_TRUE(qh);
  EXPECT_FALSE(wire::matches(*qh, 0x4242, "www.example.com", RType::A));  // a query, not a reply
}

TEST(Message, TruncatedBitIsSeen) {
  Wire w = start(9, kTXT, 0, 0, 0, true);
  auto h = wire::scan(span(w));
  ASSERT_TRUE(h);
  EXPECT_TRUE(h->tc);
}

TEST(Message, EveryTruncationIsMalformed) {
  const Wire w = cname_chain();
  for (std::size_t n = 0; n < w.size(); ++n) {
    const Response r = wire::parse_response({w.b.data(), n});
    EXPECT_EQ(r.status, Status::malformed) << "length " << n;
    EXPECT_TRUE(r.answers.empty());
  }
}

TEST(Message, SelfPointerIsMalformed) {
  Wire w;
  w.header(1, 1, 0).ptr(12).u16(kA).u16(1);
  EXPECT_FALSE(wire::scan(span(w)));
  EXPECT_EQ(wire::parse_response(span(w)).status, Status::malformed);
}

TEST(Message, PointerLoopIsMalformed) {
  // Answer owner: label "x" then a pointer back to that label: x.x.x.x... forever.
  Wire w = start(1, kA, 1);
  const auto at = static_cast<std::uint16_t>(w.size());
  w.labels("x", false).ptr(at).rr_fixed(kA).u16(4).bytes({1, 2, 3, 4});
  EXPECT_FALSE(wire::scan(span(w)));
  EXPECT_EQ(wire::parse_response(span(w)).status, Status::malformed);
  // Two pointers bouncing between each other inside RDATA.
  Wire v = start(1, kCNAME, 1);
  v.ptr(kQname).rr_fixed(kCNAME).u16(4);
  const auto p1 = static_cast<std::uint16_t>(v.size());
  v.ptr(static_cast<std::uint16_t>(p1 + 2)).ptr(p1);
  EXPECT_EQ(wire::parse_response(span(v)).status, Status::malformed);
}

TEST(Message, ForwardPointerIsMalformed) {
  Wire w = start(1, kA, 1);
  w.ptr(static_cast<std::uint16_t>(w.size() + 40)).rr_fixed(kA).u16(4).bytes({1, 2, 3, 4});
  EXPECT_EQ(wire::parse_response(span(w)).status, Status::malformed);
}

TEST(Message, LyingCountsAndLengthsAreMalformed) {
  Wire counts = start(1, kA, 0xFFFF);
  a_record(counts, kQname, {1, 2, 3, 4});
  EXPECT_EQ(wire::parse_response(span(counts)).status, Status::malformed);

  Wire rdlen = start(1, kA, 1);
  rdlen.ptr(kQname).rr_fixed(kA).u16(400).bytes({1, 2, 3, 4});
  EXPECT_EQ(wire::parse_response(span(rdlen)).status, Status::malformed);

  Wire short_a = start(1, kA, 1);
  short_a.ptr(kQname).rr_fixed(kA).u16(3).bytes({1, 2, 3});
  EXPECT_EQ(wire::parse_response(span(short_a)).status, Status::malformed);

  Wire cname_overrun = start(1, kCNAME, 1);  // the target name runs past its RDATA
  cname_overrun.ptr(kQname).rr_fixed(kCNAME).u16(2).labels("abc").u16(0);
  EXPECT_EQ(wire::parse_response(span(cname_overrun)).status, Status::malformed);

  Wire txt = start(1, kTXT, 1);  // character string longer than the RDATA
  txt.ptr(kQname).rr_fixed(kTXT).u16(3).u8(200).bytes({'a', 'b'});
  EXPECT_EQ(wire::parse_response(span(txt)).status, Status::malformed);

  Wire label = start(1, kA, 1);  // reserved label type 0x40
  label.u8(0x41).u8('a').u8(0).rr_fixed(kA).u16(4).bytes({1, 2, 3, 4});
  EXPECT_EQ(wire::parse_response(span(label)).status, Status::malformed);
}

TEST(Message, RandomGarbageNeverCrashes) {
  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int i = 0; i < 5000; ++i) {
    std::vector<std::uint8_t> junk(static_cast<std::size_t>(rng() % 600));
    for (auto& b : junk) b = static_cast<std::uint8_t>(byte(rng));
    const Response r = wire::parse_response(junk);
    EXPECT_LE(r.answers.size(), junk.size() / 11 + 1);
  }
}

TEST(Message, MutatedAnswersNeverCrash) {
  std::mt19937 rng(777);
  const Wire base = cname_chain();
  int ok = 0;
  for (int i = 0; i < 20000; ++i) {
    std::vector<std::uint8_t> m = base.b;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) m[rng() % m.size()] = static_cast<std::uint8_t>(rng());
    const Response r = wire::parse_response(m);
    if (r.status != Status::malformed) ++ok;
    for (const auto& rec : r.answers) EXPECT_LE(rec.owner.size(), 4u * 255u);
  }
  EXPECT_GT(ok, 0);  // some mutations (TTL bytes, ...) stay valid
}

}  // namespace
}  // namespace edusight::dns

namespace edusight::dns {
namespace {

// build_query writes with ldns' buffer functions; a full ldns_pkt must give the same bytes.
TEST(Message, BuildQueryMatchesLdnsPacketBytes) {
  const std::vector<std::string> names{"www.example.com", "h12345.bench.test", "a", "_dmarc.x.y",
                                       std::string(63, 'a') + "." + std::string(63, 'b')};
  for (const auto& name : names) {
    for (RType type : {RType::A, RType::AAAA, RType::MX, RType::AXFR}) {
      for (bool rd : {true, false}) {
        for (std::uint16_t edns : {std::uint16_t{0}, std::uint16_t{1232}, std::uint16_t{4096}}) {
          auto fast = wire::build_query(0xBEEF, name, type, rd, edns);
          auto ref = wire::build_query_pkt(0xBEEF, name, type, rd, edns);
          ASSERT_TRUE(fast && ref) << name;
          EXPECT_EQ(*fast, *ref) << name << " " << to_string(type) << " rd=" << rd
                                 << " edns=" << edns;
        }
      }
    }
  }
  EXPECT_FALSE(wire::build_query(1, std::string(64, 'a') + ".com", RType::A, true, 0));
}

TEST(Message, SetIdPatchesOnlyTheId) {
  auto q = wire::build_query(0x0101, "www.example.com", RType::A, true, 1232);
  ASSERT_TRUE(q);
  auto patched = *q;
  wire::set_id(patched, 0xA55A);
  EXPECT_EQ(patched[0], 0xA5);
  EXPECT_EQ(patched[1], 0x5A);
  EXPECT_TRUE(std::equal(q->begin() + 2, q->end(), patched.begin() + 2));
  EXPECT_EQ(*wire::build_query(0xA55A, "www.example.com", RType::A, true, 1232), patched);
}

// The resolver parses with the pre-scan's header; the result must equal a parse from scratch.
TEST(Message, ParseWithScannedHeaderEqualsFullParse) {
  testing::Wire w;
  w.header(0x0707, 1, 2, 1, 1, 0).labels("WWW.Example.com").u16(1).u16(1);
  w.ptr(12).rr_fixed(5).u16(6).labels("web", false).ptr(16);  // CNAME web.example.com
  w.ptr(12).rr_fixed(1).u16(4).bytes({192, 0, 2, 7});
  w.ptr(16).rr_fixed(6).u16(30).labels("ns1", false).ptr(16).labels("h", false).ptr(16)
      .u32(1).u32(2).u32(3).u32(4).u32(5);
  w.u8(0).u16(41).u16(1232).u32(0).u16(0);  // OPT in the additional section
  const auto msg = std::span<const std::uint8_t>(w.b.data(), w.b.size());
  auto h = wire::scan(msg);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->ancount, 2);
  EXPECT_EQ(h->nscount, 1);
  EXPECT_TRUE(h->aa);
  const Response a = wire::parse_response(msg, *h);
  const Response b = wire::parse_response(msg);
  ASSERT_EQ(a.status, Status::ok) << a.error;
  ASSERT_EQ(a.answers.size(), 2u);
  ASSERT_EQ(a.authority.size(), 1u);
  EXPECT_EQ(a.answers[0].data, "web.example.com");
  EXPECT_EQ(a.answers[1].data, "192.0.2.7");
  EXPECT_EQ(a.authority[0].data, "ns1.example.com");
  EXPECT_TRUE(a.authoritative);
  EXPECT_TRUE(a.recursion_available);
  ASSERT_EQ(b.answers.size(), a.answers.size());
  for (std::size_t i = 0; i < a.answers.size(); ++i) {
    EXPECT_EQ(a.answers[i].owner, b.answers[i].owner);
    EXPECT_EQ(a.answers[i].data, b.answers[i].data);
    EXPECT_EQ(a.answers[i].ttl, b.answers[i].ttl);
  }
  EXPECT_EQ(a.rcode, b.rcode);
}

}  // namespace
}  // namespace edusight::dns

namespace edusight::dns {
namespace {

// A records are formatted without inet_ntop; every octet width must come out right.
TEST(Message, ARecordTextMatchesInetNtop) {
  const std::vector<std::array<std::uint8_t, 4>> addrs{
      {0, 0, 0, 0}, {255, 255, 255, 255}, {10, 0, 48, 57}, {1, 22, 100, 9}, {192, 168, 10, 200}};
  for (const auto& a : addrs) {
    testing::Wire w;
    w.header(1, 1, 1).labels("a.example").u16(1).u16(1);
    w.ptr(12).rr_fixed(1).u16(4).bytes({a[0], a[1], a[2], a[3]});
    const Response r = wire::parse_response(std::span<const std::uint8_t>(w.b.data(), w.b.size()));
    ASSERT_EQ(r.status, Status::ok) << r.error;
    ASSERT_EQ(r.answers.size(), 1u);
    EXPECT_EQ(r.answers[0].data, boost::asio::ip::address_v4(a).to_string());
  }
}

}  // namespace
}  // namespace edusight::dns
