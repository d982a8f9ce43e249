// Serve probabilities of the logged items (stages/sim/sim_propensity.h) on a
// small simulated log: π_β's against an independent Monte Carlo with many
// more draws, a policy that acts as π_β gets exactly π_β's probabilities
// (common random numbers), and a replay of another world is refused.
#include "stages/sim/sim_propensity.h"

#include <cmath>
#include <map>

#include "gtest/gtest.h"
#include "stages/evaluators/propensity.h"
#include "stages/sim/sim_world.h"
#include "storage/replay_reader.h"
#include "tests/util/run_graph_util.h"
#include "tests/util/test_util.h"

namespace resact {
namespace {

// The world of pipelines/recl_sim.pbtxt.
SimulatorOptions World() {
  SimulatorOptions o;
  o.set_seed(1);
  o.set_dynamics(SimulatorOptions::LONG_TERM);
  return o;
}

class SimPropensity : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing_util::ScopedTempDir("sim_propensity");
    ASSERT_TRUE(testing_util::RunShippedSpec("recl_sim.pbtxt", {"simulate.sim.scale=0.002"},
                                             dir_->path())
                    .ok());
    ReplayReaderOptions ro;
    ro.split = ReplaySplit::kTest;
    auto r = ReplayReader::Load(dir_->path() + "/replay", ro);
    ASSERT_TRUE(r.ok()) << r.status();
    test_ = r->release();
  }
  static void TearDownTestSuite() {
    delete test_;
    delete dir_;
  }
  static testing_util::ScopedTempDir* dir_;
  static ReplayReader* test_;
};
testing_util::ScopedTempDir* SimPropensity::dir_ = nullptr;
ReplayReader* SimPropensity::test_ = nullptr;

TEST_F(SimPropensity, BehaviourProbabilityMatchesAnIndependentMonteCarlo) {
  const int draws = 400;
  auto p = ServePropensities::Create(World(), *test_, 3, draws);
  ASSERT_TRUE(p.ok()) << p.status();
  const SimWorld world(World());
  const double sigma = World().behaviour_std();
  for (uint64_t u = 0; u < 3; ++u) {
    const SimUser user = world.MakeUser(test_->user_id(u));
    // The reference: 20,000 actions of π_β from another stream.
    SimRng rng(1234 + u);
    std::map<int32_t, int> hits;
    const int ref_draws = 20000;
    std::vector<float> a(world.dim());
    for (int j = 0; j < ref_draws; ++j) {
      for (int c = 0; c < world.dim(); ++c) {
        a[c] = static_cast<float>(world.BehaviourMean(user, c) + sigma * rng.Normal());
      }
      ++hits[world.Serve(a.data())];
    }
    const auto range = test_->user_transitions(u);
    for (uint64_t t = range.begin; t < range.end; t += 7) {
      const int64_t id = test_->items().item_id[test_->item_index(t)];
      const double ref = (hits[static_cast<int32_t>(world.items().Index(id))] + 0.5) / ref_draws;
      const double got = std::exp((*p)->behaviour_logp()[t]);
      // 4.5 standard errors of the 400-draw estimate, plus its 0.5 offset.
      const double se = std::sqrt(ref * (1 - ref) / draws) + 1.0 / draws;
      EXPECT_NEAR(got, ref, 4.5 * se) << "user " << u << " request " << t;
    }
  }
}

TEST_F(SimPropensity, PolicyActingAsBehaviourGetsItsProbabilitiesExactly) {
  const int users = 4;
  auto p = ServePropensities::Create(World(), *test_, users, 64);
  ASSERT_TRUE(p.ok()) << p.status();
  const SimWorld world(World());
  const uint64_t n = (*p)->transitions();
  ASSERT_EQ(n, test_->user_transitions(users - 1).end);
  std::vector<float> mean(n * world.dim());
  for (uint64_t u = 0; u < static_cast<uint64_t>(users); ++u) {
    const SimUser user = world.MakeUser(test_->user_id(u));
    const auto range = test_->user_transitions(u);
    for (uint64_t t = range.begin; t < range.end; ++t) {
      for (int c = 0; c < world.dim(); ++c) mean[t * world.dim() + c] = world.BehaviourMean(user, c);
    }
  }
  auto same = (*p)->PolicyLogProb(mean.data(), n, World().behaviour_std());
  ASSERT_TRUE(same.ok()) << same.status();
  for (uint64_t t = 0; t < n; ++t) EXPECT_EQ((*same)[t], (*p)->behaviour_logp()[t]) << t;
  // Another policy's probabilities differ, and every one is in (0, 1).
  std::vector<float> zero(n * world.dim(), 0.f);
  auto other = (*p)->PolicyLogProb(zero.data(), n, 0.3);
  ASSERT_TRUE(other.ok());
  int differ = 0;
  for (uint64_t t = 0; t < n; ++t) {
    differ += (*other)[t] != (*same)[t];
    EXPECT_LT((*other)[t], 0);
    EXPECT_GT((*other)[t], std::log(0.5 / 65) - 1e-12);
  }
  EXPECT_GT(differ, static_cast<int>(n / 2));
}

TEST_F(SimPropensity, PolicyProbabilitiesCountEveryDrawAsServeDoes) {
  // The reference: MonteCarloServeProbability with a full Serve() per draw,
  // on the same draws (user stream 7), for a policy near π_β so that the
  // probabilities span (0, 1). PolicyLogProb's rejection must not change a
  // single count.
  const int users = 3, draws = 48;
  auto p = ServePropensities::Create(World(), *test_, users, draws);
  ASSERT_TRUE(p.ok()) << p.status();
  const SimWorld world(World());
  const int d = world.dim();
  const uint64_t n = (*p)->transitions();
  std::vector<float> mean(n * d);
  SimRng noise(99);
  for (uint64_t u = 0; u < static_cast<uint64_t>(users); ++u) {
    const SimUser user = world.MakeUser(test_->user_id(u));
    const auto range = test_->user_transitions(u);
    for (uint64_t t = range.begin; t < range.end; ++t) {
      for (int c = 0; c < d; ++c) {
        mean[t * d + c] = static_cast<float>(world.BehaviourMean(user, c) + 0.2 * noise.Normal());
      }
    }
  }
  const double sigma = 0.25;
  auto got = (*p)->PolicyLogProb(mean.data(), n, sigma);
  ASSERT_TRUE(got.ok()) << got.status();
  int likely = 0;
  for (uint64_t u = 0; u < static_cast<uint64_t>(users); ++u) {
    const int64_t id = test_->user_id(u);
    SimRng rng = world.UserRng(id, 7);
    std::vector<float> z(static_cast<size_t>(draws) * d);
    for (float& x : z) x = static_cast<float>(rng.Normal());
    const auto range = test_->user_transitions(u);
    for (uint64_t t = range.begin; t < range.end; ++t) {
      const int64_t item_id = test_->items().item_id[test_->item_index(t)];
      const int32_t row = static_cast<int32_t>(world.items().Index(item_id));
      const double ref = MonteCarloServeProbability(
          mean.data() + t * d, sigma, d, z.data(), draws, row,
          [&](const float* action) { return world.Serve(action); });
      EXPECT_EQ((*got)[t], std::log(ref)) << "user " << u << " request " << t;
      likely += ref > 0.1;
    }
  }
  EXPECT_GT(likely, 0) << "no state where the logged item is likely: the full serves went untested";
}

TEST_F(SimPropensity, AnotherWorldIsRefused) {
  SimulatorOptions other = World();
  other.set_dim(8);
  auto p = ServePropensities::Create(other, *test_, 2, 16);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("not a log of this world"), std::string::npos)
      << p.status();
  EXPECT_FALSE(ServePropensities::Create(World(), *test_, 2, 0).ok());
}

}  // namespace
}  // namespace resact
