// Files: the atomic write's result and mode, and remove_tree on a missing path, a tree, and a
// tree that another thread keeps adding files to and removing files from.
#include "base/file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

namespace socle {
namespace {

namespace fs = std::filesystem;

class FileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("socle-file-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(FileTest, AtomicWriteGivesTheContentWithTheMode) {
  std::string path = (dir_ / "secret").string();
  ASSERT_TRUE(write_file_atomic(path, "first", 0600).is_ok());
  ASSERT_TRUE(write_file_atomic(path, "second", 0600).is_ok());
  EXPECT_EQ(*read_file(path), "second");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1)
      << "no temporary file left";
}

TEST_F(FileTest, RemoveTreeRemovesEverythingAndAcceptsAMissingPath) {
  EXPECT_TRUE(remove_tree((dir_ / "missing").string()).is_ok());
  ASSERT_TRUE(make_dirs((dir_ / "a/b/c").string()).is_ok());
  std::ofstream((dir_ / "a/b/c/f").string()) << "x";
  std::ofstream((dir_ / "a/g").string()) << "y";
  EXPECT_TRUE(remove_tree((dir_ / "a").string()).is_ok());
  EXPECT_FALSE(fs::exists(dir_ / "a"));
}

// An upload writing into a folder being deleted: files appear and vanish under remove_tree,
// which still ends with the folder gone (the writer never makes folders, so it stays gone).
TEST_F(FileTest, RemoveTreeFinishesWhileFilesComeAndGo) {
  for (int round = 0; round < 20; ++round) {
    fs::path tree = dir_ / "collection" / "files";
    ASSERT_TRUE(make_dirs(tree.string()).is_ok());
    for (int i = 0; i < 200; ++i)
      std::ofstream((tree / std::to_string(i)).string()) << i;
    std::atomic<bool> stop{false};
    std::thread churn([&] {
      // Removes and writes files in the tree as long as it exists (never recreates it).
      for (int i = 0; !stop; ++i) {
        std::error_code ec;
        fs::remove(tree / std::to_string(i % 200), ec);
        if (fs::exists(tree)) std::ofstream((tree / ("n" + std::to_string(i))).string()) << i;
      }
    });
    Status removed = remove_tree((dir_ / "collection").string());
    stop = true;
    churn.join();
    EXPECT_TRUE(removed.is_ok()) << removed.message();
    EXPECT_FALSE(fs::exists(dir_ / "collection")) << "round " << round;
  }
}

}  // namespace
}  // namespace socle
