#include "edusight/core/registry.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "edusight/core/names.hpp"

namespace edusight {
namespace {

// The ConfigError a parse throws; fails the test when none is thrown.
ConfigError parse_error(std::string_view csv) {
  try {
    Registry::parse(csv, "systems.csv");
  } catch (const ConfigError& e) {
    return e;
  }
  ADD_FAILURE() << "no error for:\n" << csv;
  return ConfigError("", 0, 0, "none");
}

std::vector<std::string> ips(const RegisteredSystem& s) {
  std::vector<std::string> out;
  for (const auto& a : s.registered_ip) out.push_back(canonical_address(a));
  return out;
}

TEST(Registry, BomCrlfAndKnownColumns) {
  const auto r = Registry::parse(
      "\xEF\xBB\xBF"
      "domain,name,owner_unit,admin,registered_ip\r\n"
      "www.demo-univ.edu.cn,门户网站,信息化办公室,张三,192.0.2.10\r\n"
      "lib.demo-univ.edu.cn,图书馆,图书馆,李四,\r\n",
      "systems.csv");
  ASSERT_EQ(r.systems().size(), 2U);
  const auto& s = r.systems()[0];
  EXPECT_EQ(s.domain, "www.demo-univ.edu.cn");
  EXPECT_EQ(s.name, "门户网站");
  EXPECT_EQ(s.owner_unit, "信息化办公室");
  EXPECT_EQ(s.admin, "张三");
  EXPECT_EQ(ips(s), std::vector<std::string>{"192.0.2.10"});
  EXPECT_EQ(s.line, 2);
  EXPECT_TRUE(s.attributes.empty());
  EXPECT_EQ(r.systems()[1].line, 3);
  EXPECT_TRUE(r.systems()[1].registered_ip.empty());
  EXPECT_TRUE(r.duplicate_lines().empty());
}

TEST(Registry, HeaderCaseAndOrderDoNotMatter) {
  const auto r = Registry::parse(" Name ,DOMAIN\nPortal,www.demo-univ.edu.cn\n", "systems.csv");
  ASSERT_EQ(r.systems().size(), 1U);
  EXPECT_EQ(r.systems()[0].domain, "www.demo-univ.edu.cn");
  EXPECT_EQ(r.systems()[0].name, "Portal");
}

TEST(Registry, Rfc4180Quoting) {
  const auto r = Registry::parse(
      "domain,name,note\n"
      "a.demo-univ.edu.cn,\"Smith, John \"\"JJ\"\"\",\"line one\nline two\r\nline three\"\n"
      "\"b.demo-univ.edu.cn\" , \"\" ,plain\n"
      "c.demo-univ.edu.cn,say \"hi\",x\n",
      "systems.csv");
  ASSERT_EQ(r.systems().size(), 3U);
  const auto& a = r.systems()[0];
  EXPECT_EQ(a.name, "Smith, John \"JJ\"");
  ASSERT_EQ(a.attributes.size(), 1U);
  EXPECT_EQ(a.attributes[0].first, "note");
  EXPECT_EQ(a.attributes[0].second, "line one\nline two\r\nline three");
  EXPECT_EQ(a.line, 2);
  // The record above spans lines 2-4.
  EXPECT_EQ(r.systems()[1].line, 5);
  EXPECT_EQ(r.systems()[1].domain, "b.demo-univ.edu.cn");
  EXPECT_EQ(r.systems()[1].name, "");
  EXPECT_EQ(r.systems()[2].name, "say \"hi\"");  // a stray quote in an unquoted field is literal
  EXPECT_EQ(r.systems()[2].line, 6);
}

TEST(Registry, ChineseNamesAndIdnDomains) {
  const auto r = Registry::parse(
      "domain,name,owner_unit,备注\n"
      "示范大学.中国,示范大学主页,党委宣传部,\"含逗号，全角与半角, 都行\"\n",
      "systems.csv");
  ASSERT_EQ(r.systems().size(), 1U);
  const auto& s = r.systems()[0];
  EXPECT_EQ(s.domain, "xn--pss25cq42ckwi.xn--fiqs8s");
  EXPECT_EQ(s.name, "示范大学主页");
  EXPECT_EQ(s.owner_unit, "党委宣传部");
  ASSERT_EQ(s.attributes.size(), 1U);
  EXPECT_EQ(s.attributes[0].first, "备注");
  EXPECT_EQ(s.attributes[0].second, "含逗号，全角与半角, 都行");
  EXPECT_NE(r.find("xn--pss25cq42ckwi.xn--fiqs8s"), nullptr);
}

TEST(Registry, UrlStyleDomains) {
  const auto r = Registry::parse(
      "domain\n"
      "https://WWW.Demo-Univ.edu.cn/path/index.html?x=1#top\n"
      "jwc.demo-univ.edu.cn:8080\n"
      "http://user@oa.demo-univ.edu.cn:8443/\n"
      "  mail.demo-univ.edu.cn.  \n"
      "//vpn.demo-univ.edu.cn/login\n",
      "systems.csv");
  std::vector<std::string> got;
  for (const auto& s : r.systems()) got.push_back(s.domain);
  EXPECT_EQ(got, (std::vector<std::string>{"www.demo-univ.edu.cn", "jwc.demo-univ.edu.cn",
                                           "oa.demo-univ.edu.cn", "mail.demo-univ.edu.cn",
                                           "vpn.demo-univ.edu.cn"}));
}

TEST(Registry, AttributesInHeaderOrder) {
  const auto r = Registry::parse(
      "level,domain,备案号,name\n"
      "3,www.demo-univ.edu.cn,京ICP备000001号,Portal\n"
      "2,lib.demo-univ.edu.cn\n",  // a short row: missing cells are empty
      "systems.csv");
  ASSERT_EQ(r.systems().size(), 2U);
  const auto& a = r.systems()[0].attributes;
  ASSERT_EQ(a.size(), 2U);
  EXPECT_EQ(a[0], (std::pair<std::string, std::string>{"level", "3"}));
  EXPECT_EQ(a[1], (std::pair<std::string, std::string>{"备案号", "京ICP备000001号"}));
  const auto& b = r.systems()[1].attributes;
  ASSERT_EQ(b.size(), 2U);
  EXPECT_EQ(b[1].second, "");
  EXPECT_EQ(r.systems()[1].name, "");
}

TEST(Registry, SeveralRegisteredAddresses) {
  const auto r = Registry::parse(
      "domain,registered_ip\n"
      "www.demo-univ.edu.cn,\"192.0.2.10; 2001:DB8::10  192.0.2.11,192.0.2.12\"\n",
      "systems.csv");
  ASSERT_EQ(r.systems().size(), 1U);
  EXPECT_EQ(ips(r.systems()[0]),
            (std::vector<std::string>{"192.0.2.10", "2001:db8::10", "192.0.2.11", "192.0.2.12"}));
}

TEST(Registry, BlankRowsSkippedDuplicatesReported) {
  const auto r = Registry::parse(
      "domain,name\n"
      "\n"
      "www.demo-univ.edu.cn,first\n"
      ",\n"
      "WWW.demo-univ.edu.cn,second\n"
      "lib.demo-univ.edu.cn,lib\n"
      "https://www.demo-univ.edu.cn/,third",  // no final line break
      "systems.csv");
  ASSERT_EQ(r.systems().size(), 2U);
  EXPECT_EQ(r.duplicate_lines(), (std::vector<int>{5, 7}));
  const auto* s = r.find("www.demo-univ.edu.cn");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->name, "first");
  EXPECT_EQ(s->line, 3);
  EXPECT_EQ(r.find("lib.demo-univ.edu.cn")->line, 6);
  EXPECT_EQ(r.find("nope.demo-univ.edu.cn"), nullptr);
  EXPECT_EQ(r.find("WWW.demo-univ.edu.cn"), nullptr);  // exact canonical host only
}

TEST(Registry, HeaderOnly) {
  EXPECT_TRUE(Registry::parse("domain,name\n", "systems.csv").systems().empty());
}

TEST(RegistryErrors, EachWithItsLine) {
  struct Case {
    const char* csv;
    int line;
    int column;
    const char* says;
  };
  const Case cases[] = {
      {"", 1, 0, "empty"},
      {"\xEF\xBB\xBF", 1, 0, "empty"},
      {"name,admin\nPortal,Zhang\n", 1, 0, "no 'domain' column"},
      {"domain,name\nwww.demo-univ.edu.cn,a\n,Portal\n", 3, 1, "domain is empty"},
      {"domain,name\nwww.demo-univ.edu.cn,a\nbad name.edu.cn,b\n", 3, 1, "not a valid host name"},
      {"domain\na..b.edu.cn\n", 2, 1, "not a valid host name"},
      {"domain\nwww.demo-univ.edu.cn:99999\n", 2, 1, "invalid port"},
      {"domain\n192.0.2.1\n", 2, 1, "is an address"},
      {"domain\nhttp://[2001:db8::1]/\n", 2, 1, "is an address"},
      {"name,domain,registered_ip\nP,www.demo-univ.edu.cn,192.0.2.1;192.0.2.300\n", 2, 3,
       "'192.0.2.300' is not an IPv4 or IPv6 address"},
      {"domain,name\nwww.demo-univ.edu.cn,a\nlib.demo-univ.edu.cn,\"unterminated\nmore\n", 3, 0,
       "unterminated quote"},
      {"domain,name\n\"www.demo-univ.edu.cn\"x,a\n", 2, 0, "after a closing quote"},
      {"domain,name\nwww.demo-univ.edu.cn,a\nlib.demo-univ.edu.cn,Smith, John\n", 3, 3,
       "3 fields but the header has 2"},
      {"domain,,name\n", 1, 2, "no name"},
      {"domain,name,Domain\n", 1, 3, "appears twice"},
      // "大学" in GBK, as Excel on a Chinese Windows saves CSV.
      {"domain,name\nwww.demo-univ.edu.cn,\xB4\xF3\xD1\xA7\n", 2, 22, "not valid UTF-8"},
      // A multi-line record: the error names the line where the bad field starts.
      {"domain,note,registered_ip\nwww.demo-univ.edu.cn,\"a\nb\",nope\n", 3, 3, "'nope'"},
  };
  for (const auto& c : cases) {
    const ConfigError e = parse_error(c.csv);
    EXPECT_EQ(e.file(), "systems.csv") << c.csv;
    EXPECT_EQ(e.line(), c.line) << c.csv << " -> " << e.what();
    EXPECT_EQ(e.column(), c.column) << c.csv << " -> " << e.what();
    EXPECT_NE(std::string(e.what()).find(c.says), std::string::npos) << e.what();
  }
}

TEST(RegistryErrors, ErrorTextCarriesFileAndLine) {
  const ConfigError e = parse_error("domain\nok.demo-univ.edu.cn\n\nbad_ name\n");
  EXPECT_EQ(std::string(e.what()).rfind("systems.csv:4:1: ", 0), 0U) << e.what();
}

TEST(RegistryErrors, TooManyRows) {
  std::string csv = "domain\n";
  csv.reserve(csv.size() + 2 * (Registry::max_rows + 1));
  for (std::size_t i = 0; i <= Registry::max_rows; ++i) csv += "a\n";
  const ConfigError e = parse_error(csv);
  EXPECT_EQ(e.line(), static_cast<int>(Registry::max_rows) + 2);
  EXPECT_NE(std::string(e.what()).find("more than 1000000 rows"), std::string::npos) << e.what();
}

TEST(RegistryErrors, TooLarge) {
  const std::string csv(Registry::max_bytes + 1, 'a');
  const ConfigError e = parse_error(csv);
  EXPECT_NE(std::string(e.what()).find("limit is 64 MiB"), std::string::npos) << e.what();
}

class RegistryFile : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (std::filesystem::temp_directory_path() /
             ("edusight-registry-" + std::to_string(::getpid()) + ".csv"))
                .string();
  }
  void TearDown() override { std::filesystem::remove(path_); }
  std::string path_;
};

TEST_F(RegistryFile, LoadsAndNamesTheFileInErrors) {
  {
    std::ofstream out(path_, std::ios::binary);
    out << "domain,name\nwww.demo-univ.edu.cn,门户\nbad name,x\n";
  }
  try {
    Registry::load(path_);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.file(), path_);
    EXPECT_EQ(e.line(), 3);
  }
  {
    std::ofstream out(path_, std::ios::binary);
    out << "domain,name\nwww.demo-univ.edu.cn,门户\n";
  }
  const auto r = Registry::load(path_);
  ASSERT_EQ(r.systems().size(), 1U);
  EXPECT_EQ(r.systems()[0].name, "门户");
}

TEST_F(RegistryFile, RefusesLargeFilesUnread) {
  // A sparse file: the size check must come before reading it.
  { std::ofstream out(path_, std::ios::binary); }
  std::filesystem::resize_file(path_, Registry::max_bytes + 1);
  try {
    Registry::load(path_);
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.file(), path_);
    EXPECT_NE(std::string(e.what()).find("64 MiB"), std::string::npos) << e.what();
  }
}

TEST(RegistryErrors, MissingFile) {
  try {
    Registry::load("/nonexistent/systems.csv");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.file(), "/nonexistent/systems.csv");
    EXPECT_NE(std::string(e.what()).find("cannot read"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace edusight
