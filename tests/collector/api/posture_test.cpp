// The posture behind the overview and the reports: figures, per-unit lines, CSV and HTML,
// and the snapshot that is rebuilt only when the data changed.
#include "collector/api/posture.hpp"

#include <gtest/gtest.h>

#include "fake_store.hpp"
#include "test_findings.hpp"

namespace edusight::collector::api {
namespace {

using testing::discovery_evidence;
using testing::FakeStore;
using testing::kBase;
using testing::stored;

const char* kReady =
    R"({"score":100,"aaaa":true,"links":{"level2":{"total":5,"ipv6":4},"level3":{"total":14,"ipv6":11}}})";
const char* kNoAaaa = R"({"score":25,"aaaa":false})";

class PostureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto& f = store_.findings;
    f.push_back(stored("asset.discovered", "www.demo-univ.edu.cn",
                       discovery_evidence(true, true, true, "信息化办公室")));
    f.push_back(stored("ipv6.readiness", "www.demo-univ.edu.cn", kReady));
    f.push_back(stored("asset.discovered", "oa.demo-univ.edu.cn",
                       discovery_evidence(true, true, true, "信息化办公室")));
    f.push_back(stored("ipv6.readiness", "oa.demo-univ.edu.cn", kNoAaaa));
    f.push_back(stored("tls.weak_protocol", "oa.demo-univ.edu.cn:443", "{}", Severity::medium));
    f.push_back(stored("asset.unregistered", "lab.demo-univ.edu.cn",
                       discovery_evidence(true, true, false), Severity::medium));
    f.push_back(stored("asset.zombie", "survey.demo-univ.edu.cn",
                       discovery_evidence(true, true, true, "教学评估中心, 二部"), Severity::high));
    f.push_back(stored("asset.dual_non_own", "www.shifan-alumni.org",
                       discovery_evidence(false, false, false), Severity::high));
    // Resolved findings and kinds outside the posture do not count.
    f.push_back(stored("asset.zombie", "gone.demo-univ.edu.cn",
                       discovery_evidence(true, true, true), Severity::high,
                       std::chrono::seconds(0), FindingState::resolved));
    f.push_back(stored("dns.open_resolver", "192.0.2.54", "{}", Severity::high));
  }

  Posture load() {
    std::string error;
    auto p = load_posture(store_, kBase, &error);
    EXPECT_TRUE(p) << error;
    return p ? std::move(*p) : Posture{};
  }

  ManualClock clock_{kBase};
  FakeStore store_{clock_};
};

TEST_F(PostureTest, OverviewFigures) {
  const auto p = load();
  LiveCounts live;
  live.alerts.ok = true;
  live.alerts.by_severity = {0, 0, 1, 2, 0};
  live.agents_total = 3;
  live.agents_online = 2;
  PostureHistory history;
  history.days.push_back({"2026-11-24", {{"systems", 4}}});
  const auto o = overview_json(p, live, history);
  const auto& systems = o.at("systems").as_object();
  EXPECT_EQ(systems.at("total"), 5);
  EXPECT_EQ(systems.at("unregistered"), 1);
  EXPECT_EQ(systems.at("zombie"), 1);
  EXPECT_EQ(systems.at("by_ownership").at("dual_non_own"), 1);
  EXPECT_EQ(systems.at("by_ownership").at("own"), 4);
  const auto& ipv6 = o.at("ipv6").as_object();
  EXPECT_EQ(ipv6.at("systems_checked"), 2);
  EXPECT_EQ(ipv6.at("support_rate").as_double(), 0.5);
  EXPECT_EQ(ipv6.at("by_status").at("none"), 1);
  EXPECT_EQ(ipv6.at("links").at("level2").at("total"), 5);
  EXPECT_EQ(ipv6.at("links").at("level3").at("ipv6"), 11);
  EXPECT_EQ(o.at("alerts").at("open"), 3);
  EXPECT_EQ(o.at("alerts").at("by_severity").at("high"), 2);
  EXPECT_EQ(o.at("findings").at("open"), 9);  // every open finding, not only posture kinds
  EXPECT_EQ(o.at("agents").at("online"), 2);
  ASSERT_EQ(o.at("trend").as_array().size(), 1u);
  EXPECT_EQ(o.at("trend").as_array()[0].at("date"), "2026-11-24");
}

TEST_F(PostureTest, UnitsReportCsvAndHtml) {
  const auto p = load();
  ASSERT_EQ(p.units.size(), 3u);  // named units first, the unnamed last
  EXPECT_EQ(p.units[0].owner_unit, "信息化办公室");
  EXPECT_EQ(p.units[0].systems, 2u);
  EXPECT_EQ(p.units[0].homepage.total, 2u);
  EXPECT_EQ(p.units[0].homepage.ipv6, 1u);
  EXPECT_EQ(p.units[0].exposure, 1u);
  EXPECT_EQ(p.units[1].zombie, std::vector<std::string>{"survey.demo-univ.edu.cn"});
  EXPECT_EQ(p.units[2].owner_unit, "");
  EXPECT_EQ(p.units[2].unregistered, std::vector<std::string>{"lab.demo-univ.edu.cn"});
  EXPECT_EQ(p.units[2].dual_non_own, std::vector<std::string>{"www.shifan-alumni.org"});

  const auto csv = units_csv(p);
  ASSERT_EQ(csv.rfind("\xEF\xBB\xBF", 0), 0u);  // the BOM, so Excel reads UTF-8
  EXPECT_NE(csv.find("\xEF\xBB\xBF责任单位,系统数,首页IPv6支持率,"), std::string::npos);
  EXPECT_NE(csv.find("\r\n信息化办公室,2,50.0%,80.0%,78.6%,,,,1\r\n"), std::string::npos) << csv;
  // A unit name with a comma is quoted (RFC 4180).
  EXPECT_NE(csv.find("\r\n\"教学评估中心, 二部\",1,-,-,-,,,survey.demo-univ.edu.cn,0\r\n"),
            std::string::npos)
      << csv;

  const auto html = compliance_html(p, "示范大学 <Demo>");
  EXPECT_NE(html.find("<h1>示范大学 &lt;Demo&gt; 信息系统合规报表</h1>"), std::string::npos);
  EXPECT_NE(html.find("www.shifan-alumni.org"), std::string::npos);
  EXPECT_NE(html.find("@media print"), std::string::npos);

  const auto j = units_json(p);
  EXPECT_EQ(j.at("units").as_array()[0].at("homepage").at("rate").as_double(), 0.5);
}

TEST(CampusDate, IsChinaStandardTime) {
  EXPECT_EQ(campus_date(*parse_rfc3339("2026-11-25T15:59:59Z")), "2026-11-25");
  EXPECT_EQ(campus_date(*parse_rfc3339("2026-11-25T16:00:00Z")), "2026-11-26");
}

TEST_F(PostureTest, TheCacheRebuildsOnlyWhenTheDataChangedAndRecordsTheDay) {
  metrics::Registry registry;
  PostureCache cache(store_, clock_, registry);
  EXPECT_EQ(cache.current(), nullptr);
  EXPECT_TRUE(cache.refresh_once());
  const auto first = cache.current();
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->assets.size(), 5u);
  EXPECT_FALSE(cache.refresh_once());  // nothing changed
  EXPECT_EQ(cache.current(), first);
  ASSERT_EQ(store_.history.size(), 1u);
  EXPECT_EQ(store_.history[0].date, campus_date(kBase));
  EXPECT_EQ(store_.history[0].figures.at("systems"), 5);

  store_.findings.push_back(stored("asset.discovered", "new.demo-univ.edu.cn",
                                   discovery_evidence(true, true, true, "图书馆")));
  ++store_.version;
  EXPECT_TRUE(cache.refresh_once());
  EXPECT_EQ(cache.current()->assets.size(), 6u);
  EXPECT_EQ(store_.history.size(), 1u);  // the same day: replaced
  EXPECT_EQ(store_.history[0].figures.at("systems"), 6);
  EXPECT_NE(registry.render().find("edusight_posture_builds_total 2"), std::string::npos);
}

// A commit that lands while a snapshot is being built (another collector's, or this one's
// writer) must bring a rebuild at the next pass, not be taken as already seen.
TEST_F(PostureTest, ACommitDuringTheBuildIsSeenAtTheNextPass) {
  metrics::Registry registry;
  PostureCache cache(store_, clock_, registry);
  bool committed = false;
  store_.during_query = [&] {
    if (committed) return;
    committed = true;
    store_.findings.push_back(stored("asset.discovered", "late.demo-univ.edu.cn",
                                     discovery_evidence(true, true, true, "图书馆")));
    ++store_.version;
  };
  EXPECT_TRUE(cache.refresh_once());
  EXPECT_TRUE(cache.refresh_once());  // the late commit: built again
  EXPECT_EQ(cache.current()->assets.size(), 6u);
  EXPECT_FALSE(cache.refresh_once());
}

}  // namespace
}  // namespace edusight::collector::api
