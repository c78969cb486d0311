#include "edusight/core/logging.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace edusight {
namespace {

TEST(Logging, LevelsMapToSdDaemonPriorities) {
  EXPECT_EQ(journal_priority(spdlog::level::err), 3);
  EXPECT_EQ(journal_priority(spdlog::level::warn), 4);
  EXPECT_EQ(journal_priority(spdlog::level::info), 6);
  EXPECT_EQ(journal_priority(spdlog::level::debug), 7);
  EXPECT_EQ(journal_priority(spdlog::level::trace), 7);
}

TEST(Logging, ParsesLevelNames) {
  EXPECT_EQ(parse_log_level("warn"), spdlog::level::warn);
  EXPECT_EQ(parse_log_level("warning"), spdlog::level::warn);
  EXPECT_EQ(parse_log_level("error"), spdlog::level::err);
  EXPECT_EQ(parse_log_level("debug"), spdlog::level::debug);
  EXPECT_FALSE(parse_log_level("loud").has_value());
}

TEST(Logging, RecognisesTheStreamSystemdGaveUs) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  struct stat st {};
  ASSERT_EQ(::fstat(::fileno(f), &st), 0);
  const std::string mine = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
  ::setenv("JOURNAL_STREAM", mine.c_str(), 1);
  EXPECT_TRUE(connected_to_journal(::fileno(f)));
  ::setenv("JOURNAL_STREAM", "1:2", 1);
  EXPECT_FALSE(connected_to_journal(::fileno(f)));
  ::setenv("JOURNAL_STREAM", "garbage", 1);
  EXPECT_FALSE(connected_to_journal(::fileno(f)));
  ::unsetenv("JOURNAL_STREAM");
  EXPECT_FALSE(connected_to_journal(::fileno(f)));
  std::fclose(f);
}

}  // namespace
}  // namespace edusight
