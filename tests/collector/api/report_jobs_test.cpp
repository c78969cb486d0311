// Scheduled reports: written whole, named by the campus date and time, the oldest pruned.
#include "collector/api/report_jobs.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "test_findings.hpp"

namespace edusight::collector::api {
namespace {

namespace fs = std::filesystem;
using testing::discovery_evidence;
using testing::kBase;
using testing::stored;

TEST(ReportJobs, WritesCsvAndHtmlAndKeepsTheNewest) {
  const fs::path dir =
      fs::temp_directory_path() / ("edusight-reports-" + std::to_string(::getpid()));
  std::vector<StoredFinding> open = {stored("asset.discovered", "www.demo-univ.edu.cn",
                                            discovery_evidence(true, true, true, "信息化办公室"))};
  auto posture = std::make_shared<const Posture>(build_posture(build_assets(open), {}, kBase));
  ManualClock clock(kBase);  // 2026-09-21T...; the names use China Standard Time
  ReportJob job;
  job.name = "weekly";
  job.dir = dir.string();
  job.keep = 2;
  ReportJobs jobs(
      {job}, [&] { return posture; }, clock, "示范大学");

  const auto first = jobs.write(0);
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].extension(), ".csv");
  EXPECT_EQ(first[0].filename().string().rfind("weekly-" + campus_date(kBase) + "-", 0), 0u);
  std::ifstream csv(first[0], std::ios::binary);
  std::stringstream text;
  text << csv.rdbuf();
  EXPECT_EQ(text.str().rfind("\xEF\xBB\xBF责任单位,", 0), 0u);
  EXPECT_NE(text.str().find("信息化办公室,1,"), std::string::npos);
  std::ifstream html(first[1]);
  std::stringstream page;
  page << html.rdbuf();
  EXPECT_NE(page.str().find("<h1>示范大学 信息系统合规报表</h1>"), std::string::npos);

  for (int i = 0; i < 3; ++i) {
    clock.advance(std::chrono::minutes(1));
    jobs.write(0);
  }
  std::size_t csvs = 0, htmls = 0, temporaries = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() == ".csv") ++csvs;
    if (e.path().extension() == ".html") ++htmls;
    if (e.path().extension() == ".tmp") ++temporaries;
  }
  EXPECT_EQ(csvs, 2u);
  EXPECT_EQ(htmls, 2u);
  EXPECT_EQ(temporaries, 0u);
  EXPECT_FALSE(fs::exists(first[0]));  // the oldest went
  fs::remove_all(dir);
}

TEST(ReportJobs, NothingToReportWritesNothing) {
  ManualClock clock(kBase);
  ReportJob job;
  job.name = "daily";
  job.dir = (fs::temp_directory_path() / "edusight-reports-none").string();
  ReportJobs jobs(
      {job}, [] { return std::shared_ptr<const Posture>(); }, clock, "");
  EXPECT_TRUE(jobs.write(0).empty());
}

}  // namespace
}  // namespace edusight::collector::api
