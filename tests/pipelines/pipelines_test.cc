// Every spec in pipelines/ parses and validates, and `resact` reports bad
// specs and usage with exit code 2 and runtime errors with exit code 1.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "graph/graph_builder.h"
#include "graph/spec.h"
#include "gtest/gtest.h"
#include "tests/util/test_util.h"

namespace resact {
namespace {

using testing_util::RunResactShell;

TEST(Pipelines, EveryShippedSpecValidates) {
  // Specs are run from the repository root (their relative paths, e.g. the
  // experiments' configs_dir, are relative to it).
  const std::filesystem::path cwd = std::filesystem::current_path();
  std::filesystem::current_path(RESACT_SOURCE_DIR);
  int n = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(std::string(RESACT_SOURCE_DIR) + "/pipelines")) {
    if (entry.path().extension() != ".pbtxt") continue;
    ++n;
    auto spec = LoadSpec(entry.path().string());
    ASSERT_TRUE(spec.ok()) << spec.status();
    auto graph = BuildGraph(*spec);
    EXPECT_TRUE(graph.ok()) << entry.path() << ": " << graph.status();
    // The ingestion stage is named `ingest` and takes `path` everywhere.
    bool has_ingest = false;
    for (const StageSpec& s : spec->stage()) has_ingest |= s.name() == "ingest";
    if (has_ingest) {
      EXPECT_TRUE(ApplyOverride(*spec, "ingest.path=/tmp/x.csv").ok()) << entry.path();
    }
  }
  EXPECT_GE(n, 2);
  std::filesystem::current_path(cwd);
}


std::string WriteTemp(const std::string& name, const std::string& text) {
  auto path = std::filesystem::path(::testing::TempDir()) / name;
  std::ofstream(path) << text;
  return path.string();
}

TEST(Cli, ExitCodes) {
  auto ok = RunResactShell("validate " + std::string(RESACT_SOURCE_DIR) + "/pipelines/movielens.pbtxt");
  EXPECT_EQ(ok.exit_code, 0) << ok.output;

  const std::string bad = WriteTemp("bad.pbtxt", "stage { name: \"x\" type: \"Nope\" }\n");
  auto r = RunResactShell("validate " + bad);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.output, ::testing::HasSubstr("unknown stage type 'Nope'"));

  r = RunResactShell("run " + std::string(RESACT_SOURCE_DIR) +
                "/pipelines/movielens.pbtxt --set ingest.nosuch=1");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.output, ::testing::HasSubstr("has no field 'nosuch'"));

  r = RunResactShell("frobnicate");
  EXPECT_EQ(r.exit_code, 2);

  // A runtime error: the input file does not exist.
  const std::string workdir = (std::filesystem::path(::testing::TempDir()) / "cli_missing").string();
  r = RunResactShell("run " + std::string(RESACT_SOURCE_DIR) +
                "/pipelines/movielens.pbtxt --progress-interval 0 --workdir " + workdir +
                " --set ingest.path=/nonexistent/ratings.csv");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, ::testing::HasSubstr("stage 'ingest'"));
  EXPECT_THAT(r.output, ::testing::HasSubstr("/nonexistent/ratings.csv"));

  auto stages = RunResactShell("stages");
  EXPECT_EQ(stages.exit_code, 0);
  for (const char* name : {"MovieLensReader", "DelimitedLogReader", "Sessionize", "Reward",
                           "ItemEmbedding", "StateFeatures", "ReplayWriter"}) {
    EXPECT_THAT(stages.output, ::testing::HasSubstr(name));
  }
  EXPECT_THAT(stages.output, ::testing::HasSubstr("gap_seconds (double, default 1800, range [1, 315360000])"));
}

// The number after "key": in a JSON line, or NaN.
double JsonNumber(const std::string& json, const std::string& key) {
  const size_t pos = json.find("\"" + key + "\":");
  return pos == std::string::npos ? NAN : std::atof(json.c_str() + pos + key.size() + 3);
}

TEST(Cli, BenchSimPrintsTheRunAsOneJsonLine) {
  const std::string workdir = (std::filesystem::path(::testing::TempDir()) / "bench_sim").string();
  // Twice over the same workdir: the second run replaces the first's replay
  // with the same content.
  std::string checksum[2];
  for (int run = 0; run < 2; ++run) {
    auto r = RunResactShell("bench sim --scale 0.001 --checksum --workdir " + workdir);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    const size_t at = r.output.find("{\"bench\":\"sim\"");
    ASSERT_NE(at, std::string::npos) << r.output;
    const std::string line = r.output.substr(at, r.output.find('\n', at) - at);
    EXPECT_EQ(JsonNumber(line, "users"), 100);  // round(99,899 × 0.001)
    EXPECT_GT(JsonNumber(line, "requests"), 1000);
    EXPECT_EQ(JsonNumber(line, "transitions"), JsonNumber(line, "requests"));
    EXPECT_GT(JsonNumber(line, "sessions"), 100);
    EXPECT_GT(JsonNumber(line, "peak_rss_mb"), 0);
    const double seconds = JsonNumber(line, "seconds");
    EXPECT_GT(JsonNumber(line, "simulation_seconds"), 0);
    EXPECT_LE(JsonNumber(line, "simulation_seconds"), JsonNumber(line, "sessionize_done_s"));
    EXPECT_LE(JsonNumber(line, "sessionize_done_s"), JsonNumber(line, "reward_done_s"));
    EXPECT_LE(JsonNumber(line, "reward_done_s"), seconds);
    EXPECT_NEAR(JsonNumber(line, "simulation_seconds") + JsonNumber(line, "rest_seconds"), seconds,
                0.002);
    const size_t c = line.find("\"checksum\":\"");
    ASSERT_NE(c, std::string::npos) << line;
    checksum[run] = line.substr(c + 12, 16);
  }
  EXPECT_EQ(checksum[0], checksum[1]);
  EXPECT_EQ(RunResactShell("bench sim --scale 0").exit_code, 2);
}

}  // namespace
}  // namespace resact
