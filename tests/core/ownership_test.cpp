#include "edusight/core/ownership.hpp"

#include <gtest/gtest.h>

#include <random>

#include "edusight/core/names.hpp"

namespace edusight {
namespace {

using boost::asio::ip::address;

address ip(const char* text) {
  const auto a = parse_address(text);
  if (!a) throw std::invalid_argument(text);
  return *a;
}

Prefix pfx(const std::string& text) {
  std::string why;
  const auto p = Prefix::parse(text, &why);
  if (!p) throw std::invalid_argument(text + ": " + why);
  return *p;
}

std::string matched(const PrefixSet& s, const char* a) {
  const auto p = s.match(ip(a));
  return p ? p->to_string() : "none";
}

TEST(PrefixSet, LongestOfNestedPrefixes) {
  PrefixSet s;
  // Inserted out of order so that inner nodes are split after the fact.
  s.add(pfx("10.1.2.0/24"));
  s.add(pfx("10.0.0.0/8"));
  s.add(pfx("10.1.0.0/16"));
  s.add(pfx("10.1.2.128/25"));
  EXPECT_EQ(s.size(), 4U);
  EXPECT_EQ(matched(s, "10.1.2.200"), "10.1.2.128/25");
  EXPECT_EQ(matched(s, "10.1.2.3"), "10.1.2.0/24");
  EXPECT_EQ(matched(s, "10.1.3.1"), "10.1.0.0/16");
  EXPECT_EQ(matched(s, "10.200.0.1"), "10.0.0.0/8");
  EXPECT_EQ(matched(s, "11.0.0.1"), "none");
  EXPECT_FALSE(s.contains(ip("2001:db8::1")));
}

TEST(PrefixSet, NestedIpv6AndSiblings) {
  PrefixSet s;
  s.add(pfx("2001:db8::/32"));
  s.add(pfx("2001:db8:1::/48"));
  s.add(pfx("2001:db8:2::/48"));
  s.add(pfx("2001:db8:1:8000::/49"));
  EXPECT_EQ(matched(s, "2001:db8:1:8001::1"), "2001:db8:1:8000::/49");
  EXPECT_EQ(matched(s, "2001:db8:1::1"), "2001:db8:1::/48");
  EXPECT_EQ(matched(s, "2001:db8:2:ffff::1"), "2001:db8:2::/48");
  EXPECT_EQ(matched(s, "2001:db8:3::1"), "2001:db8::/32");
  EXPECT_EQ(matched(s, "2001:db9::1"), "none");
  EXPECT_FALSE(s.contains(ip("10.0.0.1")));
}

TEST(PrefixSet, DefaultRoutesAndHostPrefixes) {
  PrefixSet s;
  EXPECT_FALSE(s.contains(ip("192.0.2.1")));
  s.add(pfx("192.0.2.7/32"));
  s.add(pfx("2001:db8::7/128"));
  EXPECT_EQ(matched(s, "192.0.2.7"), "192.0.2.7/32");
  EXPECT_EQ(matched(s, "192.0.2.6"), "none");
  EXPECT_EQ(matched(s, "192.0.2.8"), "none");
  EXPECT_EQ(matched(s, "2001:db8::7"), "2001:db8::7/128");
  EXPECT_EQ(matched(s, "2001:db8::6"), "none");

  s.add(pfx("0.0.0.0/0"));
  EXPECT_EQ(matched(s, "203.0.113.9"), "0.0.0.0/0");
  EXPECT_EQ(matched(s, "192.0.2.7"), "192.0.2.7/32");
  EXPECT_EQ(matched(s, "2001:db8::6"), "none");  // an IPv4 default covers no IPv6
  s.add(pfx("::/0"));
  EXPECT_EQ(matched(s, "2001:db8::6"), "::/0");
  EXPECT_EQ(matched(s, "2001:db8::7"), "2001:db8::7/128");
  EXPECT_EQ(matched(s, "255.255.255.255"), "0.0.0.0/0");
  EXPECT_EQ(matched(s, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), "::/0");
}

TEST(PrefixSet, Ipv4MappedMatchesAsIpv4) {
  PrefixSet s;
  s.add(pfx("192.0.2.0/24"));
  s.add(pfx("2001:db8::/32"));
  EXPECT_EQ(matched(s, "::ffff:192.0.2.14"), "192.0.2.0/24");
  EXPECT_EQ(matched(s, "::ffff:198.51.100.1"), "none");
  // Mapped addresses belong to the IPv4 space, not to IPv6 prefixes that would cover ::ffff:0:0.
  s.add(pfx("::/0"));
  EXPECT_EQ(matched(s, "::ffff:198.51.100.1"), "none");
  EXPECT_EQ(matched(s, "::ffff:192.0.2.14"), "192.0.2.0/24");
  EXPECT_EQ(matched(s, "::1"), "::/0");
}

TEST(PrefixSet, DuplicatesKeepOne) {
  PrefixSet s;
  s.add(pfx("192.0.2.0/24"));
  s.add(pfx("192.0.2.0/24"));
  s.add(pfx("192.0.2.0/25"));
  EXPECT_EQ(s.size(), 2U);
  const auto i = s.find(ip("192.0.2.200"));
  ASSERT_NE(i, PrefixSet::npos);
  EXPECT_EQ(s.text(i), "192.0.2.0/24");
  EXPECT_EQ(s.prefix(i).length(), 24);
}

// Builds random prefixes in a narrow space (so they nest and share paths) and checks the trie
// against the obvious linear scan for the longest containing prefix.
TEST(PrefixSet, AgreesWithLinearScan) {
  std::mt19937_64 rng(20240611);
  std::vector<Prefix> all;
  PrefixSet s;

  auto random_v4 = [&]() {
    // Mostly inside 10.0.0.0/14 to get deep nesting, sometimes anywhere.
    std::uint32_t v = static_cast<std::uint32_t>(rng());
    if (rng() % 4 != 0) v = (10U << 24) | (v & 0x0003ffffU);
    return address(boost::asio::ip::address_v4(v));
  };
  auto random_v6 = [&]() {
    boost::asio::ip::address_v6::bytes_type b{};
    for (auto& x : b) x = static_cast<unsigned char>(rng());
    if (rng() % 4 != 0) {
      b[0] = 0x20, b[1] = 0x01, b[2] = 0x0d, b[3] = 0xb8;
      b[4] &= 0x03;
    }
    if (b[0] == 0 && b[1] == 0) b[0] = 0x20;  // keep clear of ::ffff:0:0/96
    return address(boost::asio::ip::address_v6(b));
  };
  auto prefix_of = [](const address& a, int len) {
    // Mask the host bits through the text form, the only public way to build a Prefix.
    auto text = canonical_address(a);
    std::array<unsigned char, 16> b{};
    const int max = a.is_v4() ? 32 : 128;
    if (a.is_v4()) {
      const auto v4 = a.to_v4().to_bytes();
      std::copy(v4.begin(), v4.end(), b.begin());
    } else {
      b = a.to_v6().to_bytes();
    }
    for (int bit = len; bit < max; ++bit)
      b[bit / 8] &= static_cast<unsigned char>(~(0x80 >> (bit % 8)));
    address m;
    if (a.is_v4()) {
      m = boost::asio::ip::address_v4({b[0], b[1], b[2], b[3]});
    } else {
      m = boost::asio::ip::address_v6(b);
    }
    const auto p = Prefix::parse(canonical_address(m) + "/" + std::to_string(len));
    if (!p) throw std::logic_error("bad prefix from " + text);
    return *p;
  };

  for (int i = 0; i < 400; ++i) {
    const bool v6 = i % 2 == 1;
    const address a = v6 ? random_v6() : random_v4();
    const int len = v6 ? static_cast<int>(rng() % 129) : static_cast<int>(rng() % 33);
    // A few default routes would hide every miss: keep short prefixes rare.
    if (len < 8 && rng() % 8 != 0) continue;
    const Prefix p = prefix_of(a, len);
    s.add(p);
    bool dup = false;
    for (const auto& q : all) dup = dup || q.to_string() == p.to_string();
    if (!dup) all.push_back(p);
  }
  ASSERT_EQ(s.size(), all.size());

  int hits = 0;
  for (int i = 0; i < 20000; ++i) {
    const address a = i % 2 == 0 ? random_v4() : random_v6();
    const Prefix* best = nullptr;
    for (const auto& q : all) {
      if (q.contains(a) && (best == nullptr || q.length() > best->length())) best = &q;
    }
    const auto got = s.match(a);
    ASSERT_EQ(got.has_value(), best != nullptr) << canonical_address(a);
    if (best) {
      ++hits;
      ASSERT_EQ(got->to_string(), best->to_string()) << canonical_address(a);
    }
  }
  // The cross-check means something only if both outcomes occur often.
  EXPECT_GT(hits, 2000);
  EXPECT_LT(hits, 18000);
}

TEST(ZoneSet, LabelBoundaries) {
  ZoneSet z;
  z.add("demo.edu.cn");
  EXPECT_EQ(z.size(), 1U);
  EXPECT_EQ(z.match("demo.edu.cn"), "demo.edu.cn");
  EXPECT_EQ(z.match("www.demo.edu.cn"), "demo.edu.cn");
  EXPECT_EQ(z.match("a.b.demo.edu.cn"), "demo.edu.cn");
  EXPECT_FALSE(z.match("evil-demo.edu.cn"));
  EXPECT_FALSE(z.match("evildemo.edu.cn"));
  EXPECT_FALSE(z.match("edu.cn"));
  EXPECT_FALSE(z.match("demo.edu.cn.evil.com"));
  EXPECT_FALSE(z.match("demo.edu"));
  EXPECT_FALSE(z.match(""));
  EXPECT_FALSE(z.match("cn"));
  EXPECT_TRUE(z.contains("x.demo.edu.cn"));
  EXPECT_FALSE(z.contains("x.demo.edu.cn.cn"));
}

TEST(ZoneSet, MostSpecificZoneWins) {
  ZoneSet z;
  z.add("demo.edu.cn");
  z.add("cs.demo.edu.cn");
  z.add("demo.edu.cn");  // a duplicate
  EXPECT_EQ(z.size(), 2U);
  EXPECT_EQ(z.match("lab.cs.demo.edu.cn"), "cs.demo.edu.cn");
  EXPECT_EQ(z.match("cs.demo.edu.cn"), "cs.demo.edu.cn");
  EXPECT_EQ(z.match("ee.demo.edu.cn"), "demo.edu.cn");
  EXPECT_EQ(z.match("xcs.demo.edu.cn"), "demo.edu.cn");
}

TEST(PublicSuffix, RegistrableDomain) {
  EXPECT_EQ(registrable_domain("www.demo-univ.edu.cn"), "demo-univ.edu.cn");
  EXPECT_EQ(registrable_domain("demo-univ.edu.cn"), "demo-univ.edu.cn");
  EXPECT_EQ(registrable_domain("a.b.example.co.uk"), "example.co.uk");
  EXPECT_EQ(registrable_domain("WWW.Example.COM."), "example.com");
  EXPECT_EQ(registrable_domain("示范大学.中国"), "xn--pss25cq42ckwi.xn--fiqs8s");
  // A public suffix has no registrable domain.
  EXPECT_EQ(registrable_domain("cn"), "");
  EXPECT_EQ(registrable_domain("edu.cn"), "");
  EXPECT_EQ(registrable_domain("co.uk"), "");
  EXPECT_EQ(registrable_domain(""), "");
  EXPECT_EQ(registrable_domain("bad name.cn"), "");
}

InstitutionProfile profile() {
  InstitutionProfile p;
  p.name = "示范大学";
  p.own_domains = {"demo-univ.edu.cn", "demo-univ.cn"};
  p.own_prefixes = {pfx("192.0.2.0/24"), pfx("2001:db8:100::/40")};
  return p;
}

TEST(OwnershipClassifier, DomainsAndAddresses) {
  const OwnershipClassifier c(profile());
  EXPECT_TRUE(c.own_domain("www.demo-univ.edu.cn"));
  EXPECT_TRUE(c.own_domain("WWW.Demo-Univ.EDU.CN."));  // tolerated, not required
  EXPECT_TRUE(c.own_domain("demo-univ.cn"));
  EXPECT_FALSE(c.own_domain("evil-demo-univ.edu.cn"));
  EXPECT_FALSE(c.own_domain("demo-univ.edu.cn.example.com"));
  EXPECT_EQ(c.own_zone("lib.demo-univ.edu.cn"), "demo-univ.edu.cn");
  EXPECT_FALSE(c.own_zone("example.com"));

  EXPECT_TRUE(c.own_address(ip("192.0.2.10")));
  EXPECT_TRUE(c.own_address(ip("::ffff:192.0.2.10")));
  EXPECT_TRUE(c.own_address(ip("2001:db8:1ff::1")));
  EXPECT_FALSE(c.own_address(ip("2001:db8:200::1")));
  EXPECT_FALSE(c.own_address(ip("198.51.100.1")));
  ASSERT_TRUE(c.own_prefix(ip("2001:db8:100::1")));
  EXPECT_EQ(c.own_prefix(ip("2001:db8:100::1"))->to_string(), "2001:db8:100::/40");
}

TEST(OwnershipClassifier, ClassifyCategories) {
  const OwnershipClassifier c(profile());
  // Campus and cloud address together: own-addressed (any address counts).
  auto v = c.classify("www.demo-univ.edu.cn", {ip("203.0.113.5"), ip("192.0.2.80")});
  EXPECT_TRUE(v.own_domain);
  EXPECT_TRUE(v.own_address);
  EXPECT_EQ(v.zone, "demo-univ.edu.cn");
  EXPECT_EQ(v.prefix, "192.0.2.0/24");

  // Category 1: own domain, address elsewhere.
  v = c.classify("oa.demo-univ.edu.cn", {ip("203.0.113.5"), ip("2001:db8:ffff::1")});
  EXPECT_TRUE(v.own_domain);
  EXPECT_FALSE(v.own_address);
  EXPECT_EQ(v.prefix, "");

  // Category 2: foreign domain on an own address.
  v = c.classify("demo-univ.example.com", {ip("2001:db8:100::80")});
  EXPECT_FALSE(v.own_domain);
  EXPECT_EQ(v.zone, "");
  EXPECT_TRUE(v.own_address);
  EXPECT_EQ(v.prefix, "2001:db8:100::/40");

  // Neither; no addresses at all.
  v = c.classify("demo-univ.example.com", {});
  EXPECT_FALSE(v.own_domain);
  EXPECT_FALSE(v.own_address);
}

TEST(OwnershipClassifier, EmptyProfile) {
  const OwnershipClassifier c(InstitutionProfile{});
  const auto v = c.classify("www.demo-univ.edu.cn", {ip("192.0.2.1"), ip("::1")});
  EXPECT_FALSE(v.own_domain);
  EXPECT_FALSE(v.own_address);
}

}  // namespace
}  // namespace edusight
