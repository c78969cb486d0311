#include "probes/ipv6/web_host.hpp"

#include <gtest/gtest.h>

#include "fakes.hpp"

namespace edusight::ipv6 {
namespace {

using testing::CollectingSink;
using testing::FakeFetcher;
using testing::FakeLookup;

const std::string kHome =
    "<html><head><title>示范大学 Demo University</title></head><body><h1>示范大学</h1>"
    "<p>Demo University is a comprehensive research university with a long history of teaching, "
    "research and public service to the region and the "
    "nation.</p><p>示范大学是一所历史悠久的综合性研究型大学。</p>"
    "</body></html>";

class WebHostTest : public ::testing::Test {
 protected:
  WebHostTest()
      : clock(std::chrono::system_clock::time_point{}), rep(sink, clock, "a1", "s1"), pacer(1e6) {
    cfg.institution.own_domains = {"demo-univ.edu.cn"};
    cfg.thresholds.slow_tries = 3;
  }
  WebHostSummary check(const std::string& host) {
    CheckContext ctx{dns, web, cfg, rep, pacer};
    ScanState state(ctx);
    return testing::run(check_web_host(state, host));
  }
  void both_ports(const std::string& host, const std::string& addr, long status,
                  const std::string& body,
                  std::chrono::milliseconds fb = std::chrono::milliseconds(5)) {
    web.page("http://" + host + "/", addr, status, body, fb);
    web.page("https://" + host + "/", addr, status, body, fb);
  }

  FakeLookup dns;
  FakeFetcher web;
  CollectingSink sink;
  ManualClock clock;
  ScanConfig cfg;
  Reporter rep;
  HostPacer pacer;
};

TEST_F(WebHostTest, DualStackSameContentOnlyReadiness) {
  dns.host("www.demo-univ.edu.cn", {"192.0.2.10"}, {"2001:db8:10::10"});
  both_ports("www.demo-univ.edu.cn", "192.0.2.10", 200, kHome);
  both_ports("www.demo-univ.edu.cn", "2001:db8:10::10", 200, kHome);
  const auto s = check("www.demo-univ.edu.cn");
  EXPECT_TRUE(s.web);
  EXPECT_EQ(s.score, 100);
  EXPECT_EQ(sink.kinds(), std::vector<std::string>{"ipv6.readiness"});
}

TEST_F(WebHostTest, Ipv4OnlyHasNoAaaa) {
  dns.host("oa.demo-univ.edu.cn", {"192.0.2.11"}, {});
  both_ports("oa.demo-univ.edu.cn", "192.0.2.11", 200, kHome);
  check("oa.demo-univ.edu.cn");
  const auto* f = sink.find("ipv6.dns.no_aaaa", "oa.demo-univ.edu.cn");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->severity, Severity::medium);
  EXPECT_EQ(f->evidence.at("ipv4").as_array().at(0).as_string(), "192.0.2.11");
  EXPECT_EQ(sink.findings.size(), 2u);  // plus readiness
  EXPECT_EQ(sink.find("ipv6.readiness", "oa.demo-univ.edu.cn")->evidence.at("score").as_int64(), 0);
}

TEST_F(WebHostTest, MappedAaaaIsNotIpv6) {
  dns.host("mapped.demo-univ.edu.cn", {"192.0.2.14"}, {}, {"::ffff:192.0.2.14"});
  both_ports("mapped.demo-univ.edu.cn", "192.0.2.14", 200, kHome);
  check("mapped.demo-univ.edu.cn");
  const auto* f = sink.find("ipv6.dns.no_aaaa", "mapped.demo-univ.edu.cn");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->evidence.at("ipv4_mapped_aaaa").as_array().at(0).as_string(), "::ffff:192.0.2.14");
}

TEST_F(WebHostTest, AaaaWithNothingListeningIsUnreachable) {
  dns.host("jwc.demo-univ.edu.cn", {"192.0.2.12"}, {"2001:db8:10::12"});
  both_ports("jwc.demo-univ.edu.cn", "192.0.2.12", 200, kHome);
  check("jwc.demo-univ.edu.cn");
  const auto* f = sink.find("ipv6.web.unreachable", "jwc.demo-univ.edu.cn");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->severity, Severity::high);
  EXPECT_EQ(f->evidence.at("failures").as_array().size(), 2u);  // 80 and 443
  EXPECT_EQ(sink.find("ipv6.dns.no_aaaa", "jwc.demo-univ.edu.cn"), nullptr);
}

TEST_F(WebHostTest, OneBadAddressOfTwoIsUnreachable) {
  dns.host("www.demo-univ.edu.cn", {"192.0.2.10"}, {"2001:db8:10::10", "2001:db8:10::99"});
  both_ports("www.demo-univ.edu.cn", "192.0.2.10", 200, kHome);
  both_ports("www.demo-univ.edu.cn", "2001:db8:10::10", 200, kHome);
  check("www.demo-univ.edu.cn");
  const auto* f = sink.find("ipv6.web.unreachable", "www.demo-univ.edu.cn");
  ASSERT_NE(f, nullptr);
  for (const auto& x : f->evidence.at("failures").as_array()) {
    EXPECT_EQ(x.as_object().at("address").as_string(), "2001:db8:10::99");
  }
}

TEST_F(WebHostTest, DifferentPageOverIpv6IsContentMismatch) {
  dns.host("news.demo-univ.edu.cn", {"192.0.2.13"}, {"2001:db8:10::13"});
  both_ports("news.demo-univ.edu.cn", "192.0.2.13", 200, kHome);
  both_ports(
      "news.demo-univ.edu.cn", "2001:db8:10::13", 200,
      "<html><title>Welcome to nginx!</title><body>If you see this page, the nginx web server is "
      "successfully installed and working. Further configuration is required.</body></html>");
  check("news.demo-univ.edu.cn");
  const auto* f = sink.find("ipv6.web.content_mismatch", "news.demo-univ.edu.cn");
  ASSERT_NE(f, nullptr);
  EXPECT_LT(f->evidence.at("similarity").to_number<double>(), 0.5);
  EXPECT_EQ(sink.find("ipv6.web.unreachable", "news.demo-univ.edu.cn"), nullptr);
}

TEST_F(WebHostTest, DifferentStatusIsContentMismatch) {
  dns.host("news.demo-univ.edu.cn", {"192.0.2.13"}, {"2001:db8:10::13"});
  both_ports("news.demo-univ.edu.cn", "192.0.2.13", 200, kHome);
  both_ports("news.demo-univ.edu.cn", "2001:db8:10::13", 404, kHome);
  check("news.demo-univ.edu.cn");
  ASSERT_NE(sink.find("ipv6.web.content_mismatch", "news.demo-univ.edu.cn"), nullptr);
}

TEST_F(WebHostTest, SlowIpv6FirstByte) {
  dns.host("slow.demo-univ.edu.cn", {"192.0.2.17"}, {"2001:db8:10::17"});
  both_ports("slow.demo-univ.edu.cn", "192.0.2.17", 200, kHome);
  both_ports("slow.demo-univ.edu.cn", "2001:db8:10::17", 200, kHome,
             std::chrono::milliseconds(450));
  check("slow.demo-univ.edu.cn");
  const auto* f = sink.find("ipv6.web.slow", "slow.demo-univ.edu.cn");
  ASSERT_NE(f, nullptr);
  EXPECT_GT(f->evidence.at("ipv6_first_byte_ms").to_number<double>(), 400);
}

TEST_F(WebHostTest, NotAWebHostGivesNothing) {
  dns.host("mail.demo-univ.edu.cn", {"192.0.2.25"}, {"2001:db8:10::25"});
  const auto s = check("mail.demo-univ.edu.cn");
  EXPECT_FALSE(s.web);
  EXPECT_TRUE(sink.findings.empty());
}

TEST_F(WebHostTest, LowLinkSupportCountsLevels) {
  dns.host("www.demo-univ.edu.cn", {"192.0.2.10"}, {"2001:db8:10::10"});
  dns.host("old.demo-univ.edu.cn", {"192.0.2.16"}, {});
  dns.host("elsewhere.example", {"203.0.113.5"}, {});
  const std::string home = "<html><title>Home</title><body>" + kHome +
                           "<a href='/a.html'>a</a><a href='/b.html'>b</a><a "
                           "href='http://old.demo-univ.edu.cn/x.html'>x</a>"
                           "<a href='http://elsewhere.example/'>not ours</a></body></html>";
  both_ports("www.demo-univ.edu.cn", "192.0.2.10", 200, home);
  both_ports("www.demo-univ.edu.cn", "2001:db8:10::10", 200, home);
  const std::string a =
      "<html><body><a href='/c.html'>c</a><a "
      "href='http://old.demo-univ.edu.cn/y.html'>y</a></body></html>";
  for (const auto* addr : {"192.0.2.10", "2001:db8:10::10"}) {
    web.page("https://www.demo-univ.edu.cn/a.html", addr, 200, a);
    web.page("https://www.demo-univ.edu.cn/b.html", addr, 200, "<html><body>b</body></html>");
    web.page("https://www.demo-univ.edu.cn/c.html", addr, 200, "<html><body>c</body></html>");
  }
  web.page("http://old.demo-univ.edu.cn/x.html", "192.0.2.16", 200, "<html>x</html>");
  web.page("http://old.demo-univ.edu.cn/y.html", "192.0.2.16", 200, "<html>y</html>");
  check("www.demo-univ.edu.cn");
  const auto* f = sink.find("ipv6.links.low_support", "www.demo-univ.edu.cn");
  ASSERT_NE(f, nullptr);
  const auto& l2 = f->evidence.at("level2").as_object();
  const auto& l3 = f->evidence.at("level3").as_object();
  EXPECT_EQ(l2.at("total").as_int64(), 3);
  EXPECT_EQ(l2.at("ipv6").as_int64(), 2);
  EXPECT_EQ(l3.at("total").as_int64(), 2);
  EXPECT_EQ(l3.at("ipv6").as_int64(), 1);
  EXPECT_EQ(f->evidence.at("failing").as_array().size(), 2u);
  // The off-campus link is not crawled.
  for (const auto& r : web.requests) EXPECT_EQ(r.first.find("elsewhere"), std::string::npos);
}

}  // namespace
}  // namespace edusight::ipv6
