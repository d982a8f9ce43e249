#include "graph/policy.h"

#include <algorithm>
#include <numeric>

namespace resact {

std::vector<int32_t> TopK(const ItemTable& items, const float* action, int k) {
  const int64_t n = static_cast<int64_t>(items.size());
  k = static_cast<int>(std::clamp<int64_t>(k, 0, n));
  std::vector<float> score(n);
  for (int64_t i = 0; i < n; ++i) {
    const float* e = items.row(i);
    float s = 0;
    for (int c = 0; c < items.dim; ++c) s += action[c] * e[c];
    score[i] = s;
  }
  std::vector<int32_t> idx(n);
  std::iota(idx.begin(), idx.end(), 0);
  auto better = [&](int32_t a, int32_t b) {
    return score[a] > score[b] || (score[a] == score[b] && a < b);
  };
  std::partial_sort(idx.begin(), idx.begin() + k, idx.end(), better);
  idx.resize(k);
  return idx;
}

TaskRewardWeights RewardWeightsOf(const std::string& task) {
  if (task == "session_length") return {0, 1};
  if (task == "both") return {0.5, 0.5};
  return {1, 0};
}

std::shared_ptr<MetricsBatch> MetricsForSnapshot(const PolicySnapshot& snap,
                                                 const std::string& evaluator) {
  auto m = std::make_shared<MetricsBatch>();
  m->evaluator = evaluator;
  m->algo = snap.algo;
  m->task = snap.task;
  m->seed = snap.seed;
  m->step = snap.step;
  m->final = snap.final;
  return m;
}

}  // namespace resact
