// The simulator evaluation's held-out users under LONG_TERM dynamics: each
// first lives its own history under π_β (history_days), which every policy
// then shares, and the state the policy sees carries that history, with the
// recent-engagement features that show the user's trust. Also Spearman's
// rank correlation (stages/evaluators/statistics.h) on hand-computed cases.
#include <algorithm>
#include <cmath>

#include "graph/stage_runner.h"
#include "gtest/gtest.h"
#include "stages/evaluators/statistics.h"
#include "stages/sim/sim_dynamics.h"
#include "stages/sim/simulator_evaluator.h"
#include "tests/util/run_graph_util.h"
#include "tests/util/test_util.h"

namespace resact {
namespace {

// Records the states it acts on; acts along the user's embedding in s_h.
class StateRecorder : public Policy {
 public:
  explicit StateRecorder(const FeatureLayout& layout) : layout_(layout) {}
  int state_dim() const override { return layout_.state_dim(); }
  int action_dim() const override { return layout_.emb_dim; }
  absl::Status Act(const float* states, int64_t n, float* actions) const override {
    const int sd = state_dim(), d = layout_.emb_dim;
    if (first_.empty()) first_.assign(states, states + n * sd);  // Every user's first state.
    for (int64_t i = 0; i < n; ++i) {
      for (int c = 0; c < d; ++c) {
        actions[i * d + c] = std::clamp(4 * states[i * sd + c], -1.f, 1.f);
      }
    }
    return absl::OkStatus();
  }
  mutable std::vector<float> first_;

 private:
  FeatureLayout layout_;
};

SimulatorOptions LongTerm() {
  SimulatorOptions o;
  o.set_scale(0.01);
  o.set_dynamics(SimulatorOptions::LONG_TERM);
  return o;
}

SimEvalConfig Config(double history_days) {
  SimEvalConfig c;
  c.users = 200;
  c.days = 4;
  c.history_days = history_days;
  c.bootstrap = 100;
  c.engagement_dim = FeatureLayout::kEngagementDim;
  return c;
}

TEST(SimulatorHistory, EveryPolicyStartsFromTheStateTheUsersOwnHistoryProduced) {
  const SimWorld world(LongTerm());
  const double trust0 = world.options().long_term().trust_initial();
  const SimEvalConfig c = Config(7);
  FeatureLayout layout;
  layout.emb_dim = world.dim();
  layout.engagement_dim = c.engagement_dim;
  StateRecorder policy(layout);
  auto base = SimulateUsers(world, c, nullptr);
  auto served = SimulateUsers(world, c, &policy);
  ASSERT_TRUE(base.ok() && served.ok()) << served.status();
  const int64_t history_end_ms = (world.options().start_ts() + 7 * 86400) * 1000;
  std::vector<double> trust, recent_return;
  const int sd = layout.state_dim(), d = layout.emb_dim;
  size_t row = 0;  // Users with a session in the evaluated days, in order.
  int with_history = 0;
  for (size_t u = 0; u < base->size(); ++u) {
    const SimTrace& b = (*base)[u];
    const SimTrace& p = (*served)[u];
    // The same history, whatever is served afterwards.
    EXPECT_EQ(b.start_trust, p.start_trust) << "user " << u;
    EXPECT_EQ(b.history_sessions, p.history_sessions) << "user " << u;
    if (p.session_start_ms.empty()) continue;
    EXPECT_GE(p.session_start_ms.front(), history_end_ms) << "user " << u;
    EXPECT_EQ(p.return_hours.size() + 1, p.session_length.size());
    with_history += p.history_sessions > 0;
    // The first state the policy sees has that history: log1p(sessions).
    ASSERT_LE((row + 1) * sd, policy.first_.size());
    const float* s = policy.first_.data() + row * sd;
    EXPECT_FLOAT_EQ(s[d], std::log1p(static_cast<double>(p.history_sessions))) << "user " << u;
    if (p.history_sessions >= 2) {
      trust.push_back(p.start_trust);
      recent_return.push_back(s[d + 8]);  // recent_log1p_return_hours
    }
    ++row;
  }
  EXPECT_EQ(row * sd, policy.first_.size());
  EXPECT_GT(with_history, 150);
  // The history moved trust away from where a new user starts, user by user.
  double mean = 0, var = 0;
  for (double t : trust) mean += t;
  mean /= trust.size();
  for (double t : trust) var += (t - mean) * (t - mean);
  const double sd_trust = std::sqrt(var / trust.size());
  std::cout << "start trust: mean " << mean << ", sd " << sd_trust << " (" << trust.size()
            << " users)\n";
  EXPECT_GT(sd_trust, 0.05);
  // Higher trust brings users back sooner: the state's recent return time
  // falls with trust (measured -0.67).
  const double rho = SpearmanCorrelation(trust, recent_return);
  std::cout << "Spearman(trust, recent_log1p_return_hours) = " << rho << "\n";
  EXPECT_LT(rho, -0.25);

  // Without a history every user starts new.
  auto fresh = SimulateUsers(world, Config(0), nullptr);
  ASSERT_TRUE(fresh.ok());
  for (const SimTrace& t : *fresh) {
    EXPECT_EQ(t.history_sessions, 0);
    EXPECT_EQ(t.start_trust, trust0);
  }
}

// Users started once (HeldOutUsers) give every call the traces that users
// living their history anew give, for the policy, π_β and an oracle, and for
// a prefix of the users; a start made for another configuration is refused.
TEST(SimulatorHistory, UsersStartedOnceGiveTheTracesOfUsersStartedAnew) {
  const SimWorld world(LongTerm());
  const SimEvalConfig c = Config(5);
  auto start = HeldOutUsers::Start(world, c);
  ASSERT_TRUE(start.ok()) << start.status();
  EXPECT_EQ((*start)->size(), c.users);
  FeatureLayout layout;
  layout.emb_dim = world.dim();
  layout.engagement_dim = c.engagement_dim;
  StateRecorder policy(layout);
  const SimDynamics dynamics(world);
  const GreedyOracle greedy(dynamics);
  SimEvalConfig fewer = c;
  fewer.users = 60;
  auto same = [](const std::vector<SimTrace>& a, const std::vector<SimTrace>& b) {
    if (a.size() != b.size()) return false;
    for (size_t u = 0; u < a.size(); ++u) {
      if (a[u].session_length != b[u].session_length || a[u].return_hours != b[u].return_hours ||
          a[u].session_start_ms != b[u].session_start_ms || a[u].start_trust != b[u].start_trust) {
        return false;
      }
    }
    return true;
  };
  for (const SimEvalConfig& config : {c, fewer}) {
    auto anew = SimulateUsers(world, config, &policy);
    auto shared = SimulateUsers(world, config, &policy, nullptr, start->get());
    ASSERT_TRUE(anew.ok() && shared.ok()) << shared.status();
    EXPECT_TRUE(same(*anew, *shared)) << config.users << " users, policy";
    auto b0 = SimulateUsers(world, config, nullptr);
    auto b1 = SimulateUsers(world, config, nullptr, nullptr, start->get());
    EXPECT_TRUE(same(*b0, *b1)) << config.users << " users, pi_b";
    auto g0 = SimulateUsers(world, config, nullptr, &greedy);
    auto g1 = SimulateUsers(world, config, nullptr, &greedy, start->get());
    EXPECT_TRUE(same(*g0, *g1)) << config.users << " users, greedy oracle";
    EXPECT_FALSE(same(*b0, *g0));  // The comparison can fail.
  }
  SimEvalConfig other = c;
  other.history_days = 2;
  auto refused = SimulateUsers(world, other, nullptr, nullptr, start->get());
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("2 days of history"), std::string::npos)
      << refused.status();
  SimEvalConfig more = c;
  more.users = c.users + 1;
  EXPECT_FALSE(SimulateUsers(world, more, nullptr, nullptr, start->get()).ok());
}

// The evaluator refuses a replay simulated in another world.
TEST(SimulatorHistory, TheEvaluatorsWorldMustBeTheLogs) {
  SimulatorOptions log = LongTerm();
  log.set_seed(3);
  const std::string desc = SimulatorSourceDescription(log, 998);
  EXPECT_EQ(desc, "simulator, 998 users, seed 3, dynamics LONG_TERM");
  EXPECT_TRUE(CheckSimulatedWith(desc, log, "r").ok());
  SimulatorOptions other = log;
  other.set_dynamics(SimulatorOptions::STATIC);
  const absl::Status s = CheckSimulatedWith(desc, other, "runs/x/replay");
  EXPECT_TRUE(absl::IsFailedPrecondition(s)) << s;
  EXPECT_NE(s.message().find("replay runs/x/replay was simulated in another world (" + desc +
                             ") than this evaluation's (seed 3, dynamics STATIC)"),
            std::string::npos)
      << s;
  other = log;
  other.set_seed(4);
  EXPECT_FALSE(CheckSimulatedWith(desc, other, "r").ok());
  // Other sources, and descriptions written before the dynamics were, pass.
  EXPECT_TRUE(CheckSimulatedWith("files ratings.csv", other, "r").ok());
  EXPECT_TRUE(CheckSimulatedWith("simulator, 998 users, seed 4", other, "r").ok());
  // As a run records it (RunSources: "stage: description; ...").
  EXPECT_FALSE(CheckSimulatedWith("items: files i.csv; simulate: " + desc, other, "r").ok());
  EXPECT_TRUE(CheckSimulatedWith("simulate: " + desc, log, "r").ok());
}

double Value(const MetricsBatch& m, const std::string& name) {
  for (size_t i = 0; i < m.name.size(); ++i) {
    if (m.name[i] == name) return m.value[i];
  }
  return NAN;
}

// The SimulatorEvaluator stage on a LONG_TERM replay: the oracle rows, the
// same when read back from the reference cache, a damaged cache file named,
// and a world other than the log's refused.
TEST(SimulatorHistory, TheStageReportsTheOraclesOnceThroughItsCache) {
  testing_util::ScopedTempDir dir("sim_reference");
  const auto run = testing_util::RunShippedSpec(
      "recl_sim.pbtxt",
      {"simulate.sim.scale=0.002", "simulate.sim.days=4", "simulate.sim.dynamics=LONG_TERM",
       "features.engagement_features=true"},
      dir.path());
  ASSERT_TRUE(run.ok()) << run.status();

  const SimWorld world(LongTerm());
  FeatureLayout layout;
  layout.emb_dim = world.dim();
  layout.engagement_dim = FeatureLayout::kEngagementDim;
  layout.static_user_dim = world.dim();
  auto snap = std::make_shared<PolicySnapshot>();
  snap->algo = "recorder";
  snap->task = "return_time";
  snap->policy = std::make_shared<StateRecorder>(layout);
  auto evaluate = [&](const std::string& dynamics) -> absl::StatusOr<MetricsBatch> {
    ASSIGN_OR_RETURN(auto runner, StageRunner::Create(R"pb(
      name: "sim_eval" type: "SimulatorEvaluator"
      input_stream: "policies" output_stream: "sim_metrics"
      options { [type.googleapis.com/resact.SimulatorEvaluatorOptions] {
        sim { scale: 0.01 seed: 1 dynamics: )pb" + dynamics + R"pb( }
        users: 30 days: 2 bootstrap: 50 lookahead_rollouts: 2 lookahead_candidates: 4
        reference_cache: "reference" curve_users: 12 } }
    )pb", dir.path()));
    RETURN_IF_ERROR(runner->Feed<PolicySnapshot>(0, snap));
    RETURN_IF_ERROR(runner->Close());
    auto out = runner->Outputs<MetricsBatch>(0);
    if (out.size() != 1) return absl::InternalError("expected one metrics batch");
    return *out[0];
  };
  // A learning-curve point simulates curve_users users, the final all.
  auto point = evaluate("LONG_TERM");
  ASSERT_TRUE(point.ok()) << point.status();
  EXPECT_EQ(Value(*point, "sim_users"), 12);
  snap->final = true;
  auto first = evaluate("LONG_TERM");
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(Value(*first, "sim_users"), 30);
  // π_β over the same users: a different mean over fewer of them.
  EXPECT_NE(Value(*point, "sim_behaviour_reward"), Value(*first, "sim_behaviour_reward"));
  for (const char* k : {"sim_greedy_oracle_reward", "sim_lookahead_oracle_reward",
                        "sim_lookahead_oracle_return_hours", "sim_behaviour_reward", "sim_reward"}) {
    EXPECT_TRUE(std::isfinite(Value(*first, k))) << k;
  }
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir / "reference")) {
    if (e.path().filename().string().rfind("oracles-return_time-", 0) == 0) files.push_back(e);
  }
  ASSERT_EQ(files.size(), 1u);
  // A second evaluator reads the rows: the same values, to the bit.
  auto second = evaluate("LONG_TERM");
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->name, first->name);
  EXPECT_EQ(second->value, first->value);
  // A damaged file is named, not skipped.
  testing_util::WriteWholeFile(files[0].string(), "sim_greedy_oracle_reward x\n");
  auto damaged = evaluate("LONG_TERM");
  ASSERT_FALSE(damaged.ok());
  EXPECT_NE(damaged.status().message().find(files[0].string()), std::string::npos)
      << damaged.status();
  // The log was simulated LONG_TERM: a STATIC evaluation is refused.
  auto other = evaluate("STATIC");
  EXPECT_TRUE(absl::IsFailedPrecondition(other.status())) << other.status();
}

// Candidates from the user's profile (in s_h) scaled by −1 .. +1, scored by
// that scale times `sign`: +1 ranks the liked items first, which the world's
// response rewards, −1 the reverse.
class ProfileCandidates : public Policy {
 public:
  ProfileCandidates(const FeatureLayout& layout, float sign) : layout_(layout), sign_(sign) {}
  int state_dim() const override { return layout_.state_dim(); }
  int action_dim() const override { return layout_.emb_dim; }
  int candidates() const override { return 6; }
  absl::Status Act(const float*, int64_t, float*) const override {
    return absl::UnimplementedError("not used");
  }
  absl::Status ScoredCandidates(const float* states, int64_t n, float* actions,
                                float* scores) const override {
    const int d = layout_.emb_dim, sd = state_dim();
    const float* profile_at = states + layout_.session_dim() - layout_.static_user_dim;
    for (int64_t i = 0; i < n; ++i) {
      for (int m = 0; m < 6; ++m) {
        const float scale = -1 + 0.4f * m;
        for (int c = 0; c < d; ++c) {
          actions[(i * 6 + m) * d + c] = std::clamp(scale * profile_at[i * sd + c], -1.f, 1.f);
        }
        scores[i * 6 + m] = sign_ * scale;
      }
    }
    return absl::OkStatus();
  }

 private:
  FeatureLayout layout_;
  float sign_;
};

TEST(SimulatorHistory, CriticQualityAgainstTheWorldsKnownResponse) {
  SimulatorOptions o;
  o.set_scale(0.01);
  const SimWorld world(o);
  SimEvalConfig c = Config(0);
  c.engagement_dim = 0;
  c.static_user_dim = world.dim();
  FeatureLayout layout;
  layout.emb_dim = world.dim();
  layout.static_user_dim = world.dim();
  OracleObjective objective;  // The return-time task.
  const ProfileCandidates liked(layout, 1), disliked(layout, -1);
  auto good = RateCritic(world, c, liked, objective, 120, 8, 1);
  auto bad = RateCritic(world, c, disliked, objective, 120, 8, 1);
  ASSERT_TRUE(good.ok() && bad.ok()) << good.status() << bad.status();
  std::cout << "liked first: Spearman " << good->spearman << ", pick gain " << good->pick_gain
            << ", best gain " << good->best_gain << " over " << good->states << " states\n";
  EXPECT_GT(good->states, 100);
  // Serving what the user likes brings them back sooner.
  EXPECT_GT(good->spearman, 0.3);
  EXPECT_GT(good->pick_gain, 0);
  EXPECT_GE(good->best_gain, good->pick_gain);
  // The reversed ranking of the same candidates on the same rollouts.
  EXPECT_EQ(bad->states, good->states);
  EXPECT_NEAR(bad->spearman, -good->spearman, 1e-12);
  EXPECT_LT(bad->pick_gain, 0);
  EXPECT_DOUBLE_EQ(bad->best_gain, good->best_gain);
  // A policy without candidates cannot be rated.
  StateRecorder plain(layout);
  EXPECT_FALSE(RateCritic(world, c, plain, objective, 10, 2, 1).ok());
}

TEST(SimulatorHistory, SpearmanOnHandComputedCases) {
  EXPECT_DOUBLE_EQ(SpearmanCorrelation({1, 2, 3, 4}, {10, 20, 30, 40}), 1);
  EXPECT_DOUBLE_EQ(SpearmanCorrelation({1, 2, 3, 4}, {4, 1, -2, -9}), -1);
  // Ranks x (1, 2, 3), y (1, 3, 2): 1 − 6·2/(3·8) = 0.5.
  EXPECT_NEAR(SpearmanCorrelation({0.1, 0.5, 0.9}, {5, 7, 6}), 0.5, 1e-12);
  // Ties: x ranks (1.5, 1.5, 3), y ranks (1, 2, 3): Pearson of the ranks
  // = 1.5 / sqrt(1.5·2) = √3/2.
  EXPECT_NEAR(SpearmanCorrelation({2, 2, 5}, {1, 2, 3}), std::sqrt(3.0) / 2, 1e-12);
  EXPECT_TRUE(std::isnan(SpearmanCorrelation({1, 1, 1}, {1, 2, 3})));
  EXPECT_TRUE(std::isnan(SpearmanCorrelation({1}, {1})));
}

}  // namespace
}  // namespace resact
