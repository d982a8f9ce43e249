// The simulator's oracles (stages/sim/sim_oracles.h): the greedy oracle
// against a brute-force argmax of the hand-written expected satisfaction,
// the lookahead oracle against the greedy one in a small LONG_TERM world,
// and the determinism of their traces across thread counts.
#include <limits>

#include "gtest/gtest.h"
#include "stages/sim/sim_oracles.h"
#include "stages/sim/sim_rollout.h"
#include "tbb/global_control.h"

namespace resact {
namespace {

SimulatorOptions World(SimulatorOptions::Dynamics dynamics) {
  SimulatorOptions o;
  o.set_scale(0.002);
  o.set_days(5);
  o.set_dynamics(dynamics);
  return o;
}

SimEvalConfig Config(int users) {
  SimEvalConfig c;
  c.users = users;
  c.days = 5;
  c.bootstrap = 10;
  return c;
}

// The task reward per request (return-time task) of `traces`.
double ReturnTimeReward(const std::vector<SimTrace>& traces,
                        const std::vector<SimTrace>& baseline, const SimEvalConfig& c) {
  MetricsBatch m;
  SummarizeTraces(traces, baseline, c, 1, 0, "", &m);
  for (size_t i = 0; i < m.name.size(); ++i) {
    if (m.name[i] == "reward") return m.value[i];
  }
  return std::numeric_limits<double>::quiet_NaN();
}

void ExpectGreedyIsTheArgmax(SimulatorOptions::Dynamics dynamics) {
  const SimWorld world(World(dynamics));
  const SimDynamics dyn(world);
  const GreedyOracle greedy(dyn);
  const LongTermOptions& lt = world.options().long_term();
  const bool long_term = dynamics == SimulatorOptions::LONG_TERM;
  SimRng draw(7);
  for (int64_t id = 1; id <= 20; ++id) {
    const SimUser user = world.MakeUser(id);
    SimUserState s = dyn.InitialState();
    for (double& x : s.satiation) x = draw.Uniform() < 0.3 ? draw.Uniform() : 0.0;
    // By hand: ((<u, e_i> + quality_weight·q_i) − mean)/std + clickbait_weight·cb_i
    // − satiation_weight·s_topic(i).
    int32_t best = -1;
    double best_v = -std::numeric_limits<double>::infinity();
    for (int32_t i = 0; i < static_cast<int32_t>(world.items().size()); ++i) {
      const float* e = world.items().row(i);
      double raw = 0;
      for (int c = 0; c < world.dim(); ++c) raw += user.pref[c] * e[c];
      raw += world.options().quality_weight() * world.quality(i);
      double v = (raw - world.satisfaction_mean()) / world.satisfaction_std();
      if (long_term) {
        v += lt.clickbait_weight() * world.clickbait(i) -
             lt.satiation_weight() * s.satiation[world.topic_of(i)];
      }
      if (v > best_v) {
        best_v = v;
        best = i;
      }
    }
    SimRng unused(1);
    EXPECT_EQ(greedy.ForUser(user)->Choose(s, {}, unused), best) << "user " << id;
  }
}

TEST(SimOracles, GreedyIsTheBruteForceArgmaxLongTerm) {
  ExpectGreedyIsTheArgmax(SimulatorOptions::LONG_TERM);
}

TEST(SimOracles, GreedyIsTheBruteForceArgmaxStatic) {
  ExpectGreedyIsTheArgmax(SimulatorOptions::STATIC);
}

TEST(SimOracles, GreedyIgnoresSatiationOnlyUnderStatic) {
  // A saturated topic of the best item moves the LONG_TERM choice elsewhere.
  const SimWorld world(World(SimulatorOptions::LONG_TERM));
  const SimDynamics dyn(world);
  const GreedyOracle greedy(dyn);
  const SimUser user = world.MakeUser(3);
  SimUserState s = dyn.InitialState();
  SimRng unused(1);
  const int32_t fresh = greedy.ForUser(user)->Choose(s, {}, unused);
  s.satiation[world.topic_of(fresh)] = 0.99;
  EXPECT_NE(world.topic_of(greedy.ForUser(user)->Choose(s, {}, unused)), world.topic_of(fresh));
}

// The issue-13 requirement: in a small LONG_TERM world the lookahead oracle
// beats the greedy one on the return-time task (README, "Oracles and the
// myopia gap").
TEST(SimOracles, LookaheadBeatsGreedyOnTheReturnTimeTask) {
  const SimWorld world(World(SimulatorOptions::LONG_TERM));
  const SimDynamics dyn(world);
  const SimEvalConfig c = Config(60);
  auto behaviour = SimulateUsers(world, c, nullptr);
  ASSERT_TRUE(behaviour.ok()) << behaviour.status();
  const GreedyOracle greedy(dyn);
  const LookaheadOracle lookahead(dyn, OracleObjective(), LookaheadParams());
  auto g = SimulateUsers(world, c, nullptr, &greedy);
  auto l = SimulateUsers(world, c, nullptr, &lookahead);
  ASSERT_TRUE(g.ok() && l.ok());
  const double rg = ReturnTimeReward(*g, *behaviour, c);
  const double rl = ReturnTimeReward(*l, *behaviour, c);
  EXPECT_GT(rl, rg) << "lookahead " << rl << ", greedy " << rg;
}

bool SameTraces(const std::vector<SimTrace>& a, const std::vector<SimTrace>& b) {
  if (a.size() != b.size()) return false;
  for (size_t u = 0; u < a.size(); ++u) {
    if (a[u].session_length != b[u].session_length || a[u].return_hours != b[u].return_hours ||
        a[u].session_start_ms != b[u].session_start_ms) {
      return false;
    }
  }
  return true;
}

TEST(SimOracles, TracesDoNotDependOnTheThreadCount) {
  const SimWorld world(World(SimulatorOptions::LONG_TERM));
  const SimDynamics dyn(world);
  const SimEvalConfig c = Config(12);
  const GreedyOracle greedy(dyn);
  LookaheadParams p;
  p.rollouts = 3;
  const LookaheadOracle lookahead(dyn, OracleObjective(), p);
  for (const ItemChooser* chooser : {static_cast<const ItemChooser*>(&greedy),
                                     static_cast<const ItemChooser*>(&lookahead)}) {
    std::vector<std::vector<SimTrace>> runs;
    for (int threads : {1, 2, 1}) {
      tbb::global_control limit(tbb::global_control::max_allowed_parallelism, threads);
      auto t = SimulateUsers(world, c, nullptr, chooser);
      ASSERT_TRUE(t.ok()) << t.status();
      runs.push_back(*t);
    }
    EXPECT_TRUE(SameTraces(runs[0], runs[1]));
    EXPECT_TRUE(SameTraces(runs[0], runs[2]));
    EXPECT_FALSE(runs[0].empty() || runs[0][0].session_length.empty());
  }
}

}  // namespace
}  // namespace resact
