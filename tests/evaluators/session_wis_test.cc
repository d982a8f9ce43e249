// Session-level weighted IS, NCIS's per-session figure and the paired
// comparison (stages/evaluators/session_wis.h), and the Monte Carlo serve
// probability (stages/evaluators/propensity.h), against hand-computed values
// and exact references.
#include <cmath>
#include <random>

#include "gtest/gtest.h"
#include "stages/evaluators/ncis.h"
#include "stages/evaluators/propensity.h"
#include "stages/evaluators/session_wis.h"

namespace resact {
namespace {

// A trajectory from per-request ratios ρ, rewards and session ends.
OpeTrajectory Traj(const std::vector<double>& rho, const std::vector<double>& r,
                   const std::vector<uint8_t>& end) {
  OpeTrajectory t;
  for (double x : rho) {
    t.logp_beta.push_back(-2.0);
    t.logp_pi.push_back(-2.0 + std::log(x));
  }
  t.reward = r;
  t.session_end = end;
  return t;
}

// Three trajectories of two sessions each; c = 10.
//  ξ1: session 1 ρ = (2, 2), r = (0, 3); session 2 ρ = (0.5), r = (1); then
//      one request of no complete session (r = 100, ignored).
//  ξ2: session 1 ρ = (e³), r = (2);      session 2 ρ = (1, 1, 1), r = (0, 0, 6).
//  ξ3: session 1 ρ = (3, 3), r = (0, 1); session 2 ρ = (3), r = (4).
// Session horizon, weights w = (4, 0.5), (e³ → 10, 1), (9, 3):
//  ξ1: per session (4·3 + 0.5·1) / 4.5 = 2.7778, per request 12.5 / (8 + 0.5)
//  ξ2: (10·2 + 1·6) / 11,                      26 / (10 + 3) = 2
//  ξ3: (9·1 + 3·4) / 12 = 1.75,                21 / (18 + 3) = 1
// Trajectory horizon, w = (4, 2), (10, e³ → 10), (9, 27 → 10):
//  ξ1: (12 + 2) / 6,        14 / (8 + 2) = 1.4
//  ξ2: (20 + 60) / 20 = 4,  80 / (10 + 30) = 2
//  ξ3: (9 + 40) / 19,       49 / (18 + 10) = 1.75
std::vector<OpeTrajectory> HandExample() {
  return {Traj({2, 2, 0.5, 1}, {0, 3, 1, 100}, {0, 1, 1, 0}),
          Traj({std::exp(3.0), 1, 1, 1}, {2, 0, 0, 6}, {1, 0, 0, 1}),
          Traj({3, 3, 3}, {0, 1, 4}, {0, 1, 1})};
}

TEST(SessionWis, HandComputedExampleWithTheCapActive) {
  WisOptions o;
  o.cap = 10;
  o.horizon = WeightHorizon::kSession;
  std::vector<double> weights;
  const auto v = SessionWisPerTrajectory(HandExample(), o, &weights);
  ASSERT_EQ(v.size(), 3u);
  EXPECT_NEAR(v[0].per_session, 12.5 / 4.5, 1e-12);
  EXPECT_NEAR(v[0].per_request, 12.5 / 8.5, 1e-12);
  EXPECT_NEAR(v[1].per_session, 26.0 / 11, 1e-12);
  EXPECT_NEAR(v[1].per_request, 2.0, 1e-12);
  EXPECT_NEAR(v[2].per_session, 1.75, 1e-12);
  EXPECT_NEAR(v[2].per_request, 1.0, 1e-12);
  const std::vector<double> expected_w = {4, 0.5, 10, 1, 9, 3};
  ASSERT_EQ(weights.size(), expected_w.size());
  for (size_t i = 0; i < weights.size(); ++i) EXPECT_NEAR(weights[i], expected_w[i], 1e-12);

  const ScaledEstimate e = SessionWis(HandExample(), o);
  EXPECT_NEAR(e.per_session, (12.5 / 4.5 + 26.0 / 11 + 1.75) / 3, 1e-12);
  EXPECT_NEAR(e.per_request, (12.5 / 8.5 + 2 + 1) / 3, 1e-12);
  EXPECT_EQ(e.trajectories, 3);
  EXPECT_EQ(e.sessions, 6);
  EXPECT_NEAR(e.capped_fraction, 1.0 / 6, 1e-12);
  const double sum = 4 + 0.5 + 10 + 1 + 9 + 3, sq = 16 + 0.25 + 100 + 1 + 81 + 9;
  EXPECT_NEAR(e.ess, sum * sum / sq, 1e-9);
  EXPECT_LE(e.per_request_ci_low, e.per_request);
  EXPECT_GE(e.per_request_ci_high, e.per_request);
  EXPECT_LE(e.per_session_ci_low, e.per_session);
  EXPECT_GE(e.per_session_ci_high, e.per_session);

  o.horizon = WeightHorizon::kTrajectory;
  const auto t = SessionWisPerTrajectory(HandExample(), o, nullptr);
  ASSERT_EQ(t.size(), 3u);
  EXPECT_NEAR(t[0].per_session, 14.0 / 6, 1e-12);
  EXPECT_NEAR(t[0].per_request, 1.4, 1e-12);
  EXPECT_NEAR(t[1].per_session, 4.0, 1e-12);
  EXPECT_NEAR(t[1].per_request, 2.0, 1e-12);
  EXPECT_NEAR(t[2].per_session, 49.0 / 19, 1e-12);
  EXPECT_NEAR(t[2].per_request, 1.75, 1e-12);
}

// With π = π_β every ratio is 1: session WIS (either horizon) and NCIS give
// each trajectory's mean reward per request, and per session.
TEST(SessionWis, EqualsTheLoggedMeansWhenPiIsPiBeta) {
  std::mt19937_64 rng(11);
  std::normal_distribution<double> lp(-3, 1);
  std::uniform_real_distribution<double> reward(0, 5);
  std::vector<OpeTrajectory> ts(40);
  std::vector<NcisTrajectory> ncis(40);
  double mean_request = 0, mean_session = 0;
  for (OpeTrajectory& t : ts) {
    const int n = 1 + static_cast<int>(rng() % 30);
    double sum = 0;
    int sessions = 0;
    for (int i = 0; i < n; ++i) {
      const double l = lp(rng);
      t.logp_pi.push_back(l);
      t.logp_beta.push_back(l);
      t.reward.push_back(reward(rng));
      t.session_end.push_back(i == n - 1 || rng() % 4 == 0);
      sum += t.reward.back();
      sessions += t.session_end.back();
    }
    mean_request += sum / n / ts.size();
    mean_session += sum / sessions / ts.size();
    ncis[&t - ts.data()] = {t.logp_pi, t.logp_beta, t.reward};
  }
  for (WeightHorizon h : {WeightHorizon::kSession, WeightHorizon::kTrajectory}) {
    WisOptions o;
    o.horizon = h;
    const ScaledEstimate e = SessionWis(ts, o);
    EXPECT_NEAR(e.per_request, mean_request, 1e-12);
    EXPECT_NEAR(e.per_session, mean_session, 1e-12);
    EXPECT_EQ(e.capped_fraction, 0);
  }
  // NCIS per request, times each trajectory's requests per session.
  const std::vector<double> per_request = NcisPerTrajectory(ncis, NcisOptions(), nullptr);
  const std::vector<double> rps = RequestsPerSession(ts);
  ASSERT_EQ(per_request.size(), rps.size());
  double ncis_session = 0, ncis_request = 0;
  for (size_t i = 0; i < rps.size(); ++i) {
    ncis_request += per_request[i] / rps.size();
    ncis_session += per_request[i] * rps[i] / rps.size();
  }
  EXPECT_NEAR(ncis_request, mean_request, 1e-12);
  EXPECT_NEAR(ncis_session, mean_session, 1e-12);
}

TEST(PairedBootstrap, APolicyAgainstItselfDiffersByExactlyZero) {
  std::mt19937_64 rng(3);
  std::normal_distribution<double> v(1, 2);
  std::vector<double> a(200), b(200);
  for (double& x : a) x = v(rng);
  auto same = PairedBootstrap(a, a, 1000, 0.95, 0);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->difference, 0);
  EXPECT_EQ(same->ci_low, 0);
  EXPECT_EQ(same->ci_high, 0);
  // A challenger better by 0.5 on every trajectory: the difference is 0.5
  // with no spread, though each policy's own values vary widely.
  for (size_t i = 0; i < a.size(); ++i) b[i] = a[i] + 0.5;
  auto better = PairedBootstrap(a, b, 1000, 0.95, 0);
  ASSERT_TRUE(better.ok());
  EXPECT_NEAR(better->difference, 0.5, 1e-12);
  EXPECT_NEAR(better->ci_low, 0.5, 1e-12);
  EXPECT_NEAR(better->ci_high, 0.5, 1e-12);
  EXPECT_NEAR(better->challenger - better->champion, 0.5, 1e-12);
  // Noise on the difference widens the interval around its mean.
  for (double& x : b) x += v(rng) - 1;
  auto noisy = PairedBootstrap(a, b, 1000, 0.95, 0);
  ASSERT_TRUE(noisy.ok());
  EXPECT_LT(noisy->ci_low, noisy->difference);
  EXPECT_GT(noisy->ci_high, noisy->difference);
  b.pop_back();
  auto mismatch = PairedBootstrap(a, b, 1000, 0.95, 0);
  ASSERT_FALSE(mismatch.ok());
  EXPECT_NE(mismatch.status().message().find("200 trajectories"), std::string::npos);
}

// Two items in 1-D at e = −1 and +1, served by the best inner product (ties
// to the lower row): a ~ N(μ, σ²) is served item 1 when a > 0, so its mass
// is Φ(μ / σ).
TEST(MonteCarloServeProbability, ConvergesToTheExactMassOfTwoItemsInOneDimension) {
  const float mu = 0.3f;
  const double sigma = 0.5;
  const double exact = 0.5 * std::erfc(-(mu / sigma) / std::sqrt(2.0));  // Φ(0.6)
  auto serve = [](const float* a) { return a[0] * 1.f > a[0] * -1.f ? 1 : 0; };
  auto mean_error = [&](int64_t draws) {
    double err = 0;
    for (uint64_t seed = 0; seed < 8; ++seed) {
      std::mt19937_64 rng(seed);
      std::normal_distribution<float> n01(0, 1);
      std::vector<float> z(draws);
      for (float& x : z) x = n01(rng);
      const double p1 = MonteCarloServeProbability(&mu, sigma, 1, z.data(), draws, 1, serve);
      const double p0 = MonteCarloServeProbability(&mu, sigma, 1, z.data(), draws, 0, serve);
      EXPECT_GT(p0, 0);
      EXPECT_LT(p1, 1);
      EXPECT_NEAR(p0 + p1, 1, 1e-12);  // (h + 0.5 + draws − h + 0.5) / (draws + 1)
      err += std::abs(p1 - exact) / 8;
    }
    return err;
  };
  const double e_small = mean_error(100), e_large = mean_error(200000);
  // The binomial error: sqrt(p (1 − p) / draws) = 0.045 and 0.001.
  EXPECT_LT(e_small, 0.1);
  EXPECT_LT(e_large, 0.003);
  EXPECT_LT(e_large, e_small / 5);
  // An item the draws never reach keeps a small, non-zero probability.
  std::vector<float> z(100, 5.f);
  EXPECT_NEAR(MonteCarloServeProbability(&mu, sigma, 1, z.data(), 100, 0, serve), 0.5 / 101,
              1e-15);
}

}  // namespace
}  // namespace resact
