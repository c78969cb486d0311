#include "edusight/core/finding.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace edusight {
namespace {

TEST(FindingId, StableAndDiscriminating) {
  const auto a = finding_id("ipv6.dns.no_aaaa", "www.demo-univ.edu.cn");
  EXPECT_EQ(a, finding_id("ipv6.dns.no_aaaa", "www.demo-univ.edu.cn"));
  EXPECT_EQ(a.size(), 32u);
  EXPECT_NE(a, finding_id("ipv6.dns.no_aaaa", "oa.demo-univ.edu.cn"));
  EXPECT_NE(a, finding_id("ipv6.web.unreachable", "www.demo-univ.edu.cn"));
  // Field boundaries matter.
  EXPECT_NE(finding_id("a", "bc", ""), finding_id("ab", "c", ""));
  EXPECT_NE(finding_id("k", "s", "443"), finding_id("k", "s", "80"));
}

TEST(Finding, Rfc3339IsUtc) {
  const auto t = std::chrono::system_clock::time_point(std::chrono::seconds(1795096397));
  EXPECT_EQ(format_rfc3339(t), "2026-11-19T13:53:17Z");
}

TEST(Finding, JsonHasCatalogFields) {
  Finding f;
  f.id = finding_id("ipv6.dns.no_aaaa", "oa.demo-univ.edu.cn");
  f.kind = "ipv6.dns.no_aaaa";
  f.severity = Severity::medium;
  f.subject = "oa.demo-univ.edu.cn";
  f.title = "No AAAA";
  f.title_zh = "无 AAAA 记录";
  f.evidence["ipv4"] = boost::json::array{"192.0.2.11"};
  f.agent = "a1";
  f.scan = "s1";
  const auto v = boost::json::parse(to_jsonl(f)).as_object();
  for (const char* k :
       {"id", "kind", "severity", "subject", "title", "evidence", "observed_at", "agent", "scan"}) {
    EXPECT_TRUE(v.contains(k)) << k;
  }
  EXPECT_EQ(v.at("severity").as_string(), "medium");
  EXPECT_EQ(v.at("title_zh").as_string(), "无 AAAA 记录");
}

TEST(Severity, RoundTrip) {
  for (auto s :
       {Severity::info, Severity::low, Severity::medium, Severity::high, Severity::critical}) {
    EXPECT_EQ(parse_severity(to_string(s)), s);
  }
  EXPECT_FALSE(parse_severity("urgent"));
}

}  // namespace
}  // namespace edusight
