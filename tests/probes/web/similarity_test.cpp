#include "probes/web/similarity.hpp"

#include <gtest/gtest.h>

#include <string>

#include "probes/web/html.hpp"

namespace edusight::web {
namespace {

// A page of `n` distinct-ish sentences; `salt` changes the words of sentences [from, to).
std::string page(int n, const std::string& nonce, int from = 0, int to = 0) {
  std::string s = "<html><head><title>Example University</title></head><body>";
  s += "<input type=hidden name=csrf value='" + nonce + "'>";
  s += "<p>Server time 2024-05-01 12:00:00, request " + nonce + "</p>";
  for (int i = 0; i < n; ++i) {
    const bool changed = i >= from && i < to;
    s += "<p>" +
         std::string(changed ? "Completely different words here number "
                             : "The department of physics announces seminar ") +
         std::to_string(i) + (changed ? " replaced" : " in building") + "</p>";
  }
  return s + "</body></html>";
}

double sim(const std::string& a, const std::string& b) {
  return text_similarity(parse_html(a, "http://h.example/").text,
                         parse_html(b, "http://h.example/").text);
}

TEST(TextSimilarity, IdenticalIsOne) {
  EXPECT_DOUBLE_EQ(text_similarity("the quick brown fox", "the quick brown fox"), 1.0);
  EXPECT_DOUBLE_EQ(text_similarity("", ""), 1.0);
  EXPECT_DOUBLE_EQ(text_similarity("something", ""), 0.0);
  const auto p = page(50, "abc");
  EXPECT_DOUBLE_EQ(sim(p, p), 1.0);
}

TEST(TextSimilarity, ChangedNonceStillEqual) {
  EXPECT_GE(sim(page(50, "3f9a2b7c1d4e5f60718293a4b5c6d7e8"),
                page(50, "a1b2c3d4e5f60718293a4b5c6d7e8f90")),
            0.99);
  EXPECT_GE(sim(page(50, "Zm9vYmFyQmF6OTg3NjU0MzIxMHF3ZXJ0eQ"),
                page(50, "QWxhZGRpbjpvcGVuIHNlc2FtZTEyMzQ1Ng")),
            0.99);
}

TEST(TextSimilarity, DifferentPageIsLow) {
  const std::string other =
      "<html><body><h1>403 Forbidden</h1><hr><center>nginx</center></body></html>";
  EXPECT_LT(sim(page(50, "x"), other), 0.5);
  EXPECT_LT(text_similarity("alpha beta gamma delta epsilon", "one two three four five"), 0.5);
}

TEST(TextSimilarity, TwentyPercentChangedIsBelowPointNine) {
  const double s = sim(page(50, "n"), page(50, "n", 20, 30));
  EXPECT_LT(s, 0.9);
  EXPECT_GT(s, 0.3);
  // Scattered changes hurt more than one changed block.
  std::string a, b;
  for (int i = 0; i < 100; ++i) {
    a += "word" + std::to_string(i) + " ";
    b += (i % 5 == 0 ? "other" : "word") + std::to_string(i) + " ";
  }
  EXPECT_LT(text_similarity(a, b), 0.9);
}

TEST(TextSimilarity, ChineseCharactersAreTokens) {
  EXPECT_DOUBLE_EQ(text_similarity("欢迎访问北京大学", "欢迎访问北京大学"), 1.0);
  EXPECT_LT(text_similarity("欢迎访问北京大学网站", "欢迎访问清华大学网站"), 0.9);
  EXPECT_GT(text_similarity("欢迎访问北京大学网站首页新闻", "欢迎访问北京大学网站首页通知"), 0.5);
}

TEST(TextSimilarity, Symmetric) {
  const std::string a = "a b c d e f g h", b = "a b c x e f g h i";
  EXPECT_DOUBLE_EQ(text_similarity(a, b), text_similarity(b, a));
}

}  // namespace
}  // namespace edusight::web
