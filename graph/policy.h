// The one policy interface used by every evaluator and by serving: given a
// batch of states, return actions in [-1, 1]^d, and top-k items from the
// item-embedding table. Implementations live with the learners (LibTorch) or
// the simulator (the logging policy); this header has no torch.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "graph/payload.h"

namespace resact {

class Policy {
 public:
  virtual ~Policy() = default;
  virtual int state_dim() const = 0;
  virtual int action_dim() const = 0;
  // Deterministic actions for `n` raw states (row-major [n × state_dim]) into
  // `actions` ([n × action_dim], each in [-1, 1]). Safe to call from several
  // threads at once.
  virtual absl::Status Act(const float* states, int64_t n, float* actions) const = 0;
  // Policies that pick their action among scored candidates (ResAct, BCQ):
  // the number of candidates per state; 0 for the others.
  virtual int candidates() const { return 0; }
  // The candidates Act picks among for `n` states ([n × candidates() ×
  // action_dim]) and the policy's score of each ([n × candidates()], its
  // critic's Q1): Act's action is the candidate of highest score.
  virtual absl::Status ScoredCandidates(const float* /*states*/, int64_t /*n*/,
                                        float* /*actions*/, float* /*scores*/) const {
    return absl::UnimplementedError("this policy acts without scored candidates");
  }
};

// A trained policy at one training step, as emitted by a learner stage.
struct PolicySnapshot {
  std::string algo;   // e.g. "resact"
  std::string task;   // "return_time", "session_length" or "both"
  int64_t seed = 0;
  int64_t step = 0;   // Training steps taken.
  bool final = false; // The last snapshot of the run.
  std::string run_dir;  // Where the learner writes metrics and checkpoints.
  std::shared_ptr<const Policy> policy;
};

// The reward a task's policy is judged on, as weights of r_rt and r_sl:
// "return_time" 1/0, "session_length" 0/1, "both" 0.5/0.5 (method.md).
struct TaskRewardWeights {
  double rt = 1, sl = 0;
};
TaskRewardWeights RewardWeightsOf(const std::string& task);

// An empty MetricsBatch of `evaluator` labelled with the snapshot's algo,
// task, seed, step and final flag.
std::shared_ptr<MetricsBatch> MetricsForSnapshot(const PolicySnapshot& snap,
                                                 const std::string& evaluator);

// The k items with the largest <action, e_i>, best first (ties: lower row).
// Returns item-table rows.
std::vector<int32_t> TopK(const ItemTable& items, const float* action, int k);

}  // namespace resact
