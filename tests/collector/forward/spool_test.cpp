#include "collector/forward/spool.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace edusight::forward {
namespace {

namespace fs = std::filesystem;

class SpoolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/spool-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::vector<fs::path> chunk_files() const {
    std::vector<fs::path> out;
    for (const auto& e : fs::directory_iterator(dir_))
      if (e.path().extension() == ".chunk") out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
  }
  fs::path dir_;
};

TEST(Crc32c, KnownVector) {
  // RFC 3720 B.4: 32 bytes of zeros.
  EXPECT_EQ(crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);
}

TEST_F(SpoolTest, DeliversInAppendOrder) {
  Spool s(dir_, {});
  for (int i = 0; i < 5; ++i) {
    ASSERT_FALSE(
        s.append("edusight.finding", "id" + std::to_string(i), "payload" + std::to_string(i)));
  }
  EXPECT_EQ(s.size_chunks(), 5u);
  EXPECT_GT(s.size_bytes(), 5u * 7u);
  for (int i = 0; i < 5; ++i) {
    auto e = s.front();
    ASSERT_TRUE(e);
    EXPECT_EQ(e->tag, "edusight.finding");
    EXPECT_EQ(e->chunk_id, "id" + std::to_string(i));
    EXPECT_EQ(e->payload, "payload" + std::to_string(i));
    s.pop_front();
  }
  EXPECT_FALSE(s.front());
  EXPECT_EQ(s.size_bytes(), 0u);
  EXPECT_TRUE(chunk_files().empty());
}

TEST_F(SpoolTest, NextAfterWalksAheadForPipelining) {
  Spool s(dir_, {});
  std::uint64_t a = 0, b = 0;
  ASSERT_FALSE(s.append("t", "a", "1", &a));
  ASSERT_FALSE(s.append("t", "b", "2", &b));
  EXPECT_LT(a, b);
  EXPECT_EQ(s.next_after(a)->chunk_id, "b");
  EXPECT_FALSE(s.next_after(b));
  EXPECT_TRUE(s.remove(b));
  EXPECT_FALSE(s.remove(b));
  EXPECT_EQ(s.front()->chunk_id, "a");
}

TEST_F(SpoolTest, OrderSurvivesARestart) {
  {
    Spool s(dir_, {});
    for (int i = 0; i < 3; ++i) ASSERT_FALSE(s.append("t", "old" + std::to_string(i), "x"));
    s.pop_front();
  }
  Spool s(dir_, {});
  EXPECT_EQ(s.size_chunks(), 2u);
  ASSERT_FALSE(s.append("t", "new", "y"));
  std::vector<std::string> ids;
  for (int i = 0; i < 10 && s.front(); ++i) {
    ids.push_back(s.front()->chunk_id);
    s.pop_front();
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"old1", "old2", "new"}));
}

TEST_F(SpoolTest, LeftoverTempFilesAreDropped) {
  {
    Spool s(dir_, {});
    ASSERT_FALSE(s.append("t", "kept", "x"));
  }
  std::ofstream(dir_ / "00000000000000000009.chunk.tmp") << "half a write";
  Spool s(dir_, {});
  EXPECT_EQ(s.size_chunks(), 1u);
  EXPECT_FALSE(fs::exists(dir_ / "00000000000000000009.chunk.tmp"));
}

TEST_F(SpoolTest, CorruptFileIsMovedAsideAndCounted) {
  {
    Spool s(dir_, {});
    ASSERT_FALSE(s.append("t", "a", "payload-a"));
    ASSERT_FALSE(s.append("t", "b", "payload-b"));
    ASSERT_FALSE(s.append("t", "c", "payload-c"));
  }
  const auto files = chunk_files();
  ASSERT_EQ(files.size(), 3u);
  {  // a torn write: the file ends early
    const auto size = fs::file_size(files[0]);
    fs::resize_file(files[0], size - 6);
  }
  {  // a flipped byte in the payload
    std::fstream f(files[1], std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-6, std::ios::end);
    f.put('X');
  }
  std::ofstream(dir_ / "00000000000000000077.chunk") << "not a record at all";
  Spool s(dir_, {});
  EXPECT_EQ(s.size_chunks(), 1u);
  EXPECT_EQ(s.front()->chunk_id, "c");
  EXPECT_EQ(s.stats().corrupt_files, 3u);
  EXPECT_TRUE(fs::exists(dir_ / "corrupt" / files[0].filename()));
  EXPECT_TRUE(fs::exists(dir_ / "corrupt" / files[1].filename()));
  // The count is kept across restarts.
  Spool again(dir_, {});
  EXPECT_EQ(again.stats().corrupt_files, 3u);
}

TEST_F(SpoolTest, CorruptionFoundWhileReadingSkipsToTheNext) {
  Spool s(dir_, {});
  ASSERT_FALSE(s.append("t", "a", "payload-a"));
  ASSERT_FALSE(s.append("t", "b", "payload-b"));
  std::ofstream(chunk_files()[0], std::ios::trunc) << "garbage";
  EXPECT_EQ(s.front()->chunk_id, "b");
  EXPECT_EQ(s.size_chunks(), 1u);
  EXPECT_EQ(s.stats().corrupt_files, 1u);
}

TEST_F(SpoolTest, FullSpoolEvictsTheOldestAndCountsIt) {
  {
    Spool s(dir_, {1 << 20, 3});
    for (int i = 0; i < 5; ++i) ASSERT_FALSE(s.append("t", "c" + std::to_string(i), "x"));
    EXPECT_EQ(s.size_chunks(), 3u);
    EXPECT_EQ(s.front()->chunk_id, "c2");
    EXPECT_EQ(s.stats().evicted_chunks, 2u);
  }
  Spool s(dir_, {1 << 20, 3});
  EXPECT_EQ(s.stats().evicted_chunks, 2u);  // persisted for the heartbeats
  EXPECT_EQ(s.front()->chunk_id, "c2");
}

TEST_F(SpoolTest, ByteLimitEvictsToo) {
  Spool s(dir_, {1000, 1000});
  const std::string payload(300, 'p');
  for (int i = 0; i < 4; ++i) ASSERT_FALSE(s.append("t", "c" + std::to_string(i), payload));
  EXPECT_LE(s.size_bytes(), 1000u);
  EXPECT_EQ(s.size_chunks(), 2u);
  EXPECT_EQ(s.stats().evicted_chunks, 2u);
  EXPECT_EQ(s.front()->chunk_id, "c2");
}

TEST_F(SpoolTest, ChunkLargerThanTheSpoolIsRefused) {
  Spool s(dir_, {100, 10});
  ASSERT_FALSE(s.append("t", "small", "x"));
  EXPECT_EQ(s.append("t", "big", std::string(200, 'b')), std::errc::file_too_large);
  EXPECT_EQ(s.size_chunks(), 1u);  // nothing evicted for a chunk that cannot fit anyway
}

// By design, append() returns only after the record, its rename and the directory are
// fsync'd; what a test can check is that a returned append is complete on disk, with no
// temporary file left, and readable by a fresh spool.
TEST_F(SpoolTest, AppendedChunkIsCompleteOnDiskWhenAppendReturns) {
  Spool s(dir_, {});
  ASSERT_FALSE(s.append("edusight.scan", "id", "the payload"));
  for (const auto& e : fs::directory_iterator(dir_))
    EXPECT_NE(e.path().extension(), ".tmp") << e.path();
  Spool fresh(dir_, {});
  ASSERT_TRUE(fresh.front());
  EXPECT_EQ(fresh.front()->payload, "the payload");
}

TEST_F(SpoolTest, UnusableDirectoryIsAStartUpError) {
  std::ofstream(dir_ / "file") << "x";
  EXPECT_THROW(Spool(dir_ / "file", {}), std::runtime_error);
}

}  // namespace
}  // namespace edusight::forward
