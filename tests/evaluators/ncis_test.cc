#include <cmath>
#include <random>

#include "gtest/gtest.h"
#include "stages/evaluators/ncis.h"

namespace resact {
namespace {

NcisTrajectory Traj(const std::vector<double>& log_ratio, const std::vector<double>& r) {
  NcisTrajectory t;
  t.logp_beta.assign(r.size(), -1.0);
  for (double lr : log_ratio) t.logp_pi.push_back(-1.0 + lr);
  t.reward = r;
  return t;
}

// Three trajectories with known ratios; the cap c = 10 is active on one weight.
//  ξ1: ρ = (2, 0.5),        r = (1, 3):  (2·1 + 0.5·3) / 2.5   = 1.4
//  ξ2: ρ = (e^3 → 10, 1),  r = (0, 2):  (10·0 + 1·2) / 11     = 0.181818…
//  ξ3: ρ = (1),             r = (5):     5
//  J = (1.4 + 0.181818 + 5) / 3 = 2.193939…
TEST(Ncis, HandComputedExampleWithTheCapActive) {
  std::vector<NcisTrajectory> ts = {Traj({std::log(2.0), std::log(0.5)}, {1, 3}),
                                    Traj({3.0, 0.0}, {0, 2}), Traj({0.0}, {5})};
  NcisOptions o;
  o.cap = 10;
  NcisResult r = Ncis(ts, o);
  EXPECT_NEAR(r.value, (1.4 + 2.0 / 11 + 5) / 3, 1e-12);
  EXPECT_EQ(r.trajectories, 3);
  EXPECT_EQ(r.transitions, 5);
  EXPECT_NEAR(r.capped_fraction, 1.0 / 5, 1e-12);
  const double sum = 2 + 0.5 + 10 + 1 + 1, sq = 4 + 0.25 + 100 + 1 + 1;
  EXPECT_NEAR(r.ess, sum * sum / sq, 1e-9);
  EXPECT_LE(r.ci_low, r.value);
  EXPECT_GE(r.ci_high, r.value);
}

TEST(Ncis, EqualsMeanOfPerTrajectoryMeanRewardsWhenPiIsPiBeta) {
  std::mt19937_64 rng(5);
  std::normal_distribution<double> n(0, 3);
  std::uniform_int_distribution<int> len(1, 30);
  std::vector<NcisTrajectory> ts;
  double expect = 0;
  for (int k = 0; k < 200; ++k) {
    NcisTrajectory t;
    double sum = 0;
    const int l = len(rng);
    for (int i = 0; i < l; ++i) {
      const double lp = n(rng);
      t.logp_pi.push_back(lp);
      t.logp_beta.push_back(lp);
      t.reward.push_back(std::floor(std::abs(n(rng))));
      sum += t.reward.back();
    }
    expect += sum / l;
    ts.push_back(t);
  }
  expect /= 200;
  NcisResult r = Ncis(ts, NcisOptions());
  EXPECT_NEAR(r.value, expect, 1e-12);
  EXPECT_EQ(r.capped_fraction, 0);
  EXPECT_NEAR(r.ess_fraction, 1.0, 1e-12);
}

// Over repeated draws of data from a known distribution, the 95% bootstrap
// interval covers the true mean about 95% of the time.
TEST(Ncis, BootstrapIntervalCoversTheTrueMeanAbout95Percent) {
  std::mt19937_64 rng(123);
  std::exponential_distribution<double> e(0.5);  // mean 2
  int covered = 0;
  const int draws = 400;
  for (int d = 0; d < draws; ++d) {
    std::vector<double> v(200);
    for (double& x : v) x = e(rng);
    double lo, hi;
    BootstrapMeanCi(v, 1000, 0.95, d, &lo, &hi);
    covered += lo <= 2.0 && 2.0 <= hi;
  }
  const double rate = static_cast<double>(covered) / draws;
  EXPECT_GT(rate, 0.91);
  EXPECT_LT(rate, 0.98);
}

TEST(Ncis, MeanTIntervalAcrossSeeds) {
  double mean, half;
  MeanTInterval({1, 2, 3, 4, 5}, &mean, &half);
  EXPECT_DOUBLE_EQ(mean, 3);
  EXPECT_NEAR(half, 2.776 * std::sqrt(2.5) / std::sqrt(5.0), 1e-9);
  MeanTInterval({7}, &mean, &half);
  EXPECT_EQ(mean, 7);
  EXPECT_EQ(half, 0);
}

}  // namespace
}  // namespace resact
