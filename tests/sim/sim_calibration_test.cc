// Table 1 calibration of the simulator's π_β log at 0.01 scale, for both
// worlds (STATIC and LONG_TERM), against the paper's RecL-25m statistics;
// under LONG_TERM also the spread of the users' final trust.
#include <algorithm>
#include <cmath>

#include "gmock/gmock.h"
#include "storage/log_stats.h"
#include "gtest/gtest.h"
#include "stages/sim/sim_dynamics.h"
#include "stages/sim/simulator_log_source.h"
#include "tbb/parallel_for.h"

namespace resact {
namespace {

// Table 1 statistics of a simulated log, sessionized with a 30-minute gap.
// When `final_trust` is set it receives each user's trust at the end of the
// horizon, replayed from the logged items (SimDynamics::Consume).
LogStats SimulatedStats(const SimulatorOptions& o, std::vector<double>* final_trust = nullptr) {
  SimWorld world(o);
  const SimDynamics dynamics(world);
  const int64_t n = world.num_users();
  std::vector<SimUserLog> logs(n);
  tbb::parallel_for(int64_t{0}, n, [&](int64_t i) { SimulateLoggedUser(world, i + 1, &logs[i]); });
  LogStatsAccumulator acc;
  if (final_trust) final_trust->clear();
  for (const SimUserLog& l : logs) {
    std::vector<uint64_t> lengths;
    std::vector<double> returns;
    int64_t prev = 0;
    SimUserState state = dynamics.InitialState();
    for (size_t r = 0; r < l.ts_ms.size(); ++r) {
      if (r == 0 || l.ts_ms[r] - prev > 1800 * 1000) {
        if (r > 0) returns.push_back((l.ts_ms[r] - prev) / 3.6e6);
        lengths.push_back(0);
      }
      ++lengths.back();
      prev = l.ts_ms[r];
      dynamics.Consume(state, static_cast<int32_t>(l.item[r] - 1));  // Item ids are rows + 1.
    }
    acc.AddUser(lengths.data(), lengths.size(), returns.data());
    if (final_trust) final_trust->push_back(state.trust);
  }
  return acc.Finish();
}

// The statistics the calibration holds to, each within `tol` of the paper's.
void ExpectNearTable1(const LogStats& s, double tol) {
  const LogStats paper = PaperRecl25mStats();
  std::cout << FormatLogStats(s, &paper);
  auto near = [tol](double v, double target, const char* what) {
    EXPECT_NEAR(v, target, tol * target) << what << ": target " << target;
  };
  EXPECT_EQ(s.users, 999u);
  near(s.sessions_per_user_mean, paper.sessions_per_user_mean, "sessions per user, mean");
  near(s.sessions_per_user_q25, paper.sessions_per_user_q25, "sessions per user, q25");
  near(s.sessions_per_user_q75, paper.sessions_per_user_q75, "sessions per user, q75");
  near(s.session_length_mean, paper.session_length_mean, "session length, mean");
  near(s.session_length_q25, paper.session_length_q25, "session length, q25");
  near(s.session_length_q75, paper.session_length_q75, "session length, q75");
  near(s.return_hours_q25, paper.return_hours_q25, "return hours, q25");
  near(s.return_hours_q75, paper.return_hours_q75, "return hours, q75");
  near(static_cast<double>(s.requests) / s.users,
       static_cast<double>(paper.requests) / paper.users, "requests per user");
}

double TrustQuantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(q * (v.size() - 1))];
}

TEST(SimCalibration, ScaledLogMatchesPaperTable1) {
  SimulatorOptions o;
  o.set_scale(0.01);
  // 10% at full scale; 15% here for the sampling noise of 999 users.
  ExpectNearTable1(SimulatedStats(o), 0.15);
}

TEST(SimCalibration, LongTermScaledLogMatchesPaperTable1AndTrustStaysSpread) {
  SimulatorOptions o;
  o.set_scale(0.01);
  o.set_dynamics(SimulatorOptions::LONG_TERM);
  std::vector<double> trust;
  ExpectNearTable1(SimulatedStats(o, &trust), 0.10);
  double mean = 0;
  for (double t : trust) mean += t / trust.size();
  const double q25 = TrustQuantile(trust, 0.25), q50 = TrustQuantile(trust, 0.5);
  const double q75 = TrustQuantile(trust, 0.75);
  std::cout << "final trust: mean " << mean << ", q10 " << TrustQuantile(trust, 0.1) << ", q25 "
            << q25 << ", median " << q50 << ", q75 " << q75 << ", q90 "
            << TrustQuantile(trust, 0.9) << "\n";
  // π_β's users neither collapse to the lower bound nor saturate the upper
  // one: a better policy has room above, a worse one below.
  EXPECT_GT(q25, 0.15);
  EXPECT_LT(q75, 0.85);
  EXPECT_GT(q75 - q25, 0.1);
  EXPECT_NEAR(mean, 0.5, 0.15);
}

}  // namespace
}  // namespace resact
