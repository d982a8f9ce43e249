// Saving and loading learned policies as model directories, for serving
// (`resact recommend --model DIR`) and evaluators. No torch in this header.
//
// A model directory holds
//   model.pbtxt  a PolicyModel (stages/learners/learner_options.proto) in text
//                format: algorithm, dimensions, learner options, step and
//                the state normalization;
//   model.pt     the algorithm's module weights (torch::serialize archive).
// The learner stage writes its final policy to RUN_DIR/model.
//
// Example:
//   ASSIGN_OR_RETURN(std::shared_ptr<const Policy> policy, LoadPolicy("runs/x/model"));
//   std::vector<float> actions(n * policy->action_dim());
//   RETURN_IF_ERROR(policy->Act(states.data(), n, actions.data()));
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "graph/policy.h"
#include "stages/learners/learner_options.pb.h"

namespace resact {

// Loads the model directory `dir`. Errors name the file.
absl::StatusOr<std::shared_ptr<const Policy>> LoadPolicy(const std::string& dir);
// The model.pbtxt of `dir` without loading weights.
absl::StatusOr<PolicyModel> ReadPolicyModel(const std::string& dir);
// Writes `policy` (a learner's snapshot) to `dir`, created when missing; each
// file is written to a temporary name and renamed. InvalidArgument when the
// policy does not come from a learner.
absl::Status SavePolicy(const Policy& policy, const std::string& dir);

}  // namespace resact
