#include "probes/ipv6/selfcheck.hpp"

#include <gtest/gtest.h>

#include "fakes.hpp"

namespace edusight::ipv6 {
namespace {

constexpr const char* kIfInet6 =
    "00000000000000000000000000000001 01 80 10 80       lo\n"
    "fe800000000000000000000000000001 02 40 20 80    veth0\n"
    "20010db800ff00000000000000000002 02 40 00 80    veth0\n"
    "20010db800ff00000000000000000009 02 40 00 c0    veth0\n";  // tentative: not usable

constexpr const char* kRouteDefault =
    "00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
    "20010db800ff00000000000000000001 "
    "00000400 00000001 00000000 00000003    veth0\n";
constexpr const char* kRouteRejectOnly =
    "00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
    "00000000000000000000000000000000 "
    "ffffffff 00000001 00000000 00200200       lo\n";

TEST(Vantage, ParsesGlobalAddressesAndDefaultRoute) {
  const auto f = parse_proc_ipv6(kIfInet6, kRouteDefault);
  ASSERT_EQ(f.global_ipv6.size(), 1u);
  EXPECT_EQ(f.global_ipv6[0], "2001:db8:ff::2");
  EXPECT_TRUE(f.ipv6_default_route);
}

TEST(Vantage, RejectRouteIsNoDefault) {
  const auto f = parse_proc_ipv6(kIfInet6, kRouteRejectOnly);
  EXPECT_FALSE(f.ipv6_default_route);
}

class FixedVantage final : public VantageSource {
 public:
  VantageFacts facts;
  VantageFacts read() const override { return facts; }
};

TEST(Selfcheck, NoIpv6MarksResultsUntrustworthy) {
  testing::FakeLookup dns;
  testing::FakeFetcher web;
  testing::CollectingSink sink;
  ManualClock clock(std::chrono::system_clock::time_point{});
  ScanConfig cfg;
  cfg.resolvers = {*parse_endpoint("192.0.2.53")};
  Reporter rep(sink, clock, "a1", "s1");
  HostPacer pacer(1000);
  CheckContext ctx{dns, web, cfg, rep, pacer};
  FixedVantage v;  // nothing: no address, no route
  const bool ok = testing::run(run_selfcheck(ctx, v, "a1"));
  EXPECT_FALSE(ok);
  ASSERT_EQ(sink.findings.size(), 1u);
  EXPECT_EQ(sink.findings[0].kind, "agent.selfcheck");
  EXPECT_EQ(sink.findings[0].severity, Severity::medium);
  EXPECT_EQ(sink.findings[0].evidence.at("reason").as_string(), "no global IPv6 address");

  // Later IPv6 findings come out as info with trustworthy=false.
  rep.set_ipv6_trustworthy(false);
  rep.emit("ipv6.web.unreachable", Severity::high, "www.demo-univ.edu.cn", "", "t", "t", {});
  EXPECT_EQ(sink.findings.back().severity, Severity::info);
  EXPECT_FALSE(sink.findings.back().evidence.at("trustworthy").as_bool());
}

}  // namespace
}  // namespace edusight::ipv6
