// Normalized capped importance sampling (method.md section 3), free of any
// model code: given, per test trajectory, the log-densities of the logged
// actions under the evaluated policy π and the behaviour policy π_β and the
// rewards, it returns
//   J = mean over trajectories ξ of Σ_t ρ_t·r_t / Σ_t ρ_t,
//   ρ_t = min(exp(log π − log π_β), c)   (computed in log space),
// a 95% bootstrap CI over trajectories, the effective sample size and the
// fraction of capped weights.
#pragma once

#include <cstdint>
#include <vector>

#include "stages/evaluators/statistics.h"

namespace resact {

struct NcisTrajectory {
  std::vector<double> logp_pi;    // log π(a_t | s_t)
  std::vector<double> logp_beta;  // log π_β(a_t | s_t)
  std::vector<double> reward;     // r_t
};

struct NcisOptions {
  double cap = 10;            // c
  int bootstrap = 1000;       // Resamples of trajectories for the CI.
  double confidence = 0.95;   // CI level.
  uint64_t seed = 0;          // Bootstrap seed.
};

struct NcisResult {
  double value = 0;                // J
  double ci_low = 0, ci_high = 0;  // Percentile bootstrap interval.
  double ess = 0;                  // (Σρ)² / Σρ² over all weights.
  double ess_fraction = 0;         // ess / number of weights.
  double capped_fraction = 0;      // Share of weights at the cap.
  int64_t trajectories = 0;
  int64_t transitions = 0;
};

NcisResult Ncis(const std::vector<NcisTrajectory>& trajectories, const NcisOptions& options);

// Per-trajectory NCIS values (empty trajectories are skipped).
std::vector<double> NcisPerTrajectory(const std::vector<NcisTrajectory>& trajectories,
                                      const NcisOptions& options, std::vector<double>* weights);


}  // namespace resact
