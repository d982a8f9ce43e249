// A training batch as tensors (what Algorithm::Update takes) and how the
// trainer builds it from a replay sample: normalized states, clipped
// actions, the task's scaled reward and session reward level.
// Only learner code includes this header (it includes torch).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <utility>
#include <vector>

#include "stages/learners/learner_options.pb.h"
#include "stages/learners/training/normalizer.h"

namespace resact {
struct ReplaySample;
namespace learners {

// A training batch as float32 CPU tensors; states are already normalized.
struct TensorBatch {
  torch::Tensor state;       // [B × state_dim]
  torch::Tensor next_state;  // [B × state_dim]
  torch::Tensor action;      // [B × action_dim], in [-1, 1]
  torch::Tensor reward;      // [B × 1], the task's reward (scaled)
  torch::Tensor done;        // [B × 1], 1 at the user's last request
  torch::Tensor r_session;   // [B] int64: the task's session reward level 0..5
                             // at session ends, -1 elsewhere (ResAct's classifier)
};

// (w_rt, w_sl) of the task: (1, 0), (0, 1) or (0.5, 0.5).
std::pair<float, float> TaskWeights(LearnerOptions::Task task);

// The TensorBatch of a sample: normalized states, actions clipped to [-1, 1],
// reward = (w_rt·r_rt + w_sl·r_sl)·reward_scale, r_session = the task's
// session reward level round(w_rt·r_rt + w_sl·r_sl) clipped to
// [0, max_level] at session ends and −1 elsewhere.
TensorBatch MakeTensorBatch(const ReplaySample& sample, const std::vector<uint8_t>& session_end,
                            LearnerOptions::Task task, double reward_scale, int max_level,
                            const Normalizer& normalizer);

}  // namespace learners
}  // namespace resact
