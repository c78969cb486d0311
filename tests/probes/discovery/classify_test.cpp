#include "probes/discovery/classify.hpp"

#include <gtest/gtest.h>

#include "../ipv6/fakes.hpp"
#include "edusight/core/names.hpp"

namespace edusight::discovery {
namespace {

using namespace std::chrono;

TEST(CopyrightYear, LatestYearAfterMarker) {
  EXPECT_EQ(copyright_year("© 2009-2016 示范大学 版权所有"), 2016);
  EXPECT_EQ(copyright_year("copyright 2018 demo university. all rights reserved"), 2018);
  EXPECT_EQ(copyright_year("版权所有 2015 示范大学"), 2015);
  EXPECT_FALSE(copyright_year("founded in 1952, 20000 students"));
  EXPECT_FALSE(copyright_year("© demo university"));
}

TEST(DefaultPage, KnownServerPages) {
  EXPECT_TRUE(is_default_server_page("Welcome to nginx!", ""));
  EXPECT_TRUE(is_default_server_page("Apache2 Debian Default Page: It works", ""));
  EXPECT_FALSE(is_default_server_page("示范大学图书馆", "welcome to the library"));
}

class ClassifyTest : public ::testing::Test {
 protected:
  ClassifyTest()
      : clock(system_clock::time_point(seconds(1795096397))),  // 2026-11-19
        rep(sink, clock, "a1", "s1"),
        own([this] {
          cfg.institution.own_domains = {"demo-univ.edu.cn"};
          cfg.institution.own_prefixes = {*Prefix::parse("192.0.2.0/24"),
                                          *Prefix::parse("2001:db8::/40")};
          cfg.institution.unit_names = {"示范大学", "Demo University"};
          return cfg.institution;
        }()),
        registry(Registry::parse("domain,name,owner_unit\n"
                                 "www.demo-univ.edu.cn,门户,信息化办公室\n"
                                 "survey.demo-univ.edu.cn,问卷,宣传部\n"
                                 "library-old.demo-univ.edu.cn,旧图书馆,图书馆\n",
                                 "registry.csv")) {}

  Asset& add(const std::string& host, std::vector<std::string> v4, std::vector<std::string> v6 = {},
             std::vector<std::string> chain = {}, dns::Status st = dns::Status::ok) {
    Asset& a = *inv.touch(host, Source::target);
    dns::AddressLookup l;
    l.status = st;
    for (auto& s : v4) l.ipv4.push_back(*parse_address(s));
    for (auto& s : v6) l.ipv6.push_back(*parse_address(s));
    l.cname_chain = std::move(chain);
    a.dns = l;
    a.registered = registry.find(host);
    return a;
  }
  ipv6::HomePage page(const std::string& title, const std::string& text) {
    ipv6::HomePage h;
    h.url = "http://x/";
    h.http_status = 200;
    h.page.title = title;
    h.page.text = text;
    return h;
  }
  void classify() {
    ClassifyInput in{cfg, own, &registry, ports, clock.now()};
    classify_and_report(inv, in, rep);
  }
  bool has(const std::string& kind, const std::string& subject) {
    return sink.find(kind, subject) != nullptr;
  }

  ScanConfig cfg;
  testing::CollectingSink sink;
  ManualClock clock;
  ipv6::Reporter rep;
  OwnershipClassifier own;
  Registry registry;
  Inventory inv;
  OpenPorts ports;
};

TEST_F(ClassifyTest, OwnDomainOnCloudIsCategoryOneNotDualNon) {
  auto& a =
      add("cloud.demo-univ.edu.cn", {"198.51.100.20"}, {}, {"demo-univ.cdn.example-cloud.net"});
  a.web_answered = true;
  a.home = page("示范大学云服务", "示范大学");
  classify();
  EXPECT_TRUE(has("asset.non_own_ip", "cloud.demo-univ.edu.cn"));
  EXPECT_FALSE(has("asset.dual_non_own", "cloud.demo-univ.edu.cn"));
  EXPECT_EQ(
      sink.find("asset.non_own_ip", "cloud.demo-univ.edu.cn")->evidence.at("hosted_by").as_string(),
      "example-cloud.net");
  EXPECT_TRUE(has("asset.unregistered", "cloud.demo-univ.edu.cn"));
}

TEST_F(ClassifyTest, ForeignNameOnCampusAddressIsCategoryTwo) {
  auto& a = add("portal.partner-corp.com", {"192.0.2.30"});
  a.ptr_of = {"192.0.2.30"};
  a.web_answered = true;
  classify();
  EXPECT_TRUE(has("asset.non_own_domain", "portal.partner-corp.com"));
  EXPECT_TRUE(has("asset.unregistered", "portal.partner-corp.com"));
}

TEST_F(ClassifyTest, DualNonOwnNeedsAStrongTie) {
  auto& tied = add("www.shifan-alumni.org", {"203.0.113.40"});
  tied.linked_from = {"https://www.demo-univ.edu.cn/"};
  tied.web_answered = true;
  tied.home = page("示范大学校友会 Demo University Alumni", "校友会");
  auto& untied = add("www.example-news.com", {"203.0.113.50"});
  untied.linked_from = {"https://www.demo-univ.edu.cn/"};
  untied.web_answered = true;
  untied.home = page("Example News", "weather and sports");
  classify();
  ASSERT_TRUE(has("asset.dual_non_own", "www.shifan-alumni.org"));
  const auto& ties =
      sink.find("asset.dual_non_own", "www.shifan-alumni.org")->evidence.at("ties").as_object();
  EXPECT_TRUE(ties.at("unit_name_in_title").as_bool());
  EXPECT_TRUE(ties.at("linked_from_own_site").as_bool());
  EXPECT_FALSE(has("asset.dual_non_own", "www.example-news.com"));
  EXPECT_TRUE(has("asset.discovered", "www.example-news.com"));
  // Off-campus systems are never "unregistered": the registry is for own systems.
  EXPECT_FALSE(has("asset.unregistered", "www.example-news.com"));
}

TEST_F(ClassifyTest, CertificateNamingTheUnitIsATie) {
  auto& a = add("exam.shifan-edu.com", {"203.0.113.60"});
  a.web_answered = true;
  a.home = page("Online exam", "login");
  web::Certificate c;
  c.subject = "CN=exam.shifan-edu.com,O=示范大学";
  a.home->certificate = c;
  classify();
  ASSERT_TRUE(has("asset.dual_non_own", "exam.shifan-edu.com"));
}

TEST_F(ClassifyTest, Zombies) {
  auto& gone = add("library-old.demo-univ.edu.cn", {}, {}, {}, dns::Status::nxdomain);
  (void)gone;
  auto& stock = add("survey.demo-univ.edu.cn", {"192.0.2.32"});
  stock.web_answered = true;
  stock.home = page("Welcome to nginx!",
                    "if you see this page, the nginx web server is successfully installed");
  auto& alive = add("www.demo-univ.edu.cn", {"192.0.2.10"}, {"2001:db8:10::10"});
  alive.web_answered = true;
  alive.home = page("示范大学", "© 2026 示范大学");
  classify();
  ASSERT_TRUE(has("asset.zombie", "library-old.demo-univ.edu.cn"));
  ASSERT_TRUE(has("asset.zombie", "survey.demo-univ.edu.cn"));
  EXPECT_FALSE(has("asset.zombie", "www.demo-univ.edu.cn"));
  EXPECT_FALSE(has("asset.unregistered", "www.demo-univ.edu.cn"));
  const auto& why =
      sink.find("asset.zombie", "library-old.demo-univ.edu.cn")->evidence.at("reasons").as_array();
  EXPECT_EQ(why.at(0).as_string(), "name does not exist in DNS");
}

TEST_F(ClassifyTest, StaleCopyrightIsAbandonment) {
  auto& a = add("www.demo-univ.edu.cn", {"192.0.2.10"});
  a.web_answered = true;
  a.home = page("示范大学", "© 2012-2019 示范大学 版权所有");
  classify();
  ASSERT_TRUE(has("asset.zombie", "www.demo-univ.edu.cn"));
}

TEST_F(ClassifyTest, DanglingCname) {
  add("events.demo-univ.edu.cn", {}, {}, {"demo-events.gone-saas.net"}, dns::Status::nxdomain);
  classify();
  const auto* f = sink.find("dns.dangling_cname", "events.demo-univ.edu.cn");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->evidence.at("missing_name").as_string(), "demo-events.gone-saas.net");
  EXPECT_FALSE(has("asset.discovered", "events.demo-univ.edu.cn"));
}

TEST_F(ClassifyTest, LiveByOpenPortOnly) {
  add("cache.demo-univ.edu.cn", {"192.0.2.37"});
  ports["192.0.2.37"] = {6379};
  classify();
  EXPECT_TRUE(has("asset.unregistered", "cache.demo-univ.edu.cn"));
}

}  // namespace
}  // namespace edusight::discovery
