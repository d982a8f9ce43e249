// The Gaussian behaviour model π_β(a | s) = N(μ(s), diag σ²) used by NCIS
// (method.md section 3): a mean MLP with a tanh output plus a
// state-independent diagonal log-std, fitted by maximum likelihood on the
// train split. This header has no torch; the implementation uses LibTorch.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace resact {

class FitBehaviourOptions;
class ReplayReader;

struct BehaviourFitOptions {
  std::string hidden = "256,256";  // Hidden widths of the mean MLP.
  int64_t steps = 3000;            // Adam steps.
  int batch_size = 256;
  double lr = 1e-3;
  int64_t seed = 0;
};

// The fitting options of a FitBehaviourOptions (FitBehaviour, DailyRetrain).
BehaviourFitOptions BehaviourFitOptionsOf(const FitBehaviourOptions& options);

class BehaviourModel {
 public:
  ~BehaviourModel();
  // Fits on every transition of `replay` (normally the train split).
  static absl::StatusOr<std::unique_ptr<BehaviourModel>> Fit(const ReplayReader& replay,
                                                             const BehaviourFitOptions& options);
  static absl::StatusOr<std::unique_ptr<BehaviourModel>> Load(const std::string& path);
  // Writes the model to `path` atomically (temporary file, then rename).
  absl::Status Save(const std::string& path) const;

  int state_dim() const;
  int action_dim() const;
  // Mean over dimensions of σ.
  double mean_std() const;
  // log N(actions; μ(states), diag σ²) for `n` rows.
  absl::Status LogProb(const float* states, const float* actions, int64_t n, double* out) const;
  // μ(states), `n` rows of action_dim().
  absl::Status Mean(const float* states, int64_t n, float* out) const;
  // Negative log-likelihood per row of the last 200 fitting steps (a fit
  // diagnostic), and of the first 200.
  double final_nll() const;
  double initial_nll() const;

 private:
  struct Impl;
  explicit BehaviourModel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace resact
