#include "stages/evaluators/statistics.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>

namespace resact {

void BootstrapMeanCi(const std::vector<double>& values, int resamples, double confidence,
                     uint64_t seed, double* low, double* high) {
  if (values.empty()) {
    *low = *high = 0;
    return;
  }
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<size_t> pick(0, values.size() - 1);
  std::vector<double> means(resamples);
  for (int b = 0; b < resamples; ++b) {
    double sum = 0;
    for (size_t i = 0; i < values.size(); ++i) sum += values[pick(rng)];
    means[b] = sum / values.size();
  }
  std::sort(means.begin(), means.end());
  const double alpha = (1 - confidence) / 2;
  auto at = [&](double q) {
    const double pos = q * (means.size() - 1);
    const size_t lo = static_cast<size_t>(std::floor(pos));
    const size_t hi = std::min(lo + 1, means.size() - 1);
    return means[lo] + (means[hi] - means[lo]) * (pos - lo);
  };
  *low = at(alpha);
  *high = at(1 - alpha);
}

namespace {
// Two-sided 97.5% quantile of Student's t with `df` degrees of freedom.
double T975(int df) {
  static const double table[] = {0,     12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365,
                                 2.306, 2.262,  2.228, 2.201, 2.179, 2.160, 2.145, 2.131,
                                 2.120, 2.110,  2.101, 2.093, 2.086, 2.080, 2.074, 2.069,
                                 2.064, 2.060,  2.056, 2.052, 2.048, 2.045, 2.042};
  if (df <= 30) return table[df];
  return 1.96 + 2.4 / df;  // Within 0.002 of the exact value beyond 30.
}
}  // namespace

void MeanTInterval(const std::vector<double>& values, double* mean, double* half_width) {
  const size_t n = values.size();
  *mean = n ? std::accumulate(values.begin(), values.end(), 0.0) / n : 0;
  *half_width = 0;
  if (n < 2) return;
  double sq = 0;
  for (double v : values) sq += (v - *mean) * (v - *mean);
  const double sd = std::sqrt(sq / (n - 1));
  *half_width = T975(static_cast<int>(n - 1)) * sd / std::sqrt(static_cast<double>(n));
}

namespace {

std::vector<double> AverageRanks(const std::vector<double>& v) {
  std::vector<size_t> order(v.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> rank(v.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]]) ++j;
    const double r = (static_cast<double>(i) + static_cast<double>(j)) / 2 + 1;
    for (size_t k = i; k <= j; ++k) rank[order[k]] = r;
    i = j + 1;
  }
  return rank;
}

}  // namespace

double SpearmanCorrelation(const std::vector<double>& x, const std::vector<double>& y) {
  const size_t n = std::min(x.size(), y.size());
  if (n < 2) return NAN;
  const std::vector<double> rx = AverageRanks({x.begin(), x.begin() + n});
  const std::vector<double> ry = AverageRanks({y.begin(), y.begin() + n});
  double mx = 0, my = 0;
  for (size_t i = 0; i < n; ++i) {
    mx += rx[i];
    my += ry[i];
  }
  mx /= n;
  my /= n;
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < n; ++i) {
    sxy += (rx[i] - mx) * (ry[i] - my);
    sxx += (rx[i] - mx) * (rx[i] - mx);
    syy += (ry[i] - my) * (ry[i] - my);
  }
  if (sxx <= 0 || syy <= 0) return NAN;
  return sxy / std::sqrt(sxx * syy);
}

void WeightStatistics(const std::vector<double>& weights, double cap, double* ess,
                      double* capped_fraction) {
  double sum = 0, sq = 0;
  int64_t capped = 0;
  for (double w : weights) {
    sum += w;
    sq += w * w;
    capped += w >= cap * (1 - 1e-12);
  }
  *ess = sq > 0 ? sum * sum / sq : 0;
  *capped_fraction = weights.empty() ? 0 : static_cast<double>(capped) / weights.size();
}

}  // namespace resact
