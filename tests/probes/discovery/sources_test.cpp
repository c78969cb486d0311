#include "probes/discovery/sources.hpp"

#include <gtest/gtest.h>

#include "../ipv6/fakes.hpp"
#include "edusight/core/names.hpp"

namespace edusight::discovery {
namespace {

TEST(ReverseName, BothFamilies) {
  EXPECT_EQ(reverse_name(*parse_address("192.0.2.30")), "30.2.0.192.in-addr.arpa");
  EXPECT_EQ(reverse_name(*parse_address("2001:db8::1")),
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
}

TEST(ExpandIpv4, SkipsNetworkAndBroadcast) {
  const auto v = expand_ipv4(*Prefix::parse("192.0.2.0/29"), 100);
  ASSERT_EQ(v.size(), 6u);
  EXPECT_EQ(canonical_address(v.front()), "192.0.2.1");
  EXPECT_EQ(canonical_address(v.back()), "192.0.2.6");
  EXPECT_EQ(expand_ipv4(*Prefix::parse("192.0.2.0/24"), 10).size(), 10u);
}

class WordlistTest : public ::testing::Test {
 protected:
  WordlistTest()
      : clock(std::chrono::system_clock::time_point{}), rep(sink, clock, "a", "s"), pacer(1e6) {}
  void run(const std::vector<std::string>& words, const std::string& zone) {
    ipv6::CheckContext ctx{dns, web, cfg, rep, pacer};
    ipv6::ScanState state(ctx);
    SeededRandom rnd(7);
    testing::run(discover_by_wordlist(state, zone, words, rnd, inv));
  }
  testing::FakeLookup dns;
  testing::FakeFetcher web;
  testing::CollectingSink sink;
  ManualClock clock;
  ScanConfig cfg;
  ipv6::Reporter rep;
  HostPacer pacer;
  Inventory inv;
};

TEST_F(WordlistTest, FindsExistingNames) {
  dns.host("www.demo-univ.edu.cn", {"192.0.2.10"}, {});
  dns.host("lab.demo-univ.edu.cn", {"192.0.2.31"}, {});
  run({"www", "lab", "nothere"}, "demo-univ.edu.cn");
  EXPECT_NE(inv.find("www.demo-univ.edu.cn"), nullptr);
  EXPECT_NE(inv.find("lab.demo-univ.edu.cn"), nullptr);
  EXPECT_EQ(inv.find("nothere.demo-univ.edu.cn"), nullptr);
}

// A fake that answers every name under the zone with the wildcard address.
class WildcardLookup final : public dns::Lookup {
 public:
  testing::FakeLookup specific;
  boost::asio::awaitable<dns::Response> query(std::string n, dns::RType t) override {
    return specific.query(n, t);
  }
  boost::asio::awaitable<dns::Response> query_server(dns::Server s, std::string n, dns::RType t,
                                                     dns::QueryOptions o) override {
    return specific.query_server(s, n, t, o);
  }
  boost::asio::awaitable<dns::AddressLookup> addresses(std::string host) override {
    if (specific.hosts.count(host)) co_return specific.hosts[host];
    dns::AddressLookup a;
    a.status = dns::Status::ok;
    a.ipv4.push_back(*parse_address("192.0.2.35"));
    co_return a;
  }
  boost::asio::awaitable<dns::AxfrResult> axfr(dns::Server, std::string) override {
    co_return dns::AxfrResult{};
  }
};

TEST(Wildcard, OnlyNamesThatAnswerDifferently) {
  WildcardLookup dns;
  dns.specific.host("intra.demo-univ.cn", {"192.0.2.33"}, {});
  testing::FakeFetcher web;
  testing::CollectingSink sink;
  ManualClock clock(std::chrono::system_clock::time_point{});
  ScanConfig cfg;
  ipv6::Reporter rep(sink, clock, "a", "s");
  HostPacer pacer(1e6);
  ipv6::CheckContext ctx{dns, web, cfg, rep, pacer};
  ipv6::ScanState state(ctx);
  SeededRandom rnd(7);
  Inventory inv;
  // Every one of the ~130 built-in words resolves (to the wildcard); only intra is real.
  testing::run(discover_by_wordlist(state, "demo-univ.cn", builtin_wordlist(), rnd, inv));
  ASSERT_EQ(inv.all().size(), 1u);
  EXPECT_NE(inv.find("intra.demo-univ.cn"), nullptr);
}

}  // namespace
}  // namespace edusight::discovery
