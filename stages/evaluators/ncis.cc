#include "stages/evaluators/ncis.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace resact {

std::vector<double> NcisPerTrajectory(const std::vector<NcisTrajectory>& trajectories,
                                      const NcisOptions& options, std::vector<double>* weights) {
  std::vector<double> values;
  values.reserve(trajectories.size());
  const double log_cap = std::log(options.cap);
  for (const NcisTrajectory& t : trajectories) {
    if (t.reward.empty()) continue;
    double num = 0, den = 0;
    for (size_t i = 0; i < t.reward.size(); ++i) {
      const double log_ratio = std::min(t.logp_pi[i] - t.logp_beta[i], log_cap);
      const double rho = std::exp(log_ratio);
      num += rho * t.reward[i];
      den += rho;
      if (weights != nullptr) weights->push_back(rho);
    }
    values.push_back(den > 0 ? num / den : 0.0);
  }
  return values;
}

NcisResult Ncis(const std::vector<NcisTrajectory>& trajectories, const NcisOptions& options) {
  NcisResult r;
  std::vector<double> weights;
  std::vector<double> values = NcisPerTrajectory(trajectories, options, &weights);
  r.trajectories = static_cast<int64_t>(values.size());
  r.transitions = static_cast<int64_t>(weights.size());
  if (values.empty()) return r;
  r.value = std::accumulate(values.begin(), values.end(), 0.0) / values.size();
  BootstrapMeanCi(values, options.bootstrap, options.confidence, options.seed, &r.ci_low,
                  &r.ci_high);
  WeightStatistics(weights, options.cap, &r.ess, &r.capped_fraction);
  r.ess_fraction = r.ess / weights.size();
  return r;
}

}  // namespace resact
