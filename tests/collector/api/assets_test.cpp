#include "collector/api/assets.hpp"

#include <gtest/gtest.h>

#include "test_findings.hpp"

namespace edusight::collector::api {
namespace {

using namespace std::chrono_literals;
using testing::discovery_evidence;
using testing::stored;

const AssetView* row(const std::vector<AssetView>& rows, std::string_view name) {
  for (const auto& r : rows) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

TEST(Assets, HostOfSubject) {
  EXPECT_EQ(host_of_subject("tls.cert_expired", "www.x.edu.cn:443"), "www.x.edu.cn");
  EXPECT_EQ(host_of_subject("exposure.risky_service", "[2001:db8::1]:6379"), "2001:db8::1");
  EXPECT_EQ(host_of_subject("exposure.risky_service", "2001:db8::1:6379"), "2001:db8::1");
  EXPECT_EQ(host_of_subject("exposure.risky_service", "192.0.2.1:23"), "192.0.2.1");
  EXPECT_EQ(host_of_subject("asset.discovered", "2001:db8::1"), "2001:db8::1");
  EXPECT_EQ(host_of_subject("tls.weak_protocol", "www.x.edu.cn"), "www.x.edu.cn");
}

TEST(Assets, Ipv6StatusFromReadinessEvidence) {
  auto ev = [](const char* j) { return boost::json::parse(j).as_object(); };
  EXPECT_EQ(ipv6_status(ev(R"({"aaaa":true,"reachable_share":1,"score":100})")), "ready");
  EXPECT_EQ(ipv6_status(ev(R"({"aaaa":true,"reachable_share":1,"score":80})")), "partial");
  EXPECT_EQ(ipv6_status(ev(R"({"aaaa":true,"reachable_share":0,"score":25})")), "unreachable");
  EXPECT_EQ(ipv6_status(ev(R"({"aaaa":false,"reachable_share":0,"score":0})")), "none");
  EXPECT_EQ(ipv6_status(ev(R"({})")), "unknown");
}

TEST(Assets, AssemblesOneRowPerHostFromItsOpenFindings) {
  std::vector<StoredFinding> f = {
      stored("asset.discovered", "www.demo-univ.edu.cn",
             discovery_evidence(true, true, true, "信息中心"), Severity::info, 10s),
      stored("ipv6.readiness", "www.demo-univ.edu.cn",
             R"({"aaaa":true,"reachable_share":1,"same_content":true,"slow":false,"score":80})",
             Severity::info, 5s),
      stored("tls.cert_expiring", "www.demo-univ.edu.cn:443", "{}", Severity::medium, 1s),
      stored("exposure.risky_service", "www.demo-univ.edu.cn:6379", "{}", Severity::high, 20s),
      // Resolved and unrelated findings do not count.
      stored("tls.cert_expired", "www.demo-univ.edu.cn:8443", "{}", Severity::high, 30s,
             FindingState::resolved),
      stored("dns.axfr_allowed", "demo-univ.edu.cn", "{}", Severity::high),
  };
  const auto rows = build_assets(f);
  ASSERT_EQ(rows.size(), 1u);
  const auto& a = rows[0];
  EXPECT_EQ(a.name, "www.demo-univ.edu.cn");
  EXPECT_EQ(a.addresses, (std::vector<std::string>{"192.0.2.10", "2001:db8::10"}));
  EXPECT_TRUE(a.own_domain);
  EXPECT_TRUE(a.own_address);
  EXPECT_EQ(a.sources, (std::vector<std::string>{"axfr", "registry"}));
  EXPECT_EQ(a.ownership, "own");
  EXPECT_TRUE(a.registered);
  EXPECT_FALSE(a.unregistered);
  EXPECT_FALSE(a.zombie);
  EXPECT_EQ(a.owner_unit, "信息中心");
  EXPECT_EQ(a.ipv6_score, 80);
  EXPECT_EQ(a.ipv6_status, "partial");
  EXPECT_EQ(a.exposure_count, 2u);
  EXPECT_EQ(a.last_seen, testing::kBase - 1s);
  EXPECT_EQ(a.kinds.size(), 4u);

  const auto j = to_json(a);
  EXPECT_EQ(j.at("ownership"), "own");
  EXPECT_EQ(j.at("ipv6_score"), 80);
  EXPECT_EQ(j.at("owner_unit"), "信息中心");
  EXPECT_EQ(j.at("last_seen"), boost::json::value(format_rfc3339(testing::kBase - 1s)));
  EXPECT_EQ(j.at("addresses").as_array().size(), 2u);
}

TEST(Assets, OwnershipClassesRegistryAndZombies) {
  std::vector<StoredFinding> f = {
      stored("asset.discovered", "cloud.demo-univ.edu.cn", discovery_evidence(true, false, false)),
      stored("asset.non_own_ip", "cloud.demo-univ.edu.cn", discovery_evidence(true, false, false),
             Severity::medium),
      stored("asset.unregistered", "cloud.demo-univ.edu.cn", discovery_evidence(true, false, false),
             Severity::low),
      stored("asset.discovered", "lab.example.com", discovery_evidence(false, true, false)),
      stored("asset.non_own_domain", "lab.example.com", discovery_evidence(false, true, false)),
      stored("asset.discovered", "shadow.example.org", discovery_evidence(false, false, false)),
      stored("asset.dual_non_own", "shadow.example.org", discovery_evidence(false, false, false)),
      stored("asset.discovered", "cdn.example.net", discovery_evidence(false, false, false)),
      // A registered system whose name no longer resolves: only the zombie finding.
      stored("asset.zombie", "old.demo-univ.edu.cn",
             R"({"ipv4":[],"ipv6":[],"own_domain":true,"own_address":false,"registered":true,)"
             R"("owner_unit":"图书馆","reasons":["name does not exist in DNS"]})",
             Severity::medium),
      // Known only from an IPv6 check (no discovery run).
      stored("ipv6.readiness", "v6only.demo-univ.edu.cn", R"({"aaaa":false,"score":0})"),
  };
  const auto rows = build_assets(f);
  ASSERT_EQ(rows.size(), 6u);
  EXPECT_EQ(row(rows, "cloud.demo-univ.edu.cn")->ownership, "non_own_ip");
  EXPECT_FALSE(row(rows, "cloud.demo-univ.edu.cn")->registered);
  EXPECT_TRUE(row(rows, "cloud.demo-univ.edu.cn")->unregistered);
  EXPECT_EQ(row(rows, "lab.example.com")->ownership, "non_own_domain");
  EXPECT_EQ(row(rows, "shadow.example.org")->ownership, "dual_non_own");
  EXPECT_EQ(row(rows, "cdn.example.net")->ownership, "external");
  EXPECT_FALSE(row(rows, "cdn.example.net")->registered);  // evidence says so
  EXPECT_FALSE(row(rows, "cdn.example.net")->unregistered);
  const auto* old = row(rows, "old.demo-univ.edu.cn");
  EXPECT_TRUE(old->zombie);
  EXPECT_TRUE(old->registered);
  EXPECT_EQ(old->owner_unit, "图书馆");
  EXPECT_EQ(old->ownership, "own");  // judged by its name: it has no address
  const auto* v6 = row(rows, "v6only.demo-univ.edu.cn");
  EXPECT_EQ(v6->ownership, "unknown");
  EXPECT_EQ(v6->ipv6_status, "none");
  EXPECT_EQ(v6->ipv6_score, 0);
  EXPECT_TRUE(to_json(*v6).at("owner_unit").is_null());
  // Sorted by name.
  EXPECT_EQ(rows.front().name, "cdn.example.net");
}

TEST(Assets, SearchClassAndPaging) {
  std::vector<StoredFinding> f;
  for (int i = 0; i < 25; ++i) {
    const auto host =
        "h" + std::string(i < 10 ? "0" : "") + std::to_string(i) + ".demo-univ.edu.cn";
    f.push_back(
        stored("asset.discovered", host, discovery_evidence(true, i % 2 == 0, true, "教务处")));
  }
  auto all = build_assets(f);
  ASSERT_EQ(all.size(), 25u);

  AssetQuery q;
  q.page.limit = 10;
  q.page.offset = 20;
  auto page = select_assets(all, q);
  EXPECT_EQ(page.total, 25u);
  ASSERT_EQ(page.items.size(), 5u);
  EXPECT_EQ(page.items[0].name, "h20.demo-univ.edu.cn");

  q = {};
  q.ownership = "own";
  EXPECT_EQ(select_assets(all, q).total, 13u);
  q.ownership = "non_own_ip";
  EXPECT_EQ(select_assets(all, q).total, 12u);

  q = {};
  q.search = "H1";  // case-insensitive, on the name
  EXPECT_EQ(select_assets(all, q).total, 10u);
  q.search = "2001:DB8::10";  // on an address
  EXPECT_EQ(select_assets(all, q).total, 25u);
  q.search = "教务";  // on the owner unit
  EXPECT_EQ(select_assets(all, q).total, 25u);
  q.search = "nothing-like-this";
  EXPECT_EQ(select_assets(all, q).total, 0u);

  q = {};
  q.page.offset = 1000;
  page = select_assets(all, q);
  EXPECT_EQ(page.total, 25u);
  EXPECT_TRUE(page.items.empty());
}

TEST(Assets, QueryParameters) {
  auto p = parse_asset_query({{"search", "www"}, {"class", "dual_non_own"}, {"limit", "5"}});
  ASSERT_FALSE(p.error);
  EXPECT_EQ(p.value.search, "www");
  EXPECT_EQ(p.value.ownership, "dual_non_own");
  EXPECT_EQ(p.value.page.limit, 5u);
  EXPECT_EQ(parse_asset_query({{"class", "mine"}}).error->parameter, "class");
  EXPECT_EQ(parse_asset_query({{"limit", "0"}}).error->parameter, "limit");
  EXPECT_EQ(parse_asset_query({{"q", "x"}}).error->parameter, "q");
}

}  // namespace
}  // namespace edusight::collector::api
