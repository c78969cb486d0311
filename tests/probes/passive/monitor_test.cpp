#include "probes/passive/monitor.hpp"

#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>
#include <map>
#include <string>

#include "frames.hpp"

namespace edusight::passive {
namespace {

using namespace test;
using namespace std::chrono_literals;

class VectorSink final : public FindingSink {
 public:
  void write(const Finding& f) override { findings.push_back(f); }
  std::vector<Finding> findings;
  std::vector<Finding> of(std::string_view kind) const {
    std::vector<Finding> out;
    for (const auto& f : findings) {
      if (f.kind == kind) out.push_back(f);
    }
    return out;
  }
};

InstitutionProfile campus() {
  InstitutionProfile p;
  p.own_domains = {"demo-univ.edu.cn"};
  p.own_prefixes = {*Prefix::parse("192.0.2.0/24"), *Prefix::parse("2001:db8:a::/48")};
  return p;
}

// 2026-01-01T00:00:00Z: a multiple of every interval used here.
const Clock::time_point kStart{std::chrono::seconds(1767225600)};

class MonitorTest : public ::testing::Test {
 protected:
  MonitorTest() : ownership_(campus()), clock_(kStart) {}

  Monitor& make(MonitorOptions o = {}) {
    o.interval = 60s;
    o.interface = "eth-test";
    o.agent = "agent-1";
    o.scan = "passive-test";
    monitor_.emplace(o, ownership_, sink_, clock_);
    return *monitor_;
  }

  void feed(const Bytes& frame, Clock::time_point t) {
    Facts f;
    const bool ok = decode(LinkType::ethernet, frame.data(), frame.size(), f);
    monitor_->packet(f, ok, static_cast<std::uint32_t>(frame.size()), t);
  }

  static Bytes dns(const std::string& name, const std::vector<std::string>& addrs,
                   unsigned rcode = 0) {
    return frame(ethernet(0x0800), ipv4("192.0.2.53", "192.0.2.100", 17,
                                        udp(53, 9, dns_response(name, addrs, rcode))));
  }

  OwnershipClassifier ownership_;
  ManualClock clock_;
  VectorSink sink_;
  std::optional<Monitor> monitor_;
};

TEST_F(MonitorTest, OneFindingPerFactPerIntervalNeverOnePerPacket) {
  MonitorOptions o;
  o.packet_time = false;  // the injected clock drives the intervals
  auto& m = make(o);
  for (int i = 0; i < 100; ++i) {
    feed(dns("www.demo-univ.edu.cn", {"192.0.2.10", "2001:db8:a::10"}), {});
    clock_.advance(100ms);
  }
  EXPECT_TRUE(sink_.findings.empty());  // nothing before the interval ends
  clock_.advance(60s);
  m.poll();
  ASSERT_EQ(sink_.of("asset.discovered").size(), 1u);
  const Finding f = sink_.of("asset.discovered")[0];
  EXPECT_EQ(f.subject, "www.demo-univ.edu.cn");
  EXPECT_EQ(f.id, finding_id("asset.discovered", "www.demo-univ.edu.cn"));  // as discovery's
  EXPECT_EQ(f.agent, "agent-1");
  const auto& ev = f.evidence;
  EXPECT_EQ(boost::json::serialize(ev.at("sources")), R"(["passive"])");
  EXPECT_EQ(boost::json::serialize(ev.at("ipv4")), R"(["192.0.2.10"])");
  EXPECT_EQ(boost::json::serialize(ev.at("ipv6")), R"(["2001:db8:a::10"])");
  EXPECT_TRUE(ev.at("own_domain").as_bool());
  EXPECT_TRUE(ev.at("own_address").as_bool());
  EXPECT_EQ(ev.at("own_zone").as_string(), "demo-univ.edu.cn");
  EXPECT_EQ(ev.at("own_prefix").as_string(), "192.0.2.0/24");
  EXPECT_EQ(ev.at("registrable_domain").as_string(), "demo-univ.edu.cn");
  EXPECT_EQ(ev.at("packets").as_uint64(), 100u);
  EXPECT_EQ(ev.at("interval_start").as_string(), "2026-01-01T00:00:00Z");
  ASSERT_EQ(sink_.of("net.ipv6_share").size(), 1u);
  EXPECT_EQ(sink_.findings.size(), 2u);
  // Polling again without packets reports nothing more.
  clock_.advance(120s);
  m.poll();
  m.finish();
  EXPECT_EQ(sink_.findings.size(), 2u);
}

TEST_F(MonitorTest, PacketTimestampsDriveIntervalsOfFiles) {
  auto& m = make();
  feed(dns("www.demo-univ.edu.cn", {"192.0.2.10"}), kStart + 1s);
  feed(dns("www.demo-univ.edu.cn", {"192.0.2.10"}), kStart + 59s);
  EXPECT_TRUE(sink_.findings.empty());
  feed(dns("www.demo-univ.edu.cn", {"192.0.2.10"}), kStart + 61s);  // closes the first
  EXPECT_EQ(sink_.of("asset.discovered").size(), 1u);
  EXPECT_EQ(sink_.findings[0].evidence.at("packets").as_uint64(), 2u);
  EXPECT_EQ(format_rfc3339(sink_.findings[0].observed_at), "2026-01-01T00:00:59Z");
  m.finish();
  EXPECT_EQ(sink_.of("asset.discovered").size(), 2u);
  EXPECT_EQ(m.stats().intervals, 2u);
}

TEST_F(MonitorTest, OnlyOwnNamesOrNamesOnOwnAddresses) {
  auto& m = make();
  feed(dns("www.example.org", {"203.0.113.5"}), kStart);            // neither: not kept
  feed(dns("portal.partner-example.com", {"192.0.2.77"}), kStart);  // own address
  feed(dns("cloud.demo-univ.edu.cn", {"203.0.113.80"}), kStart);    // own domain
  feed(dns("gone.demo-univ.edu.cn", {}, 3), kStart);                // NXDOMAIN: no address
  feed(frame(ethernet(0x0800), ipv4("192.0.2.100", "198.51.100.20", 6,
                                    tcp(1, 443, client_hello("elsewhere.example.com")))),
       kStart);
  feed(frame(ethernet(0x0800), ipv4("192.0.2.100", "198.51.100.20", 6,
                                    tcp(1, 443, client_hello("SSO.demo-univ.edu.cn.")))),
       kStart);
  m.finish();
  std::map<std::string, const Finding*> by;
  const auto found = sink_.of("asset.discovered");
  for (const auto& f : found) by[f.subject] = &f;
  ASSERT_EQ(by.size(), 3u);
  EXPECT_FALSE(by.at("portal.partner-example.com")->evidence.at("own_domain").as_bool());
  EXPECT_TRUE(by.at("portal.partner-example.com")->evidence.at("own_address").as_bool());
  EXPECT_TRUE(by.at("cloud.demo-univ.edu.cn")->evidence.at("own_domain").as_bool());
  EXPECT_FALSE(by.at("cloud.demo-univ.edu.cn")->evidence.at("own_address").as_bool());
  const auto& sso = by.at("sso.demo-univ.edu.cn")->evidence;
  EXPECT_EQ(boost::json::serialize(sso.at("seen_in")), R"(["tls_sni"])");
  EXPECT_EQ(boost::json::serialize(sso.at("ipv4")), R"(["198.51.100.20"])");
}

TEST_F(MonitorTest, RogueRouterAndDhcpv6Server) {
  MonitorOptions o;
  o.allowed_routers = {boost::asio::ip::make_address("fe80::1")};
  o.allowed_dhcpv6_servers = {boost::asio::ip::make_address("fe80::53")};
  auto& m = make(o);
  const auto ra = [](const std::string& src) {
    return frame(ethernet(0x86dd),
                 ipv6(src, "ff02::1", 58, router_advert({{"2001:db8:bad::", 64}})));
  };
  feed(ra("fe80::1"), kStart);
  feed(ra("fe80::bad"), kStart + 1s);
  feed(ra("fe80::bad"), kStart + 2s);
  const Bytes duid = {0, 3, 0, 1, 2, 0, 0, 0, 0xde, 0xad};
  feed(frame(ethernet(0x86dd), ipv6("fe80::53", "fe80::100", 17, udp(547, 546, dhcpv6(2, duid)))),
       kStart + 3s);
  feed(frame(ethernet(0x86dd), ipv6("fe80::dead", "fe80::100", 17, udp(547, 546, dhcpv6(7, duid)))),
       kStart + 4s);
  m.finish();
  const auto rogue = sink_.of("net.rogue_ra");
  ASSERT_EQ(rogue.size(), 1u);
  EXPECT_EQ(rogue[0].subject, "fe80::bad");
  EXPECT_EQ(rogue[0].severity, Severity::high);
  EXPECT_EQ(rogue[0].evidence.at("packets").as_uint64(), 2u);
  EXPECT_EQ(boost::json::serialize(rogue[0].evidence.at("prefixes")), R"(["2001:db8:bad::/64"])");
  EXPECT_EQ(rogue[0].evidence.at("mac").as_string(), "02:00:00:00:0b:ad");
  const auto dhcp = sink_.of("net.rogue_dhcpv6");
  ASSERT_EQ(dhcp.size(), 1u);
  EXPECT_EQ(dhcp[0].subject, "fe80::dead");
  EXPECT_EQ(dhcp[0].evidence.at("server_duid").as_string(), "0003000102000000dead");
  EXPECT_EQ(dhcp[0].evidence.at("reply").as_uint64(), 1u);
}

TEST_F(MonitorTest, TunnelBothDirectionsIsOneFinding) {
  auto& m = make();
  const Bytes inner = ipv6("2001:db8:ff00::1", "2001:db8:ff01::1", 59, {});
  feed(frame(ethernet(0x0800), ipv4("192.0.2.100", "198.51.100.1", 41, inner)), kStart);
  feed(frame(ethernet(0x0800), ipv4("198.51.100.1", "192.0.2.100", 41, inner)), kStart + 1s);
  m.finish();
  const auto t = sink_.of("net.tunnel");
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].subject, "192.0.2.100<->198.51.100.1");  // the campus side first
  EXPECT_EQ(t[0].id, finding_id("net.tunnel", "192.0.2.100<->198.51.100.1", "6in4"));
  EXPECT_EQ(t[0].evidence.at("tunnel").as_string(), "6in4");
  EXPECT_EQ(t[0].evidence.at("packets").as_uint64(), 2u);
  EXPECT_EQ(boost::json::serialize(t[0].evidence.at("own_endpoints")), "[true,false]");
}

TEST_F(MonitorTest, Ipv6ShareCountsPacketsBytesAndAddresses) {
  auto& m = make();
  const Bytes v6a = frame(ethernet(0x86dd), ipv6("2001:db8:a::1", "2001:db8:a::2", 59, {}));
  const Bytes v6b = frame(ethernet(0x86dd), ipv6("2001:db8:a::2", "2001:db8:a::1", 59, {}));
  const Bytes ll = frame(ethernet(0x86dd), ipv6("fe80::1", "ff02::1", 59, {}));
  const Bytes v4 = frame(ethernet(0x0800), ipv4("192.0.2.1", "192.0.2.2", 17, udp(1, 2, {})));
  feed(v6a, kStart);
  feed(v6b, kStart);
  feed(ll, kStart);
  feed(v4, kStart);
  feed(frame(ethernet(0x0806), Bytes(28, 0)), kStart);  // ARP: not IP
  m.finish();
  const auto s = sink_.of("net.ipv6_share");
  ASSERT_EQ(s.size(), 1u);
  const auto& ev = s[0].evidence;
  EXPECT_EQ(s[0].subject, "eth-test");
  EXPECT_EQ(ev.at("packets").as_uint64(), 5u);
  EXPECT_EQ(ev.at("ip_packets").as_uint64(), 4u);
  EXPECT_EQ(ev.at("ipv6_packets").as_uint64(), 3u);
  EXPECT_DOUBLE_EQ(ev.at("ipv6_packet_share").as_double(), 0.75);
  EXPECT_EQ(ev.at("ipv6_bytes").as_uint64(), 3u * 54u);
  EXPECT_EQ(ev.at("active_ipv6_addresses").as_uint64(), 2u);  // link-local not counted
}

TEST_F(MonitorTest, FloodOfDistinctNamesStaysBounded) {
  MonitorOptions o;
  o.max_names = 1000;
  auto& m = make(o);
  char name[64];
  for (int i = 0; i < 200000; ++i) {
    std::snprintf(name, sizeof name, "r%06d.flood.demo-univ.edu.cn", i);
    feed(dns(name, {"192.0.2.10"}), kStart);
  }
  EXPECT_EQ(m.names_held(), 1000u);
  EXPECT_EQ(m.stats().names_dropped, 199000u);
  // Names that are not the institution's never take a slot at all.
  for (int i = 0; i < 50000; ++i) {
    std::snprintf(name, sizeof name, "x%06d.example.org", i);
    feed(dns(name, {"203.0.113.5"}), kStart);
  }
  EXPECT_EQ(m.names_held(), 1000u);
  EXPECT_EQ(m.stats().names_dropped, 199000u);
  m.finish();
  EXPECT_EQ(sink_.of("asset.discovered").size(), 1000u);
  EXPECT_EQ(m.names_held(), 0u);  // the next interval starts empty
}

TEST_F(MonitorTest, MalformedPacketsAreCountedByReason) {
  auto& m = make();
  Bytes cut = dns("www.demo-univ.edu.cn", {"192.0.2.10"});
  cut.resize(20);
  feed(cut, kStart);
  feed(Bytes{1, 2, 3}, kStart);
  m.finish();
  EXPECT_EQ(m.stats().malformed, 2u);
  EXPECT_EQ(m.stats().by_reason[static_cast<std::size_t>(Malformed::ipv4_truncated)], 1u);
  EXPECT_EQ(m.stats().by_reason[static_cast<std::size_t>(Malformed::link_truncated)], 1u);
  EXPECT_TRUE(sink_.of("asset.discovered").empty());
}

}  // namespace
}  // namespace edusight::passive
