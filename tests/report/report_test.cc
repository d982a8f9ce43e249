// `resact report` on a fixture run directory (tests/testdata/report_fixture):
// two algorithms × two seeds with hand-chosen NCIS values.
#include <filesystem>
#include <fstream>
#include <sstream>

#include "stages/experiment/report.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace resact {
namespace {

namespace fs = std::filesystem;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(Report, FixtureRunGivesTheExpectedTables) {
  const fs::path dir = fs::path(::testing::TempDir()) / "resact_report_fixture";
  fs::remove_all(dir);
  fs::copy(fs::path(RESACT_SOURCE_DIR) / "tests/testdata/report_fixture", dir,
           fs::copy_options::recursive);
  auto files = WriteReport(dir.string(), /*figures=*/true);
  ASSERT_TRUE(files.ok()) << files.status();
  const std::string md = ReadAll(files->results_md);
  // Last step: il 1.0 and 2.0 → 1.5 ± t(1)·0.7071/√2 = 1.5 ± 6.353;
  // resact 2.0 and 2.2 → 2.1 ± 12.706·0.14142/√2 = 2.1 ± 1.2706.
  EXPECT_THAT(md, ::testing::HasSubstr(
      "| algorithm | return_time |\n|---|---|\n"
      "| resact | 2.1000 ± 1.2706 |\n"
      "| il | 1.5000 ± 6.3530 |\n"
      "| logging policy (logged reward) | 1.0000 |\n"));
  // Best over steps: il max(0.5, 1.0) = 1.0 and max(2.5, 2.0) = 2.5 → 1.75.
  EXPECT_THAT(md, ::testing::HasSubstr("| il | 1.7500 ± 9.5295 |"));
  nlohmann::json j = nlohmann::json::parse(ReadAll(files->results_json));
  EXPECT_DOUBLE_EQ(j["tasks"]["return_time"]["resact"]["ncis_last"]["mean"].get<double>(), 2.1);
  EXPECT_EQ(j["tasks"]["return_time"]["il"]["ncis_last"]["seeds"].get<int>(), 2);
  ASSERT_EQ(files->figures.size(), 1u);
  EXPECT_GT(fs::file_size(files->figures[0]), 1000u);
}

TEST(Report, EmptyDirectoryIsAClearError) {
  const fs::path dir = fs::path(::testing::TempDir()) / "resact_report_empty";
  fs::create_directories(dir);
  auto files = WriteReport(dir.string(), false);
  EXPECT_EQ(files.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(files.status().message(), ::testing::HasSubstr("no evaluations.jsonl"));
}

}  // namespace
}  // namespace resact
