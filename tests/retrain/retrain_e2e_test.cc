// Daily retraining through the binary and the shipped spec
// (pipelines/daily_retrain.pbtxt) on a tiny simulated world: the first day
// promotes its model, later challengers warm-start from the champion, a
// re-run of a day is a no-op, rollback restores the previous champion, and
// a run killed at every fault point and re-run ends exactly as a clean run
// (same versions, same weights, same decisions, one champion). Also: the
// replay window against the whole split, the recency draw against its
// weights, and the promotion rule against the paired bootstrap.
#include <signal.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "stages/evaluators/off_policy_data.h"
#include "stages/evaluators/session_wis.h"
#include "stages/learners/policy/policy_io.h"
#include "stages/learners/training/transition_source.h"
#include "stages/replay/daily_ingest.h"
#include "stages/retrain/daily_retrain.h"
#include "storage/model_registry.h"
#include "storage/replay_reader.h"
#include "storage/replay_store.h"
#include "storage/retrain_history.h"
#include "graph/files.h"
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

constexpr char kScale[] = "0.001";

BinaryResult RetrainDay(const std::string& workdir, const std::string& path,
                        const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args = {"run", ShippedSpec("daily_retrain.pbtxt"), "--workdir", workdir,
                                   "--quiet"};
  for (const std::string& s :
       {absl::StrCat("world.sim.scale=", kScale), absl::StrCat("retrain.sim.scale=", kScale),
        absl::StrCat("ingest.path=", path), std::string("retrain.learner.steps=200"),
        std::string("retrain.learner.checkpoint_every=50"),
        std::string("retrain.learner.eval_every=50"), std::string("retrain.behaviour.steps=100"),
        std::string("retrain.truth_users=20"), std::string("retrain.truth_days=2"),
        std::string("retrain.bootstrap=200")}) {
    args.push_back("--set");
    args.push_back(s);
  }
  args.insert(args.end(), extra.begin(), extra.end());
  return RunResact(args);
}

class RetrainE2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = new ScopedTempDir("retrain_e2e");
    const std::string gen = tmp_->path() + "/gen";
    BinaryResult r = RunResact({"run", ShippedSpec("sim_days.pbtxt"), "--workdir", gen, "--quiet",
                                "--set", absl::StrCat("simulate.sim.scale=", kScale)});
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  static void TearDownTestSuite() {
    delete tmp_;
    tmp_ = nullptr;
  }
  static std::string Day(int d) {
    return absl::StrFormat("%s/gen/sim_days/day-%03d.csv", tmp_->path(), d);
  }
  static ScopedTempDir* tmp_;
};
ScopedTempDir* RetrainE2E::tmp_ = nullptr;

TEST_F(RetrainE2E, FirstDayPromotesLaterDaysWarmStartRerunIsNoOpRollbackRestores) {
  const std::string work = tmp_->path() + "/plain";
  for (int d = 0; d < 3; ++d) {
    BinaryResult r = RetrainDay(work, Day(d));
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  auto history = ReadRetrainHistory(work);
  ASSERT_TRUE(history.ok()) << history.status();
  ASSERT_EQ(history->run_size(), 3);
  const RetrainRun& first = history->run(0);
  EXPECT_EQ(first.day(), "day-000");
  EXPECT_EQ(first.decision(), "promoted");
  EXPECT_EQ(first.reason(), "first model");
  EXPECT_EQ(first.champion(), "");
  EXPECT_EQ(first.challenger(), "v0001");
  EXPECT_EQ(first.total_steps(), 200);
  for (int d = 1; d < 3; ++d) {
    const RetrainRun& run = history->run(d);
    EXPECT_EQ(run.day(), absl::StrFormat("day-%03d", d));
    EXPECT_FALSE(run.champion().empty());
    EXPECT_EQ(run.challenger(), absl::StrFormat("v%04d", d + 1));
    // Warm from the champion: its steps plus this run's.
    EXPECT_EQ(run.steps(), 200);
    EXPECT_GT(run.trajectories(), 0);
    EXPECT_LE(run.difference_low(), run.difference());
    EXPECT_GE(run.difference_high(), run.difference());
    EXPECT_NEAR(run.difference(), run.challenger_value() - run.champion_value(), 1e-9);
    EXPECT_EQ(run.decision(), ChallengerWins(PairedDifference{run.difference(),
                                                              run.difference_low(),
                                                              run.difference_high()},
                                             run.margin())
                                  ? "promoted"
                                  : "kept");
    EXPECT_TRUE(run.has_behaviour_true() && run.has_champion_true() && run.has_challenger_true());
    // The day's counts are the manifest's.
    EXPECT_GT(run.rows(), 0u);
    EXPECT_GT(run.completed_returns(), 0u);
  }
  const ModelRegistry reg = ModelRegistry::Open(work);
  auto versions = reg.List();
  ASSERT_TRUE(versions.ok());
  ASSERT_EQ(versions->size(), 3u);
  for (size_t i = 1; i < versions->size(); ++i) {
    const ModelVersionInfo& v = (*versions)[i].info;
    ASSERT_FALSE(v.parent().empty());
    auto parent = reg.VersionDir(v.parent());
    ASSERT_TRUE(parent.ok());
    auto pm = ReadPolicyModel(*parent + "/model");
    ASSERT_TRUE(pm.ok());
    EXPECT_EQ(v.steps(), pm->step() + 200) << v.ShortDebugString();
  }

  // The same day again: nothing changes.
  const std::string before = RetrainOutcome(work);
  BinaryResult r = RetrainDay(work, Day(2));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(RetrainOutcome(work), before);

  // Truth asked of another world than the log's: a clear error, nothing changed.
  r = RetrainDay(tmp_->path() + "/other_world", Day(0), {"--set", "retrain.sim.seed=2"});
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("option 'sim': the simulated world (seed 2"), std::string::npos)
      << r.output;
  EXPECT_EQ(RetrainOutcome(work), before);

  // `resact history` shows a row per day.
  r = RunResact({"history", work});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (int d = 0; d < 3; ++d) {
    EXPECT_NE(r.output.find(absl::StrFormat("| day-%03d |", d)), std::string::npos) << r.output;
  }

  // Promote the newest version by hand, then roll back: the champion before.
  auto champion = reg.Champion();
  ASSERT_TRUE(champion.ok());
  r = RunResact({"model", "promote", work, "v0003"});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(*reg.Champion(), "v0003");
  r = RunResact({"model", "rollback", work});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_EQ(*reg.Champion(), *champion);
}

TEST_F(RetrainE2E, KilledAtEveryFaultPointAndRerunEqualsCleanRun) {
  // margin -1000: every challenger is promoted, so every fault point is passed.
  const std::vector<std::string> always = {"--set", "retrain.margin=-1000"};
  const std::string clean = tmp_->path() + "/clean";
  for (int d = 0; d < 4; ++d) {
    BinaryResult r = RetrainDay(clean, Day(d), always);
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  const std::string work = tmp_->path() + "/killed";
  // In the order a run passes them: each kill, then the next fault's run
  // goes on from where the last one stopped.
  const char* faults[4][2] = {{"daily.ingest", "train.step:120"},
                              {"daily.ingested", "model.add"},
                              {"train.checkpoint:2", "retrain.judge"},
                              {"model.promote", "retrain.promoted"}};
  for (int d = 0; d < 4; ++d) {
    for (const char* fault : faults[d]) {
      std::vector<std::string> args = always;
      args.push_back("--fault");
      args.push_back(fault);
      BinaryResult r = RetrainDay(work, Day(d), args);
      ASSERT_EQ(r.signal, SIGKILL) << fault << ": " << r.output;
    }
    BinaryResult r = RetrainDay(work, Day(d), always);
    ASSERT_EQ(r.exit_code, 0) << r.output;
  }
  const std::string got = RetrainOutcome(work), want = RetrainOutcome(clean);
  EXPECT_EQ(got, want);
  auto state = ModelRegistry::Open(work).State();
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->champion(), "v0004");
  EXPECT_EQ(state->promotion_size(), 4);
}

TEST_F(RetrainE2E, WindowHoldsTheNewestSessionsOfEachUserWithTheStoresRewards) {
  const std::string work = tmp_->path() + "/window";
  BinaryResult r = RunResact({"run", ShippedSpec("daily_ingest_sim.pbtxt"), "--workdir", work, "--quiet",
                              "--set", absl::StrCat("world.sim.scale=", kScale), "--set",
                              absl::StrCat("ingest.path=", tmp_->path(),
                                           "/gen/sim_days/day-00[0-5].csv")});
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const std::string dir = work + "/replay";
  ReplayReaderOptions all;
  auto full = ReplayReader::Load(dir, all);
  ASSERT_TRUE(full.ok()) << full.status();
  const int64_t from = (*full)->meta().last_request_ms() - 2 * 86400000LL;
  ReplayReaderOptions wo;
  wo.min_session_start_ms = from;
  auto win = ReplayReader::Load(dir, wo);
  ASSERT_TRUE(win.ok()) << win.status();
  // The reference: the full split's sessions from `from` on, user by user.
  size_t wu = 0, sessions = 0;
  uint64_t transitions = 0;
  for (size_t u = 0; u < (*full)->num_users(); ++u) {
    const auto ss = (*full)->user_sessions(u);
    std::vector<size_t> kept;
    for (size_t s = ss.begin; s < ss.end; ++s) {
      if ((*full)->session_start_ms(s) >= from) kept.push_back(s);
    }
    if (kept.empty()) continue;
    ASSERT_LT(wu, (*win)->num_users());
    ASSERT_EQ((*win)->user_id(wu), (*full)->user_id(u));
    const auto ws = (*win)->user_sessions(wu);
    ASSERT_EQ(ws.size(), kept.size());
    for (size_t k = 0; k < kept.size(); ++k) {
      const size_t a = kept[k], b = ws.begin + k;
      EXPECT_EQ((*win)->session_start_ms(b), (*full)->session_start_ms(a));
      EXPECT_EQ((*win)->session_r_rt(b), (*full)->session_r_rt(a));
      EXPECT_EQ((*win)->session_r_sl(b), (*full)->session_r_sl(a));
      const auto ta = (*full)->session_transitions(a), tb = (*win)->session_transitions(b);
      ASSERT_EQ(ta.size(), tb.size());
      for (uint64_t i = 0; i < ta.size(); ++i) {
        EXPECT_EQ((*win)->item_index(tb.begin + i), (*full)->item_index(ta.begin + i));
        EXPECT_EQ((*win)->ts_ms(tb.begin + i), (*full)->ts_ms(ta.begin + i));
        EXPECT_EQ((*win)->done(tb.begin + i), (*full)->done(ta.begin + i));
      }
      transitions += ta.size();
    }
    sessions += kept.size();
    ++wu;
  }
  EXPECT_EQ((*win)->num_users(), wu);
  EXPECT_EQ((*win)->num_sessions(), sessions);
  EXPECT_EQ((*win)->num_transitions(), transitions);
  EXPECT_GT(transitions, 0u);
  EXPECT_LT(transitions, (*full)->num_transitions());

  // The recency draw: each age's share is its count times 2^(−age/h),
  // normalized; 200k draws land within 4 standard errors of it.
  learners::ReplayWindowOptions so;
  so.min_session_start_ms = (*full)->meta().first_request_ms();
  so.half_life_days = 1.5;
  auto source = learners::ReplayWindowSource::Load(dir, so);
  ASSERT_TRUE(source.ok()) << source.status();
  const std::vector<uint64_t>& counts = (*source)->day_counts();
  ASSERT_GE(counts.size(), 5u);
  std::vector<double> want(counts.size());
  double total = 0;
  for (size_t a = 0; a < counts.size(); ++a) {
    want[a] = static_cast<double>(counts[a]) * std::exp2(-static_cast<double>(a) / 1.5);
    total += want[a];
  }
  int64_t newest = 0;
  const ReplayReader& rr = (*source)->reader();
  for (uint64_t t = 0; t < rr.num_transitions(); ++t) newest = std::max(newest, rr.ts_ms(t));
  std::vector<double> seen(counts.size(), 0);
  std::mt19937_64 rng(3);
  ReplaySample batch;
  std::vector<uint8_t> ends;
  const int draws = 200000;
  for (int i = 0; i < draws / 1000; ++i) {
    (*source)->Sample(1000, rng, &batch, &ends);
    for (uint64_t t : batch.transition) seen[(newest - rr.ts_ms(t)) / 86400000]++;
  }
  for (size_t a = 0; a < counts.size(); ++a) {
    const double p = want[a] / total;
    EXPECT_NEAR((*source)->day_shares()[a], p, 1e-12);
    EXPECT_NEAR(seen[a] / draws, p, 4 * std::sqrt(p * (1 - p) / draws) + 1e-9) << "age " << a;
  }
}

TEST(RetrainDecision, PromotesOnlyAChallengerWhoseLowerBoundClearsTheMargin) {
  std::mt19937_64 rng(9);
  std::normal_distribution<double> noise(0, 0.05);
  std::vector<double> champion(400), better(400), worse(400);
  for (size_t i = 0; i < champion.size(); ++i) {
    champion[i] = 1 + std::sin(static_cast<double>(i));
    better[i] = champion[i] + 0.1 + noise(rng);
    worse[i] = champion[i] - 0.1 + noise(rng);
  }
  auto same = PairedBootstrap(champion, champion, 500, 0.95, 1);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->ci_low, 0);
  EXPECT_FALSE(ChallengerWins(*same, 0));
  auto up = PairedBootstrap(champion, better, 500, 0.95, 1);
  ASSERT_TRUE(up.ok());
  EXPECT_TRUE(ChallengerWins(*up, 0));
  EXPECT_TRUE(ChallengerWins(*up, 0.05));
  EXPECT_FALSE(ChallengerWins(*up, 0.2));  // The margin asks for more.
  auto down = PairedBootstrap(champion, worse, 500, 0.95, 1);
  ASSERT_TRUE(down.ok());
  EXPECT_LT(down->ci_high, 0);
  EXPECT_FALSE(ChallengerWins(*down, 0));
  EXPECT_FALSE(ChallengerWins(*down, -0.05));
  // Each mean's own CI brackets it.
  EXPECT_LT(up->challenger_low, up->challenger);
  EXPECT_GT(up->challenger_high, up->challenger);
  EXPECT_NEAR(up->champion, 1 + 0.0, 0.2);
}

}  // namespace
}  // namespace resact
