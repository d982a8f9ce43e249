// Fitted Q evaluation (method.md section 3): a critic Q^π(s, a) of one
// evaluated policy π, fitted on the train split toward
//   y = r + γ·(1 − done)·Q'(s', π(s')),
// where r is the task's reward (unscaled), done marks a user's last request
// and Q' is the soft-updated target copy. The network and the update are the
// learners' (MakeCritic, CriticEnsemble with one critic: an MLP of
// `hidden` with ReLU, Adam, states standardized on the train split), so FQE
// measures a policy with the same function class its critics use.
// The budget is FqeOptions.steps gradient steps of batch_size transitions;
// every step also asks π for its actions at the batch's next states.
// doubly_robust.h turns Q^π into the FQE and DR estimates.
//
// Example:
//   ASSIGN_OR_RETURN(auto source, learners::LoadReplaySource(dir, 4096));
//   ASSIGN_OR_RETURN(auto q, FqeModel::Fit(*source, policy, "return_time", fqe_options));
//   RETURN_IF_ERROR(q->Q(states, actions, n, values));
//
// This header has no torch.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "graph/policy.h"
#include "stages/evaluators/evaluator_options.pb.h"
#include "stages/learners/training/transition_source.h"

namespace resact {

// Errors name the option: "option 'fqe.hidden': ...".
absl::Status CheckFqeOptions(const FqeOptions& options);

class FqeModel {
 public:
  // Fits Q^π of `policy` for `task` ("return_time", "session_length" or
  // "both") on `train`. `progress`, when given, is called after every step
  // with the step count. Deterministic for a seed.
  static absl::StatusOr<std::unique_ptr<FqeModel>> Fit(
      const learners::TransitionSource& train, const Policy& policy, const std::string& task,
      const FqeOptions& options, const std::function<void(int64_t)>& progress = nullptr);
  ~FqeModel();

  // Q^π(s, a) of `n` raw states ([n × state_dim]) and actions ([n ×
  // action_dim], clipped to [-1, 1] as in training) into `out` [n].
  absl::Status Q(const float* states, const float* actions, int64_t n, double* out) const;

  double gamma() const;
  int64_t steps() const;
  // The mean TD loss over the last tenth of the steps.
  double final_loss() const;
  // Wall seconds of Fit.
  double seconds() const;

 private:
  FqeModel();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace resact
