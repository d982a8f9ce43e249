// The LONG_TERM world's dynamics (stages/sim/sim_dynamics.h) against
// hand-computed references at the default LongTermOptions.
#include <cmath>

#include "gtest/gtest.h"
#include "stages/sim/sim_dynamics.h"
#include "stages/sim/sim_rollout.h"
#include "stages/sim/simulator_log_source.h"

namespace resact {
namespace {

SimulatorOptions LongTerm() {
  SimulatorOptions o;
  o.set_scale(0.002);
  o.set_days(5);
  o.set_dynamics(SimulatorOptions::LONG_TERM);
  return o;
}

TEST(SimDynamics, DefaultsAreTheDocumentedOnes) {
  const LongTermOptions lt;
  EXPECT_EQ(SimulatorOptions().dynamics(), SimulatorOptions::STATIC);
  EXPECT_DOUBLE_EQ(lt.satiation_gain(), 0.3);
  EXPECT_DOUBLE_EQ(lt.satiation_decay(), 0.05);
  EXPECT_DOUBLE_EQ(lt.satiation_half_life_hours(), 12);
  EXPECT_DOUBLE_EQ(lt.satiation_weight(), 1);
  EXPECT_DOUBLE_EQ(lt.clickbait_weight(), 0.5);
  EXPECT_DOUBLE_EQ(lt.trust_step(), 0.03);
  EXPECT_DOUBLE_EQ(lt.trust_slope(), 3);
  EXPECT_DOUBLE_EQ(lt.trust_center(), -0.12);
  EXPECT_DOUBLE_EQ(lt.trust_return(), 3);
  EXPECT_DOUBLE_EQ(lt.continue_logit_offset(), 0.11);
  EXPECT_DOUBLE_EQ(lt.return_log_offset(), -0.17);
  EXPECT_DOUBLE_EQ(lt.return_spread_scale(), 0.7);
}

TEST(SimDynamics, ItemsAndQualitiesAreThoseOfTheStaticWorld) {
  SimulatorOptions so = LongTerm();
  so.set_dynamics(SimulatorOptions::STATIC);
  const SimWorld st(so), lt(LongTerm());
  EXPECT_TRUE(st.items().embedding == lt.items().embedding);
  for (int32_t i = 0; i < static_cast<int32_t>(st.items().size()); ++i) {
    ASSERT_EQ(st.quality(i), lt.quality(i));
    ASSERT_EQ(st.clickbait(i), 0.0);
  }
  EXPECT_TRUE(st.clickbait_direction().empty());
  // cb_i = max(0, <e_i, c> + 0.1·ε): within a few noise stds of max(0, <e_i, c>).
  const std::vector<float>& c = lt.clickbait_direction();
  double norm = 0, positive = 0;
  for (float x : c) norm += x * x;
  EXPECT_NEAR(norm, 1, 1e-6);
  for (int32_t i = 0; i < static_cast<int32_t>(lt.items().size()); ++i) {
    double along = 0;
    for (int k = 0; k < lt.dim(); ++k) along += lt.items().row(i)[k] * c[k];
    ASSERT_GE(lt.clickbait(i), 0.0);
    ASSERT_NEAR(lt.clickbait(i), std::max(0.0, along), 0.6);
    positive += lt.clickbait(i) > 0;
  }
  EXPECT_GT(positive, 0.2 * lt.items().size());
}

TEST(SimDynamics, SatiationLowersARepeatedTopicByTheHandComputedAmount) {
  const SimWorld world(LongTerm());
  const SimDynamics dyn(world);
  const SimUser user = world.MakeUser(3);
  SimUserState s = dyn.InitialState();
  const int32_t item = 7;
  int32_t other = 0;  // An item of another topic.
  while (world.topic_of(other) == world.topic_of(item)) ++other;
  // The same noise draw for every evaluation.
  auto sat = [&](int32_t i) {
    SimRng rng = world.UserRng(3, 40);
    return dyn.Satisfaction(user, s, i, rng);
  };
  SimRng rng = world.UserRng(3, 40);
  const double fresh = sat(item), fresh_other = sat(other);
  EXPECT_DOUBLE_EQ(fresh, world.Satisfaction(user, item, rng) + 0.5 * world.clickbait(item));
  dyn.Consume(s, item);  // s = 0.3
  EXPECT_NEAR(fresh - sat(item), 0.3, 1e-12);
  dyn.Consume(s, item);  // s = 0.3·0.95 + 0.3·(1 − 0.3·0.95) = 0.4995
  EXPECT_NEAR(fresh - sat(item), 0.4995, 1e-12);
  EXPECT_NEAR(sat(other), fresh_other, 1e-12);
  dyn.Consume(s, other);  // The first topic decays once more: 0.4995·0.95.
  EXPECT_NEAR(fresh - sat(item), 0.4995 * 0.95, 1e-12);
  EXPECT_NEAR(fresh_other - sat(other), 0.3, 1e-12);
}

TEST(SimDynamics, SatiationDecaysBetweenSessionsWithItsHalfLife) {
  const SimWorld world(LongTerm());
  const SimDynamics dyn(world);
  SimUserState s = dyn.InitialState();
  s.satiation[0] = 0.8;
  s.satiation[1] = 0.2;
  dyn.Rest(s, 6);
  EXPECT_NEAR(s.satiation[0], 0.8 * std::exp(-std::log(2.0) * 6 / 12), 1e-12);
  EXPECT_NEAR(s.satiation[1], 0.2 / std::sqrt(2.0), 1e-12);
  dyn.Rest(s, 12);
  EXPECT_NEAR(s.satiation[0], 0.4 / std::sqrt(2.0), 1e-12);
}

TEST(SimDynamics, TrustShortensTheReturnGapByTheDocumentedFactor) {
  const SimWorld world(LongTerm());
  const SimDynamics dyn(world);
  SimUserState low = dyn.InitialState(), high = low;
  low.trust = 0;
  high.trust = 1;
  // Documented: gap ·= exp(−3·(τ − 0.5)); high vs low = exp(−3).
  const double expect = std::exp(-3.0);
  double sum_low = 0, sum_high = 0;
  for (int u = 1; u <= 400; ++u) {
    const SimUser user = world.MakeUser(u);
    for (double mean_sat : {-1.0, 0.0, 1.0}) {
      SimRng a = world.UserRng(u, 50), b = a, c = a;
      const double hl = dyn.ReturnHours(user, low, mean_sat, a);
      const double hh = dyn.ReturnHours(user, high, mean_sat, b);
      const double h0 = world.ReturnHours(user, mean_sat, c);
      if (hl * expect > world.options().min_return_hours()) {  // Above the floor.
        ASSERT_NEAR(hh / hl, expect, 1e-12);
        // τ = 0.5 is the base gap, times exp(return_log_offset = −0.17) and
        // with its log-deviation from the median 6.25 h scaled by 0.7.
        const double spread = -0.3 * std::log(user.return_hours / 6.25);
        ASSERT_NEAR(h0 / hl, std::exp(-(-0.17 + spread + 1.5)), 1e-9);
      }
      sum_low += hl;
      sum_high += hh;
    }
  }
  // With the floor, the mean return time still moves by far more than 20%.
  const double ratio = sum_high / sum_low;
  RecordProperty("return_hours_high_over_low_trust", std::to_string(ratio));
  EXPECT_GE(ratio, expect);
  EXPECT_LE(ratio, 0.8);
  // And trust raises the continue probability: logit + 0.11 (the offset) +
  // 0.5·(τ − 0.5).
  const SimUser user = world.MakeUser(1);
  const double z = user.continue_logit + 0.5 * 0.3 + 0.11 + 0.5 * 0.5;
  EXPECT_NEAR(dyn.ContinueProbability(user, high, 0.3), 1 / (1 + std::exp(-z)), 1e-12);
  EXPECT_GT(dyn.ContinueProbability(user, high, 0.3), dyn.ContinueProbability(user, low, 0.3));
}

TEST(SimDynamics, ClickbaitRaisesImmediateSatisfactionAndLowersTrust) {
  SimulatorOptions no_cb = LongTerm();
  no_cb.mutable_long_term()->set_clickbait_weight(0);
  no_cb.mutable_long_term()->set_clickbait_scale(0);
  const SimWorld world(LongTerm()), plain(no_cb);
  const SimDynamics dyn(world), dyn_plain(plain);
  int32_t item = 0;  // The item with the most clickbait.
  for (int32_t i = 0; i < static_cast<int32_t>(world.items().size()); ++i) {
    if (world.clickbait(i) > world.clickbait(item)) item = i;
  }
  const double cb = world.clickbait(item);
  ASSERT_GT(cb, 0.5);
  const SimUser user = world.MakeUser(5);
  SimUserState s = dyn.InitialState(), p = dyn_plain.InitialState();
  SimRng r1 = world.UserRng(5, 60), r2 = r1;
  EXPECT_NEAR(dyn.Satisfaction(user, s, item, r1) - dyn_plain.Satisfaction(user, p, item, r2),
              0.5 * cb, 1e-9);
  dyn.Consume(s, item);
  dyn_plain.Consume(p, item);
  // The memory starts at trust_center −0.12 (τ = 0.5) and moves 0.03 of the
  // way to q − cb; τ = sigmoid(3·(m + 0.12)).
  const double q = world.quality(item);
  auto sigmoid = [](double x) { return 1 / (1 + std::exp(-x)); };
  EXPECT_NEAR(s.trust, sigmoid(3 * 0.03 * (q - cb + 0.12)), 1e-12);
  EXPECT_NEAR(p.trust, sigmoid(3 * 0.03 * (q + 0.12)), 1e-12);
  EXPECT_LT(s.trust, p.trust);
  // Trust reverts to the level of what is served: m → q − cb, within bounds.
  for (int k = 0; k < 10000; ++k) dyn.Consume(s, item);
  EXPECT_NEAR(s.trust, sigmoid(3 * (q - cb + 0.12)), 1e-9);
  EXPECT_GE(s.trust, 0.0);
  EXPECT_LE(s.trust, 1.0);
}

TEST(SimDynamics, ChurnedUsersNeverReturn) {
  SimulatorOptions o = LongTerm();
  LongTermOptions& lt = *o.mutable_long_term();
  lt.set_churn(true);
  lt.set_churn_hazard(1);
  lt.set_trust_initial(0);  // Lowest trust, kept there: churn after the first session.
  lt.set_trust_step(0);
  const SimWorld world(o);
  const SimDynamics dyn(world);
  EXPECT_DOUBLE_EQ(dyn.ChurnProbability(dyn.InitialState()), 1);
  for (int64_t u = 1; u <= 50; ++u) {
    SimUserLog l;
    SimulateLoggedUser(world, u, &l);
    ASSERT_FALSE(l.ts_ms.empty());
    for (size_t r = 1; r < l.ts_ms.size(); ++r) {
      ASSERT_LE(l.ts_ms[r] - l.ts_ms[r - 1], 1500 * 1000) << "user " << u << " came back";
    }
  }
  SimEvalConfig c;
  c.users = 50;
  c.days = 5;
  auto traces = SimulateUsers(world, c, nullptr);
  ASSERT_TRUE(traces.ok()) << traces.status();
  for (const SimTrace& t : *traces) {
    EXPECT_EQ(t.session_length.size(), 1u);
    EXPECT_TRUE(t.return_hours.empty());
  }
  // Without churn the same users come back.
  lt.set_churn(false);
  const SimWorld stays(o);
  SimUserLog l;
  SimulateLoggedUser(stays, 1, &l);
  bool returned = false;
  for (size_t r = 1; r < l.ts_ms.size(); ++r) returned |= l.ts_ms[r] - l.ts_ms[r - 1] > 1500 * 1000;
  EXPECT_TRUE(returned);
}

}  // namespace
}  // namespace resact
