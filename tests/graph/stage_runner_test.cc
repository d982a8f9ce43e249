// StageRunner's workdir: a given one is created and kept; without one, each
// runner makes its own folder under the temp dir and removes it, with what
// the stage wrote there, when it is destroyed.
#include "graph/stage_runner.h"

#include <filesystem>
#include <string>

#include "gtest/gtest.h"
#include "tests/util/test_util.h"

namespace resact {
namespace {

namespace fs = std::filesystem;

constexpr char kSink[] = R"pb(name: "sink" type: "TestSink" input_stream: "a")pb";

TEST(StageRunnerWorkdir, ATemporaryWorkdirIsRemovedWithItsRunner) {
  std::string first, second;
  {
    auto a = StageRunner::Create(kSink);
    ASSERT_TRUE(a.ok()) << a.status();
    auto b = StageRunner::Create(kSink);
    ASSERT_TRUE(b.ok()) << b.status();
    first = (*a)->workdir();
    second = (*b)->workdir();
    EXPECT_NE(first, second);
    for (const std::string& dir : {first, second}) {
      EXPECT_TRUE(fs::is_directory(dir)) << dir;
      EXPECT_EQ(fs::path(dir).filename().string().rfind("resact_stage_", 0), 0u) << dir;
      EXPECT_TRUE(fs::equivalent(fs::path(dir).parent_path(), fs::temp_directory_path())) << dir;
    }
    fs::create_directories(first + "/sub");
    testing_util::WriteWholeFile(first + "/sub/file", "x");
    a->reset();
    EXPECT_FALSE(fs::exists(first));
    EXPECT_TRUE(fs::is_directory(second));
  }
  EXPECT_FALSE(fs::exists(second));
}

TEST(StageRunnerWorkdir, AGivenWorkdirIsCreatedAndKept) {
  testing_util::ScopedTempDir tmp("stage_runner");
  const std::string dir = tmp / "work/nested";
  {
    auto r = StageRunner::Create(kSink, dir);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ((*r)->workdir(), dir);
    EXPECT_TRUE(fs::is_directory(dir));
  }
  EXPECT_TRUE(fs::is_directory(dir));
}

}  // namespace
}  // namespace resact
