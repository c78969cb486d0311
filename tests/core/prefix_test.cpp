#include "edusight/core/prefix.hpp"

#include <gtest/gtest.h>

#include "edusight/core/names.hpp"

namespace edusight {
namespace {

TEST(Prefix, ContainsByFamily) {
  const auto p4 = Prefix::parse("192.0.2.0/24");
  const auto p6 = Prefix::parse("2001:db8::/32");
  ASSERT_TRUE(p4 && p6);
  EXPECT_TRUE(p4->contains(*parse_address("192.0.2.77")));
  EXPECT_FALSE(p4->contains(*parse_address("198.51.100.1")));
  EXPECT_TRUE(p6->contains(*parse_address("2001:db8:10::10")));
  EXPECT_FALSE(p6->contains(*parse_address("2001:db9::1")));
  EXPECT_FALSE(p4->contains(*parse_address("2001:db8::1")));
  EXPECT_EQ(p6->to_string(), "2001:db8::/32");
}

TEST(Prefix, OddLengths) {
  const auto p = Prefix::parse("192.0.2.240/29");
  ASSERT_TRUE(p);
  EXPECT_TRUE(p->contains(*parse_address("192.0.2.247")));
  EXPECT_FALSE(p->contains(*parse_address("192.0.2.248")));
  EXPECT_TRUE(Prefix::parse("0.0.0.0/0")->contains(*parse_address("203.0.113.9")));
}

TEST(Prefix, ErrorsSayWhy) {
  std::string why;
  EXPECT_FALSE(Prefix::parse("192.0.2.1/24", &why));
  EXPECT_NE(why.find("host bits"), std::string::npos);
  EXPECT_FALSE(Prefix::parse("192.0.2.0/33", &why));
  EXPECT_NE(why.find("0..32"), std::string::npos);
  EXPECT_FALSE(Prefix::parse("campus/24", &why));
  EXPECT_NE(why.find("not an IPv4 or IPv6 address"), std::string::npos);
}

}  // namespace
}  // namespace edusight
