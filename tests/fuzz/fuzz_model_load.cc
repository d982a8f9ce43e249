// Fuzz target: the model directory loader LoadPolicy (stages/learners/
// policy_io.h). At start-up it saves a real tiny policy (an "il" network,
// state 4, action 2, hidden 8) to a model folder in the scratch folder. The
// first input byte picks what the rest of the input becomes:
//  - even: the folder's model.pt, with model.pbtxt as saved (the real
//    weights' size and Checksum64). Anything but the real weights must be
//    refused with DataLoss before LibTorch sees it.
//  - odd: model.pt, with model.pbtxt rewritten to record the input's true
//    size and Checksum64, so that the bytes pass the check and reach
//    LibTorch's deserializer, which must give an error (LoadPolicy converts
//    its exceptions), never crash.
// A policy that loads must have the saved dimensions and act on a zero
// state. Learner builds only (needs LibTorch).
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/text_format.h"
#include "graph/files.h"
#include "stages/learners/algorithms/algorithm.h"
#include "stages/learners/policy/policy_io.h"
#include "stages/learners/policy/torch_policy.h"
#include "tests/fuzz/fuzz_targets.h"

namespace resact {
namespace fuzz {
namespace {

constexpr int kStateDim = 4;
constexpr int kActionDim = 2;

struct SavedModel {
  std::string dir;
  std::string weights;  // Its model.pt as saved.
  PolicyModel model;    // Its model.pbtxt as saved (with the real checksum).
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
  auto saved = ReadPolicyModel(dir);
  if (!saved.ok() || !saved->has_weights_checksum()) abort();
  return {dir, (*policy)->weights(), *std::move(saved)};
}

const SavedModel& Saved() {
  static const SavedModel* saved = new SavedModel(SaveTinyPolicy());
  return *saved;
}

void WriteModelText(const std::string& dir, const PolicyModel& model) {
  std::string text;
  if (!google::protobuf::TextFormat::PrintToString(model, &text)) abort();
  WriteBytes(dir + "/model.pbtxt", reinterpret_cast<const uint8_t*>(text.data()), text.size());
}

}  // namespace

const std::string& ModelLoadDir() { return Saved().dir; }
const std::string& SavedModelWeights() { return Saved().weights; }

int FuzzModelLoad(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool checksum_matches = (data[0] & 1) != 0;
  ++data;
  --size;
  const SavedModel& saved = Saved();
  const absl::string_view bytes(reinterpret_cast<const char*>(data), size);
  PolicyModel model = saved.model;
  if (checksum_matches) {
    model.set_weights_bytes(static_cast<int64_t>(size));
    model.set_weights_checksum(Checksum64(bytes));
  }
  WriteModelText(saved.dir, model);
  WriteBytes(saved.dir + "/model.pt", data, size);
  auto policy = LoadPolicy(saved.dir);
  if (!checksum_matches && bytes != saved.weights) {
    // The recorded checksum is the real weights': these bytes must not load.
    if (policy.ok() || !absl::IsDataLoss(policy.status())) abort();
    return 0;
  }
  if (!policy.ok()) return 0;
  if ((*policy)->state_dim() != kStateDim || (*policy)->action_dim() != kActionDim) abort();
  std::vector<float> states(kStateDim, 0.0f), actions(kActionDim, 0.0f);
  (void)(*policy)->Act(states.data(), 1, actions.data());
  return 0;
}

}  // namespace fuzz
}  // namespace resact

RESACT_FUZZ_MAIN(FuzzModelLoad)
