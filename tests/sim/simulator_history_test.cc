// The simulator evaluation's held-out users under LONG_TERM dynamics: each
// first lives its own history under π_β (history_days), which every policy
// then shares, and the state the policy sees carries that history, with the
// recent-engagement features that show the user's trust. Also Spearman's
// rank correlation (stages/evaluators/statistics.h) on hand-computed cases.
#include <algorithm>
#include <cmath>

#include "gtest/gtest.h"
#include "stages/evaluators/statistics.h"
#include "stages/sim/sim_dynamics.h"
#include "stages/sim/simulator_evaluator.h"

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
