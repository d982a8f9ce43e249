#include <cmath>

#include "gmock/gmock.h"
#include "storage/log_stats.h"
#include "gtest/gtest.h"
#include "stages/sim/simulator_log_source.h"
#include "tbb/parallel_for.h"

namespace resact {
namespace {

// Table 1 statistics of a simulated log, sessionized with a 30-minute gap.
LogStats SimulatedStats(const SimulatorOptions& o) {
  SimWorld world(o);
  const int64_t n = world.num_users();
  std::vector<SimUserLog> logs(n);
  tbb::parallel_for(int64_t{0}, n, [&](int64_t i) { SimulateLoggedUser(world, i + 1, &logs[i]); });
  LogStatsAccumulator acc;
  for (const SimUserLog& l : logs) {
    std::vector<uint64_t> lengths;
    std::vector<double> returns;
    int64_t prev = 0;
    for (size_t r = 0; r < l.ts_ms.size(); ++r) {
      if (r == 0 || l.ts_ms[r] - prev > 1800 * 1000) {
        if (r > 0) returns.push_back((l.ts_ms[r] - prev) / 3.6e6);
        lengths.push_back(0);
      }
      ++lengths.back();
      prev = l.ts_ms[r];
    }
    acc.AddUser(lengths.data(), lengths.size(), returns.data());
  }
  return acc.Finish();
}

TEST(SimCalibration, ScaledLogMatchesPaperTable1) {
  SimulatorOptions o;
  o.set_scale(0.01);
  LogStats s = SimulatedStats(o);
  LogStats paper = PaperRecl25mStats();
  std::cout << FormatLogStats(s, &paper);
  auto near = [](double v, double target, double tol) {
    EXPECT_NEAR(v, target, tol * target) << "target " << target;
  };
  EXPECT_EQ(s.users, 999u);
  // 10% at full scale; 15% here for the sampling noise of 999 users.
  near(s.sessions_per_user_mean, paper.sessions_per_user_mean, 0.15);
  near(s.sessions_per_user_q25, paper.sessions_per_user_q25, 0.15);
  near(s.sessions_per_user_q75, paper.sessions_per_user_q75, 0.15);
  near(s.session_length_mean, paper.session_length_mean, 0.15);
  near(s.session_length_q25, paper.session_length_q25, 0.15);
  near(s.session_length_q75, paper.session_length_q75, 0.15);
  near(s.return_hours_q25, paper.return_hours_q25, 0.15);
  near(s.return_hours_q75, paper.return_hours_q75, 0.15);
  near(static_cast<double>(s.requests) / s.users,
       static_cast<double>(paper.requests) / paper.users, 0.15);
}

}  // namespace
}  // namespace resact
