// The training loop shared by the LearnerStage, the `resact bench train`
// command and the tests: it draws batches from a TransitionSource (a replay
// store, or arrays in memory), standardizes states, builds TensorBatch,
// runs Algorithm::Update, checks every metric for NaN/Inf, writes metrics
// and checkpoints, and resumes a run exactly.
//
// Run directory (when given):
//   metrics.jsonl          one JSON line per eval_every window:
//                          {"algo":…,"step":…,"steps":…,<metric>:mean…,
//                           "ms_sample":…,"ms_update":…,"ms_step":…}
//   checkpoint-latest.pt   torch::serialize archive: every module and
//                          optimizer of the algorithm, the step, the torch
//                          generator state, the batch sampler's mt19937_64
//                          state and the state normalization; written to a
//                          temporary file and renamed, so it is always whole.
// Resuming from the checkpoint continues the identical trajectory: after K
// more steps the weights are bitwise equal to those of an uninterrupted run.
//
// Example:
//   LearnerOptions o;
//   o.set_algo("td3_bc");
//   ASSIGN_OR_RETURN(auto trainer, Trainer::FromReplay(o, workdir + "/replay", run_dir));
//   RETURN_IF_ERROR(trainer->Run(o.steps()));
//   ASSIGN_OR_RETURN(auto policy, trainer->Snapshot());
//
// Only learner code includes this header (it includes torch).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "stages/learners/algorithms/algorithm.h"
#include "stages/learners/learner_options.pb.h"
#include "storage/replay_reader.h"

namespace resact {
namespace learners {

class TorchPolicy;

// Transitions to learn from.
class TransitionSource {
 public:
  virtual ~TransitionSource() = default;
  virtual int state_dim() const = 0;
  virtual int action_dim() const = 0;
  // s_h = state[:, :session_dim].
  virtual int session_dim() const = 0;
  virtual uint64_t size() const = 0;
  // `n` transitions drawn uniformly with replacement using `rng`, into `out`
  // (raw states; r_rt and r_sl filled, `reward` may be left unset).
  // session_end[i] = 1 when transition i is the last request of its session.
  virtual void Sample(int n, std::mt19937_64& rng, ReplaySample* out,
                      std::vector<uint8_t>* session_end) const = 0;
};

// Transitions held in contiguous row-major arrays (benchmarks, tests).
struct TransitionArrays {
  int state_dim = 0;
  int action_dim = 0;
  int session_dim = 0;
  std::vector<float> state;       // [n × state_dim]
  std::vector<float> next_state;  // [n × state_dim]
  std::vector<float> action;      // [n × action_dim], in [-1, 1]
  std::vector<float> r_rt;        // [n], return-time reward (any real)
  std::vector<float> r_sl;        // [n], session-length reward (any real)
  std::vector<float> done;        // [n], 1 at a user's last request
  std::vector<uint8_t> session_end;  // [n], 1 at a session's last request
  uint64_t size() const { return r_rt.size(); }
};

class ArraySource : public TransitionSource {
 public:
  // Checks that the arrays have consistent sizes.
  static absl::StatusOr<std::shared_ptr<ArraySource>> Create(TransitionArrays arrays);
  int state_dim() const override { return a_.state_dim; }
  int action_dim() const override { return a_.action_dim; }
  int session_dim() const override { return a_.session_dim; }
  uint64_t size() const override { return a_.size(); }
  void Sample(int n, std::mt19937_64& rng, ReplaySample* out,
              std::vector<uint8_t>* session_end) const override;
  const TransitionArrays& arrays() const { return a_; }

 private:
  explicit ArraySource(TransitionArrays a) : a_(std::move(a)) {}
  TransitionArrays a_;
};

// The train split of the replay store in `dir`, loaded under `memory_budget_mb`.
absl::StatusOr<std::shared_ptr<const TransitionSource>> LoadReplaySource(
    const std::string& dir, int64_t memory_budget_mb);

// "return_time", "session_length" or "both".
const char* TaskName(LearnerOptions::Task task);
// (w_rt, w_sl) of the task: (1, 0), (0, 1) or (0.5, 0.5).
std::pair<float, float> TaskWeights(LearnerOptions::Task task);

// Per-dimension state standardization; the identity when empty.
class Normalizer {
 public:
  Normalizer() = default;
  // `std` entries must be positive.
  Normalizer(std::vector<float> mean, std::vector<float> std);
  // Mean and std of `samples` states drawn from `source` with a generator
  // seeded by `seed`; a dimension with std < 1e-6 gets std 1.
  static Normalizer Estimate(const TransitionSource& source, int64_t samples, uint64_t seed);

  bool identity() const { return mean_.empty(); }
  const std::vector<float>& mean() const { return mean_; }
  const std::vector<float>& std() const { return std_; }
  // (raw − mean) / std as a new tensor; a copy of `raw` when the identity.
  torch::Tensor Apply(const torch::Tensor& raw) const;

 private:
  std::vector<float> mean_, std_;
  torch::Tensor mean_t_, inv_std_t_;
};

// The TensorBatch of a sample: normalized states, actions clipped to [-1, 1],
// reward = (w_rt·r_rt + w_sl·r_sl)·reward_scale, r_session = the task's
// session reward level round(w_rt·r_rt + w_sl·r_sl) clipped to
// [0, max_level] at session ends and −1 elsewhere.
TensorBatch MakeTensorBatch(const ReplaySample& sample, const std::vector<uint8_t>& session_end,
                            LearnerOptions::Task task, double reward_scale, int max_level,
                            const Normalizer& normalizer);

class Trainer {
 public:
  // Cumulative wall time of the steps taken by this object.
  struct Timing {
    int64_t steps = 0;
    double sample_s = 0;     // Sampling and building the TensorBatch.
    double update_s = 0;     // Algorithm::Update, optimizer steps included.
    double optimizer_s = 0;  // The optimizer steps inside Update.
  };

  // Builds the algorithm options.algo() on `source`. With a non-empty
  // `run_dir` (created when missing), metrics and checkpoints go there, and
  // when options.resume() and a checkpoint exists, training resumes from it.
  static absl::StatusOr<std::unique_ptr<Trainer>> Create(
      const LearnerOptions& options, std::shared_ptr<const TransitionSource> source,
      const std::string& run_dir = "");
  // Create() on the train split of the replay store in `replay_dir`.
  static absl::StatusOr<std::unique_ptr<Trainer>> FromReplay(const LearnerOptions& options,
                                                             const std::string& replay_dir,
                                                             const std::string& run_dir);
  ~Trainer();

  // One gradient step: sample, update, check every metric is finite.
  absl::Status Step();
  // Steps until step() == total_steps. Writes a metrics line every
  // eval_every steps and at the end, and a checkpoint every
  // checkpoint_every steps and at the end (with a run dir). After each step
  // calls on_step(step()) when given; its error stops training and is
  // returned.
  absl::Status Run(int64_t total_steps,
                   const std::function<absl::Status(int64_t)>& on_step = nullptr);

  // Writes RUN_DIR/checkpoint-latest.pt atomically.
  absl::Status SaveCheckpoint();
  // Restores everything SaveCheckpoint wrote. The checkpoint must be of the
  // same algorithm and dimensions.
  absl::Status LoadCheckpoint(const std::string& path);
  // Appends the current window's metric means to metrics.jsonl (no-op
  // without a run dir or when the window is empty) and starts a new window.
  absl::Status FlushMetrics();

  // A frozen copy of the current policy (thread-safe, independent of
  // further training).
  absl::StatusOr<std::shared_ptr<TorchPolicy>> Snapshot() const;

  int64_t step() const { return step_; }
  // True when Create() resumed from a checkpoint.
  bool resumed() const { return resumed_; }
  const std::string& algo() const { return options_.algo(); }
  const LearnerOptions& options() const { return options_; }
  const std::string& run_dir() const { return run_dir_; }
  std::string checkpoint_path() const;
  Algorithm& algorithm() { return *algo_; }
  AlgoContext& context() { return *ctx_; }
  const Normalizer& normalizer() const { return normalizer_; }
  const Timing& timing() const { return timing_; }
  // Metrics of the latest step.
  const Metrics& last_metrics() const { return last_metrics_; }

 private:
  Trainer() = default;
  absl::Status Init(const LearnerOptions& options, std::shared_ptr<const TransitionSource> source,
                    const std::string& run_dir);
  // Keeps the metrics lines up to step_ (after a resume) or none (fresh run).
  absl::Status TrimMetrics();

  LearnerOptions options_;
  std::shared_ptr<const TransitionSource> source_;
  std::string run_dir_;
  std::unique_ptr<AlgoContext> ctx_;  // Stable address: the algorithm keeps it.
  std::unique_ptr<Algorithm> algo_;
  Normalizer normalizer_;
  std::mt19937_64 rng_;
  int64_t step_ = 0;
  bool resumed_ = false;
  ReplaySample sample_;
  std::vector<uint8_t> session_end_;
  Metrics last_metrics_;
  Timing timing_;
  // The current metrics window: per metric name (first-seen order) sum and count.
  std::vector<std::string> window_names_;
  std::vector<std::pair<double, int64_t>> window_sums_;
  Timing window_start_;
};

}  // namespace learners
}  // namespace resact
