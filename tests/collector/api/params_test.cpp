#include "collector/api/params.hpp"

#include <gtest/gtest.h>

#include "edusight/core/finding.hpp"

namespace edusight::collector::api {
namespace {

using namespace std::chrono_literals;
using TimePoint = std::chrono::system_clock::time_point;

TEST(Target, SplitsPathAndDecodesParameters) {
  const auto t = parse_target("/api/v1/findings?kind=ipv6.dns.no_aaaa&subject=a%2Fb+c&&x");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->path, "/api/v1/findings");
  ASSERT_EQ(t->params.size(), 3u);
  EXPECT_EQ(t->params[0], (std::pair<std::string, std::string>{"kind", "ipv6.dns.no_aaaa"}));
  EXPECT_EQ(t->params[1], (std::pair<std::string, std::string>{"subject", "a/b c"}));
  EXPECT_EQ(t->params[2], (std::pair<std::string, std::string>{"x", ""}));
}

TEST(Target, PathPlusIsNotASpaceAndBadEscapesAreRefused) {
  EXPECT_EQ(parse_target("/a+b%20c")->path, "/a+b c");
  EXPECT_FALSE(parse_target("/a%2"));
  EXPECT_FALSE(parse_target("/a%zz"));
  EXPECT_FALSE(parse_target("/a?x=%00"));
  EXPECT_FALSE(parse_target("/a?x=%"));
}

TEST(Target, PathSegmentsDropEmptyOnes) {
  const auto s = path_segments("//api/v1//findings/");
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0], "api");
  EXPECT_EQ(s[2], "findings");
  EXPECT_TRUE(path_segments("/").empty());
}

TEST(Rfc3339, ParsesUtcOffsetsFractionsAndDates) {
  const TimePoint base = std::chrono::sys_days{std::chrono::year{2026} / 11 / 25};
  EXPECT_EQ(query_time("2026-11-25T13:53:17Z"), base + 13h + 53min + 17s);
  EXPECT_EQ(query_time("2026-11-25t13:53:17z"), base + 13h + 53min + 17s);
  EXPECT_EQ(query_time("2026-11-25T21:53:17+08:00"), base + 13h + 53min + 17s);
  EXPECT_EQ(query_time("2026-11-25T21:53:17 08:00"), base + 13h + 53min + 17s);
  EXPECT_EQ(query_time("2026-11-25T08:53:17-05:00"), base + 13h + 53min + 17s);
  EXPECT_EQ(query_time("2026-11-25T13:53:17.25Z"), base + 13h + 53min + 17s + 250ms);
  EXPECT_EQ(query_time("2026-11-25"), base);
  // Round trip with the formatter the API uses.
  EXPECT_EQ(format_rfc3339(*query_time("2026-11-25T13:53:17Z")), "2026-11-25T13:53:17Z");
}

TEST(Rfc3339, RefusesMalformedTimes) {
  for (const auto* s :
       {"", "2026", "2026-13-01T00:00:00Z", "2026-02-30T00:00:00Z", "2026-11-25T24:00:00Z",
        "2026-11-25T13:53:17", "2026-11-25T13:53Z", "2026-11-25T13:53:17.Z",
        "2026-11-25T13:53:17+0800", "yesterday", "2026-11-25T13:53:17Zjunk", "1700000000"}) {
    EXPECT_FALSE(query_time(s)) << s;
  }
}

TEST(FindingQueryParams, DefaultsAndEveryFilter) {
  const auto d = parse_finding_query({});
  ASSERT_FALSE(d.error);
  EXPECT_EQ(d.value.limit, 100u);
  EXPECT_EQ(d.value.offset, 0u);
  EXPECT_TRUE(d.value.count_total);
  EXPECT_FALSE(d.value.kind);

  const auto p = parse_finding_query({{"kind", "tls.cert_expired"},
                                      {"severity", "medium"},
                                      {"subject", "www.x.edu.cn:443"},
                                      {"state", "resolved"},
                                      {"since", "2026-01-01T00:00:00Z"},
                                      {"before", "2026-02-01"},
                                      {"limit", "1000"},
                                      {"offset", "20"}});
  ASSERT_FALSE(p.error) << p.error->message;
  EXPECT_EQ(p.value.kind, "tls.cert_expired");
  EXPECT_EQ(p.value.min_severity, Severity::medium);
  EXPECT_EQ(p.value.subject, "www.x.edu.cn:443");
  EXPECT_EQ(p.value.state, FindingState::resolved);
  EXPECT_EQ(p.value.seen_since, query_time("2026-01-01T00:00:00Z"));
  EXPECT_EQ(p.value.seen_before, query_time("2026-02-01T00:00:00Z"));
  EXPECT_EQ(p.value.limit, 1000u);
  EXPECT_EQ(p.value.offset, 20u);
}

TEST(FindingQueryParams, EmptyValuesMeanUnset) {
  const auto p = parse_finding_query({{"kind", ""}, {"severity", ""}, {"limit", ""}});
  ASSERT_FALSE(p.error);
  EXPECT_FALSE(p.value.kind);
  EXPECT_FALSE(p.value.min_severity);
  EXPECT_EQ(p.value.limit, 100u);
}

TEST(FindingQueryParams, BadValuesNameTheParameter) {
  const std::vector<std::pair<Params, std::string>> cases = {
      {{{"limit", "0"}}, "limit"},
      {{{"limit", "1001"}}, "limit"},
      {{{"limit", "-1"}}, "limit"},
      {{{"limit", "10x"}}, "limit"},
      {{{"limit", "99999999999999999999999"}}, "limit"},
      {{{"offset", "-5"}}, "offset"},
      {{{"severity", "urgent"}}, "severity"},
      {{{"state", "closed"}}, "state"},
      {{{"since", "yesterday"}}, "since"},
      {{{"before", "2026-13-01"}}, "before"},
      {{{"kinds", "x"}}, "kinds"},
      {{{"kind", "a"}, {"kind", "b"}}, "kind"},
  };
  for (const auto& [params, name] : cases) {
    const auto p = parse_finding_query(params);
    ASSERT_TRUE(p.error) << name;
    EXPECT_EQ(p.error->parameter, name);
    EXPECT_EQ(p.error->message.rfind(name + ": ", 0), 0u) << p.error->message;
  }
}

TEST(ScanQueryParams, AgentAndPage) {
  const auto p = parse_scan_query({{"agent", "a1"}, {"limit", "5"}, {"offset", "10"}});
  ASSERT_FALSE(p.error);
  EXPECT_EQ(p.value.agent, "a1");
  EXPECT_EQ(p.value.limit, 5u);
  EXPECT_EQ(p.value.offset, 10u);
  EXPECT_EQ(parse_scan_query({{"kind", "x"}}).error->parameter, "kind");
}

}  // namespace
}  // namespace edusight::collector::api
