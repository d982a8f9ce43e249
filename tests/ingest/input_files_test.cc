// input_files.h: a path (file, folder, glob) to the files to read, in
// order; folder patterns; the same file reached twice.
#include "stages/ingest/input_files.h"

#include <filesystem>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/ingest/ingest_test_util.h"

namespace resact {
namespace ingest {
namespace {

using ingest_test::FailsWith;

class InputFilesTest : public ingest_test::IngestTest {};

TEST_F(InputFilesTest, ResolveInputFilesOrderAndErrors) {
  WriteFiles({{"d/b.csv", "x"}, {"d/a.csv", "x"}, {"d/.dot", "x"}});
  auto folder = ResolveInputFiles(Path("d"), {});
  ASSERT_TRUE(folder.ok()) << folder.status();
  EXPECT_EQ(*folder, (std::vector<std::string>{Path("d/a.csv"), Path("d/b.csv")}));
  auto named = ResolveInputFiles(Path("d"), {"c.csv", "b.csv", "a.csv"});
  ASSERT_TRUE(named.ok()) << named.status();
  EXPECT_EQ(*named, (std::vector<std::string>{Path("d/b.csv")}));
  auto pattern = ResolveInputFiles(Path("d/?.csv"), {});
  ASSERT_TRUE(pattern.ok()) << pattern.status();
  EXPECT_EQ(pattern->size(), 2u);
  EXPECT_EQ(TotalFileBytes(*pattern), 2u);
  EXPECT_EQ(ResolveInputFiles(Path("d/*.tsv"), {}).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ResolveInputFiles(Path("nothing"), {}).status().code(), absl::StatusCode::kNotFound);
}

// The same file reached twice is an error naming both paths as listed.
TEST_F(InputFilesTest, ResolveInputFilesRefusesTheSameFileTwice) {
  namespace fs = std::filesystem;
  WriteFiles({{"d/a.csv", "x\n"},
              {"d/b.csv", "y\n"},
              {"e/sub/c.csv", "z\n"},
              {"f/one/x.csv", "1\n"},
              {"g/a.csv", "x\n"}});
  fs::create_symlink(Path("d/a.csv"), Path("d/link.csv"));
  fs::create_symlink(Path("e/sub/c.csv"), Path("e/top.csv"));
  fs::create_directory_symlink(Path("f/one"), Path("f/two"));
  fs::create_hard_link(Path("g/a.csv"), Path("g/b.csv"));
  const struct {
    std::string path;
    std::vector<std::string> folder_patterns;
    std::string first, second;  // The two paths named, as listed.
  } cases[] = {
      // A symlink in the folder to a file already listed.
      {Path("d"), {"*.csv"}, Path("d/a.csv"), Path("d/link.csv")},
      // A glob matching a file and a symlink to it.
      {Path("d/*.csv"), {}, Path("d/a.csv"), Path("d/link.csv")},
      // A glob matching a folder and a symlink to a file inside it.
      {Path("e/*"), {}, Path("e/sub/c.csv"), Path("e/top.csv")},
      // A glob matching two folders, one a symlink to the other.
      {Path("f/*"), {}, Path("f/one/x.csv"), Path("f/two/x.csv")},
      // A hard link.
      {Path("g"), {}, Path("g/a.csv"), Path("g/b.csv")},
  };
  for (const auto& c : cases) {
    auto files = ResolveInputFiles(c.path, {}, c.folder_patterns);
    EXPECT_TRUE(FailsWith(
        files, absl::StatusCode::kInvalidArgument,
        "path '" + c.path + "': '" + c.first + "' and '" + c.second + "' are the same file"));
  }
  // Distinct files with the same content are fine.
  WriteFiles({{"h/a.csv", "x\n"}, {"h/b.csv", "x\n"}});
  auto distinct = ResolveInputFiles(Path("h/*.csv"), {});
  ASSERT_TRUE(distinct.ok()) << distinct.status();
  EXPECT_EQ(distinct->size(), 2u);
}

// A folder means its non-hidden regular files matching the patterns; the
// others are reported as skipped.
TEST_F(InputFilesTest, FolderPatternsSkipReadmesAndHiddenFiles) {
  // What SimulatorLogSource's csv_dir holds, plus what people leave beside it.
  WriteFiles({{"logs/day-000.csv", "x\n"},
              {"logs/day-001.csv", "x\n"},
              {"logs/events.tsv", "x\n"},
              {"logs/README.txt", "about\n"},
              {"logs/README.md", "about\n"},
              {"logs/notes.md", "notes\n"},
              {"logs/.hidden.csv", "x\n"},
              {"logs/sub/inner.csv", "x\n"}});
  std::vector<std::string> skipped;
  auto files = ResolveInputFiles(Path("logs"), {}, DefaultFolderPatterns(), &skipped);
  ASSERT_TRUE(files.ok()) << files.status();
  EXPECT_EQ(*files, (std::vector<std::string>{Path("logs/day-000.csv"), Path("logs/day-001.csv"),
                                              Path("logs/events.tsv")}));
  EXPECT_EQ(skipped, (std::vector<std::string>{Path("logs/.hidden.csv"), Path("logs/README.md"),
                                               Path("logs/README.txt"), Path("logs/notes.md"),
                                               Path("logs/sub")}));
  // Own patterns.
  auto tsv = ResolveInputFiles(Path("logs"), {}, {"*.tsv"});
  ASSERT_TRUE(tsv.ok()) << tsv.status();
  EXPECT_EQ(*tsv, (std::vector<std::string>{Path("logs/events.tsv")}));
  EXPECT_TRUE(FailsWith(ResolveInputFiles(Path("logs"), {}, {"*.parquet"}),
                        absl::StatusCode::kNotFound, "no regular file matching *.parquet"));
  // A glob reads every match, whatever its name.
  auto glob = ResolveInputFiles(Path("logs/README.*"), {}, DefaultFolderPatterns());
  ASSERT_TRUE(glob.ok()) << glob.status();
  EXPECT_EQ(glob->size(), 2u);
}

}  // namespace
}  // namespace ingest
}  // namespace resact
