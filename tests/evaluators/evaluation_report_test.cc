// EvaluationReport: one JSON line per evaluation, a summary table of the
// final evaluations' means, and clear errors when either file cannot be
// written.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "graph/payload.h"
#include "graph/stage_runner.h"
#include "tests/util/test_util.h"

namespace resact {
namespace {

using testing_util::ReadWholeFile;
using testing_util::ScopedTempDir;

std::string Spec(const std::string& summary_path) {
  return absl::StrCat(R"pb(
    name: "report" type: "EvaluationReport" input_stream: "m"
    options { [type.googleapis.com/resact.EvaluationReportOptions] { summary_path: ")pb",
                      summary_path, R"pb(" } }
  )pb");
}

std::shared_ptr<MetricsBatch> Metrics(const std::string& algo, int64_t step, bool final,
                                      double ncis) {
  auto m = std::make_shared<MetricsBatch>();
  m->evaluator = "ncis";
  m->algo = algo;
  m->task = "return_time";
  m->seed = step % 2;
  m->step = step;
  m->final = final;
  m->Add("ncis", ncis);
  return m;
}

TEST(EvaluationReport, WritesEveryEvaluationAndTheFinalMeans) {
  ScopedTempDir dir("evaluation_report");
  auto runner = StageRunner::Create(Spec("metrics/summary.md"), dir.path());
  ASSERT_TRUE(runner.ok()) << runner.status();
  ASSERT_TRUE((*runner)->Feed<MetricsBatch>(0, Metrics("td3_bc", 100, false, 0.5)).ok());
  ASSERT_TRUE((*runner)->Feed<MetricsBatch>(0, Metrics("td3_bc", 200, true, 0.25)).ok());
  ASSERT_TRUE((*runner)->Feed<MetricsBatch>(0, Metrics("td3_bc", 201, true, 0.75)).ok());
  ASSERT_TRUE((*runner)->Close().ok());

  const std::string lines = ReadWholeFile(dir / "metrics/evaluations.jsonl");
  EXPECT_EQ(lines,
            "{\"evaluator\":\"ncis\",\"algo\":\"td3_bc\",\"task\":\"return_time\",\"seed\":0,"
            "\"step\":100,\"final\":false,\"metrics\":{\"ncis\":0.5}}\n"
            "{\"evaluator\":\"ncis\",\"algo\":\"td3_bc\",\"task\":\"return_time\",\"seed\":0,"
            "\"step\":200,\"final\":true,\"metrics\":{\"ncis\":0.25}}\n"
            "{\"evaluator\":\"ncis\",\"algo\":\"td3_bc\",\"task\":\"return_time\",\"seed\":1,"
            "\"step\":201,\"final\":true,\"metrics\":{\"ncis\":0.75}}\n");
  // The summary row holds the mean of the two final evaluations, 0.5.
  const std::string summary = ReadWholeFile(dir / "metrics/summary.md");
  EXPECT_NE(summary.find("| td3_bc | return_time | 0.5000 |"), std::string::npos) << summary;
  EXPECT_FALSE(std::filesystem::exists(dir / "metrics/summary.md.tmp"));
}

// JSON has no NaN or infinity: such a metric (a critic rating over no
// rankable states, a diverged loss) is written as null.
TEST(EvaluationReport, NonFiniteMetricsAreWrittenAsNull) {
  ScopedTempDir dir("evaluation_report_nan");
  auto runner = StageRunner::Create(Spec("summary.md"), dir.path());
  ASSERT_TRUE(runner.ok()) << runner.status();
  auto m = Metrics("resact_n1", 100, true, 0.5);
  m->Add("sim_critic_spearman", std::nan(""));
  m->Add("loss", INFINITY);
  ASSERT_TRUE((*runner)->Feed<MetricsBatch>(0, m).ok());
  ASSERT_TRUE((*runner)->Close().ok());
  EXPECT_EQ(ReadWholeFile(dir / "metrics/evaluations.jsonl"),
            "{\"evaluator\":\"ncis\",\"algo\":\"resact_n1\",\"task\":\"return_time\","
            "\"seed\":0,\"step\":100,\"final\":true,\"metrics\":{\"ncis\":0.5,"
            "\"sim_critic_spearman\":null,\"loss\":null}}\n");
}

// On simulator metrics the summary has π_β's row per task and, when the
// oracles' metrics are there, the greedy and the lookahead oracle's rows
// with the mean over the task's final evaluations.
TEST(EvaluationReport, OracleRowsFollowTheLoggingPolicy) {
  ScopedTempDir dir("evaluation_report_oracles");
  auto runner = StageRunner::Create(Spec("summary.md"), dir.path());
  ASSERT_TRUE(runner.ok()) << runner.status();
  for (const auto& [algo, greedy] : {std::pair{"il", 0.6}, std::pair{"td3_bc", 0.7}}) {
    auto m = Metrics(algo, 200, true, 0.5);
    for (const auto& [prefix, reward, hours] :
         {std::tuple{"sim_", 0.4, 9.0}, std::tuple{"sim_behaviour_", 0.3, 12.0},
          std::tuple{"sim_greedy_oracle_", greedy, 11.0}, std::tuple{"sim_lookahead_oracle_", greedy + 0.1, 8.0}}) {
      m->Add(absl::StrCat(prefix, "reward"), reward);
      m->Add(absl::StrCat(prefix, "reward_ci_low"), reward - 0.05);
      m->Add(absl::StrCat(prefix, "reward_ci_high"), reward + 0.05);
      m->Add(absl::StrCat(prefix, "return_hours"), hours);
      m->Add(absl::StrCat(prefix, "session_length"), 5);
    }
    ASSERT_TRUE((*runner)->Feed<MetricsBatch>(0, m).ok());
  }
  ASSERT_TRUE((*runner)->Close().ok());
  const std::string summary = ReadWholeFile(dir / "summary.md");
  EXPECT_NE(summary.find("| logging policy π_β | return_time | – (logged) | – | 0.3000 [0.2500, 0.3500] | "
                         "12.0000 | 5.0000 |\n"
                         "| greedy oracle | return_time | – | – | 0.6500 [0.6000, 0.7000] | 11.0000 | 5.0000 |\n"
                         "| lookahead oracle | return_time | – | – | 0.7500 [0.7000, 0.8000] | 8.0000 | 5.0000 |\n"),
            std::string::npos)
      << summary;
}

// Without the oracles' metrics there are no oracle rows.
TEST(EvaluationReport, NoOracleMetricsNoOracleRows) {
  ScopedTempDir dir("evaluation_report_no_oracles");
  auto runner = StageRunner::Create(Spec("summary.md"), dir.path());
  ASSERT_TRUE(runner.ok()) << runner.status();
  auto m = Metrics("il", 200, true, 0.5);
  m->Add("sim_behaviour_reward", 0.3);
  ASSERT_TRUE((*runner)->Feed<MetricsBatch>(0, m).ok());
  ASSERT_TRUE((*runner)->Close().ok());
  const std::string summary = ReadWholeFile(dir / "summary.md");
  EXPECT_NE(summary.find("| logging policy π_β | return_time |"), std::string::npos) << summary;
  EXPECT_EQ(summary.find("oracle"), std::string::npos) << summary;
}

TEST(EvaluationReport, UnwritableSummaryIsAnErrorNamingTheOption) {
  ScopedTempDir dir("evaluation_report_bad_summary");
  // A regular file where the summary's folder should be.
  std::ofstream(dir / "blocker") << "x";
  auto runner = StageRunner::Create(Spec("blocker/summary.md"), dir.path());
  ASSERT_TRUE(runner.ok()) << runner.status();
  ASSERT_TRUE((*runner)->Feed<MetricsBatch>(0, Metrics("il", 10, true, 0.1)).ok());
  const absl::Status s = (*runner)->Close();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("summary_path"), absl::string_view::npos) << s;
  EXPECT_NE(s.message().find("blocker/summary.md"), absl::string_view::npos) << s;
  // The evaluations already written are kept.
  EXPECT_NE(ReadWholeFile(dir / "metrics/evaluations.jsonl").find("\"algo\":\"il\""), std::string::npos);
}

TEST(EvaluationReport, UnwritablePathIsAnErrorAtOpen) {
  ScopedTempDir dir("evaluation_report_bad_path");
  std::ofstream(dir / "metrics") << "x";  // A file where the folder should be.
  auto runner = StageRunner::Create(Spec("summary.md"), dir.path());
  ASSERT_FALSE(runner.ok());
  EXPECT_NE(runner.status().message().find("metrics/evaluations.jsonl"), absl::string_view::npos)
      << runner.status();
}

}  // namespace
}  // namespace resact
