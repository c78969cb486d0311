#include "probes/ipv6/score.hpp"

#include <gtest/gtest.h>

namespace edusight::ipv6 {
namespace {

TEST(ReadinessScore, NoAaaaIsZero) {
  ReadinessFacts f;
  f.reachable_share = 1;
  f.similarity = 1;
  f.same_status = true;
  EXPECT_EQ(readiness_score(f).total, 0);
}

TEST(ReadinessScore, PerfectIsHundred) {
  ReadinessFacts f;
  f.has_aaaa = true;
  f.reachable_share = 1;
  f.similarity = 0.97;
  f.same_status = true;
  f.link_share = 1;
  EXPECT_EQ(readiness_score(f).total, 100);
}

TEST(ReadinessScore, AaaaButUnreachableKeepsOnlyDnsPoints) {
  ReadinessFacts f;
  f.has_aaaa = true;
  f.reachable_share = 0;
  const auto s = readiness_score(f);
  EXPECT_EQ(s.total, 25);
  EXPECT_EQ(s.dns, 25);
}

TEST(ReadinessScore, PartsAddUp) {
  ReadinessFacts f;
  f.has_aaaa = true;
  f.reachable_share = 0.5;  // 12.5 -> 13
  f.similarity = 0.45;      // half the threshold -> 10
  f.same_status = true;
  f.link_share = 0.8;  // 16
  f.slow = true;       // 0
  const auto s = readiness_score(f);
  EXPECT_EQ(s.reach, 13);
  EXPECT_EQ(s.content, 10);
  EXPECT_EQ(s.links, 16);
  EXPECT_EQ(s.speed, 0);
  EXPECT_EQ(s.total, 25 + 13 + 10 + 16);
}

}  // namespace
}  // namespace edusight::ipv6
