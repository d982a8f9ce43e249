// Small statistics shared by evaluators and reports.
#pragma once

#include <cstdint>
#include <vector>

namespace resact {

// Percentile bootstrap CI of the mean of `values` (deterministic for a seed).
void BootstrapMeanCi(const std::vector<double>& values, int resamples, double confidence,
                     uint64_t seed, double* low, double* high);

// Across runs: mean ± t_{0.975, n−1}·sd/√n. `half_width` is 0 when n < 2.
void MeanTInterval(const std::vector<double>& values, double* mean, double* half_width);

// Of importance weights capped at `cap`: the effective sample size
// (Σw)² / Σw² and the share of weights at the cap (both 0 when empty).
void WeightStatistics(const std::vector<double>& weights, double cap, double* ess,
                      double* capped_fraction);

// Spearman's rank correlation of paired values (ties get their average
// rank; Pearson's correlation of the ranks). NaN when fewer than 2 pairs or
// when either side is constant.
double SpearmanCorrelation(const std::vector<double>& x, const std::vector<double>& y);

}  // namespace resact
