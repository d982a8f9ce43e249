// The closed loop's simulated users (stages/sim/sim_population.h): under π_β
// they live exactly the simulated log of SimulatorLogSource, day by day,
// with sessions that cross midnight going on the next day; under a policy
// every logged propensity is the exploration's Gaussian density of the
// served item around the policy's action; a day's summary counts the
// sessions that start on it.
#include <algorithm>
#include <cmath>
#include <map>
#include <tuple>

#include "gtest/gtest.h"
#include "stages/sim/sim_population.h"
#include "stages/sim/simulator_log_source.h"

namespace resact {
namespace {

SimulatorOptions World() {
  SimulatorOptions o;
  o.set_scale(0.002);
  o.set_dynamics(SimulatorOptions::LONG_TERM);
  return o;
}

using Row = std::tuple<int64_t, int64_t, int64_t, float, float>;  // user, ts, item, fb, lp.

std::vector<Row> Rows(const SimDayLog& log) {
  std::vector<Row> rows;
  for (size_t i = 0; i < log.size(); ++i) {
    rows.emplace_back(log.user[i], log.ts_ms[i], log.item[i], log.feedback[i], log.logprob[i]);
  }
  std::sort(rows.begin(), rows.end());
  return rows;
}

TEST(SimPopulation, UnderPiBetaLivesTheSimulatedLogDayByDay) {
  const SimWorld world(World());
  const int days = 3;
  auto pop = SimPopulation::Start(world, SimEvalConfig(), 0, days);
  ASSERT_TRUE(pop.ok()) << pop.status();
  ASSERT_EQ((*pop)->size(), world.num_users());
  // The reference: each user's log from SimulatorLogSource, split by day.
  std::map<int64_t, std::vector<Row>> expected;
  for (int64_t u = 1; u <= world.num_users(); ++u) {
    SimUserLog l;
    SimulateLoggedUser(world, u, &l);
    for (size_t i = 0; i < l.item.size(); ++i) {
      const int64_t day = SimDayOf(world.options(), l.ts_ms[i]);
      if (day < days) expected[day].emplace_back(u, l.ts_ms[i], l.item[i], l.feedback[i], l.logprob[i]);
    }
  }
  int crossing = 0;  // Users whose session of one day goes on the next.
  std::map<int64_t, int64_t> last_ts;  // Per user, its last request of the days before.
  for (int d = 0; d < days; ++d) {
    SimDayLog log;
    ASSERT_TRUE((*pop)->LiveDay(d, SimServing{}, 0, 1, &log).ok());
    const std::vector<Row> got = Rows(log);
    std::sort(expected[d].begin(), expected[d].end());
    ASSERT_EQ(got.size(), expected[d].size()) << "day " << d;
    for (size_t i = 0; i < got.size(); ++i) {
      const Row& g = got[i];
      const Row& e = expected[d][i];
      ASSERT_TRUE(g == e) << "day " << d << " row " << i << ": user " << std::get<0>(g) << " vs "
                          << std::get<0>(e) << ", ts " << std::get<1>(g) << " vs "
                          << std::get<1>(e) << ", item " << std::get<2>(g) << " vs "
                          << std::get<2>(e) << ", feedback " << std::get<3>(g) << " vs "
                          << std::get<3>(e) << ", logprob " << std::get<4>(g) << " vs "
                          << std::get<4>(e);
    }
    std::map<int64_t, int64_t> first;
    for (const Row& r : got) first.emplace(std::get<0>(r), std::get<1>(r));
    for (const auto& [user, ts] : first) {
      auto it = last_ts.find(user);
      if (it != last_ts.end() && ts - it->second < 1800 * 1000) ++crossing;
    }
    for (const Row& r : got) last_ts[std::get<0>(r)] = std::get<1>(r);
  }
  EXPECT_GT(crossing, 0) << "no session crossed midnight: the test does not cover it";
  // Days in order, each once, within the population's days.
  EXPECT_FALSE((*pop)->LiveDay(1, SimServing{}, 0, 1, nullptr).ok());
  EXPECT_FALSE((*pop)->LiveDay(3, SimServing{}, 0, 1, nullptr).ok());
}

// Acts with one fixed action whatever the state; counts the states.
class FixedPolicy : public Policy {
 public:
  FixedPolicy(int state_dim, std::vector<float> action)
      : state_dim_(state_dim), action_(std::move(action)) {}
  int state_dim() const override { return state_dim_; }
  int action_dim() const override { return static_cast<int>(action_.size()); }
  absl::Status Act(const float*, int64_t n, float* actions) const override {
    for (int64_t i = 0; i < n; ++i) std::copy(action_.begin(), action_.end(), actions + i * action_dim());
    states_ += n;
    return absl::OkStatus();
  }
  mutable int64_t states_ = 0;

 private:
  int state_dim_;
  std::vector<float> action_;
};

TEST(SimPopulation, APolicyServesWithExplorationAndLogsItsGaussianDensity) {
  const SimWorld world(World());
  const int d = world.dim();
  SimEvalConfig c;
  c.static_user_dim = d;
  c.engagement_dim = FeatureLayout::kEngagementDim;
  FeatureLayout layout;
  layout.emb_dim = d;
  layout.static_user_dim = d;
  layout.engagement_dim = FeatureLayout::kEngagementDim;
  std::vector<float> a(d);
  for (int j = 0; j < d; ++j) a[j] = (j % 2 == 0 ? 0.3f : -0.2f);
  FixedPolicy policy(layout.state_dim(), a);
  auto pop = SimPopulation::Start(world, c, 50, 2);
  ASSERT_TRUE(pop.ok()) << pop.status();
  const double sd = 0.3;
  SimServing serving;
  serving.policy = &policy;
  serving.exploration_std = sd;
  SimDayLog log;
  ASSERT_TRUE((*pop)->LiveDay(0, serving, 0, 1, &log).ok());
  ASSERT_GT(log.size(), 100u);
  EXPECT_EQ(policy.states_, static_cast<int64_t>(log.size()));  // One state per request.
  std::map<int64_t, int32_t> row_of;
  for (int32_t r = 0; r < world.items().size(); ++r) row_of[world.items().item_id[r]] = r;
  std::map<int64_t, int> served;
  for (size_t i = 0; i < log.size(); ++i) {
    const float* e = world.items().row(row_of.at(log.item[i]));
    double q = 0;
    for (int j = 0; j < d; ++j) q += (e[j] - a[j]) * (e[j] - a[j]) / (sd * sd);
    const double want = -0.5 * q - d * std::log(sd) - 0.5 * d * std::log(2 * M_PI);
    EXPECT_NEAR(log.logprob[i], want, 1e-3 * std::max(1.0, std::abs(want))) << "row " << i;
    EXPECT_EQ(SimDayOf(world.options(), log.ts_ms[i]), 0);
    ++served[log.item[i]];
  }
  // Exploration spreads the served items; without it one item would serve all.
  EXPECT_GT(served.size(), 10u);
  // No exploration, or a policy of another state width: errors.
  serving.exploration_std = 0;
  EXPECT_FALSE((*pop)->LiveDay(1, serving, 0, 1, nullptr).ok());
  FixedPolicy narrow(layout.state_dim() - 1, a);
  serving.policy = &narrow;
  serving.exploration_std = sd;
  const absl::Status s = (*pop)->LiveDay(1, serving, 0, 1, nullptr);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("states of"), std::string::npos) << s;
}

TEST(SimPopulation, ADaysSummaryCountsTheSessionsThatStartOnIt) {
  SimulatorOptions o;
  o.set_start_ts(0);
  const int64_t day_ms = 86400000;
  // One user: sessions of 4 and 2 requests on day 0 (returns after 3 h and
  // 20 h), one of 6 on day 1 whose return is unknown.
  SimTrace t;
  t.session_length = {4, 2, 6};
  t.session_start_ms = {1000, 4 * 3600000, day_ms + 3600000};
  t.session_end_ms = {2000, 4 * 3600000 + 1000, day_ms + 3600000 + 5000};
  t.return_hours = {3, 20};
  SimEvalConfig c;
  c.return_cap_hours = 6;
  c.bootstrap = 10;
  const std::vector<SimTrace> traces = {t};
  MetricsBatch day0, day1;
  SummarizeDay(traces, traces, c, o, 0, 1, 0, "", &day0);
  SummarizeDay(traces, traces, c, o, 1, 1, 0, "", &day1);
  EXPECT_EQ(day0.Get("requests"), 6);
  EXPECT_EQ(day0.Get("active_users"), 1);
  EXPECT_DOUBLE_EQ(day0.Get("return_hours"), 11.5);
  EXPECT_DOUBLE_EQ(day0.Get("session_length"), 3);
  // r_rt per session: floor(min(11.5, 6)/δ) = floor(6/3) = 2 and floor(6/20) = 0.
  EXPECT_DOUBLE_EQ(day0.Get("reward"), 2.0 / 6);
  EXPECT_EQ(day1.Get("requests"), 6);
  EXPECT_DOUBLE_EQ(day1.Get("session_length"), 6);
  EXPECT_DOUBLE_EQ(day1.Get("reward"), 0);  // Its return is not known yet.
}

}  // namespace
}  // namespace resact
