#include "probes/ipv6/zone.hpp"

#include <gtest/gtest.h>

#include "fakes.hpp"

namespace edusight::ipv6 {
namespace {

class ZoneTest : public ::testing::Test {
 protected:
  ZoneTest()
      : clock(std::chrono::system_clock::time_point{}), rep(sink, clock, "a1", "s1"), pacer(1e6) {}
  void check(const std::string& zone) {
    CheckContext ctx{dns, web, cfg, rep, pacer};
    ScanState state(ctx);
    testing::run(check_zone(state, zone));
  }
  testing::FakeLookup dns;
  testing::FakeFetcher web;
  testing::CollectingSink sink;
  ManualClock clock;
  ScanConfig cfg;
  Reporter rep;
  HostPacer pacer;
};

TEST_F(ZoneTest, TwoNameServersOverIpv6Pass) {
  dns.records("demo-univ.edu.cn", dns::RType::NS,
              {{"demo-univ.edu.cn", dns::RType::NS, 300, "ns1.demo-univ.edu.cn", 0},
               {"demo-univ.edu.cn", dns::RType::NS, 300, "ns2.demo-univ.edu.cn", 0}});
  dns.host("ns1.demo-univ.edu.cn", {"192.0.2.1"}, {"2001:db8:1::1"});
  dns.host("ns2.demo-univ.edu.cn", {"192.0.2.2"}, {"2001:db8:1::2"});
  dns.direct_soa[{"2001:db8:1::1", "demo-univ.edu.cn"}] = true;
  dns.direct_soa[{"2001:db8:1::2", "demo-univ.edu.cn"}] = true;
  check("demo-univ.edu.cn");
  EXPECT_TRUE(sink.findings.empty());
}

TEST_F(ZoneTest, AaaaThatDoesNotAnswerDoesNotCount) {
  dns.records("demo-univ.cn", dns::RType::NS,
              {{"demo-univ.cn", dns::RType::NS, 300, "ns1.demo-univ.edu.cn", 0},
               {"demo-univ.cn", dns::RType::NS, 300, "ns2.demo-univ.edu.cn", 0},
               {"demo-univ.cn", dns::RType::NS, 300, "ns3.demo-univ.edu.cn", 0}});
  dns.host("ns1.demo-univ.edu.cn", {"192.0.2.1"}, {"2001:db8:1::1"});
  dns.host("ns2.demo-univ.edu.cn", {"192.0.2.2"}, {"2001:db8:1::2"});  // AAAA, but silent over IPv6
  dns.host("ns3.demo-univ.edu.cn", {"192.0.2.3"}, {});
  dns.direct_soa[{"2001:db8:1::1", "demo-univ.cn"}] = true;
  check("demo-univ.cn");
  const auto* f = sink.find("ipv6.dns.ns_no_ipv6", "demo-univ.cn");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->evidence.at("answering_over_ipv6").as_int64(), 1);
  EXPECT_EQ(f->evidence.at("name_servers").as_array().size(), 3u);
}

TEST_F(ZoneTest, MxWithoutAaaa) {
  dns.records("demo-univ.edu.cn", dns::RType::MX,
              {{"demo-univ.edu.cn", dns::RType::MX, 300, "mail.demo-univ.edu.cn", 10},
               {"demo-univ.edu.cn", dns::RType::MX, 300, "mx2.demo-univ.edu.cn", 20}});
  dns.host("mail.demo-univ.edu.cn", {"192.0.2.25"}, {"2001:db8:10::25"});
  dns.host("mx2.demo-univ.edu.cn", {"192.0.2.26"}, {});
  check("demo-univ.edu.cn");
  const auto* f = sink.find("ipv6.mail.mx_no_aaaa", "demo-univ.edu.cn");
  ASSERT_NE(f, nullptr);
  const auto& list = f->evidence.at("mx_without_aaaa").as_array();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].as_object().at("host").as_string(), "mx2.demo-univ.edu.cn");
}

}  // namespace
}  // namespace edusight::ipv6
