// Fuzz target: the model directory loader LoadPolicy (stages/learners/
// policy_io.h). At start-up it saves a real tiny policy (an "il" network,
// state 4, action 2, hidden 8) to a model folder in the scratch folder; each
// input then replaces that folder's model.pt (the weights archive) and is
// loaded; a policy that loads must act on a zero state. Errors are fine.
// Learner builds only (needs LibTorch).
#include <cstdlib>
#include <string>
#include <vector>

#include "stages/learners/learner_core.h"
#include "stages/learners/policy_io.h"
#include "stages/learners/torch_policy.h"
#include "tests/fuzz/fuzz_targets.h"

namespace resact {
namespace fuzz {
namespace {

constexpr int kStateDim = 4;
constexpr int kActionDim = 2;

struct SavedModel {
  std::string dir;
  std::string weights;  // Its model.pt as saved.
};

SavedModel SaveTinyPolicy() {
  const std::string dir = ProcessTempDir() + "/model";
  PolicyModel model;
  model.set_algo("il");
  model.set_state_dim(kStateDim);
  model.set_action_dim(kActionDim);
  model.set_session_dim(2);
  model.mutable_options()->mutable_common()->set_hidden("8");
  learners::AlgoContext ctx;
  ctx.state_dim = kStateDim;
  ctx.action_dim = kActionDim;
  ctx.session_dim = 2;
  ctx.options = model.options();
  auto algo = learners::CreateAlgorithm(model.algo(), ctx);
  if (!algo.ok()) abort();
  auto policy = learners::TorchPolicy::Create(model, learners::SerializeModules(**algo));
  if (!policy.ok() || !SavePolicy(**policy, dir).ok()) abort();
  return {dir, (*policy)->weights()};
}

const SavedModel& Saved() {
  static const SavedModel* saved = new SavedModel(SaveTinyPolicy());
  return *saved;
}

}  // namespace

const std::string& ModelLoadDir() { return Saved().dir; }
const std::string& SavedModelWeights() { return Saved().weights; }

int FuzzModelLoad(const uint8_t* data, size_t size) {
  const std::string& dir = ModelLoadDir();
  WriteBytes(dir + "/model.pt", data, size);
  auto policy = LoadPolicy(dir);
  if (!policy.ok()) return 0;
  if ((*policy)->state_dim() != kStateDim || (*policy)->action_dim() != kActionDim) abort();
  std::vector<float> states(kStateDim, 0.0f), actions(kActionDim, 0.0f);
  (void)(*policy)->Act(states.data(), 1, actions.data());
  return 0;
}

}  // namespace fuzz
}  // namespace resact

RESACT_FUZZ_MAIN(FuzzModelLoad)
