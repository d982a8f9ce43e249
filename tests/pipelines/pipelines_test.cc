// Every spec in pipelines/ parses and validates, and `resact` reports bad
// specs and usage with exit code 2 and runtime errors with exit code 1.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <regex>
#include <string>

#include "gmock/gmock.h"
#include "graph/graph_builder.h"
#include "graph/registry.h"
#include "graph/spec.h"
#include "gtest/gtest.h"
#include "tests/util/test_util.h"

namespace resact {
namespace {

using testing_util::RunResactShell;

// False, with a note, for a spec with stages of the learners' wing in a build
// without the learners (RESACT_LEARNERS=OFF); true otherwise.
bool StagesInThisBuild(const std::string& path) {
  if (StageRegistry::Global().Find("LearnerStage").ok()) return true;
  const std::string text = testing_util::ReadWholeFile(path);
  const std::regex type(R"re(\btype:\s*"(\w+)")re");
  for (std::sregex_iterator it(text.begin(), text.end(), type), end; it != end; ++it) {
    if (!StageRegistry::Global().Find((*it)[1]).ok()) {
      std::cout << "skipped " << path << ": stage " << (*it)[1] << " is not in this build\n";
      return false;
    }
  }
  return true;
}

TEST(Pipelines, EveryShippedSpecValidates) {
  // Specs are run from the repository root (their relative paths, e.g. the
  // experiments' configs_dir, are relative to it).
  const std::filesystem::path cwd = std::filesystem::current_path();
  std::filesystem::current_path(RESACT_SOURCE_DIR);
  int n = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(std::string(RESACT_SOURCE_DIR) + "/pipelines")) {
    if (entry.path().extension() != ".pbtxt") continue;
    if (!StagesInThisBuild(entry.path().string())) continue;
    ++n;
    auto spec = LoadSpec(entry.path().string());
    ASSERT_TRUE(spec.ok()) << spec.status();
    auto graph = BuildGraph(*spec);
    EXPECT_TRUE(graph.ok()) << entry.path() << ": " << graph.status();
    // The ingestion stage is named `ingest` and takes `path` everywhere.
    bool has_ingest = false;
    for (const StageSpec& s : spec->stage()) has_ingest |= s.name() == "ingest";
    if (has_ingest) {
      EXPECT_TRUE(ApplyOverride(*spec, "ingest.path=data/x.csv").ok()) << entry.path();
    }
  }
  EXPECT_GE(n, 2);
  std::filesystem::current_path(cwd);
}

TEST(Cli, ExitCodes) {
  testing_util::ScopedTempDir tmp("cli_exit_codes");
  auto ok = RunResactShell("validate " + std::string(RESACT_SOURCE_DIR) + "/pipelines/movielens.pbtxt");
  EXPECT_EQ(ok.exit_code, 0) << ok.output;

  const std::string bad = tmp / "bad.pbtxt";
  testing_util::WriteWholeFile(bad, "stage { name: \"x\" type: \"Nope\" }\n");
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
  const std::string workdir = tmp / "cli_missing";
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
  testing_util::ScopedTempDir workdir_tmp("bench_sim");
  const std::string workdir = workdir_tmp.path();
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

// Without a place to write, `bench ingest` and `bench sim` run in a folder of
// their own under TMPDIR and remove it when they end.
TEST(Cli, BenchmarksRemoveTheirTemporaryWorkdir) {
  testing_util::ScopedTempDir tmp("bench_tmp");
  const std::map<std::string, std::string> env = {{"TMPDIR", tmp.path()}};
  auto ingest = testing_util::RunResact(
      {"bench", "ingest", "--threads", "1", "--input",
       std::string(RESACT_SOURCE_DIR) + "/tests/testdata/tiny_log.csv"},
      env);
  ASSERT_EQ(ingest.exit_code, 0) << ingest.output;
  EXPECT_NE(ingest.output.find("\"rows\":16,"), std::string::npos) << ingest.output;
  EXPECT_TRUE(std::filesystem::is_empty(tmp.path()));
  auto sim = testing_util::RunResact({"bench", "sim", "--scale", "0.001"}, env);
  ASSERT_EQ(sim.exit_code, 0) << sim.output;
  EXPECT_NE(sim.output.find("{\"bench\":\"sim\""), std::string::npos) << sim.output;
  EXPECT_TRUE(std::filesystem::is_empty(tmp.path()));
}

}  // namespace
}  // namespace resact
