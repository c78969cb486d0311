#include "edusight/core/config.hpp"

#include <gtest/gtest.h>

namespace edusight {
namespace {

TEST(Config, ReadsProfile) {
  const auto c = parse_scan_config(R"(
institution:
  name: 示范大学
  own_domains: [Demo-Univ.edu.cn., demo-univ.cn]
  own_prefixes: [192.0.2.0/24, "2001:db8::/32"]
  unit_names: [示范大学, Demo University]
dns:
  resolvers: [192.0.2.53, "2001:db8:53::53"]
  timeout_ms: 500
targets: [www.demo-univ.edu.cn]
ports: [80, 443]
thresholds:
  content_similarity: 0.85
)",
                                   "campus.yaml");
  EXPECT_EQ(c.institution.name, "示范大学");
  ASSERT_EQ(c.institution.own_domains.size(), 2u);
  EXPECT_EQ(c.institution.own_domains[0], "demo-univ.edu.cn");
  EXPECT_EQ(c.institution.own_prefixes.size(), 2u);
  EXPECT_EQ(c.resolvers.size(), 2u);
  EXPECT_EQ(c.timeouts.dns.count(), 500);
  EXPECT_DOUBLE_EQ(c.thresholds.content_similarity, 0.85);
  EXPECT_NO_THROW(validate_scan_config(c));
}

void expect_error(const std::string& yaml, int line, const std::string& fragment) {
  try {
    parse_scan_config(yaml, "bad.yaml");
    FAIL() << "no error for:\n" << yaml;
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.file(), "bad.yaml");
    EXPECT_EQ(e.line(), line) << e.what();
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
  }
}

TEST(Config, ErrorsCarryFileLineAndReason) {
  expect_error("institution:\n  own_prefixes: [192.0.2.1/24]\n", 2, "host bits");
  expect_error("targets: [a]\nportz: [80]\n", 2, "unknown key 'portz'");
  expect_error("ports: [80, 70000]\n", 1, "not a port");
  expect_error("dns:\n  resolvers: [campus-dns]\n", 2, "not a resolver address");
  expect_error("thresholds:\n  link_support: 1.5\n", 2, "between 0 and 1");
  expect_error("targets: [a\n", 2, "");
  expect_error("institution:\n  own_domains: [\"bad name.cn\"]\n", 2, "not a valid domain");
}

TEST(Config, ValidateNeedsTargetsAndResolvers) {
  ScanConfig c;
  c.institution.own_domains = {"demo-univ.edu.cn"};
  EXPECT_THROW(validate_scan_config(c), ConfigError);
  c.resolvers = {*parse_endpoint("192.0.2.53")};
  EXPECT_THROW(validate_scan_config(c), ConfigError);
  c.targets = {"www.demo-univ.edu.cn"};
  EXPECT_NO_THROW(validate_scan_config(c));
}

TEST(Config, ResolverEndpoints) {
  EXPECT_EQ(parse_endpoint("192.0.2.53")->port, 53);
  EXPECT_EQ(parse_endpoint("2001:db8::53#5353")->port, 5353);
  EXPECT_EQ(parse_endpoint("2001:db8::53#5353")->text(), "2001:db8::53#5353");
  EXPECT_FALSE(parse_endpoint("192.0.2.53#dns"));
  EXPECT_FALSE(parse_endpoint("192.0.2.53#70000"));
  expect_error("dns:\n  resolvers: [\"192.0.2.53#x\"]\n", 2, "addr#port");
}

TEST(Config, PortsFlag) {
  EXPECT_EQ(parse_ports_or_throw("80,443, 22", "--ports"),
            (std::vector<std::uint16_t>{80, 443, 22}));
  EXPECT_THROW(parse_ports_or_throw("80,,443", "--ports"), ConfigError);
}

}  // namespace
}  // namespace edusight
