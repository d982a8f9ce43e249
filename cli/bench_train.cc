#include "cli/bench_train.h"

#include <algorithm>
#include <chrono>
#include <memory>
#include <random>
#include <vector>

#include "absl/strings/str_format.h"
#include "stages/learners/training/trainer.h"
#include "torch/csrc/autograd/profiler_legacy.h"

namespace resact {

absl::StatusOr<std::string> BenchTrain(const BenchTrainOptions& b) {
  if (b.state_dim <= 0 || b.action_dim <= 0 || b.batch <= 0 || b.steps <= 0 ||
      b.transitions <= 0 || b.warmup < 0 || b.threads < 0) {
    return absl::InvalidArgumentError(
        "bench train: dims, --batch, --steps and the dataset size must be > 0");
  }
  if (b.threads > 0) torch::set_num_threads(b.threads);

  learners::TransitionArrays a;
  a.state_dim = b.state_dim;
  a.action_dim = b.action_dim;
  a.session_dim = b.state_dim / 2;
  const size_t n = static_cast<size_t>(b.transitions);
  std::mt19937_64 rng(b.seed + 1);
  std::normal_distribution<float> normal(0.f, 1.f);
  std::uniform_real_distribution<float> unif(-1.f, 1.f);
  std::uniform_int_distribution<int> level(0, 5);
  a.state.resize(n * b.state_dim);
  a.next_state.resize(n * b.state_dim);
  a.action.resize(n * b.action_dim);
  for (float& x : a.state) x = normal(rng);
  for (float& x : a.next_state) x = normal(rng);
  for (float& x : a.action) x = unif(rng);
  a.r_rt.resize(n);
  a.r_sl.resize(n);
  a.done.resize(n);
  a.session_end.resize(n);
  for (size_t i = 0; i < n; ++i) {
    const bool end = rng() % 4 == 0;
    a.session_end[i] = end;
    a.r_rt[i] = end ? level(rng) : 0;
    a.r_sl[i] = end ? level(rng) : 0;
    a.done[i] = rng() % 100 == 0;
  }
  ASSIGN_OR_RETURN(auto source, learners::ArraySource::Create(std::move(a)));

  LearnerOptions o;
  o.set_algo(b.algo);
  o.set_steps(b.warmup + b.steps);
  o.set_eval_every(b.warmup + b.steps);
  o.set_normalization_samples(10000);
  o.mutable_common()->set_batch_size(b.batch);
  o.mutable_common()->set_seed(static_cast<int64_t>(b.seed));
  RETURN_IF_ERROR(learners::CheckLearnerOptions(o));
  ASSIGN_OR_RETURN(auto trainer, learners::Trainer::Create(o, source));

  for (int64_t i = 0; i < b.warmup; ++i) RETURN_IF_ERROR(trainer->Step());
  const learners::Trainer::Timing t0 = trainer->timing();
  // Timed in chunks; the median chunk is robust to bursts of load from
  // other processes on a shared machine.
  const int64_t chunk = std::min<int64_t>(100, b.steps);
  std::vector<double> chunk_s;
  std::unique_ptr<torch::autograd::profiler::RecordProfile> profile;
  if (!b.profile_path.empty()) {
    profile = std::make_unique<torch::autograd::profiler::RecordProfile>(b.profile_path);
  }
  const auto w0 = std::chrono::steady_clock::now();
  auto c0 = w0;
  for (int64_t i = 1; i <= b.steps; ++i) {
    RETURN_IF_ERROR(trainer->Step());
    if (i % chunk == 0) {
      const auto c1 = std::chrono::steady_clock::now();
      chunk_s.push_back(std::chrono::duration<double>(c1 - c0).count());
      c0 = c1;
    }
  }
  const double wall =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - w0).count();
  profile.reset();  // Writes the trace.
  std::sort(chunk_s.begin(), chunk_s.end());
  const double median_chunk = chunk_s[chunk_s.size() / 2];
  const learners::Trainer::Timing& t1 = trainer->timing();
  const double ms = 1000.0 / static_cast<double>(b.steps);
  const double sample = (t1.sample_s - t0.sample_s) * ms;
  const double optimizer = (t1.optimizer_s - t0.optimizer_s) * ms;
  const double fwd_bwd = (t1.update_s - t0.update_s) * ms - optimizer;
  return absl::StrFormat(
      "{\"bench\":\"train\",\"impl\":\"resact\",\"algo\":\"%s\",\"state_dim\":%d,"
      "\"action_dim\":%d,\"batch\":%d,\"steps\":%d,\"torch_threads\":%d,"
      "\"steps_per_s\":%.1f,\"steps_per_s_median\":%.1f,\"ms_per_step\":%.3f,"
      "\"ms_sample\":%.3f,"
      "\"ms_forward_backward\":%.3f,\"ms_optimizer\":%.3f}",
      b.algo, b.state_dim, b.action_dim, b.batch, b.steps, torch::get_num_threads(),
      b.steps / wall, chunk / median_chunk, wall * 1000.0 / b.steps, sample, fwd_bwd, optimizer);
}

}  // namespace resact
