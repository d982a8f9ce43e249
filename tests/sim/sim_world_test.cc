#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "gmock/gmock.h"
#include "graph/stage_runner.h"
#include "gtest/gtest.h"
#include "tests/util/test_util.h"
#include "stages/sim/simulator_log_source.h"
#include "tbb/global_control.h"

namespace resact {
namespace {

SimulatorOptions Small() {
  SimulatorOptions o;
  o.set_scale(0.002);
  o.set_days(5);
  return o;
}

TEST(SimWorld, ServeIsTheExactTopItem) {
  SimWorld world(Small());
  SimRng rng(3);
  const int d = world.dim();
  std::vector<float> a(d);
  for (int trial = 0; trial < 300; ++trial) {
    for (float& x : a) x = static_cast<float>(rng.Normal());
    int32_t best = 0;
    float best_s = -1e30f;
    for (size_t i = 0; i < world.items().size(); ++i) {
      float s = 0;
      for (int c = 0; c < d; ++c) s += a[c] * world.items().row(i)[c];
      if (s > best_s) best_s = s, best = static_cast<int32_t>(i);
    }
    EXPECT_EQ(world.Serve(a.data()), best);
  }
}

TEST(SimWorld, RecordedPropensityIsTheGaussianDensityOfTheLoggedAction) {
  for (auto dynamics : {SimulatorOptions::STATIC, SimulatorOptions::LONG_TERM}) {
    SimulatorOptions o = Small();
    o.set_dynamics(dynamics);
    SimWorld world(o);
    const SimUser user = world.MakeUser(17);
    SimRng rng = world.UserRng(17, 9);
    const int d = world.dim();
    const double sd = world.options().behaviour_std();
    // LONG_TERM's π_β leans along the clickbait direction c.
    const double lean = dynamics == SimulatorOptions::LONG_TERM ? 0.3 : 0;
    std::vector<float> a(d);
    for (int k = 0; k < 50; ++k) {
      double logprob;
      const int32_t item = world.BehaviourAct(user, rng, a.data(), &logprob);
      // log N(e; μ, σ² I) written out independently.
      double expect = 0;
      for (int c = 0; c < d; ++c) {
        const double mu =
            user.behaviour[c] + (lean > 0 ? lean * world.clickbait_direction()[c] : 0);
        const double z = world.items().row(item)[c] - mu;
        expect += -z * z / (2 * sd * sd) - std::log(sd * std::sqrt(2 * M_PI));
      }
      EXPECT_NEAR(logprob, expect, 1e-5 * std::abs(expect) + 1e-9);
    }
  }
}

TEST(SimWorld, LikedItemsBringUsersBackSoonerAndKeepThemLonger) {
  SimWorld world(Small());
  const int d = world.dim();
  double liked_gap = 0, disliked_gap = 0, liked_len = 0, disliked_len = 0;
  const int users = 300;
  for (int u = 1; u <= users; ++u) {
    const SimUser user = world.MakeUser(u);
    // The item the user likes most and least among the catalogue.
    int32_t best = 0, worst = 0;
    double best_s = -1e30, worst_s = 1e30;
    for (size_t i = 0; i < world.items().size(); ++i) {
      double s = 0;
      for (int c = 0; c < d; ++c) s += user.pref[c] * world.items().row(i)[c];
      if (s > best_s) best_s = s, best = static_cast<int32_t>(i);
      if (s < worst_s) worst_s = s, worst = static_cast<int32_t>(i);
    }
    for (int policy = 0; policy < 2; ++policy) {
      SimRng rng = world.UserRng(u, 100 + policy);
      const int32_t item = policy == 0 ? best : worst;
      // Sessions served only that item: length and return gap.
      double len = 0, gap = 0;
      const int sessions = 20;
      for (int s = 0; s < sessions; ++s) {
        double sat_sum = 0;
        int n = 0;
        while (true) {
          const double sat = world.Satisfaction(user, item, rng);
          sat_sum += sat;
          ++n;
          if (n >= 200 || rng.Uniform() >= world.ContinueProbability(user, sat)) break;
        }
        len += n;
        gap += world.ReturnHours(user, sat_sum / n, rng);
      }
      (policy == 0 ? liked_len : disliked_len) += len / sessions;
      (policy == 0 ? liked_gap : disliked_gap) += gap / sessions;
    }
  }
  liked_len /= users, disliked_len /= users, liked_gap /= users, disliked_gap /= users;
  EXPECT_GT(liked_len, 1.5 * disliked_len) << liked_len << " vs " << disliked_len;
  EXPECT_LT(liked_gap, 0.7 * disliked_gap) << liked_gap << " vs " << disliked_gap;
  // Return gaps stay longer than a 30-minute session gap.
  EXPECT_GT(world.options().min_return_hours(), 0.5);
}

// Runs the source with `threads` TBB threads; returns the concatenated log
// and the CSV files' bytes.
std::pair<std::string, std::string> RunSource(int threads, const std::string& dir,
                                              const std::string& extra = "") {
  tbb::global_control limit(tbb::global_control::max_allowed_parallelism, threads);
  std::filesystem::remove_all(dir);
  auto runner = StageRunner::Create(R"pb(
    name: "ingest" type: "SimulatorLogSource" output_stream: "r" output_stream: "i"
    options { [type.googleapis.com/resact.SimulatorLogSourceOptions] {
      sim { scale: 0.003 days: 6 seed: 11 )pb" + extra + R"pb( }
      users_per_chunk: 64 csv_dir: "days" } })pb", dir);
  EXPECT_TRUE(runner.ok()) << runner.status();
  EXPECT_TRUE((*runner)->Generate().ok());
  std::string log;
  for (const auto& b : (*runner)->Outputs<RequestBatch>(0)) {
    auto put = [&](const void* p, size_t n) { log.append(static_cast<const char*>(p), n); };
    put(b->user.data(), b->user.size() * 8);
    put(b->item.data(), b->item.size() * 8);
    put(b->ts_ms.data(), b->ts_ms.size() * 8);
    put(b->feedback.data(), b->feedback.size() * 4);
    put(b->behaviour_logprob.data(), b->behaviour_logprob.size() * 4);
  }
  EXPECT_EQ((*runner)->outputs(1).size(), 1u);  // The item table.
  std::string csv;
  int files = 0;
  std::vector<std::filesystem::path> paths;
  for (const auto& e : std::filesystem::directory_iterator(dir + "/days")) paths.push_back(e.path());
  std::sort(paths.begin(), paths.end());
  for (const auto& p : paths) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    csv += p.filename().string() + "\n" + ss.str();
    ++files;
  }
  EXPECT_GE(files, 6);
  return {log, csv};
}

TEST(SimulatorLogSource, SameSeedGivesIdenticalOutputWithOneAndTwoThreads) {
  testing_util::ScopedTempDir base("sim_det");
  auto one = RunSource(1, base / "1");
  auto two = RunSource(2, base / "2");
  EXPECT_GT(one.first.size(), 1000u);
  EXPECT_TRUE(one.first == two.first);
  EXPECT_TRUE(one.second == two.second);
}

TEST(SimulatorLogSource, LongTermLogIsIdenticalWithOneAndTwoThreads) {
  testing_util::ScopedTempDir base("sim_det_lt");
  const std::string lt = "dynamics: LONG_TERM long_term { churn: true }";
  auto one = RunSource(1, base / "1", lt);
  auto two = RunSource(2, base / "2", lt);
  auto fixed = RunSource(1, base / "s");
  EXPECT_GT(one.first.size(), 1000u);
  EXPECT_TRUE(one.first == two.first);
  EXPECT_TRUE(one.second == two.second);
  EXPECT_FALSE(one.first == fixed.first);  // The dynamics change the log.
}

}  // namespace
}  // namespace resact
