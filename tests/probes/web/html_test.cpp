#include "probes/web/html.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace edusight::web {
namespace {

TEST(ParseHtml, TitleAndText) {
  const auto p = parse_html(
      "<html><head><title>  Campus\n Portal </title><style>body{color:red}</style>"
      "<script>var x = 'hidden';</script></head><body><h1>Welcome</h1><p>To the "
      "<b>campus</b> network.</p><noscript>enable js</noscript>"
      "<template><p>inert</p></template></body></html>",
      "http://www.example.edu/");
  EXPECT_EQ(p.title, "Campus Portal");
  EXPECT_EQ(p.text, "welcome to the campus network.");
}

TEST(ParseHtml, ChineseText) {
  const auto p = parse_html(
      "<html><head><meta charset=utf-8><title>北京大学</title></head>"
      "<body><p>欢迎访问\u3000北京大学</p><p>IPv6 网络</p></body></html>",
      "http://www.pku.edu.cn/");
  EXPECT_EQ(p.title, "北京大学");
  EXPECT_EQ(p.text, "欢迎访问 北京大学 ipv6 网络");
}

TEST(ParseHtml, HiddenInputsAndButtons) {
  const auto p = parse_html(
      "<form><input type=hidden name=__VIEWSTATE value='dDwtMTA4NzIzNjUzMjs7Pg=='>"
      "<input type=submit value='Log in'><input type=text value='typed'></form>",
      "http://a.example/");
  EXPECT_EQ(p.text, "log in");
}

TEST(ParseHtml, LinksResolvedDedupedInOrder) {
  const auto p = parse_html(
      "<a href='/a#top'>a</a><a href='b.html'>b</a><a href='/a#other'>again</a>"
      "<a href='javascript:void(0)'>js</a><a href='mailto:x@example.edu'>mail</a>"
      "<a href='//cdn.example.edu/x'>cdn</a><a href='HTTPS://Other.Example.EDU'>o</a>"
      "<area href='/map'><iframe src='/frame'></iframe><a>no href</a>"
      "<a href=' /spaced path/新闻 '>sp</a><a href='ftp://files.example.edu/'>ftp</a>",
      "http://www.example.edu/dir/index.html");
  const std::vector<std::string> want = {
      "http://www.example.edu/a",
      "http://www.example.edu/dir/b.html",
      "http://cdn.example.edu/x",
      "https://other.example.edu/",
      "http://www.example.edu/map",
      "http://www.example.edu/frame",
      "http://www.example.edu/spaced%20path/%E6%96%B0%E9%97%BB",
  };
  EXPECT_EQ(p.links, want);
}

TEST(ParseHtml, BaseHref) {
  const auto p = parse_html(
      "<html><head><base href='https://static.example.edu/root/'><base href='/ignored/'>"
      "</head><body><a href='page.html'>p</a><a href='/abs'>a</a></body></html>",
      "http://www.example.edu/dir/");
  const std::vector<std::string> want = {"https://static.example.edu/root/page.html",
                                         "https://static.example.edu/abs"};
  EXPECT_EQ(p.links, want);
}

TEST(ParseHtml, RelativeBaseHref) {
  const auto p = parse_html("<base href='/sub/'><a href='x'>x</a>", "http://h.example/a/b");
  ASSERT_EQ(p.links.size(), 1u);
  EXPECT_EQ(p.links[0], "http://h.example/sub/x");
}

TEST(ParseHtml, DeeplyNestedGarbageDoesNotOverflow) {
  std::string body;
  for (int i = 0; i < 100000; ++i) body += "<div>";
  body += "<a href='/deep'>deep</a>";
  for (int i = 0; i < 20000; ++i) body += "<span><b><i>";
  body += "\x01\xff\xfe<<>>&&;;</x></y>";
  const auto p = parse_html(body, "http://h.example/");
  ASSERT_FALSE(p.links.empty());
  EXPECT_EQ(p.links[0], "http://h.example/deep");
  EXPECT_NE(p.text.find("deep"), std::string::npos);
}

// gumbo is quadratic in nesting depth; parse_html flattens first. 500 kB of each pattern
// must parse quickly (each takes well under 0.5 s; minutes without the limit).
TEST(ParseHtml, PathologicalMarkupIsFast) {
  for (const char* pattern : {"<div>", "<span><b><i>", "<b><div></b>", "<div/>", "<a>", "<i><p>",
                              "<table><tr><td>", "<div></span>", "<svg><path/>"}) {
    std::string body;
    while (body.size() < 500 * 1024) body += pattern;
    body += "<a href='/end'>end</a>";
    const auto t0 = std::chrono::steady_clock::now();
    const auto p = parse_html(body, "http://h.example/");
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(3)) << pattern;
    EXPECT_EQ(p.links, std::vector<std::string>{"http://h.example/end"}) << pattern;
  }
}

TEST(ParseHtml, RawTextAndCommentsSurviveFlattening) {
  std::string body;
  for (int i = 0; i < 1000; ++i) body += "<div>";
  body += "<script>if (a<b) { x = '<div>'; }</script><!-- <a href='/no'> --><p>after</p>";
  body += "<a href='/yes'>yes</a>";
  const auto p = parse_html(body, "http://h.example/");
  EXPECT_EQ(p.links, std::vector<std::string>{"http://h.example/yes"});
  EXPECT_EQ(p.text, "after yes");
}

TEST(ParseHtml, TruncatedHtml) {
  const auto p = parse_html(
      "<html><head><title>Cut</title></head><body><p>First para</p><a href='/ok'>ok</a><p>Sec",
      "http://h.example/");
  EXPECT_EQ(p.title, "Cut");
  EXPECT_EQ(p.text, "first para ok sec");
  ASSERT_EQ(p.links.size(), 1u);
  const auto q = parse_html("<a href='/x", "http://h.example/");
  EXPECT_TRUE(q.links.empty() || q.links[0].rfind("http://h.example/", 0) == 0);
  EXPECT_EQ(parse_html("", "http://h.example/").text, "");
}

TEST(ParseHtml, LinkCap) {
  std::string body;
  for (int i = 0; i < 5000; ++i) body += "<a href='/p" + std::to_string(i) + "'>x</a>";
  const auto p = parse_html(body, "http://h.example/");
  EXPECT_EQ(p.links.size(), 2000u);
  EXPECT_EQ(p.links.back(), "http://h.example/p1999");
}

TEST(NormaliseText, LowerCaseAndWhitespace) {
  EXPECT_EQ(normalise_text("  Hello\t\n  WORLD\u00a0 and\u2003more  "), "hello world and more");
  EXPECT_EQ(normalise_text(""), "");
  EXPECT_EQ(normalise_text("zero\u200bwidth"), "zerowidth");
}

TEST(NormaliseText, DynamicTokensStripped) {
  const std::string a = normalise_text(
      "Welcome nonce=3f9a2b7c1d4e5f60718293a4b5c6d7e8 csrf: Zm9vYmFyQmF6OTg3NjU0MzIxMHF3ZXJ0eQ== "
      "id 550e8400-e29b-41d4-a716-446655440000 generated 1700000000123 at 2024-05-01T12:30:45Z "
      "updated 2024年5月1日 12:30 then 01/05/2024");
  const std::string b = normalise_text(
      "Welcome nonce=a1b2c3d4e5f60718293a4b5c6d7e8f90 csrf: QWxhZGRpbjpvcGVuIHNlc2FtZTEyMzQ1Ng== "
      "id 123e4567-e89b-12d3-a456-426614174000 generated 1712345678901 at "
      "2025-11-30T08:05:00+08:00 "
      "updated 2025年11月30日 08:05:59 then 30.11.2025");
  EXPECT_EQ(a, b);
  EXPECT_EQ(a, "welcome nonce= csrf: id generated at updated then");
}

TEST(NormaliseText, OrdinaryWordsKept) {
  EXPECT_EQ(normalise_text("IPv6 readiness of state-of-the-art campus networks, 2024 edition"),
            "ipv6 readiness of state-of-the-art campus networks, 2024 edition");
  EXPECT_EQ(normalise_text("Call 123 or visit room 42"), "call 123 or visit room 42");
}

TEST(ResolveLink, Basics) {
  EXPECT_EQ(resolve_link("http://h.example/a/b", "../c?q=1#f"), "http://h.example/c?q=1");
  EXPECT_EQ(resolve_link("https://h.example/", "http://[2001:DB8::1]:8080"),
            "http://[2001:db8::1]:8080/");
  EXPECT_EQ(resolve_link("http://h.example/", "javascript:alert(1)"), "");
  EXPECT_EQ(resolve_link("http://h.example/", "mailto:a@b"), "");
  EXPECT_EQ(resolve_link("http://h.example/", "a\\b"), "http://h.example/a/b");
  EXPECT_EQ(resolve_link("http://h.example/", "100%"), "http://h.example/100%25");
}

}  // namespace
}  // namespace edusight::web
