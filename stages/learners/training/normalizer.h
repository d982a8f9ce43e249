// Per-dimension state standardization, estimated by the trainer on its
// transition source, saved in checkpoints and policy models, and applied by
// the trainer's batches and the policy's Act.
// Only learner code includes this header (it includes torch).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace resact {
namespace learners {

class TransitionSource;

// Per-dimension state standardization; the identity when empty.
class Normalizer {
 public:
  Normalizer() = default;
  // `std` entries must be positive.
  Normalizer(std::vector<float> mean, std::vector<float> std);
  // Mean and std of `samples` states drawn from `source` with a generator
  // seeded by `seed`; a dimension with std < 1e-6 gets std 1.
  static Normalizer Estimate(const TransitionSource& source, int64_t samples, uint64_t seed);

  bool identity() const { return mean_.empty(); }
  const std::vector<float>& mean() const { return mean_; }
  const std::vector<float>& std() const { return std_; }
  // (raw − mean) / std as a new tensor; a copy of `raw` when the identity.
  torch::Tensor Apply(const torch::Tensor& raw) const;

  // Writes "state_mean" and "state_std" into a checkpoint (nothing when the
  // identity); Read restores them (the identity when absent).
  void Write(torch::serialize::OutputArchive& archive) const;
  static Normalizer Read(torch::serialize::InputArchive& archive);

 private:
  std::vector<float> mean_, std_;
  torch::Tensor mean_t_, inv_std_t_;
};

}  // namespace learners
}  // namespace resact
