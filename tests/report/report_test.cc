// `resact report` on a fixture run directory (tests/testdata/report_fixture):
// two algorithms × two seeds with hand-chosen NCIS values, plus variant rows.
// And the Experiment stage's variants (configs_dir/NAME.pbtxt): validation
// and the cell specs it writes, with /bin/true standing in for the cells.
#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "google/protobuf/text_format.h"
#include "graph/payload.h"
#include "graph/pipeline.pb.h"
#include "graph/stage_runner.h"
#include "stages/experiment/report.h"
#include "stages/learners/learner_options.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/util/test_util.h"

namespace resact {
namespace {

namespace fs = std::filesystem;

using testing_util::ReadWholeFile;
using testing_util::ScopedTempDir;

// Each test's own copy of the fixture run directory, dir_, in a temporary
// folder; Write() runs the report on it.
class Report : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::copy(fs::path(RESACT_SOURCE_DIR) / "tests/testdata/report_fixture", dir_,
             fs::copy_options::recursive);
  }
  // Writes the report into files_ and returns results.md.
  std::string Write(bool figures) {
    auto files = WriteReport(dir_.string(), figures);
    EXPECT_TRUE(files.ok()) << files.status();
    if (!files.ok()) return "";
    files_ = *files;
    return ReadWholeFile(files_.results_md);
  }
  ScopedTempDir tmp_{"report"};
  const fs::path dir_ = tmp_ / "run";
  ReportFiles files_;
};

// The fixture's rows of the last-step table. Last step: il 1.0 and 2.0 →
// 1.5 ± t(1)·0.7071/√2 = 1.5 ± 6.353; resact 2.0 and 2.2 →
// 2.1 ± 12.706·0.14142/√2 = 2.1 ± 1.2706.
const std::string kLastStepRows =
    "| resact | 2.1000 ± 1.2706 |\n"
    "| il | 1.5000 ± 6.3530 |\n";

TEST_F(Report, FixtureRunGivesTheExpectedTables) {
  const std::string md = Write(/*figures=*/true);
  EXPECT_THAT(md, ::testing::HasSubstr("| algorithm | return_time |\n|---|---|\n" + kLastStepRows +
                                       "| logging policy (logged reward) | 1.0000 |\n"));
  // Best over steps: il max(0.5, 1.0) = 1.0 and max(2.5, 2.0) = 2.5 → 1.75.
  EXPECT_THAT(md, ::testing::HasSubstr("| il | 1.7500 ± 9.5295 |"));
  nlohmann::json j = nlohmann::json::parse(ReadWholeFile(files_.results_json));
  EXPECT_DOUBLE_EQ(j["tasks"]["return_time"]["resact"]["ncis_last"]["mean"].get<double>(), 2.1);
  EXPECT_EQ(j["tasks"]["return_time"]["il"]["ncis_last"]["seeds"].get<int>(), 2);
  ASSERT_EQ(files_.figures.size(), 1u);
  EXPECT_GT(fs::file_size(files_.figures[0]), 1000u);
}

// A label that is not one of the eight algorithms (an experiment's variant)
// is its own row, after the known algorithms, alphabetically.
TEST_F(Report, VariantLabelsAreRowsAfterTheKnownAlgorithms) {
  for (const auto& [label, ncis] : {std::pair{"resact_no_residual", "1.25"}, std::pair{"aaa_variant", "0.75"}}) {
    const fs::path cell = dir_ / "experiment" / (std::string(label) + "-return_time-seed0");
    fs::create_directories(cell);
    std::ofstream(cell / "evaluations.jsonl")
        << "{\"evaluator\":\"ncis\",\"algo\":\"" << label
        << "\",\"task\":\"return_time\",\"seed\":0,\"step\":1000,\"final\":true,"
           "\"metrics\":{\"ncis\":" << ncis << ",\"logged_reward\":1.0}}\n";
  }
  const std::string md = Write(/*figures=*/false);
  EXPECT_THAT(md, ::testing::HasSubstr(
      kLastStepRows +
      "| aaa_variant | 0.7500 |\n"
      "| resact_no_residual | 1.2500 |\n"
      "| logging policy (logged reward) |"));
  EXPECT_THAT(md, ::testing::HasSubstr("| il | 1.7500 ± 9.5295 |\n| aaa_variant | 0.7500 |\n"
                                       "| resact_no_residual | 1.2500 |\n"));
  nlohmann::json j = nlohmann::json::parse(ReadWholeFile(files_.results_json));
  EXPECT_DOUBLE_EQ(j["tasks"]["return_time"]["resact_no_residual"]["ncis_last"]["mean"].get<double>(),
                   1.25);
}

TEST_F(Report, EmptyDirectoryIsAClearError) {
  const fs::path dir = tmp_ / "empty";
  fs::create_directories(dir);
  auto files = WriteReport(dir.string(), false);
  EXPECT_EQ(files.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(files.status().message(), ::testing::HasSubstr("no evaluations.jsonl"));
}

std::string ExperimentSpec(const std::string& options) {
  return "name: \"experiment\" type: \"Experiment\" input_stream: \"replay\" "
         "options { [type.googleapis.com/resact.ExperimentOptions] { " + options + " } }";
}

TEST(ExperimentVariants, UnknownNamesAndBadVariantFilesAreClearErrors) {
  ScopedTempDir tmp("variant_configs");
  const fs::path configs = tmp.path();
  std::ofstream(configs / "no_algo.pbtxt") << "steps: 5\n";
  std::ofstream(configs / "bad_algo.pbtxt") << "algo: \"nope\"\n";
  std::ofstream(configs / "garbled.pbtxt") << "algo: resact {\n";
  const std::string known = "resact, ddpg, td3, td3_bc, bcq, iql, il, il_cvae";
  auto error = [&](const std::string& name, const std::string& dir) {
    auto r = StageRunner::Create(
        ExperimentSpec("algorithms: \"il\" algorithms: \"" + name + "\" configs_dir: \"" + dir + "\""));
    EXPECT_FALSE(r.ok()) << name;
    return r.ok() ? std::string() : std::string(r.status().message());
  };
  std::string e = error("nosuch", configs.string());
  EXPECT_THAT(e, ::testing::HasSubstr("'nosuch'"));
  EXPECT_THAT(e, ::testing::HasSubstr((configs / "nosuch.pbtxt").string()));
  EXPECT_THAT(e, ::testing::HasSubstr(known));
  EXPECT_THAT(error("nosuch", ""), ::testing::HasSubstr("configs_dir is empty"));
  e = error("no_algo", configs.string());
  EXPECT_THAT(e, ::testing::HasSubstr("variant 'no_algo'"));
  EXPECT_THAT(e, ::testing::HasSubstr((configs / "no_algo.pbtxt").string() + " sets no algo"));
  EXPECT_THAT(e, ::testing::HasSubstr(known));
  e = error("bad_algo", configs.string());
  EXPECT_THAT(e, ::testing::HasSubstr("unknown algo 'nope'"));
  EXPECT_THAT(e, ::testing::HasSubstr(known));
  EXPECT_THAT(error("garbled", configs.string()), ::testing::HasSubstr("not a text-format LearnerOptions"));
}

// The learner options of the cell spec Experiment wrote to DIR/cell.pbtxt.
// The options are written as readable text blocks, not serialized bytes.
LearnerOptions CellLearner(const fs::path& cell_dir) {
  PipelineSpec spec;
  LearnerOptions learner;
  const std::string text = ReadWholeFile((cell_dir / "cell.pbtxt").string());
  EXPECT_THAT(text, ::testing::HasSubstr("[type.googleapis.com/resact.LearnerOptions] {"));
  EXPECT_THAT(text, ::testing::Not(::testing::HasSubstr("type_url:")));
  EXPECT_THAT(text, ::testing::HasSubstr("algo: \""));
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &spec)) << cell_dir;
  for (const StageSpec& s : spec.stage()) {
    if (s.type() == "LearnerStage") EXPECT_TRUE(s.options().UnpackTo(&learner));
  }
  return learner;
}

// The shipped variants: cells named after the variant, the algorithm's block
// (configs/algo_resact.pbtxt) first, then the variant's differences.
TEST(ExperimentVariants, CellSpecsMergeTheAlgorithmBlockThenTheVariant) {
  ScopedTempDir tmp("variant_cells");
  const fs::path workdir = tmp.path();
  auto runner = StageRunner::Create(
      ExperimentSpec(absl::StrCat(
          "algorithms: \"il\" algorithms: \"resact_no_residual\" algorithms: \"resact_cstd03\" "
          "seeds: 1 steps: 7 eval_every: 7 workers: 1 report: false resact_binary: \"/bin/true\" "
          "learner { label: \"ignored\" } configs_dir: \"",
          RESACT_SOURCE_DIR, "/configs\"")),
      workdir.string());
  ASSERT_TRUE(runner.ok()) << runner.status();
  auto handle = std::make_shared<ReplayHandle>();
  handle->dir = (workdir / "replay").string();
  ASSERT_TRUE((*runner)->Feed<ReplayHandle>(0, handle).ok());
  ASSERT_TRUE((*runner)->Close().ok());

  const fs::path exp = workdir / "experiment";
  const LearnerOptions il = CellLearner(exp / "il-return_time-seed0");
  EXPECT_EQ(il.algo(), "il");
  EXPECT_FALSE(il.has_label());

  const LearnerOptions no_res = CellLearner(exp / "resact_no_residual-return_time-seed0");
  EXPECT_EQ(no_res.algo(), "resact");
  EXPECT_EQ(no_res.label(), "resact_no_residual");
  EXPECT_FALSE(no_res.resact().use_residual());
  EXPECT_TRUE(no_res.resact().has_z_dim());  // From algo_resact.pbtxt.
  EXPECT_EQ(no_res.resact().candidate_std(), 1);
  EXPECT_EQ(no_res.steps(), 7);
  EXPECT_EQ(no_res.run_dir(), (exp / "resact_no_residual-return_time-seed0").string());

  const LearnerOptions cstd = CellLearner(exp / "resact_cstd03-return_time-seed0");
  EXPECT_EQ(cstd.algo(), "resact");
  EXPECT_EQ(cstd.label(), "resact_cstd03");
  EXPECT_EQ(cstd.resact().candidate_std(), 0.3);
  EXPECT_TRUE(cstd.resact().has_use_residual() && cstd.resact().use_residual());
  for (const char* cell : {"il", "resact_no_residual", "resact_cstd03"}) {
    EXPECT_TRUE(fs::exists(exp / (std::string(cell) + "-return_time-seed0") / "DONE")) << cell;
  }
}

}  // namespace
}  // namespace resact
