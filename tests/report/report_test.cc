// `resact report` on a fixture run directory (tests/testdata/report_fixture):
// two algorithms × two seeds with hand-chosen NCIS values, plus variant rows;
// on run directories of simulator evaluations written here (the reference
// rows of π_β and the oracles, the myopia gap, the figures' line styles).
// And the Experiment stage's variants (configs_dir/NAME.pbtxt): validation
// and the cell specs it writes, with /bin/true standing in for the cells.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>

#include "absl/strings/match.h"
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

// One evaluation: step and metrics.
using Evaluation = std::pair<int64_t, std::map<std::string, double>>;

// Writes RUN/experiment/LABEL-TASK-seedSEED/evaluations.jsonl as the
// EvaluationReport stage does, the last evaluation final.
void WriteCell(const fs::path& run, const std::string& label, const std::string& task, int seed,
               const std::vector<Evaluation>& evaluations) {
  const fs::path cell = run / "experiment" / absl::StrCat(label, "-", task, "-seed", seed);
  fs::create_directories(cell);
  std::ofstream out(cell / "evaluations.jsonl");
  for (size_t i = 0; i < evaluations.size(); ++i) {
    nlohmann::json j = {{"evaluator", "simulator"}, {"algo", label}, {"task", task},
                        {"seed", seed}, {"step", evaluations[i].first},
                        {"final", i + 1 == evaluations.size()}, {"metrics", evaluations[i].second}};
    out << j.dump() << "\n";
  }
}

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
  for (const auto& [label, ncis] : {std::pair{"resact_no_residual", 1.25}, std::pair{"aaa_variant", 0.75}}) {
    WriteCell(dir_, label, "return_time", 0, {{1000, {{"ncis", ncis}, {"logged_reward", 1.0}}}});
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

// Cells that report the per-session estimates get the paper's scale first:
// NCIS and WIS per session, π_β's logged reward per session, then WIS per
// request. resact's two seeds: NCIS/session 8 and 10 → 9 ± 12.706·1.4142/√2.
TEST_F(Report, PerSessionTableWhenTheCellsReportIt) {
  for (int seed : {0, 1}) {
    WriteCell(dir_, "resact", "both", seed,
              {{1000, {{"ncis", 2.0}, {"ncis_per_session", 8.0 + 2 * seed},
                       {"wis", 1.5}, {"wis_per_session", 6.0},
                       {"logged_reward", 1.0}, {"logged_reward_per_session", 4.5}}}});
  }
  const std::string md = Write(/*figures=*/false);
  // The fixture's return_time cells have no per-session values.
  EXPECT_THAT(md, ::testing::HasSubstr(
                      "| algorithm | return_time NCIS | return_time WIS | both NCIS | both WIS |\n"
                      "|---|---|---|---|---|\n"
                      "| resact | – | – | 9.0000 ± 12.7060 | 6.0000 ± 0.0000 |\n"
                      "| il | – | – | – | – |\n"
                      "| logging policy (logged reward) | – | – | 4.5000 | 4.5000 |\n"));
  EXPECT_THAT(md, ::testing::HasSubstr("| algorithm | return_time WIS | both WIS |\n|---|---|---|\n"
                                       "| resact | – | 1.5000 ± 0.0000 |\n"));
  // Per session is the main table: it opens the results, and NCIS per
  // request (the paper's estimator) follows it.
  const size_t per_session = md.find("Per session, the scale of the paper's Tables 2 and 3");
  const size_t ncis = md.find("NCIS estimate of the task reward per request");
  ASSERT_NE(per_session, std::string::npos);
  ASSERT_NE(ncis, std::string::npos);
  EXPECT_EQ(per_session, std::string("# Results\n\n").size());
  EXPECT_LT(per_session, ncis);
  nlohmann::json j = nlohmann::json::parse(ReadWholeFile(files_.results_json));
  EXPECT_DOUBLE_EQ(j["tasks"]["both"]["resact"]["ncis_per_session_last"]["mean"].get<double>(), 9);
  EXPECT_DOUBLE_EQ(j["tasks"]["both"]["logging_policy"]["logged_reward_per_session"].get<double>(),
                   4.5);
}

// Cells that report FQE and DR get their columns on both scales, and their
// rows in the calibration table.
TEST_F(Report, FqeAndDrColumnsAndCalibrationRowsWhenTheCellsReportThem) {
  WriteCell(dir_, "resact", "both", 0,
            {{1000, {{"ncis", 2.0}, {"ncis_per_session", 8.0}, {"wis", 1.5},
                     {"wis_per_session", 6.0}, {"fqe", 1.25}, {"fqe_per_session", 5.0},
                     {"dr", 1.75}, {"dr_per_session", 7.0}, {"logged_reward", 1.0},
                     {"logged_reward_per_session", 4.5}, {"sim_reward", 1.5},
                     {"sim_reward_per_session", 6.5}, {"sim_behaviour_reward", 1.0}}}});
  const std::string md = Write(/*figures=*/false);
  EXPECT_THAT(md, ::testing::HasSubstr(
                      "| algorithm | return_time NCIS | return_time WIS | return_time FQE | "
                      "return_time DR | both NCIS | both WIS | both FQE | both DR |\n"));
  EXPECT_THAT(md, ::testing::HasSubstr("| resact | – | – | – | – | 8.0000 | 6.0000 | 5.0000 | "
                                       "7.0000 |\n"));
  EXPECT_THAT(md, ::testing::HasSubstr("| logging policy (logged reward) | – | – | – | – | 4.5000 | "
                                       "4.5000 | 4.5000 | 4.5000 |\n"));
  EXPECT_THAT(md, ::testing::HasSubstr("| algorithm | return_time WIS | return_time FQE | "
                                       "return_time DR | both WIS | both FQE | both DR |\n"));
  // One cell: MAE |1.25 − 1.5| and |1.75 − 1.5|; the verdicts (FQE 1.25 > 1,
  // DR 1.75 > 1) agree with the truth's (1.5 > 1).
  EXPECT_THAT(md, ::testing::HasSubstr("| FQE | per request | 1 | "));
  EXPECT_THAT(md, ::testing::HasSubstr("| 0.2500 | – | 100% |\n"));
  EXPECT_THAT(md, ::testing::HasSubstr("| DR (fitted π_β) | per request | 1 | "));
}

// With per-session simulator truth: both scales against it, per algorithm,
// and π_β's true reward per session.
TEST_F(Report, PerSessionEstimatorsAgainstTheTruth) {
  WriteCell(dir_, "td3_bc", "both", 0,
            {{1000, {{"ncis", 0.2}, {"ncis_per_session", 0.8}, {"wis", 0.3},
                     {"wis_per_session", 1.1}, {"sim_reward", 0.35},
                     {"sim_reward_per_session", 1.25}, {"sim_return_hours", 9},
                     {"sim_session_length", 4}, {"sim_behaviour_reward", 0.25},
                     {"sim_behaviour_reward_per_session", 1.0},
                     {"sim_behaviour_return_hours", 10}, {"sim_behaviour_session_length", 4}}}});
  const std::string md = Write(/*figures=*/false);
  EXPECT_THAT(md, ::testing::HasSubstr(
                      "| algorithm | NCIS/session | WIS/session | true reward/session | "
                      "WIS/request | true reward/request |\n|---|---|---|---|---|---|\n"));
  // The fixture's resact and il have no both-task cells: rows of dashes.
  EXPECT_THAT(md, ::testing::HasSubstr(
                      "| td3_bc | 0.8000 | 1.1000 | 1.2500 | 0.3000 | 0.3500 |\n"
                      "| il | – | – | – | – | – |\n"
                      "| logging policy π_β | – | – | 1.0000 | – | 0.2500 |\n"));
}

// The calibration table over three cells, by hand. Estimates (0.30, 0.22,
// 0.10) against truths (0.32, 0.15, 0.40): ranks (3, 2, 1) and (2, 1, 3),
// Σd² = 6, Spearman 1 − 6·6 / (3·8) = −0.5; MAE (0.02 + 0.07 + 0.30) / 3 =
// 0.13; only the first CI covers its truth; π_β's estimate 0.20 and truth
// 0.18: the verdicts (yes, yes, no) against the truth's (yes, no, yes) agree once.
TEST_F(Report, CalibrationOfTheEstimatorsOverEveryCell) {
  const double est[] = {0.30, 0.22, 0.10}, lo[] = {0.25, 0.20, 0.05}, hi[] = {0.35, 0.24, 0.30},
               truth[] = {0.32, 0.15, 0.40};
  const char* labels[] = {"x", "y", "z"};
  for (int i = 0; i < 3; ++i) {
    WriteCell(dir_, labels[i], "session_length", 0,
              {{1000, {{"wis", est[i]}, {"wis_ci_low", lo[i]}, {"wis_ci_high", hi[i]},
                       {"sim_reward", truth[i]}, {"logged_reward", 0.20},
                       {"sim_behaviour_reward", 0.18}}}});
  }
  const std::string md = Write(/*figures=*/false);
  EXPECT_THAT(md, ::testing::HasSubstr(
                      "| estimator | scale | cells | Spearman | MAE | CI covers truth | "
                      "beats-π_β verdict right |\n|---|---|---|---|---|---|---|\n"
                      "| WIS (fitted π_β) | per request | 3 | -0.500 | 0.1300 | 33% | 33% |\n"));
  EXPECT_THAT(md, ::testing::Not(::testing::HasSubstr("| NCIS (fitted π_β) | per request |")));
  // The figure's script: one point set (three cells) and the diagonal.
  ASSERT_TRUE(WriteReport(dir_.string(), /*figures=*/true).ok());
  const std::string gp = ReadWholeFile(dir_ / "figures/calibration_per_request.gp");
  EXPECT_THAT(gp, ::testing::HasSubstr("title 'WIS (fitted π_β)'"));
  EXPECT_THAT(gp, ::testing::HasSubstr("x with lines"));
  EXPECT_FALSE(fs::exists(dir_ / "figures/calibration_per_session.gp"));
  const std::string data = ReadWholeFile(dir_ / "figures/calibration_per_request_0.dat");
  EXPECT_EQ(std::count(data.begin(), data.end(), '\n'), 4) << data;  // Header and 3 cells.
  EXPECT_THAT(data, ::testing::HasSubstr("0.32 0.3\n"));
  nlohmann::json j = nlohmann::json::parse(ReadWholeFile(files_.results_json));
  ASSERT_EQ(j["calibration"].size(), 1u);
  EXPECT_NEAR(j["calibration"][0]["mae"].get<double>(), 0.13, 1e-12);
  EXPECT_NEAR(j["calibration"][0]["coverage"].get<double>(), 1.0 / 3, 1e-12);
}

TEST_F(Report, EmptyDirectoryIsAClearError) {
  const fs::path dir = tmp_ / "empty";
  fs::create_directories(dir);
  auto files = WriteReport(dir.string(), false);
  EXPECT_EQ(files.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(files.status().message(), ::testing::HasSubstr("no evaluations.jsonl"));
}

// Twelve evaluations of one simulator cell at steps 100, 200, ..., 1200:
// the policy's true reward rising to `reward`, π_β's values, and the two
// oracles' (as SimulatorEvaluator { oracles: true } reports them, the same
// at every step) unless `greedy` is empty. greedy and lookahead hold
// {reward, return hours, session length}.
std::vector<Evaluation> SimCell(double reward, const std::vector<double>& greedy,
                                const std::vector<double>& lookahead) {
  std::vector<Evaluation> out;
  for (int k = 1; k <= 12; ++k) {
    std::map<std::string, double> m = {{"ncis", reward * k / 12 + 0.1}, {"logged_reward", 0.25},
                                       {"sim_reward", reward * k / 12}, {"sim_return_hours", 9},
                                       {"sim_session_length", 4.5}, {"sim_behaviour_reward", 0.3},
                                       {"sim_behaviour_return_hours", 12},
                                       {"sim_behaviour_session_length", 4}};
    for (const auto& [prefix, v] : {std::pair{"sim_greedy_oracle_", &greedy},
                                    std::pair{"sim_lookahead_oracle_", &lookahead}}) {
      if (v->empty()) continue;
      m[absl::StrCat(prefix, "reward")] = (*v)[0];
      m[absl::StrCat(prefix, "return_hours")] = (*v)[1];
      m[absl::StrCat(prefix, "session_length")] = (*v)[2];
    }
    out.push_back({100 * k, m});
  }
  return out;
}

// resact seeds 0 and 1 and il seed 0, all three on the return-time task.
class SimReport : public ::testing::Test {
 protected:
  std::string Write(bool oracles, bool figures) {
    auto g = [&](std::vector<double> v) { return oracles ? v : std::vector<double>(); };
    WriteCell(dir_, "resact", "return_time", 0, SimCell(0.5, g({0.60, 10, 5}), g({0.70, 8, 6})));
    WriteCell(dir_, "resact", "return_time", 1, SimCell(0.7, g({0.66, 12, 5}), g({0.74, 8.5, 6})));
    WriteCell(dir_, "il", "return_time", 0, SimCell(0.4, g({0.66, 11, 5}), g({0.75, 7.5, 6.3})));
    auto files = WriteReport(dir_.string(), figures);
    EXPECT_TRUE(files.ok()) << files.status();
    if (!files.ok()) return "";
    json_ = nlohmann::json::parse(ReadWholeFile(files->results_json));
    return ReadWholeFile(files->results_md);
  }
  ScopedTempDir tmp_{"sim_report"};
  const fs::path dir_ = tmp_ / "run";
  nlohmann::json json_;
};

const char kSimRows[] =
    "| resact | 0.7000 ± 1.2706 | – | 0.6000 ± 1.2706 | +0.1000 | 9.0000 ± 0.0000 | 4.5000 ± 0.0000 |\n"
    "| il | 0.5000 | – | 0.4000 | +0.1000 | 9.0000 | 4.5000 |\n"
    "| logging policy π_β | – | – | 0.3000 | – | 12.00 | 4.00 |\n";

// The oracles' rows hold the mean over the three cells: greedy (0.60 + 0.66
// + 0.66)/3 = 0.64, 11 h, 5; lookahead 0.73, 8 h, 6.1. The myopia gap is
// 0.73 − 0.64 = +0.09 = +14.06% of 0.64 and 8 − 11 = −3 h = −27.27% of 11.
TEST_F(SimReport, OracleRowsAndTheMyopiaGap) {
  const std::string md = Write(/*oracles=*/true, /*figures=*/false);
  EXPECT_THAT(md, ::testing::HasSubstr(
      std::string(kSimRows) +
      "| greedy oracle | – | – | 0.6400 | – | 11.00 | 5.00 |\n"
      "| lookahead oracle | – | – | 0.7300 | – | 8.00 | 6.10 |\n\n"
      "Myopia gap (lookahead − greedy oracle): reward/request +0.0900 (+14.06%); mean return "
      "hours -3.00 h (-27.27%, shorter).\n"));
  const nlohmann::json& task = json_["tasks"]["return_time"];
  EXPECT_NEAR(task["greedy_oracle"]["sim_reward"].get<double>(), 0.64, 1e-12);
  EXPECT_NEAR(task["lookahead_oracle"]["sim_return_hours"].get<double>(), 8, 1e-12);
  EXPECT_NEAR(task["myopia_gap"]["reward"].get<double>(), 0.09, 1e-12);
  EXPECT_NEAR(task["myopia_gap"]["reward_pct"].get<double>(), 100 * 0.09 / 0.64, 1e-9);
  EXPECT_NEAR(task["myopia_gap"]["return_hours_pct"].get<double>(), -300.0 / 11, 1e-9);
}

// Without the oracles' metrics the table ends with π_β's row, as before.
TEST_F(SimReport, NoOracleMetricsNoOracleRows) {
  const std::string md = Write(/*oracles=*/false, /*figures=*/false);
  // The simulator table ends with π_β's row; the calibration table follows.
  EXPECT_THAT(md, ::testing::HasSubstr(std::string(kSimRows) + "\n## Calibration"));
  for (const char* absent : {"greedy oracle", "lookahead oracle", "Myopia gap"}) {
    EXPECT_THAT(md, ::testing::Not(::testing::HasSubstr(absent)));
  }
  EXPECT_FALSE(json_["tasks"]["return_time"].contains("greedy_oracle"));
  EXPECT_FALSE(json_["tasks"]["return_time"].contains("myopia_gap"));
}

// Thirteen labels (the eight algorithms and five variants) get thirteen
// distinct (colour, dash type) pairs in the figures' scripts, which draw π_β
// and the two oracles as horizontal lines. The scripts are written whether
// or not gnuplot is installed.
TEST_F(SimReport, FigureScriptsGiveEveryLabelItsStyleAndDrawTheReferences) {
  const std::vector<std::string> labels = {
      "resact", "ddpg", "td3", "td3_bc", "bcq", "iql", "il", "il_cvae", "resact_cstd03",
      "resact_kl", "resact_n1", "resact_no_residual", "resact_pg01"};
  for (size_t i = 0; i < labels.size(); ++i) {
    WriteCell(dir_, labels[i], "return_time", 7, SimCell(0.1 * i, {0.6, 10, 5}, {0.7, 8, 6}));
  }
  ASSERT_TRUE(WriteReport(dir_.string(), /*figures=*/true).ok());
  const std::string sim = ReadWholeFile((dir_ / "figures/curve_return_time_sim.gp").string());
  const std::regex curve("lc rgb '(#[0-9a-f]{6})' dt ([0-9]+) title '([^']+)'");
  std::set<std::string> titles;
  std::set<std::pair<std::string, std::string>> styles;
  for (auto it = std::sregex_iterator(sim.begin(), sim.end(), curve); it != std::sregex_iterator(); ++it) {
    titles.insert((*it)[3]);
    styles.insert({(*it)[1], (*it)[2]});
  }
  EXPECT_EQ(titles, std::set<std::string>(labels.begin(), labels.end())) << sim;
  EXPECT_EQ(styles.size(), labels.size()) << sim;
  EXPECT_THAT(sim, ::testing::HasSubstr("0.3 with lines lw 1.5 lc rgb '#000000' dt (16,8) title 'π_β'"));
  EXPECT_THAT(sim, ::testing::HasSubstr("0.6 with lines lw 1.5 lc rgb '#808080' dt (3,5) title 'greedy oracle'"));
  EXPECT_THAT(sim, ::testing::HasSubstr("0.7 with lines lw 1.5 lc rgb '#000000' dt (16,5,3,5) title 'lookahead oracle'"));
  // Every curve has the twelve evaluated steps; the NCIS figure draws π_β's logged value.
  const std::string dat = ReadWholeFile((dir_ / "figures/curve_return_time_sim_resact_pg01.dat").string());
  EXPECT_EQ(std::count(dat.begin(), dat.end(), '\n'), 13) << dat;
  EXPECT_THAT(dat, ::testing::HasSubstr("\n1200 1.2 1.2 1.2\n"));
  EXPECT_THAT(ReadWholeFile((dir_ / "figures/curve_return_time.gp").string()),
              ::testing::HasSubstr("0.25 with lines lw 1.5 lc rgb '#000000' dt (16,8) title 'π_β (logged)'"));
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
