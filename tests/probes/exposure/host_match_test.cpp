// certificate_matches_host: RFC 6125 name matching, no network.
#include <gtest/gtest.h>

#include "probes/exposure/tls_inspect.hpp"

namespace edusight::exposure {
namespace {

CertificateInfo with_names(std::vector<std::string> names, std::string cn = {}) {
  CertificateInfo c;
  c.dns_names = std::move(names);
  c.subject_cn = std::move(cn);
  return c;
}

TEST(CertificateMatchesHost, ExactNamesIgnoreCaseAndTrailingDot) {
  const auto c = with_names({"www.example.edu", "example.edu"});
  EXPECT_TRUE(certificate_matches_host(c, "www.example.edu"));
  EXPECT_TRUE(certificate_matches_host(c, "WWW.Example.EDU"));
  EXPECT_TRUE(certificate_matches_host(c, "example.edu."));
  EXPECT_FALSE(certificate_matches_host(c, "mail.example.edu"));
  EXPECT_FALSE(certificate_matches_host(c, "example.edu.cn"));
  EXPECT_FALSE(certificate_matches_host(c, ""));
}

TEST(CertificateMatchesHost, WildcardCoversExactlyOneLeftMostLabel) {
  const auto c = with_names({"*.example.edu"});
  EXPECT_TRUE(certificate_matches_host(c, "www.example.edu"));
  EXPECT_TRUE(certificate_matches_host(c, "LIB.example.edu"));
  EXPECT_FALSE(certificate_matches_host(c, "example.edu"));
  EXPECT_FALSE(certificate_matches_host(c, "a.b.example.edu"));
  EXPECT_FALSE(certificate_matches_host(c, "wwwexample.edu"));
}

TEST(CertificateMatchesHost, WildcardsElsewhereNeverMatch) {
  EXPECT_FALSE(certificate_matches_host(with_names({"w*.example.edu"}), "www.example.edu"));
  EXPECT_FALSE(certificate_matches_host(with_names({"*w.example.edu"}), "www.example.edu"));
  EXPECT_FALSE(certificate_matches_host(with_names({"www.*.edu"}), "www.example.edu"));
  EXPECT_FALSE(certificate_matches_host(with_names({"*.*.edu"}), "www.example.edu"));
  EXPECT_FALSE(certificate_matches_host(with_names({"*"}), "localhost"));
  EXPECT_FALSE(certificate_matches_host(with_names({"*.edu"}), "example.edu"));
  // The host itself is never a pattern.
  EXPECT_FALSE(certificate_matches_host(with_names({"*.example.edu"}), "*.example.edu"));
}

TEST(CertificateMatchesHost, IdnHostsCompareAsALabels) {
  // bücher.example -> xn--bcher-kva.example; 北京大学.cn -> xn--1lq90ic7fzpc.cn
  const auto c = with_names({"xn--bcher-kva.example", "*.xn--1lq90ic7fzpc.cn"});
  EXPECT_TRUE(certificate_matches_host(c, "xn--bcher-kva.example"));
  EXPECT_TRUE(certificate_matches_host(c, "bücher.example"));
  EXPECT_TRUE(certificate_matches_host(c, "BÜCHER.example"));
  EXPECT_TRUE(certificate_matches_host(c, "www.北京大学.cn"));
  EXPECT_TRUE(certificate_matches_host(c, "www.xn--1lq90ic7fzpc.cn"));
  EXPECT_FALSE(certificate_matches_host(c, "北京大学.cn"));
  EXPECT_FALSE(certificate_matches_host(c, "bucher.example"));
  // A wildcard inside an A-label is a partial-label wildcard: no match.
  EXPECT_FALSE(certificate_matches_host(with_names({"xn--*.example"}), "xn--bcher-kva.example"));
}

TEST(CertificateMatchesHost, CommonNameOnlyWithoutSanDnsNames) {
  EXPECT_TRUE(certificate_matches_host(with_names({}, "legacy.example.edu"), "legacy.example.edu"));
  EXPECT_TRUE(certificate_matches_host(with_names({}, "*.example.edu"), "old.example.edu"));
  EXPECT_TRUE(certificate_matches_host(with_names({}, "bücher.example"), "xn--bcher-kva.example"));
  // SAN DNS names present: the CN is ignored even when it would match.
  EXPECT_FALSE(certificate_matches_host(with_names({"other.example.edu"}, "legacy.example.edu"),
                                        "legacy.example.edu"));
  EXPECT_FALSE(certificate_matches_host(with_names({}, ""), "legacy.example.edu"));
  EXPECT_FALSE(certificate_matches_host(with_names({}, "Edusight Test"), "legacy.example.edu"));
}

TEST(CertificateMatchesHost, AddressLiteralsNeverMatchDnsNames) {
  EXPECT_FALSE(certificate_matches_host(with_names({"127.0.0.1"}), "127.0.0.1"));
  EXPECT_FALSE(certificate_matches_host(with_names({}, "::1"), "::1"));
  EXPECT_FALSE(certificate_matches_host(with_names({}, "::1"), "[::1]"));
}

}  // namespace
}  // namespace edusight::exposure
