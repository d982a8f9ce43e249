// The closed loop through the binary and the shipped spec
// (pipelines/daily_loop_sim.pbtxt) on a tiny world: π_β serves day 0 and the
// served users then equal π_β's, the first model serves day 1, every day is
// in the store's manifest and the history, a re-run lives the same days
// (same logs, no retraining) to the same report, and a loop killed at fault
// points of the ingest, the judging and the promotion ends as a clean run.
#include <signal.h>

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "graph/files.h"
#include "gtest/gtest.h"
#include "stages/replay/daily_ingest.h"
#include "storage/model_registry.h"
#include "storage/replay_store.h"
#include "storage/retrain_history.h"
#include "tests/util/retrain_util.h"
#include "tests/util/test_util.h"

namespace resact {
namespace {

namespace fs = std::filesystem;
using testing_util::BinaryResult;
using testing_util::RunResact;
using testing_util::RetrainOutcome;
using testing_util::ScopedTempDir;
using testing_util::ShippedSpec;

BinaryResult Loop(const std::string& workdir, int days, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args = {
      "run", ShippedSpec("daily_loop_sim.pbtxt"), "--workdir",
      workdir, "--quiet"};
  for (const std::string& s :
       {std::string("loop.sim.scale=0.001"), absl::StrCat("loop.days=", days),
        std::string("loop.retrain.learner.steps=60"),
        std::string("loop.retrain.learner.checkpoint_every=20"),
        std::string("loop.retrain.behaviour.steps=40"), std::string("loop.retrain.truth_users=20"),
        std::string("loop.retrain.truth_days=1"), std::string("loop.bootstrap=100")}) {
    args.push_back("--set");
    args.push_back(s);
  }
  args.insert(args.end(), extra.begin(), extra.end());
  return RunResact(args);
}

// days.csv as rows of cells.
std::vector<std::vector<std::string>> Csv(const std::string& workdir) {
  std::vector<std::vector<std::string>> rows;
  auto text = ReadFileToString(workdir + "/loop/days.csv");
  if (!text.ok()) return rows;
  for (absl::string_view line : absl::StrSplit(*text, '\n', absl::SkipEmpty())) {
    rows.push_back(absl::StrSplit(line, ','));
  }
  return rows;
}

TEST(ClosedLoop, ChampionServesTheNextDayAndAReRunLivesTheSameDays) {
  ScopedTempDir tmp("closed_loop");
  const std::string work = tmp.path() + "/w";
  BinaryResult r = Loop(work, 2);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto rows = Csv(work);
  ASSERT_GE(rows.size(), 1u + 3 * 2) << "served, π_β and greedy for 2 days";
  const std::vector<std::string>& head = rows[0];
  ASSERT_EQ(head[0], "day");
  auto find = [&](const std::string& pop, int day) -> const std::vector<std::string>* {
    for (const auto& row : rows) {
      if (row[0] == std::to_string(day) && row[1] == pop) return &row;
    }
    return nullptr;
  };
  for (int d = 0; d < 2; ++d) {
    for (const char* p : {"served", "pi_beta", "greedy"}) {
      ASSERT_NE(find(p, d), nullptr) << p << " day " << d;
    }
  }
  // Day 0: π_β served the loop's users, so they are π_β's, metric for metric.
  EXPECT_EQ((*find("served", 0))[2], "π_β");
  for (size_t c = 3; c < head.size(); ++c) {
    EXPECT_EQ((*find("served", 0))[c], (*find("pi_beta", 0))[c]) << head[c];
  }
  // Day 1: the first model (promoted after day 0) served it.
  EXPECT_EQ((*find("served", 1))[2], "v0001");
  auto serving = ReadFileToString(work + "/loop/served/day-001/serving.txt");
  ASSERT_TRUE(serving.ok());
  EXPECT_EQ(serving->substr(0, 6), "v0001\n");
  EXPECT_TRUE(fs::exists(work + "/loop/served/day-001/model/model.pbtxt"));
  // Both days in the manifest and the history.
  {
    ReplayStoreOptions so;
    so.read_only = true;
    auto store = ReplayStore::Open(work + "/replay", so);
    ASSERT_TRUE(store.ok()) << store.status();
    auto state = ReadDailyState(**store);
    ASSERT_TRUE(state.ok()) << state.status();
    ASSERT_EQ(state->manifest().day_size(), 2);
    EXPECT_EQ(state->manifest().day(0).name(), "day-000");
    EXPECT_EQ(state->manifest().day(1).name(), "day-001");
    EXPECT_GT(state->manifest().day(1).rows(), 0);
  }
  auto history = ReadRetrainHistory(work);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->run_size(), 2);
  EXPECT_EQ(history->run(1).champion(), "v0001");
  EXPECT_TRUE(fs::exists(work + "/loop/report.md"));

  // A re-run: the same logs (each day's ingest a no-op), no new version.
  const std::string before = RetrainOutcome(work);
  r = Loop(work, 2);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(Csv(work), rows);
  EXPECT_EQ(RetrainOutcome(work), before);
}

TEST(ClosedLoop, KilledAtFaultPointsAndReRunEndsAsACleanRun) {
  ScopedTempDir tmp("closed_loop_faults");
  // margin -1000: every challenger is promoted, so each day has a new server.
  const std::vector<std::string> promote_all = {"--set", "loop.retrain.margin=-1000"};
  const std::string clean = tmp.path() + "/clean";
  BinaryResult r = Loop(clean, 3, promote_all);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string killed = tmp.path() + "/killed";
  // Each kill in a run that resumes the one killed before: day 1 lived,
  // its log not ingested; day 1 ingested; day 1's judging; day 2's promotion.
  for (const char* fault : {"loop.served:2", "daily.ingested:1", "retrain.judge:1",
                            "model.promote:2"}) {
    std::vector<std::string> args = promote_all;
    args.push_back("--fault");
    args.push_back(fault);
    r = Loop(killed, 3, args);
    ASSERT_EQ(r.signal, SIGKILL) << fault << ": " << r.output;
  }
  r = Loop(killed, 3, promote_all);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(Csv(killed), Csv(clean));
  EXPECT_EQ(RetrainOutcome(killed), RetrainOutcome(clean));
  auto h = ReadRetrainHistory(killed);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->run_size(), 3);
}

}  // namespace
}  // namespace resact
