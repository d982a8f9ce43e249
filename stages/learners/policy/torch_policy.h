// TorchPolicy: a learner's policy frozen at one step, behind the Policy
// interface of graph/policy.h. It owns its own instance of the algorithm
// (created through the registry, weights loaded from an in-memory archive),
// so further training never changes it. Act() standardizes raw states, runs
// Algorithm::Act under torch::NoGradGuard and a mutex (thread-safe), and
// returns actions clipped to [-1, 1]. Algorithms that sample when acting
// (candidates, latents) draw from a generator reseeded on every call, so
// actions depend on the input only.
//
// Only learner code includes this header (it includes torch); others use
// stages/learners/policy/policy_io.h.
#pragma once

#include <memory>
#include <functional>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "graph/policy.h"
#include "stages/learners/algorithms/algorithm.h"
#include "stages/learners/learner_options.pb.h"
#include "stages/learners/training/normalizer.h"

namespace resact {
namespace learners {

// Writes the modules of `algo` (Modules(), by name) into `archive` as
// "module_NAME" (the checkpoint's and the policy's weights); ReadModules
// loads them back.
void WriteModules(Algorithm& algo, torch::serialize::OutputArchive& archive);
void ReadModules(torch::serialize::InputArchive& archive, Algorithm& algo);
// Serializes the modules of `algo` (WriteModules) into bytes.
std::string SerializeModules(Algorithm& algo);
// Loads bytes from SerializeModules into `algo`'s modules.
absl::Status DeserializeModules(const std::string& bytes, Algorithm& algo);

class TorchPolicy : public Policy {
 public:
  // A fresh instance of model.algo() with the weights in `weights` (from
  // SerializeModules).
  static absl::StatusOr<std::shared_ptr<TorchPolicy>> Create(const PolicyModel& model,
                                                            std::string weights);

  int state_dim() const override { return model_.state_dim(); }
  int action_dim() const override { return model_.action_dim(); }
  absl::Status Act(const float* states, int64_t n, float* actions) const override;
  int candidates() const override { return algo_->NumCandidates(); }
  absl::Status ScoredCandidates(const float* states, int64_t n, float* actions,
                                float* scores) const override;

  const PolicyModel& model() const { return model_; }
  const std::string& weights() const { return weights_; }

 private:
  TorchPolicy() = default;
  // Runs `body` on the standardized states under the lock, without autograd,
  // with the acting draws reset; LibTorch errors become InternalError.
  absl::Status OnStates(const float* states, int64_t n,
                        const std::function<absl::Status(const torch::Tensor&)>& body) const;

  PolicyModel model_;
  std::string weights_;
  Normalizer normalizer_;
  mutable std::mutex mu_;
  std::unique_ptr<AlgoContext> ctx_;
  std::unique_ptr<Algorithm> algo_;
};

}  // namespace learners
}  // namespace resact
