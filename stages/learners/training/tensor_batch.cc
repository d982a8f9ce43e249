#include "stages/learners/training/tensor_batch.h"

#include <algorithm>
#include <cmath>

#include "storage/replay_reader.h"

namespace resact {
namespace learners {

std::pair<float, float> TaskWeights(LearnerOptions::Task task) {
  switch (task) {
    case LearnerOptions::SESSION_LENGTH:
      return {0.f, 1.f};
    case LearnerOptions::BOTH:
      return {0.5f, 0.5f};
    case LearnerOptions::RETURN_TIME:
    default:
      return {1.f, 0.f};
  }
}

TensorBatch MakeTensorBatch(const ReplaySample& sample, const std::vector<uint8_t>& session_end,
                            LearnerOptions::Task task, double reward_scale, int max_level,
                            const Normalizer& normalizer) {
  const int64_t B = sample.size, S = sample.state_dim, A = sample.action_dim;
  const auto f32 = torch::kFloat32;
  TensorBatch b;
  b.state = normalizer.Apply(torch::from_blob(const_cast<float*>(sample.state.data()), {B, S}, f32));
  b.next_state =
      normalizer.Apply(torch::from_blob(const_cast<float*>(sample.next_state.data()), {B, S}, f32));
  b.action =
      torch::from_blob(const_cast<float*>(sample.action.data()), {B, A}, f32).clamp(-1.0, 1.0);
  b.done = torch::from_blob(const_cast<float*>(sample.done.data()), {B, 1}, f32).clone();
  b.reward = torch::empty({B, 1}, f32);
  b.r_session = torch::empty({B}, torch::kInt64);
  const auto [w_rt, w_sl] = TaskWeights(task);
  float* r = b.reward.data_ptr<float>();
  int64_t* level = b.r_session.data_ptr<int64_t>();
  const float scale = static_cast<float>(reward_scale);
  for (int64_t i = 0; i < B; ++i) {
    const float task_r = w_rt * sample.r_rt[i] + w_sl * sample.r_sl[i];
    r[i] = task_r * scale;
    if (session_end[i]) {
      const double l = std::round(static_cast<double>(task_r));
      level[i] = static_cast<int64_t>(std::clamp(std::isfinite(l) ? l : 0.0, 0.0,
                                                 static_cast<double>(max_level)));
    } else {
      level[i] = -1;
    }
  }
  return b;
}

}  // namespace learners
}  // namespace resact
