#include "edusight/core/install_dirs.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;

namespace {

class InstallDirsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "es-install-dirs-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    root_ = tmpl;
    fs::create_directories(root_ / "usr" / "bin");
    fs::create_directories(root_ / "usr" / "share" / "edusight" / "rules");
    std::ofstream(root_ / "usr" / "bin" / "edusight-collector") << "";
  }
  void TearDown() override { fs::remove_all(root_); }
  fs::path root_;
};

TEST_F(InstallDirsTest, FindsTheShareDirectoryBesideTheExecutablesBin) {
  const auto dir = edusight::data_dir_beside(root_ / "usr" / "bin" / "edusight-collector", "rules");
  ASSERT_TRUE(dir.has_value());
  EXPECT_EQ(*dir, root_ / "usr" / "share" / "edusight" / "rules");
}

TEST_F(InstallDirsTest, NothingWhenTheDirectoryIsMissing) {
  EXPECT_FALSE(
      edusight::data_dir_beside(root_ / "usr" / "bin" / "edusight-collector", "dashboard"));
  EXPECT_FALSE(edusight::data_dir_beside("edusight-collector", "rules"));
  EXPECT_FALSE(edusight::data_dir_beside("", "rules"));
}

TEST_F(InstallDirsTest, FallsBackToTheConfiguredPrefixThenTheSourceTree) {
  // The test binary lives in a build tree: nothing beside it.
  ASSERT_FALSE(edusight::installed_data_dir("no-such-data-dir"));
  const auto configured = (root_ / "usr" / "share" / "edusight" / "rules").string();
  EXPECT_EQ(edusight::find_data_dir("no-such-data-dir", configured, "/src/rules"), configured);
  EXPECT_EQ(edusight::find_data_dir("no-such-data-dir", (root_ / "missing").string(), "/src/rules"),
            "/src/rules");
}

}  // namespace
