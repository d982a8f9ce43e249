// The probability that a Gaussian policy serves an item (method.md section 3,
// "propensities"). A policy with actions a ~ N(μ, σ² I) in the embedding
// space serves the item serve(a) (in the simulator the catalogue's best
// inner product), so the probability that it serves item i is the mass of
// i's region under N(μ, σ² I), not the density at i's embedding. It is
// estimated by Monte Carlo over `draws` standard normal vectors z_j, given by
// the caller so that two policies whose ratio is taken can share them
// (common random numbers):
//   p̂ = (hits + 0.5) / (draws + 1),   hits = #{j : serve(μ + σ z_j) = i}.
// p̂ lies strictly in (0, 1), so log ratios stay finite, and it converges to
// the mass as draws grow (its error is about sqrt(p (1 − p) / draws)).
#pragma once

#include <cstdint>
#include <vector>

namespace resact {

inline double ServeProbabilityFromHits(int64_t hits, int64_t draws) {
  return (static_cast<double>(hits) + 0.5) / (static_cast<double>(draws) + 1);
}

// `z`: draws × dim floats. `serve(const float* a)` returns the item served
// for action a.
template <typename Serve>
double MonteCarloServeProbability(const float* mean, double sigma, int dim, const float* z,
                                  int64_t draws, int32_t item, Serve&& serve) {
  std::vector<float> a(dim);
  int64_t hits = 0;
  for (int64_t j = 0; j < draws; ++j) {
    const float* zj = z + j * dim;
    for (int c = 0; c < dim; ++c) a[c] = static_cast<float>(mean[c] + sigma * zj[c]);
    hits += serve(a.data()) == item;
  }
  return ServeProbabilityFromHits(hits, draws);
}

}  // namespace resact
