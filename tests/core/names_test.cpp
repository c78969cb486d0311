#include "edusight/core/names.hpp"

#include <gtest/gtest.h>

namespace edusight {
namespace {

TEST(CanonicalHost, LowerCaseNoTrailingDot) {
  EXPECT_EQ(canonical_host("WWW.Demo-Univ.EDU.CN."), "www.demo-univ.edu.cn");
}

TEST(CanonicalHost, IdnToALabel) {
  EXPECT_EQ(canonical_host("示范大学.中国"), "xn--pss25cq42ckwi.xn--fiqs8s");
}

TEST(CanonicalHost, RejectsBadNames) {
  EXPECT_FALSE(canonical_host(""));
  EXPECT_FALSE(canonical_host("a..b"));
  EXPECT_FALSE(canonical_host(std::string(64, 'a') + ".cn"));
  EXPECT_FALSE(canonical_host("bad name.cn"));
}

TEST(Address, Rfc5952AndMapped) {
  const auto a = parse_address("2001:DB8:0:0:0:0:0:1");
  ASSERT_TRUE(a);
  EXPECT_EQ(canonical_address(*a), "2001:db8::1");
  const auto m = parse_address("::ffff:192.0.2.14");
  ASSERT_TRUE(m);
  EXPECT_TRUE(is_ipv4_mapped(*m));
  EXPECT_FALSE(is_ipv4_mapped(*a));
  EXPECT_FALSE(parse_address("192.0.2.300"));
}

TEST(Zone, LabelWise) {
  EXPECT_TRUE(is_within_zone("www.demo-univ.edu.cn", "demo-univ.edu.cn"));
  EXPECT_TRUE(is_within_zone("demo-univ.edu.cn", "demo-univ.edu.cn"));
  EXPECT_FALSE(is_within_zone("evil-demo-univ.edu.cn", "demo-univ.edu.cn"));
  EXPECT_FALSE(is_within_zone("edu.cn", "demo-univ.edu.cn"));
}

}  // namespace
}  // namespace edusight
