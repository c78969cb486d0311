#include "edusight/core/schedule.hpp"

#include <gtest/gtest.h>

#include "edusight/core/finding.hpp"

namespace edusight {
namespace {

namespace chr = std::chrono;
using namespace std::chrono_literals;

Schedule::time_point at(int y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0) {
  return chr::sys_days(chr::year(y) / mo / d) + chr::hours(h) + chr::minutes(mi) + chr::seconds(s);
}

std::string next(const std::string& expr, Schedule::time_point t) {
  return format_rfc3339(Schedule::parse(expr).next_after(t));
}

TEST(Schedule, DailyAtThree) {
  EXPECT_EQ(next("0 3 * * *", at(2025, 3, 10, 1, 0)), "2025-03-10T03:00:00Z");
  EXPECT_EQ(next("0 3 * * *", at(2025, 3, 10, 3, 0)), "2025-03-11T03:00:00Z");  // strictly after
  EXPECT_EQ(next("0 3 * * *", at(2025, 12, 31, 4, 0)), "2026-01-01T03:00:00Z");
}

TEST(Schedule, NextWholeMinute) {
  EXPECT_EQ(next("* * * * *", at(2025, 3, 10, 1, 0, 30)), "2025-03-10T01:01:00Z");
}

TEST(Schedule, ListsRangesAndSteps) {
  EXPECT_EQ(next("15,45 * * * *", at(2025, 3, 10, 1, 20)), "2025-03-10T01:45:00Z");
  EXPECT_EQ(next("*/20 * * * *", at(2025, 3, 10, 1, 41)), "2025-03-10T02:00:00Z");
  EXPECT_EQ(next("0 9-17/4 * * *", at(2025, 3, 10, 10, 0)), "2025-03-10T13:00:00Z");
  EXPECT_EQ(next("0 9-17/4 * * *", at(2025, 3, 10, 17, 0)), "2025-03-11T09:00:00Z");
  EXPECT_EQ(next("30 22-23 * * *", at(2025, 3, 10, 23, 30)), "2025-03-11T22:30:00Z");
  EXPECT_EQ(next("5/15 * * * *", at(2025, 3, 10, 1, 36)), "2025-03-10T01:50:00Z");
}

TEST(Schedule, DaysOfWeekAndMonths) {
  // 2025-03-10 is a Monday.
  EXPECT_EQ(next("0 0 * * 0", at(2025, 3, 10)), "2025-03-16T00:00:00Z");
  EXPECT_EQ(next("0 0 * * 7", at(2025, 3, 10)), "2025-03-16T00:00:00Z");  // 7 is Sunday too
  EXPECT_EQ(next("0 6 * * 1-5", at(2025, 3, 14, 7)), "2025-03-17T06:00:00Z");
  EXPECT_EQ(next("0 0 1 */3 *", at(2025, 3, 10)), "2025-04-01T00:00:00Z");
  EXPECT_EQ(next("0 0 29 2 *", at(2025, 3, 1)), "2028-02-29T00:00:00Z");
}

TEST(Schedule, DayOfMonthOrDayOfWeekWhenBothRestricted) {
  // Vixie cron: the 13th, or any Friday.
  EXPECT_EQ(next("0 0 13 * 5", at(2025, 3, 10)), "2025-03-13T00:00:00Z");
  EXPECT_EQ(next("0 0 13 * 5", at(2025, 3, 13, 1)), "2025-03-14T00:00:00Z");
  // A '*'-step in day-of-month does not restrict: only Fridays count then.
  EXPECT_EQ(next("0 0 */1 * 5", at(2025, 3, 10)), "2025-03-14T00:00:00Z");
}

TEST(Schedule, Shorthands) {
  EXPECT_EQ(next("@hourly", at(2025, 3, 10, 1, 5)), "2025-03-10T02:00:00Z");
  EXPECT_EQ(next("@daily", at(2025, 3, 10, 1, 5)), "2025-03-11T00:00:00Z");
  EXPECT_EQ(next("@weekly", at(2025, 3, 10, 1, 5)), "2025-03-16T00:00:00Z");
  EXPECT_EQ(next("@monthly", at(2025, 3, 10, 1, 5)), "2025-04-01T00:00:00Z");
}

TEST(Schedule, EveryIntervalCountsFromTheGivenTime) {
  const auto s = Schedule::parse("@every 30m");
  EXPECT_TRUE(s.is_interval());
  EXPECT_EQ(s.next_after(at(2025, 3, 10, 1, 5, 7)), at(2025, 3, 10, 1, 35, 7));
  EXPECT_EQ(Schedule::parse("@every 2h").next_after(at(2025, 3, 10)), at(2025, 3, 10, 2));
}

TEST(Schedule, WorksWithAManualClock) {
  ManualClock clock(at(2025, 3, 10, 2, 59, 59));
  const auto s = Schedule::parse("0 3 * * *");
  auto due = s.next_after(clock.now());
  EXPECT_EQ(due, at(2025, 3, 10, 3));
  clock.advance(1s);
  EXPECT_EQ(s.next_after(clock.now()), at(2025, 3, 11, 3));
}

void expect_error(const std::string& expr, const std::string& fragment) {
  try {
    Schedule::parse(expr);
    ADD_FAILURE() << "'" << expr << "' was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos)
        << "'" << expr << "': " << e.what();
  }
}

TEST(Schedule, ParseErrorsSayWhatIsWrong) {
  expect_error("", "empty");
  expect_error("0 3 * *", "5");
  expect_error("0 3 * * * *", "5");
  expect_error("60 * * * *", "minute");
  expect_error("* 24 * * *", "hour");
  expect_error("* * 0 * *", "day-of-month");
  expect_error("* * * 13 *", "month");
  expect_error("* * * * 8", "day-of-week");
  expect_error("*/0 * * * *", "step");
  expect_error("5-1 * * * *", "reversed");
  expect_error("a * * * *", "not a number");
  expect_error("1,,2 * * * *", "empty");
  expect_error("0 0 30 2 *", "never");
  expect_error("@yearly-ish", "unknown schedule");
  expect_error("@every", "interval");
  expect_error("@every 10x", "duration");
  expect_error("@every 500ms", "at least 1s");
}

TEST(Duration, Units) {
  EXPECT_EQ(duration_or_throw("500ms"), 500ms);
  EXPECT_EQ(duration_or_throw("30s"), 30s);
  EXPECT_EQ(duration_or_throw("5m"), 5min);
  EXPECT_EQ(duration_or_throw("2h"), 2h);
  EXPECT_EQ(duration_or_throw("1d"), 24h);
  EXPECT_THROW(duration_or_throw("5"), std::invalid_argument);
  EXPECT_THROW(duration_or_throw("m"), std::invalid_argument);
  EXPECT_THROW(duration_or_throw("-5s"), std::invalid_argument);
  EXPECT_THROW(duration_or_throw("1.5h"), std::invalid_argument);
  EXPECT_THROW(duration_or_throw("99999999999d"), std::invalid_argument);
}

TEST(Jitter, StaysWithinItsBoundAndSpreads) {
  SeededRandom random(42);
  chr::milliseconds lo = 10min, hi = 0ms;
  for (int i = 0; i < 2000; ++i) {
    const auto j = draw_jitter(10min, random);
    ASSERT_GE(j, 0ms);
    ASSERT_LE(j, 10min);
    lo = std::min(lo, j);
    hi = std::max(hi, j);
  }
  EXPECT_LT(lo, 1min);
  EXPECT_GT(hi, 9min);
  EXPECT_EQ(draw_jitter(0ms, random), 0ms);
}

TEST(Jitter, SameSeedSameDelays) {
  SeededRandom a(7), b(7);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(draw_jitter(1h, a), draw_jitter(1h, b));
}

}  // namespace
}  // namespace edusight
