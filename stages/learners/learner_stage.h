// LearnerStage: trains one offline RL algorithm (method.md section 2: il,
// il_cvae, ddpg, td3, td3_bc, bcq, iql, resact) on a finished replay store
// and emits the policy as it learns. On each ReplayHandle it loads the
// store's train split, trains up to `steps` gradient steps with the shared
// Trainer (stages/learners/training/trainer.h), emits a PolicySnapshot every
// `eval_every` steps and a final one (final = true), and writes the final
// policy as a model directory to RUN_DIR/model
// (stages/learners/policy/policy_io.h). Its options are checked once, in
// Init (CheckLearnerOptions, training/trainer.h).
// RUN_DIR (default learners/<algo>-<task>-seed<seed> under the workdir)
// holds metrics.jsonl and checkpoint-latest.pt; with `resume` a rerun
// continues from the checkpoint, and a finished run only re-emits its final
// policy. With `replay_dir` set explicitly the stage is a source that trains
// on that store instead of taking a replay stream. Cancellation is checked
// after every step (a checkpoint is kept). Errors name the algorithm; LibTorch
// exceptions never leave the stage.
//
// Inputs: 0 replay (ReplayHandle), unless replay_dir is set. Outputs: 0
// policies (PolicySnapshot). Serial.
//
// The wing's rooms: algorithms/ (the Algorithm interface, its registry and
// the eight algorithms), nets/ (MLPs, Dense on oneDNN, MlpPass, fused
// kernels, actor-critic pieces, the CVAE), training/ (the Trainer loop,
// transition sources, Normalizer, TensorBatch, the Adam optimizer,
// checkpoints, metrics.jsonl) and policy/ (TorchPolicy, model directories).
#pragma once

#include <memory>
#include <string>

#include "graph/stage.h"
#include "stages/learners/learner_options.pb.h"

namespace resact {

class LearnerStage : public StageWithOptions<LearnerOptions> {
 public:
  StreamContract Contract() const override;
  absl::Status Open(const StageContext& ctx) override;
  absl::Status Generate(Emitter& out) override;
  absl::Status Process(int input, const Packet& packet, Emitter& out) override;

  // The run directory (valid after Open).
  const std::string& run_dir() const { return run_dir_; }

 protected:
  absl::Status Init() override;

 private:
  // Trains on the store in `replay_dir`, emitting snapshots on output 0.
  absl::Status Train(const std::string& replay_dir, Emitter& out);
  absl::Status TrainGuarded(const std::string& replay_dir, Emitter& out);
  std::string Resolve(const std::string& path) const;

  std::unique_ptr<StageContext> ctx_;
  std::string run_dir_;
};

}  // namespace resact
