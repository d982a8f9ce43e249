// The training loop shared by the LearnerStage, `resact bench train` and the
// tests: it draws batches from a TransitionSource (transition_source.h),
// standardizes states (normalizer.h), builds TensorBatches
// (tensor_batch.h), runs Algorithm::Update (../algorithms/algorithm.h),
// checks every metric for NaN/Inf, writes metrics (metrics_writer.h) and
// checkpoints (checkpoint.cc), and resumes a run exactly.
//
// Run directory (when given):
//   metrics.jsonl          one JSON line per eval_every window
//                          (metrics_writer.h);
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
//   RETURN_IF_ERROR(CheckLearnerOptions(o));
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
#include <vector>

#include "absl/status/statusor.h"
#include "stages/learners/algorithms/algorithm.h"
#include "stages/learners/learner_options.pb.h"
#include "stages/learners/training/metrics_writer.h"
#include "stages/learners/training/normalizer.h"
#include "stages/learners/training/transition_source.h"
#include "storage/replay_reader.h"

namespace resact {
namespace learners {

class TorchPolicy;

// The one check of a learner's options (LearnerStage::Init; `resact bench
// train`): a registered algo, steps, eval_every, checkpoint_every, sizes,
// learning rate, γ, τ, hidden widths and the ResAct candidate std. Errors
// name the option: "option 'eval_every': must be > 0".
absl::Status CheckLearnerOptions(const LearnerOptions& options);

class Trainer {
 public:
  using Timing = TrainTiming;

  // Builds the algorithm options.algo() on `source`; `options` must have
  // passed CheckLearnerOptions. With a non-empty `run_dir` (created when
  // missing), metrics and checkpoints go there, and when options.resume()
  // and a checkpoint exists, training resumes from it.
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

  // Writes RUN_DIR/checkpoint-latest.pt atomically (checkpoint.cc).
  absl::Status SaveCheckpoint();
  // Restores everything SaveCheckpoint wrote. The checkpoint must be of the
  // same algorithm and dimensions.
  absl::Status LoadCheckpoint(const std::string& path);
  // Appends the current window's metric means to metrics.jsonl (no-op
  // without a run dir or when the window is empty) and starts a new window.
  absl::Status FlushMetrics() { return metrics_.Flush(step_, timing_); }

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
  MetricsWriter metrics_;
};

}  // namespace learners
}  // namespace resact
